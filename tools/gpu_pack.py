"""Pack training sources small enough to travel to a GPU machine with the working tree.

A GPU machine of this project gets a copy of the working tree (64 MiB at most, with the PyAV
wheel it lacks: about 36 MiB) and nothing else, so ``tools/gpu_train.sh`` rebuilds its clips
there from this pack with 16 jobs:

    gpu_pack/train/photos/*.jpg   catalogue photographs, longest side 640, JPEG q88
    gpu_pack/train/videos/*.mp4   real videos' training spans, scaled down 2x (area filter) and
                                  kept nearly lossless (x264 CRF 8), at most --video-frames each
    gpu_pack/val/...              the same for the validation sources (whole photos, the held-out
                                  final quarter of each real video)
    gpu_pack/LICENCES.json        source, licence and author of every file

The videos are already clean, so the build there uses ``--video-downscale 1``. The folder is
left untracked (not committed, not ignored), which is what travels.

    python tools/gpu_pack.py --cache ~/.cache/redecode-sources -o gpu_pack
    python tools/gpu_pack.py --synthetic -o /tmp/pack      # tiny, from the shipped sample photo
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from redecode.pipeline.samples import camera_frames, encode_frames, sample_photo
from redecode.training import catalog
from redecode.training.sources import VIDEO_DOWNSCALE, probe_video, read_video_frames


def save_photo(src: Path, dst: Path, longest: int) -> None:
    img = cv2.imread(str(src), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{src}: unreadable")
    h, w = img.shape[:2]
    k = longest / max(h, w)
    if k < 1:
        img = cv2.resize(img, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA)
    dst.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(dst), img, [cv2.IMWRITE_JPEG_QUALITY, 88])


def save_video(frames: list[np.ndarray], dst: Path, rate: float) -> None:
    h, w = (s // 2 * 2 for s in frames[0].shape[:2])
    dst.parent.mkdir(parents=True, exist_ok=True)
    encode_frames(dst, (f[:h, :w] for f in frames), rate=Fraction(round(rate * 1000), 1000) or 25,
                  options={"crf": "8", "preset": "slow"})


def pack_catalogue(cache: Path, out: Path, longest: int, video_frames: int) -> list[dict]:
    found, notes = catalog.available(cache_dir=cache)
    for n in notes:
        print(f"gpu_pack: {n}", file=sys.stderr)
    records = []
    for item, path in found:
        name = item.key.replace("/", "_")
        if item.kind == "image":
            split = "val" if item.val else "train"
            dst = out / split / "photos" / (Path(name).stem + ".jpg")
            save_photo(path, dst, longest)
            records.append({"file": str(dst.relative_to(out)), "source": item.key, "licence": item.licence,
                            "author": item.author})
            continue
        dur, rate, w, h = probe_video(path)
        if not dur or not rate or min(w, h) < 2 * 96:
            continue
        spans = [("train", 0.0, item.val_from or 1.0)] + ([("val", item.val_from, 1.0)] if item.val_from else [])
        for split, a, b in spans:
            frames = read_video_frames(str(path), a * dur, min(video_frames, int((b - a) * dur * rate) - 1))
            if len(frames) < 26:
                continue
            small = [cv2.resize(f, (f.shape[1] // int(VIDEO_DOWNSCALE), f.shape[0] // int(VIDEO_DOWNSCALE)),
                                interpolation=cv2.INTER_AREA) for f in frames]
            dst = out / split / "videos" / (Path(name).stem + ".mp4")
            save_video(small, dst, rate)
            records.append({"file": str(dst.relative_to(out)), "source": item.key, "licence": item.licence,
                            "author": item.author, "span": [a, b], "frames": len(small)})
    return records


def pack_synthetic(out: Path) -> list[dict]:
    """A tiny pack from the shipped CC0 sample photo: 3 training and 1 validation picture, a
    moving-camera video for each split."""
    img = sample_photo()[:, :, ::-1]
    pieces = {"train/photos/a.jpg": img[:200, :300], "train/photos/b.jpg": img[200:, :300],
              "train/photos/c.jpg": img[:200, 300:], "val/photos/d.jpg": img[200:, 300:]}
    records = []
    for rel, piece in pieces.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out / rel), np.ascontiguousarray(piece), [cv2.IMWRITE_JPEG_QUALITY, 88])
        records.append({"file": rel, "source": "sample/coffee", "licence": "CC0-1.0", "author": "Rachel Michetti"})
    for split, seed in (("train", 1), ("val", 2)):
        frames = list(camera_frames(192, 160, 30, seed=seed))
        save_video(frames, out / split / "videos" / "camera.mp4", 25.0)
        records.append({"file": f"{split}/videos/camera.mp4", "source": "sample/coffee (camera)",
                        "licence": "CC0-1.0", "author": "Rachel Michetti"})
    return records


def size_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2 ** 20


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default="gpu_pack", help="pack folder (default gpu_pack)")
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/redecode-sources"),
                    help="catalogue cache (extracted GCompris pictures, downloaded packages)")
    ap.add_argument("--longest", type=int, default=640, help="longest side of the photographs")
    ap.add_argument("--video-frames", type=int, default=90, help="most frames kept per video span")
    ap.add_argument("--max-mib", type=float, default=26.0, help="fail above this size (default 26)")
    ap.add_argument("--synthetic", action="store_true", help="a tiny pack from the sample photo (dry runs)")
    args = ap.parse_args(argv)
    out = Path(args.output)
    records = pack_synthetic(out) if args.synthetic else pack_catalogue(Path(args.cache), out, args.longest,
                                                                        args.video_frames)
    (out / "LICENCES.json").write_text(json.dumps(records, indent=1) + "\n")
    mib = size_mib(out)
    print(f"gpu_pack: {len(records)} files, {mib:.1f} MiB in {out}", file=sys.stderr)
    if mib > args.max_mib:
        print(f"gpu_pack: error: {mib:.1f} MiB is over --max-mib {args.max_mib}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
