"""How often a P-frame block's list-0 vector points past the nearest anchor (multi-reference).

The bitstream says only "list 0"; x264 (3 references at preset medium) often predicts from an
older frame. For the sample clip encoded with 1 and 3 references, every P-frame block with a
vector is predicted (numpy motion compensation) from each of the last three decoded anchors;
the one with the smallest error is the likely true reference. Prints the share of blocks best
matched by anchor -1, -2, -3 and the mean absolute luma error of "nearest only" vs "best".

    python tools/bench_references.py
"""

from __future__ import annotations

import os
import tempfile

import cv2
import numpy as np

from redecode.decoders import open_video, predict_from_reference
from redecode.pipeline.samples import make_clip


def measure(path: str) -> tuple[np.ndarray, float, float]:
    anchors, counts, near, best = [], np.zeros(3), [], []
    with open_video(path) as video:
        for f in video:
            if f.pict_type == "P" and len(anchors) >= 3:
                cur = f.planes[0].astype(np.float32)
                errs = []
                for k in range(1, 4):
                    e = np.abs(predict_from_reference(anchors[-k].planes[0], f.motion.l0) - cur)
                    errs.append(cv2.resize(e, (e.shape[1] // 8, e.shape[0] // 8),
                                           interpolation=cv2.INTER_AREA))
                errs = np.stack(errs)
                mask = f.motion.l0_mask[: errs.shape[1], : errs.shape[2]]
                choice = errs.argmin(0)[mask]
                counts += np.bincount(choice, minlength=3)
                near.append(errs[0][mask].mean())
                best.append(errs.min(0)[mask].mean())
            if f.pict_type in "IP":
                anchors.append(f)
    return counts / counts.sum(), float(np.mean(near)), float(np.mean(best))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print("x264 QP 32, preset medium, 320x192, 48 frames of the built-in sample")
        for refs in (1, 3):
            for bf in (0, 3):
                path = os.path.join(tmp, f"r{refs}b{bf}.mp4")
                make_clip(path, width=320, height=192, frames=48, qp=32, bframes=bf, gop=100,
                          options={"preset": "medium", "refs": str(refs)})
                share, near, best = measure(path)
                print(f"  refs {refs}, B-frames {bf}: blocks best matched by anchor -1/-2/-3: "
                      f"{share[0]:.1%} / {share[1]:.1%} / {share[2]:.1%}; mean |error| nearest "
                      f"{near:.2f}, best {best:.2f}")


if __name__ == "__main__":
    main()
