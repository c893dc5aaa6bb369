"""Facts of the coding structure shared by the decoder, the networks, the pipeline and the
training and the evaluation (no dependencies): the frame-type table, how many anchors a list-0
vector may use, codec families, the quality ladder's QPs and the H.264 QP <-> MPEG quantiser
scale correspondence.

A frame is I, P or B (``Frame.pict_type`` holds the letter); the networks take the code.
PyAV's ``av.video.frame.PictureType`` (FFmpeg's AVPictureType) has more kinds, mapped here:
S (MPEG-4 sprite / global motion) is a P-frame, SI an I-frame, SP a P-frame, BI a B-frame.
"""

from __future__ import annotations

import math
from enum import IntEnum

__all__ = ["LADDER_QPS", "LIST0_CANDIDATES", "MPEG_CODECS", "PICTURE_TYPES", "CodecFamily", "FrameType", "codec_family",
           "mpeg_qscale"]

#: Restored anchors a list-0 vector may point into, nearest first (x264's default is 3
#: references; see ``models.select_reference``). The scheduler and the training unroll both
#: keep this many.
LIST0_CANDIDATES = 3


class FrameType(IntEnum):
    """Frame types by the code the networks take; ``FrameType["B"]`` from a letter."""

    I = 0  # noqa: E741 - the codec's own name
    P = 1
    B = 2

    @property
    def letter(self) -> str:
        return self.name


class CodecFamily(IntEnum):
    """What kind of artifacts a codec leaves, as the models take it.

    DEBLOCKED: H.264 / HEVC and the like, whose in-loop filter smooths block edges (what x264
    leaves is ringing and lost texture); MPEG: MPEG-1/2 and MPEG-4 Part 2, with no in-loop filter
    (8x8 DCT blocking, mosquito noise).
    """

    DEBLOCKED = 0
    MPEG = 1


#: FFmpeg decoder and encoder names of the MPEG family.
MPEG_CODECS = frozenset({"mpeg1video", "mpeg2video", "mpeg4", "msmpeg4v1", "msmpeg4v2", "msmpeg4v3",
                         "msmpeg4", "h263", "h263p", "flv1", "libxvid", "mpeg2_qsv", "mpeg2_cuvid"})


def codec_family(name: str | None) -> CodecFamily:
    """The family of an FFmpeg codec (decoder or encoder) name; unknown ones are DEBLOCKED."""
    return CodecFamily.MPEG if name in MPEG_CODECS else CodecFamily.DEBLOCKED


#: AVPictureType codes (PyAV's PictureType values) -> FrameType; NONE (0) is decided by key_frame.
PICTURE_TYPES: dict[int, FrameType] = {1: FrameType.I, 2: FrameType.P, 3: FrameType.B, 4: FrameType.P,
                                       5: FrameType.I, 6: FrameType.P, 7: FrameType.B}


#: The QPs of the quality ladder: ``redecode evaluate``'s default and the validation ladder of
#: ``redecode dataset``.
LADDER_QPS = (22, 27, 32, 37, 42)


def mpeg_qscale(qp: float) -> int:
    """The MPEG quantiser scale (1..31) whose step is closest to an H.264 QP's.

    The decoder maps a quantiser scale q to ``QP = 4 + 6 * log2(2 * q)`` (equal quantizer step,
    see ``redecode/decoders/metadata.py``); this picks the integer q in 1..31 nearest to that on
    the QP scale. E.g. QP 22 -> 4, 27 -> 7, 32 -> 13, 37 -> 23, 42 -> 31 (clamped; = QP 39.7).
    """
    return int(min(range(1, 32), key=lambda q: (abs(4 + 6 * math.log2(2 * q) - qp), q)))
