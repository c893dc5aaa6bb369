"""``redecode demo``: compress a built-in clip hard, restore it, measure and show the result."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..decoders import open_video, rgb_to_planes
from .engine import Engine, Passthrough
from .metrics import psnr
from .render import label, planes_to_rgb, save_png
from .restore import RestoreError, make_engine, restore_file
from .samples import camera_frames, encode_frames, sample_photo
from .writer import EncodeOptions

log = logging.getLogger("redecode")


@dataclass
class DemoResult:
    model: str
    frames: int
    qp: int
    psnr_decoded: float
    psnr_restored: float
    by_type: dict[str, float]
    picture: str
    restored_video: str

    @property
    def delta(self) -> float:
        return self.psnr_restored - self.psnr_decoded


def run_demo(
    out_dir: str | os.PathLike,
    *,
    model: str = "auto",
    device: str = "auto",
    qp: int = 37,
    frames: int = 48,
    size: tuple[int, int] = (640, 360),
) -> DemoResult:
    """Make the demo clip, compress it at ``qp``, restore it and write ``comparison.png``.

    With ``model="auto"`` and no trained weights shipped, the demo runs ``none`` and says so.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    w, h = size
    source = list(camera_frames(w, h, frames, image=sample_photo("red_panda"), seed=11))  # held out
    compressed = out / "compressed.mp4"
    encode_frames(compressed, source,
                  options={"qp": str(qp), "bf": "3", "preset": "medium", "g": "48"})
    try:
        engine = make_engine(model, device)
    except RestoreError as e:
        if model != "auto":
            raise
        log.warning("%s; running the demo with --model none", e)
        engine = Engine(Passthrough())
    restored = out / "restored.mkv"
    restore_file(compressed, restored, engine=engine, overwrite=True,
                 encode=EncodeOptions(codec="ffv1"))
    pristine = [rgb_to_planes(f, "yuv420p") for f in source]
    with open_video(compressed) as v:
        decoded = list(v)
    with open_video(restored, metadata=False) as v:
        fixed = [f.planes for f in v]
    if not (len(decoded) == len(fixed) == len(pristine)):
        raise RestoreError("frame counts differ between source, decode and restore")
    pd = [psnr(d.planes[0], s[0]) for d, s in zip(decoded, pristine)]
    pr = [psnr(r[0], s[0]) for r, s in zip(fixed, pristine)]
    by_type: dict[str, list[float]] = {}
    for d, a, b in zip(decoded, pd, pr):
        by_type.setdefault(d.pict_type, []).append(b - a)
    # the frame where restoration helps most, shown as a zoomed crop
    k = int(np.argmax(np.array(pr) - np.array(pd)))
    picture = out / "comparison.png"
    save_png(picture, _comparison(pristine[k], decoded[k].planes, fixed[k], k,
                                  decoded[k].pict_type, pd[k], pr[k], engine.name))
    return DemoResult(engine.name, len(decoded), qp, float(np.mean(pd)), float(np.mean(pr)),
                      {t: float(np.mean(v)) for t, v in by_type.items()}, str(picture),
                      str(restored))


def _comparison(src, dec, res, index, ptype, p_dec, p_res, model_name) -> np.ndarray:
    """source | decoded | restored, each a 3x zoomed crop, captioned."""
    rgbs = [planes_to_rgb(p) for p in (src, dec, res)]
    h, w = rgbs[0].shape[:2]
    ch, cw = min(h, 120), min(w, 200)
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    tiles = []
    captions = ["source", f"decoded  {p_dec:.2f} dB", f"restored ({model_name})  {p_res:.2f} dB"]
    for rgb, cap in zip(rgbs, captions):
        crop = rgb[y0:y0 + ch, x0:x0 + cw]
        big = cv2.resize(crop, (cw * 3, ch * 3), interpolation=cv2.INTER_NEAREST)
        tiles.append(label(np.ascontiguousarray(big), cap))
    sep = np.full((ch * 3, 6, 3), 255, np.uint8)
    row = np.concatenate([tiles[0], sep, tiles[1], sep, tiles[2]], 1)
    footer = np.zeros((26, row.shape[1], 3), np.uint8)
    cv2.putText(footer, f"frame {index} ({ptype}), centre crop zoomed 3x; PSNR-Y of the whole frame",
                (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate([row, footer], 0)
