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
from .render import label, planes_to_rgb, save_png, upscale

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


def draw_motion(f: Frame, info: VideoInfo) -> np.ndarray:
    """The frame with its vectors as arrows (list 0 yellow, list 1 cyan, intra blocks red)."""
    rgb = planes_to_rgb(f.planes, info.bit_depth, info.color.matrix, info.color.range == 2)
    rgb = (rgb.astype(np.float32) * 0.6).astype(np.uint8)  # dim so arrows stand out
    scale = max(1, -(-960 // f.width))
    rgb = upscale(rgb, 960)
    m = f.motion
    if m is not None:
        bs = m.block_size
        intra = ~(m.l0_mask | m.l1_mask)
        overlay = rgb.copy()
        for by, bx in zip(*np.nonzero(intra)):
            cv2.rectangle(overlay, (bx * bs * scale, by * bs * scale),
                          ((bx + 1) * bs * scale - 1, (by + 1) * bs * scale - 1), (200, 30, 30), -1)
        rgb = cv2.addWeighted(overlay, 0.45, rgb, 0.55, 0)
        step = max(1, -(-24 // (bs * scale)))  # one arrow per `step` blocks, >= 24 px apart
        for vec, mask, color in ((m.l0, m.l0_mask, (255, 220, 0)), (m.l1, m.l1_mask, (0, 220, 255))):
            for by, bx in zip(*np.nonzero(mask[::step, ::step])):
                by, bx = by * step, bx * step
                dx, dy = float(vec[0, by, bx]), float(vec[1, by, bx])
                cx, cy = (bx + 0.5) * bs * scale, (by + 0.5) * bs * scale
                if abs(dx) + abs(dy) < 0.25:
                    cv2.circle(rgb, (int(cx), int(cy)), 1, color, -1)
                    continue
                # content moved from (x + d) in the reference to x here: draw that motion
                start = (int(round(cx + dx * scale)), int(round(cy + dy * scale)))
                cv2.arrowedLine(rgb, start, (int(cx), int(cy)), color, 1, cv2.LINE_AA,
                                tipLength=0.3)
    text = f"frame {f.index} ({f.pict_type})  motion: yellow list 0, cyan list 1, red intra"
    return label(rgb, text)


def draw_qp(f: Frame, info: VideoInfo, lo: int = 0, hi: int = 51) -> np.ndarray:
    """A heat map of the macroblock QPs blended over the frame, with a scale bar."""
    rgb = upscale(planes_to_rgb(f.planes, info.bit_depth, info.color.matrix,
                                info.color.range == 2), 960)
    h, w = rgb.shape[:2]
    q = np.clip((f.qp.astype(np.float32) - lo) / (hi - lo), 0, 1)
    heat = cv2.applyColorMap((q * 255).astype(np.uint8), cv2.COLORMAP_TURBO)
    scale = w / f.width
    heat = cv2.resize(heat, (int(f.qp.shape[1] * 16 * scale), int(f.qp.shape[0] * 16 * scale)),
                      interpolation=cv2.INTER_NEAREST)[:h, :w]
    heat = cv2.cvtColor(heat, cv2.COLOR_BGR2RGB)
    out = cv2.addWeighted(heat, 0.6, rgb, 0.4, 0)
    bar = np.zeros((28, w, 3), np.uint8)
    ramp = cv2.applyColorMap(np.linspace(0, 255, w).astype(np.uint8)[None, :], cv2.COLORMAP_TURBO)
    bar[:14] = cv2.cvtColor(ramp, cv2.COLOR_BGR2RGB)
    for qv in range(lo, hi + 1, 10 if hi - lo > 20 else 5):
        x = int((qv - lo) / (hi - lo) * (w - 1))
        cv2.putText(bar, str(qv), (min(x, w - 18), 26), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                    (255, 255, 255), 1, cv2.LINE_AA)
    text = f"frame {f.index} ({f.pict_type})  QP mean {f.qp.mean():.1f} min {f.qp.min()} max {f.qp.max()}"
    return np.concatenate([label(out, text), bar], 0)


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
    )


def summary_dict(summary: Summary) -> dict:
    return asdict(summary)
