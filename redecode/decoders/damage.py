"""Is a decoded stream complete? The signs of a damaged or cut input, gathered while decoding.

Read errors and frames the decoder had to conceal are counted as they happen (:class:`DecodeStats`);
once the stream has been read, :func:`check_complete` looks for cuts that leave no error
behind: a stream that starts after its first key frame, an MP4 holding fewer frames than its
index announces, a Matroska file that ends before the duration its header records. (An
MPEG-TS cut exactly at a packet boundary leaves no sign at all.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import av


@dataclass
class DecodeStats:
    """Running counts of a decode: frames handed out, damaged frames, decoder errors.

    Attributes:
        frames: frames handed out.
        damaged: frames the decoder flagged as concealed (corrupt).
        errors: packets the demuxer or the decoder could not read.
        truncated: the stream is cut short: it ends early (a read error, fewer frames than the
            container announces, or a shorter duration than it records) or starts mid-stream
            (frames before the first key frame were lost).
        corrupt_packets: packets the demuxer flagged as damaged (e.g. cut off by the file's end).
        problems: what was found, in words, for messages.
    """

    frames: int = 0
    damaged: int = 0
    errors: int = 0
    truncated: bool = False
    corrupt_packets: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def incomplete(self) -> bool:
        """The input is damaged or cut short: not every frame it held was decoded intact."""
        return bool(self.errors or self.damaged or self.truncated or self.corrupt_packets)

    def describe(self) -> str:
        """What is wrong, in a few words ("" when nothing is)."""
        parts = list(self.problems)
        if self.corrupt_packets:
            parts.append(f"{self.corrupt_packets} damaged packet(s)")
        if self.errors:
            parts.append(f"{self.errors} unreadable packet(s)")
        if self.damaged:
            parts.append(f"{self.damaged} frame(s) concealed by the decoder")
        return ", ".join(parts)

    def note(self, problem: str) -> None:
        if problem not in self.problems:
            self.problems.append(problem)



def is_mp4_without_index(path: Path) -> bool:
    """An ISO-BMFF file (MP4, MOV) whose top-level boxes hold no ``moov``: a cut one, or one
    whose writer never finished (the index comes last unless the file was made "fast start")."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[4:8] not in (b"ftyp", b"wide", b"mdat", b"free"):
                return False
            f.seek(0)
            size = path.stat().st_size
            at = 0
            while at + 8 <= size:
                f.seek(at)
                box = f.read(16)
                n, kind = int.from_bytes(box[:4], "big"), box[4:8]
                if kind == b"moov":
                    return False
                if n == 1 and len(box) == 16:
                    n = int.from_bytes(box[8:16], "big")
                if n < 8:
                    break
                at += n
            return head[4:8] == b"ftyp"
    except OSError:
        return False


def check_complete(s: DecodeStats, container, stream, *, packets: int, discarded: int,
                   first_key: bool | None, decoded: int, last_pts: int | None) -> None:
    """Signs, once the stream has been read, that the input was cut, beyond read errors: it
    starts mid-stream, holds fewer frames than its index announces, or ends before the
    duration its header records. Notes them in ``s``.

    Args:
        s: the decode's stats.
        container, stream: the PyAV input and its video stream.
        packets: video packets demuxed; discarded: of them, flagged to be discarded (MP4 edit
            lists); first_key: whether the first one was a key frame (None: no packet).
        decoded: frames the decoder produced; last_pts: the latest pts among them.
    """
    if first_key is False and 0 < decoded < packets:
        s.truncated = True
        s.note(f"starts mid-stream: {packets - decoded} frame(s) before the first key "
                "frame are lost")
    fmt = container.format.name.split(",")
    announced = int(stream.frames or 0)
    if "mp4" in fmt and announced and decoded + discarded < announced:  # exact sample tables
        s.truncated = True
        s.note(f"only {decoded} of the {announced} frames its index announces")
    recorded = recorded_duration(container, stream) if "matroska" in fmt else None
    tb = stream.time_base
    if recorded and last_pts is not None and tb:
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        start = stream.start_time or 0
        end = float((last_pts - max(start, 0)) * tb) + 1 / rate
        if recorded - end > max(2 / rate, 0.05 * recorded):
            s.truncated = True
            s.note(f"ends at {end:.2f} s of the {recorded:.2f} s its header records")


def recorded_duration(container, stream) -> float | None:
    """The video track's duration as the file's header records it (Matroska: FFmpeg writes
    a DURATION tag per track; else the file's duration when the video is its only stream)."""
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    if tag:
        try:
            h, m, sec = tag.split(":")
            return int(h) * 3600 + int(m) * 60 + float(sec)
        except ValueError:
            return None
    if len(container.streams) == 1 and container.duration:
        return container.duration / av.time_base
    return None

