"""Facts of the coding structure shared by the decoder, the networks, the pipeline and the
training (no dependencies): the frame-type table and how many anchors a list-0 vector may use.

A frame is I, P or B (``Frame.pict_type`` holds the letter); the networks take the code.
PyAV's ``av.video.frame.PictureType`` (FFmpeg's AVPictureType) has more kinds, mapped here:
S (MPEG-4 sprite / global motion) is a P-frame, SI an I-frame, SP a P-frame, BI a B-frame.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["LIST0_CANDIDATES", "PICTURE_TYPES", "FrameType"]

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


#: AVPictureType codes (PyAV's PictureType values) -> FrameType; NONE (0) is decided by key_frame.
PICTURE_TYPES: dict[int, FrameType] = {1: FrameType.I, 2: FrameType.P, 3: FrameType.B, 4: FrameType.P,
                                       5: FrameType.I, 6: FrameType.P, 7: FrameType.B}
