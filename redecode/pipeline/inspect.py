"""``redecode inspect``: the bitstream's metadata as pictures and a summary.

Pictures: motion vectors drawn as arrows over a frame, a QP heat map, and a strip of the
frames' sizes coloured by type. The summary counts frames per type, mean QP per type, the
share of intra blocks in predicted frames and the mean motion.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..decoders import Frame, VideoInfo, open_video
from .render import save_png, upscale

TYPE_COLORS = {"I": (230, 60, 50), "P": (60, 180, 75), "B": (70, 120, 230)}  # RGB


@dataclass
class FrameStats:
    """Per-frame numbers the strip and the summary are made of."""

    index: int
    pict_type: str
    pts: int
    size_bits: int | None
    mean_qp: float | None
    intra_share: float | None
    mean_motion: float | None


@dataclass
class Summary:
    """What ``inspect --json`` prints."""

    source: str
    codec: str
    width: int
    height: int
    pix_fmt: str
    bit_depth: int
    frame_rate: float | None
    frames: int
    frames_by_type: dict[str, int]
    mean_qp_by_type: dict[str, float]
    intra_block_share: float | None
    mean_motion_px: float | None
    mean_kbits_by_type: dict[str, float]
    has_motion: bool
    has_qp: bool
    color: dict[str, str]
    damaged_frames: int
    decode_errors: int
    pictures: list[str] = field(default_factory=list)
    damage: str | None = None  # what is damaged or cut in the input, in words
    sample_aspect_ratio: str | None = None
    field_order: str = "unknown"


def parse_frames(spec: str | None) -> set[int] | None:
    """Parse a frame selection like "0,5,10-20" into indices (None: let inspect choose)."""
    if not spec:
        return None
    out: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        a, sep, b = part.partition("-")
        if not a.isdigit() or (sep and not b.isdigit()):
            raise ValueError(f"bad frame selection {spec!r}: use e.g. 0,5,10-20")
        lo, hi = int(a), int(b) if sep else int(a)
        if hi < lo:
            raise ValueError(f"bad frame range {part!r}")
        out.update(range(lo, hi + 1))
    return out


def frame_stats(f: Frame) -> FrameStats:
    intra = motion = None
    if f.motion is not None:
        any_vec = f.motion.l0_mask | f.motion.l1_mask
        intra = float(1.0 - any_vec.mean())
        mags = [np.hypot(*vec[:, mask]) for vec, mask in
                ((f.motion.l0, f.motion.l0_mask), (f.motion.l1, f.motion.l1_mask)) if mask.any()]
        motion = float(np.concatenate(mags).mean()) if mags else 0.0
    return FrameStats(f.index, f.pict_type, f.pts, f.size_bits,
                      None if f.qp is None else float(f.qp.mean()), intra, motion)


# Marks drawn over a grey copy of the frame, in colours the picture cannot hide: the vectors'
# yellow and cyan, and intra blocks hatched and outlined in magenta (a colour of neither).
L0_COLOR, L1_COLOR, INTRA_COLOR = (255, 220, 0), (0, 220, 255), (255, 0, 255)


def grey_copy(f: Frame, info: VideoInfo, min_width: int = 960) -> tuple[np.ndarray, int]:
    """The frame's luma as a dim grey RGB picture, enlarged to ``min_width``; and the factor.

    Marks and heat maps drawn on it keep their colours whatever the picture's own are.
    """
    y = f.planes[0].astype(np.float32) / (1 << (info.bit_depth - 8))
    grey = np.clip(40 + 0.55 * y, 0, 255).astype(np.uint8)
    rgb = upscale(np.repeat(grey[..., None], 3, axis=2), min_width)
    return rgb, rgb.shape[1] // f.width


def _title(width: int, text: str) -> np.ndarray:
    """A dark strip with a caption, put above a picture (so it hides none of it)."""
    strip = np.full((24, width, 3), 0, np.uint8)
    cv2.putText(strip, text, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1,
                cv2.LINE_AA)
    return strip


def _legend(width: int, items: list[tuple[str, object]], height: int = 30) -> np.ndarray:
    """A dark strip with one swatch (a drawing function) and its words per item."""
    bar = np.full((height, width, 3), 24, np.uint8)
    x = 8
    for text, swatch in items:
        swatch(bar, x, height // 2)
        cv2.putText(bar, text, (x + 26, height // 2 + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (235, 235, 235), 1, cv2.LINE_AA)
        x += 34 + cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)[0][0] + 18
    return bar


def _hatch(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, color, step: int = 5) -> None:
    """Outline a box and fill it with diagonal lines (in place)."""
    cv2.rectangle(img, (x0, y0), (x1, y1), color, 1)
    for d in range(-(y1 - y0), x1 - x0, step):
        a = (x0 + max(d, 0), y0 + max(-d, 0))
        b = (x0 + min(d + (y1 - y0), x1 - x0), y0 + min(x1 - x0 - d, y1 - y0))
        cv2.line(img, a, b, color, 1)


def draw_motion(f: Frame, info: VideoInfo) -> np.ndarray:
    """The frame (grey) with its vectors as arrows: list 0 yellow, list 1 cyan, a dot for a
    zero vector; intra blocks hatched in magenta; a legend below."""
    rgb, scale = grey_copy(f, info)
    m = f.motion
    if m is not None:
        bs = m.block_size
        intra = ~(m.l0_mask | m.l1_mask)
        for by, bx in zip(*np.nonzero(intra)):
            _hatch(rgb, bx * bs * scale, by * bs * scale, (bx + 1) * bs * scale - 1,
                   (by + 1) * bs * scale - 1, INTRA_COLOR, step=max(4, bs * scale // 3))
        step = max(1, -(-24 // (bs * scale)))  # one arrow per `step` blocks, >= 24 px apart
        for vec, mask, color in ((m.l0, m.l0_mask, L0_COLOR), (m.l1, m.l1_mask, L1_COLOR)):
            for by, bx in zip(*np.nonzero(mask[::step, ::step])):
                by, bx = by * step, bx * step
                dx, dy = float(vec[0, by, bx]), float(vec[1, by, bx])
                cx, cy = (bx + 0.5) * bs * scale, (by + 0.5) * bs * scale
                if abs(dx) + abs(dy) < 0.25:
                    cv2.circle(rgb, (int(cx), int(cy)), 2, color, -1)
                    continue
                # content moved from (x + d) in the reference to x here: draw that motion
                start = (round(cx + dx * scale), round(cy + dy * scale))
                cv2.arrowedLine(rgb, start, (int(cx), int(cy)), color, 1, cv2.LINE_AA,
                                tipLength=0.3)
        text = f"frame {f.index} ({f.pict_type}) motion vectors"
    else:
        text = f"frame {f.index} ({f.pict_type}): the stream exports no motion vectors for it"
    w = rgb.shape[1]
    legend = _legend(w, [
        ("list 0 (past)", lambda img, x, y: cv2.arrowedLine(img, (x, y), (x + 20, y), L0_COLOR,
                                                            1, cv2.LINE_AA, tipLength=0.4)),
        ("list 1 (future)", lambda img, x, y: cv2.arrowedLine(img, (x, y), (x + 20, y), L1_COLOR,
                                                              1, cv2.LINE_AA, tipLength=0.4)),
        ("zero vector", lambda img, x, y: cv2.circle(img, (x + 10, y), 3, L0_COLOR, -1)),
        ("intra block (no vector)", lambda img, x, y: _hatch(img, x + 2, y - 8, x + 18, y + 8,
                                                             INTRA_COLOR, 5)),
    ])
    return np.concatenate([_title(w, text), rgb, legend], 0)


def draw_qp(f: Frame, info: VideoInfo, lo: int = 0, hi: int = 51) -> np.ndarray:
    """The macroblock QPs as a heat map over a grey copy of the frame, each value written in
    its macroblock when there is room, with a colour bar (QP on the H.264 scale) below."""
    rgb, scale = grey_copy(f, info)
    h, w = rgb.shape[:2]
    q = np.clip((f.qp.astype(np.float32) - lo) / (hi - lo), 0, 1)
    heat = cv2.applyColorMap((q * 255).astype(np.uint8), cv2.COLORMAP_TURBO)
    mb = 16 * scale
    heat = cv2.resize(heat, (f.qp.shape[1] * mb, f.qp.shape[0] * mb),
                      interpolation=cv2.INTER_NEAREST)[:h, :w]
    out = cv2.addWeighted(cv2.cvtColor(heat, cv2.COLOR_BGR2RGB), 0.7, rgb, 0.3, 0)
    if mb >= 24:  # the numbers, in black or white, whichever reads on the colour
        for (my, mx), value in np.ndenumerate(f.qp):
            cx, cy = mx * mb + mb // 2, my * mb + mb // 2
            if cx >= w or cy >= h:
                continue
            ink = (0, 0, 0) if out[cy, cx].astype(int).sum() > 3 * 110 else (255, 255, 255)
            text = str(int(value))
            (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
            cv2.putText(out, text, (cx - tw // 2, cy + th // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        ink, 1, cv2.LINE_AA)
    bar = np.full((40, w, 3), 24, np.uint8)
    left, right = 60, w - 12
    ramp = cv2.applyColorMap(np.linspace(0, 255, right - left).astype(np.uint8)[None, :],
                             cv2.COLORMAP_TURBO)
    bar[4:18, left:right] = cv2.cvtColor(ramp, cv2.COLOR_BGR2RGB)
    cv2.putText(bar, "QP", (8, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (235, 235, 235), 1,
                cv2.LINE_AA)
    for qv in range(lo, hi + 1, 10 if hi - lo > 20 else 5):
        x = left + int((qv - lo) / (hi - lo) * (right - left - 1))
        cv2.line(bar, (x, 18), (x, 22), (235, 235, 235), 1)
        cv2.putText(bar, str(qv), (min(x - 6, w - 18), 35), cv2.FONT_HERSHEY_SIMPLEX, 0.38,
                    (235, 235, 235), 1, cv2.LINE_AA)
    text = (f"frame {f.index} ({f.pict_type}) QP per macroblock (H.264 scale): mean "
            f"{f.qp.mean():.1f}, min {f.qp.min()}, max {f.qp.max()}")
    return np.concatenate([_title(w, text), out, bar], 0)


def draw_strip(stats: list[FrameStats], width: int = 1200, height: int = 260) -> np.ndarray:
    """Bars of bits per frame coloured by frame type, with the mean QP as a white line."""
    img = np.full((height, width, 3), 24, np.uint8)
    top, bottom, left = 30, height - 30, 50
    n = max(len(stats), 1)
    bw = (width - left - 10) / n
    sizes = [s.size_bits or 0 for s in stats]
    peak = max(max(sizes), 1)
    for i, s in enumerate(stats):
        x0 = int(left + i * bw)
        x1 = max(x0 + 1, int(left + (i + 1) * bw) - (1 if bw > 3 else 0))
        bh = int((bottom - top) * (s.size_bits or 0) / peak)
        cv2.rectangle(img, (x0, bottom - bh), (x1 - 1, bottom), TYPE_COLORS[s.pict_type], -1)
    qps = [(i, s.mean_qp) for i, s in enumerate(stats) if s.mean_qp is not None]
    if len(qps) > 1:
        pts = np.array([[int(left + (i + 0.5) * bw), int(bottom - (bottom - top) * q / 51)]
                        for i, q in qps], np.int32)
        cv2.polylines(img, [pts], False, (240, 240, 240), 1, cv2.LINE_AA)
    cv2.line(img, (left, bottom), (width - 10, bottom), (200, 200, 200), 1)
    cv2.putText(img, f"{peak / 1000:.0f} kbit", (2, top + 10), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                (220, 220, 220), 1, cv2.LINE_AA)
    cv2.putText(img, "0", (30, bottom), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (220, 220, 220), 1)
    legend = "bits per frame:  I red  P green  B blue   white line: mean QP (0-51)"
    cv2.putText(img, legend, (left, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (240, 240, 240), 1,
                cv2.LINE_AA)
    cv2.putText(img, f"frames 0-{n - 1} (display order)", (left, height - 10),
                cv2.FONT_HERSHEY_SIMPLEX, 0.4, (220, 220, 220), 1, cv2.LINE_AA)
    return img


def _pick_score(s: FrameStats) -> float:
    """Which frame of each type is drawn by default: the first I, the busiest P and B."""
    return -s.index if s.pict_type == "I" else (s.mean_motion or 0.0)


def inspect_video(
    source,
    out_dir: str | os.PathLike | None = None,
    *,
    frames: set[int] | None = None,
    max_frames: int | None = None,
    format: str | None = None,
) -> Summary:
    """Decode a video with metadata, write the pictures (if ``out_dir``) and summarise it.

    Args:
        source: path or binary file object.
        out_dir: folder for ``motion_NNNNN.png``, ``qp_NNNNN.png`` and ``frames.png``.
        frames: display indices to draw (default: the first I-frame and the P- and B-frames
            with the most motion).
        max_frames: stop after this many frames.
        format: input container format, for streams that cannot be probed.
    """
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    stats: list[FrameStats] = []
    best: dict[str, tuple[float, Frame]] = {}  # default picks: type -> (score, frame)
    pictures: list[str] = []
    with open_video(source, format=format) as video:
        info = video.info
        for f in video:
            s = frame_stats(f)
            stats.append(s)
            if out is not None and frames is not None and f.index in frames:
                _draw(f, info, out, pictures)
            elif out is not None and frames is None:
                score = _pick_score(s)
                if f.pict_type not in best or score > best[f.pict_type][0]:
                    best[f.pict_type] = (score, f)
            if max_frames is not None and len(stats) >= max_frames:
                break
        dstats = video.stats
    if out is not None:
        for _, f in sorted(best.values(), key=lambda sf: sf[1].index):
            _draw(f, info, out, pictures)
        strip = out / "frames.png"
        save_png(strip, draw_strip(stats))
        pictures.append(str(strip))
    return _summarise(video.name, info, stats, dstats, pictures)


def _draw(f: Frame, info: VideoInfo, out: Path, pictures: list[str]) -> None:
    if f.motion is not None or f.pict_type != "I":
        path = out / f"motion_{f.index:05d}.png"
        save_png(path, draw_motion(f, info))
        pictures.append(str(path))
    if f.qp is not None:
        path = out / f"qp_{f.index:05d}.png"
        save_png(path, draw_qp(f, info))
        pictures.append(str(path))


def _summarise(name, info: VideoInfo, stats: list[FrameStats], dstats, pictures) -> Summary:
    by_type: dict[str, list[FrameStats]] = defaultdict(list)
    for s in stats:
        by_type[s.pict_type].append(s)
    mean_qp = {t: round(float(np.mean([s.mean_qp for s in v])), 2)
               for t, v in by_type.items() if all(s.mean_qp is not None for s in v)}
    kbits = {t: round(float(np.mean([s.size_bits for s in v])) / 1000, 2)
             for t, v in by_type.items() if all(s.size_bits is not None for s in v)}
    pred = [s for s in stats if s.intra_share is not None]
    return Summary(
        source=name, codec=info.codec, width=info.width, height=info.height,
        pix_fmt=info.pix_fmt, bit_depth=info.bit_depth,
        frame_rate=float(info.frame_rate) if info.frame_rate else None,
        frames=len(stats),
        frames_by_type={t: len(by_type[t]) for t in "IPB" if by_type[t]},
        mean_qp_by_type=mean_qp,
        intra_block_share=round(float(np.mean([s.intra_share for s in pred])), 4) if pred else None,
        mean_motion_px=round(float(np.mean([s.mean_motion for s in pred])), 3) if pred else None,
        mean_kbits_by_type=kbits,
        has_motion=info.has_motion, has_qp=info.has_qp, color=info.color.names(),
        damaged_frames=dstats.damaged, decode_errors=dstats.errors, pictures=pictures,
        damage=dstats.describe() if dstats.incomplete else None,
        sample_aspect_ratio=(f"{info.sample_aspect_ratio.numerator}:"
                             f"{info.sample_aspect_ratio.denominator}"
                             if info.sample_aspect_ratio else None),
        field_order=info.field_order_name,
    )


def summary_dict(summary: Summary) -> dict:
    return asdict(summary)
