#!/usr/bin/env python3
"""Build redecode's training / validation clips: pristine YUV, x264 decode, bitstream metadata.

Sources are still photographs (made into video by camera motion with independently moving
regions) and, with ``--source DIR``, the user's own images and videos (videos are cut into short
clips). Built-in photographs: scikit-image's bundled CC0 / public-domain images and, when the
Debian package ``mate-backgrounds`` is installed, its GPL-2+ nature photographs (docs/data.md).
The split is by source: validation scenes never appear in training.

Every clip is encoded with libx264 over a spread of QP/CRF, presets, B-frame and reference
counts, decoded with ``redecode.decoders.open_video(metadata=True)`` and written as one
``.npz`` (np.savez_compressed) per clip::

    src_y (T,H,W) uint8, src_u, src_v (T,H/2,W/2) uint8   pristine yuv420p, as the encoder saw it
    dec_y, dec_u, dec_v                                  decoded, same shapes
    qp (T,H/16,W/16) int16                               luma QP per macroblock (H.264 scale)
    types (T,) uint8                                     0=I, 1=P, 2=B (display order)
    decode_order (T,) int32                              position in bitstream order
    l0, l1 (T,2,H/8,W/8) float32                         motion (dx, dy) in luma pixels, 0 if absent
    l0_mask, l1_mask (T,H/8,W/8) bool                    block has a vector of that list
    meta () str                                          JSON: source, crop/trajectory, encoder...

Layout: OUT/train/NNNNNN.npz, OUT/val/NNNNNN.npz, OUT/val_ladder/SSS_qpQQ.npz, OUT/manifest.json.
Same arguments and seed give identical arrays (x264 runs single-threaded).

    python tools/make_dataset.py --out data                       # default set (docs/data.md)
    python tools/make_dataset.py --out data --val-ladder --clips-train 0 --clips-val 0
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datasets_lib as lib  # noqa: E402

FORMAT = "redecode-clips/1"
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow")
PRESET_P = (0.1, 0.1, 0.2, 0.15, 0.15, 0.2, 0.1)
SPLIT_CODES = {"train": 0, "val": 1, "val_ladder": 2}
LADDER_QPS = (22, 27, 32, 37, 42)
ARRAYS = {
    "src_y": "(T,H,W) uint8", "src_u": "(T,H/2,W/2) uint8", "src_v": "(T,H/2,W/2) uint8",
    "dec_y": "(T,H,W) uint8", "dec_u": "(T,H/2,W/2) uint8", "dec_v": "(T,H/2,W/2) uint8",
    "qp": "(T,H/16,W/16) int16", "types": "(T,) uint8 0=I 1=P 2=B",
    "decode_order": "(T,) int32", "l0": "(T,2,H/8,W/8) float32", "l1": "(T,2,H/8,W/8) float32",
    "l0_mask": "(T,H/8,W/8) bool", "l1_mask": "(T,H/8,W/8) bool", "meta": "() str JSON",
}


class UsageError(Exception):
    """A mistake in the command line or the sources: one line for the user."""


# ----------------------------------------------------------------------------------------------
# Arguments
# ----------------------------------------------------------------------------------------------
def parse_size(text: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """``WxH`` or ``WxH:WxH`` (smallest:largest) -> ((wmin, hmin), (wmax, hmax))."""
    parts = text.lower().split(":")
    try:
        sizes = [tuple(int(v) for v in p.split("x")) for p in parts]
    except ValueError:
        raise UsageError(f"--size {text}: expected WxH or WxH:WxH, e.g. 320x192") from None
    if len(parts) > 2 or any(len(s) != 2 for s in sizes):
        raise UsageError(f"--size {text}: expected WxH or WxH:WxH, e.g. 320x192")
    lo, hi = sizes[0], sizes[-1]
    for v in lo + hi:
        if v < 16 or v % 16:
            raise UsageError(f"--size {text}: sides must be multiples of 16 (at least 16)")
    if lo[0] > hi[0] or lo[1] > hi[1]:
        raise UsageError(f"--size {text}: the first size must not exceed the second")
    return (lo[0], lo[1]), (hi[0], hi[1])


def parse_range(text: str, name: str, lo: int, hi: int) -> tuple[int, int]:
    """``A:B`` / ``A-B`` / ``A,B`` / ``A`` -> (A, B) within [lo, hi]."""
    for sep in (":", ",", "-"):
        if sep in text:
            parts = text.split(sep)
            break
    else:
        parts = [text, text]
    try:
        a, b = (int(p) for p in parts)
    except ValueError:
        raise UsageError(f"{name} {text}: expected two integers, e.g. 17:45") from None
    if not lo <= a <= b <= hi:
        raise UsageError(f"{name} {text}: need {lo} <= first <= second <= {hi}")
    return a, b


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="make_dataset.py",
        description="Build redecode training/validation clips (one .npz per clip).")
    p.add_argument("--out", default="data", help="output folder (default: data)")
    p.add_argument("--clips-train", type=int, default=300, help="training clips (default 300)")
    p.add_argument("--clips-val", type=int, default=30, help="validation clips (default 30)")
    p.add_argument("--frames", type=int, default=24, help="frames per clip (default 24)")
    p.add_argument("--size", default="256x192:384x256",
                   help="WxH or smallest:largest WxH:WxH, multiples of 16 (default 256x192:384x256)")
    p.add_argument("--qp-range", default="17:45",
                   help="QP / CRF range; 27-42 is drawn 3x as often (default 17:45)")
    p.add_argument("--seed", type=int, default=0, help="same seed, same arrays (default 0)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--source", action="append", default=[], metavar="DIR",
                   help="folder of images and/or videos to use too (repeatable)")
    p.add_argument("--builtin", default="skimage,mate",
                   help="built-in collections to use: skimage (CC0 / public domain), "
                        "mate (GPL-2+, Debian package mate-backgrounds), lomiri (CC0 / CC-BY-4.0, "
                        "Debian package lomiri-wallpapers-16.04), deadleaves (procedural, drawn "
                        "into OUT/sources) (default: skimage,mate)")
    p.add_argument("--no-builtin", action="store_true",
                   help="use only --source folders, not the built-in photographs")
    p.add_argument("--mate-dir", default=lib.DEFAULT_MATE_DIR,
                   help="folder of the mate-backgrounds nature photos (default %(default)s)")
    p.add_argument("--lomiri-dir", default=lib.DEFAULT_LOMIRI_DIR,
                   help="folder of the lomiri-wallpapers-16.04 photos (default %(default)s)")
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of --source files kept for validation (default 0.1, at least 1)")
    p.add_argument("--val-ladder", action="store_true",
                   help="also write OUT/val_ladder: validation scenes at QP 22..42, "
                        "preset medium, 3 B-frames")
    p.add_argument("--ladder-scenes", type=int, default=2,
                   help="ladder scenes per validation source (default 2)")
    p.add_argument("--resume", action="store_true",
                   help="keep clips already written with the same recipe instead of rebuilding")
    return p


# ----------------------------------------------------------------------------------------------
# Planning: every clip's recipe comes from (seed, split, index) alone
# ----------------------------------------------------------------------------------------------
def clip_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, SPLIT_CODES[split], index])


def sample_size(rng: np.random.Generator, size: tuple[tuple[int, int], tuple[int, int]]
                ) -> tuple[int, int]:
    (w0, h0), (w1, h1) = size
    return 16 * int(rng.integers(w0 // 16, w1 // 16 + 1)), 16 * int(rng.integers(h0 // 16,
                                                                              h1 // 16 + 1))


def sample_encoder(rng: np.random.Generator, frames: int, qp_range: tuple[int, int]) -> dict:
    """libx264 settings: QP (70%) or CRF, preset, B-frames, references, GOP length."""
    values = np.arange(qp_range[0], qp_range[1] + 1)
    weights = np.where((values >= 27) & (values <= 42), 3.0, 1.0)
    value = int(rng.choice(values, p=weights / weights.sum()))
    rc = "qp" if rng.random() < 0.7 else "crf"
    preset = str(rng.choice(PRESETS, p=PRESET_P))
    bf = int(rng.choice([0, 1, 2, 3], p=[0.2, 0.15, 0.25, 0.4]))
    refs = int(rng.choice([1, 2, 3, 4], p=[0.3, 0.25, 0.25, 0.2]))
    if frames > 5 and rng.random() < 0.5:
        g = int(rng.integers(max(4, frames // 4), frames))
    else:
        g = 250
    return encoder_settings(rc, value, preset, bf, refs, g)


def encoder_settings(rc: str, value: int, preset: str, bf: int, refs: int, g: int) -> dict:
    options = {rc: str(value), "preset": preset, "bf": str(bf), "refs": str(refs), "g": str(g),
               "threads": "1"}
    return {"codec": "libx264", "rc": rc, rc: value, "preset": preset, "bf": bf, "refs": refs,
            "g": g, "options": options}


def pick_source(rng: np.random.Generator, sources: list[lib.Source]) -> lib.Source:
    w = np.array([s.weight for s in sources], np.float64)
    return sources[int(rng.choice(len(sources), p=w / w.sum()))]


def video_start(rng: np.random.Generator, src: lib.Source, frames: int) -> float:
    if src.duration and src.rate:
        room = src.duration - (frames + 2) / src.rate
        if room > 0:
            return round(float(rng.uniform(0, room)), 3)
    return 0.0


def plan_clip(split: str, index: int, sources: list[lib.Source], args) -> dict:
    rng = clip_rng(args.seed, split, index)
    src = pick_source(rng, sources)
    width, height = sample_size(rng, args.size_range)
    spec = {
        "split": split, "index": index, "file": f"{split}/{index:06d}.npz",
        "source": lib.source_record(src), "path": src.path,
        "width": width, "height": height, "frames": args.frames,
        "trajectory_seed": int(rng.integers(1 << 31)),
        "start_s": video_start(rng, src, args.frames) if src.kind == "video" else None,
        "encoder": sample_encoder(rng, args.frames, args.qp_range),
        "seed": args.seed,
    }
    return spec


def plan_ladder_scene(scene: int, src: lib.Source, args) -> dict:
    rng = clip_rng(args.seed, "val_ladder", scene)
    width, height = sample_size(rng, args.size_range)
    return {
        "split": "val_ladder", "index": scene, "source": lib.source_record(src), "path": src.path,
        "width": width, "height": height, "frames": args.frames,
        "trajectory_seed": int(rng.integers(1 << 31)),
        "start_s": video_start(rng, src, args.frames) if src.kind == "video" else None,
        "ladder": [{"file": f"val_ladder/{scene:03d}_qp{q}.npz",
                    "encoder": encoder_settings("qp", q, "medium", 3, 3, 250)}
                   for q in args.ladder_qps],
        "seed": args.seed,
    }


# ----------------------------------------------------------------------------------------------
# Work (runs in worker processes with --jobs > 1)
# ----------------------------------------------------------------------------------------------
def _worker_init() -> None:
    import cv2
    cv2.setNumThreads(1)
    lib.pin_malloc()


def render(spec: dict) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], dict]:
    """The pristine clip of a recipe as yuv420p planes, and the motion description."""
    w, h, t = spec["width"], spec["height"], spec["frames"]
    if spec["source"]["kind"] == "video":
        frames, info = lib.video_clip(spec["path"], w, h, t, spec["start_s"] or 0.0,
                                      spec["trajectory_seed"])
    else:
        frames, info = lib.camera_clip(lib.load_image(spec["path"]), w, h, t,
                                       spec["trajectory_seed"])
    return lib.to_yuv420(frames), info


def _existing(out: Path, rel: str, key: str) -> dict | None:
    """The meta of a clip already written with the same recipe, else None."""
    path = out / rel
    if not path.is_file():
        return None
    try:
        with np.load(path) as z:
            meta = json.loads(str(z["meta"]))
    except Exception:  # noqa: BLE001 - any unreadable file is rebuilt
        return None
    return meta if meta.get("spec_hash") == key else None


def _write(out: Path, rel: str, arrays: dict) -> int:
    """Write one .npz atomically (temporary file, then rename); returns its size in bytes."""
    path = out / rel
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    os.replace(tmp, path)
    return path.stat().st_size


def _encode_one(out: Path, rel: str, spec: dict, encoder: dict, src_planes, info: dict) -> dict:
    h, w, t = spec["height"], spec["width"], spec["frames"]
    dec = lib.encode_decode(src_planes, encoder["options"])
    bits = dec.pop("size_bits")
    psnr_y = dec.pop("psnr_y")
    meta = {
        "format": FORMAT, "file": rel, "split": spec["split"], "index": spec["index"],
        "source": spec["source"]["key"], "source_file": os.path.basename(spec["path"]),
        "licence": spec["source"]["licence"], "source_kind": spec["source"]["kind"],
        "width": w, "height": h, "frames": t, "seed": spec["seed"],
        "trajectory_seed": spec["trajectory_seed"], "start_s": spec["start_s"], "motion": info,
        "encoder": encoder, "psnr_y": round(psnr_y, 4), "size_bits": bits,
        "bpp": round(sum(bits) / (w * h * t), 5),
        "mean_qp": round(float(dec["qp"].mean()), 3),
        "types": "".join("IPB"[c] for c in dec["types"]),
    }
    meta["spec_hash"] = lib.spec_hash({"spec": {k: v for k, v in spec.items()
                                                if k not in ("ladder", "path")},
                                       "encoder": encoder})
    y, u, v = src_planes
    arrays = {"src_y": y, "src_u": u, "src_v": v, **dec, "meta": np.array(json.dumps(meta))}
    return {"meta": meta, "bytes": _write(out, rel, arrays)}


def run_task(task: tuple[str, dict, bool]) -> list[dict]:
    """Build one clip (or one ladder scene at every QP). Returns one record per file written or
    kept; a failure gives a record with "error" instead of stopping the build."""
    out, spec, resume = Path(task[0]), task[1], task[2]
    jobs = ([(spec["file"], spec["encoder"])] if "ladder" not in spec
            else [(r["file"], r["encoder"]) for r in spec["ladder"]])
    records: list[dict] = []
    todo = []
    for rel, encoder in jobs:
        key = lib.spec_hash({"spec": {k: v for k, v in spec.items() if k not in ("ladder", "path")},
                             "encoder": encoder})
        meta = _existing(out, rel, key) if resume else None
        if meta is not None:
            records.append({"meta": meta, "bytes": (out / rel).stat().st_size, "kept": True})
        else:
            todo.append((rel, encoder))
    if not todo:
        return records
    try:
        planes, info = render(spec)
        for rel, encoder in todo:
            records.append(_encode_one(out, rel, spec, encoder, planes, info))
    except Exception as e:  # noqa: BLE001 - reported per clip, the build goes on
        name = spec.get("file") or f"val_ladder scene {spec['index']}"
        records.append({"split": spec["split"],
                        "error": f"{name} ({spec['source']['key']}): {type(e).__name__}: {e}"})
    return records


# ----------------------------------------------------------------------------------------------
# Manifest
# ----------------------------------------------------------------------------------------------
def _hist(values) -> dict[str, int]:
    """Counts by value, in numeric order for numbers, else alphabetical."""
    c = collections.Counter(values)
    return {str(k): c[k] for k in sorted(c)}


def summarize(records: list[dict], args) -> dict:
    metas = [r["meta"] for r in records if "meta" in r]
    enc = [m["encoder"] for m in metas]
    types = collections.Counter("".join(m["types"] for m in metas))
    return {
        "clips": len(metas),
        "frames": sum(m["frames"] for m in metas),
        "bytes": sum(r["bytes"] for r in records if "meta" in r),
        "seed": args.seed,
        "settings": {"frames": args.frames, "size": args.size, "qp_range": list(args.qp_range)},
        "qp_hist": _hist(e["qp"] for e in enc if e["rc"] == "qp"),
        "crf_hist": _hist(e["crf"] for e in enc if e["rc"] == "crf"),
        "mean_qp_hist": _hist(round(m["mean_qp"]) for m in metas),
        "presets": _hist(e["preset"] for e in enc),
        "bf": _hist(e["bf"] for e in enc),
        "refs": _hist(e["refs"] for e in enc),
        "frame_types": {k: types[k] for k in "IPB"},
        "psnr_y_mean": round(float(np.mean([m["psnr_y"] for m in metas])), 3) if metas else None,
        "sources": _hist(m["source"] for m in metas),
        "failed": [r["error"] for r in records if "error" in r],
    }


def write_manifest(out: Path, built: dict[str, dict], sources: list[lib.Source],
                   notes: list[str]) -> dict:
    path = out / "manifest.json"
    manifest: dict = {}
    if path.is_file():
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError):
            manifest = {}
        if manifest.get("format") != FORMAT:
            manifest = {}
    splits = dict(manifest.get("splits", {}))
    splits.update(built)
    manifest = {
        "format": FORMAT,
        "tool": "tools/make_dataset.py",
        "arrays": ARRAYS,
        "splits": {k: splits[k] for k in ("train", "val", "val_ladder") if k in splits},
        "total_bytes": sum(s["bytes"] for s in splits.values()),
        "sources": {sp: [lib.source_record(s) for s in sources if s.split == sp]
                    for sp in ("train", "val")},
        "builtin_missing": notes,
    }
    tmp = path.with_name("manifest.json.tmp")
    tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    os.replace(tmp, path)
    return manifest


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------
def collect_sources(args) -> tuple[list[lib.Source], list[str]]:
    sources: list[lib.Source] = []
    notes: list[str] = []
    collections = tuple(c for c in args.builtin.split(",") if c) if not args.no_builtin else ()
    known = ("skimage", "mate", "lomiri", "deadleaves")
    unknown = set(collections) - set(known)
    if unknown:
        raise UsageError(f"--builtin: unknown collection(s) {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(known)})")
    if collections:
        sources, notes = lib.builtin_sources(collections, args.mate_dir, args.lomiri_dir,
                                             Path(args.out) / "sources", args.seed)
    try:
        user, skipped = lib.user_sources(args.source, args.val_fraction, args.frames)
    except FileNotFoundError as e:
        raise UsageError(str(e)) from None
    for msg in skipped:
        print(f"make_dataset: {msg}", file=sys.stderr)
    sources += user
    return sources, notes


def main(argv: list[str] | None = None) -> int:
    try:
        return build(argv)
    finally:
        lib.pin_malloc(False)  # in-process callers (tests) get plain malloc back


def build(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.size_range = parse_size(args.size)
        args.qp_range = parse_range(args.qp_range, "--qp-range", 0, 51)
        args.ladder_qps = LADDER_QPS
        if args.frames < 1 or args.clips_train < 0 or args.clips_val < 0 or args.jobs < 1:
            raise UsageError("--frames and --jobs must be >= 1, clip counts >= 0")
        if not 0 <= args.val_fraction < 1:
            raise UsageError("--val-fraction must be in [0, 1)")
        sources, notes = collect_sources(args)
        by_split = {sp: [s for s in sources if s.split == sp] for sp in ("train", "val")}
        if args.clips_train and not by_split["train"]:
            raise UsageError("no training sources (give --source DIR, or install the built-ins)")
        if (args.clips_val or args.val_ladder) and not by_split["val"]:
            raise UsageError("no validation sources (give --source DIR with 2 or more files)")
    except UsageError as e:
        print(f"make_dataset: {e}", file=sys.stderr)
        return 2

    if not lib.pin_malloc():
        print("make_dataset: not glibc: CRF clips may not be byte-reproducible "
              "(see datasets_lib.pin_malloc)", file=sys.stderr)
    out = Path(args.out)
    tasks: list[tuple[str, dict, bool]] = []
    wanted = {"train": args.clips_train, "val": args.clips_val}
    building = [sp for sp in ("train", "val") if wanted[sp]] + (["val_ladder"] if args.val_ladder
                                                               else [])
    for sp in building:
        (out / sp).mkdir(parents=True, exist_ok=True)
        if not args.resume:  # a fresh build of a split replaces what was there
            for old in list((out / sp).glob("*.npz")) + list((out / sp).glob("*.tmp")):
                old.unlink()
    for sp in ("train", "val"):
        tasks += [(str(out), plan_clip(sp, i, by_split[sp], args), args.resume)
                  for i in range(wanted[sp])]
    if args.val_ladder:
        scenes = [s for s in by_split["val"] for _ in range(args.ladder_scenes)]
        tasks += [(str(out), plan_ladder_scene(i, s, args), args.resume)
                  for i, s in enumerate(scenes)]

    for s in notes:
        print(f"make_dataset: built-in photo not found: {s}", file=sys.stderr)
    print(f"make_dataset: {len(by_split['train'])} training and {len(by_split['val'])} "
          f"validation sources; {len(tasks)} tasks, {args.jobs} job(s)", file=sys.stderr)
    from tqdm import tqdm

    t0 = time.perf_counter()
    records: list[dict] = []
    bar = tqdm(total=len(tasks), unit="clip", file=sys.stderr, disable=None)
    if args.jobs == 1:
        _worker_init()
        for task in tasks:
            records += run_task(task)
            bar.update()
    else:
        with multiprocessing.Pool(args.jobs, initializer=_worker_init) as pool:
            for recs in pool.imap_unordered(run_task, tasks):
                records += recs
                bar.update()
    bar.close()
    elapsed = time.perf_counter() - t0

    def split_of(r: dict) -> str:
        return r["meta"]["split"] if "meta" in r else r["split"]

    records.sort(key=lambda r: r["meta"]["file"] if "meta" in r else r["error"])
    built = {sp: summarize([r for r in records if split_of(r) == sp], args) for sp in building}
    manifest = write_manifest(out, built, sources, notes)
    failed = [e for s in built.values() for e in s["failed"]]
    for e in failed:
        print(f"make_dataset: failed: {e}", file=sys.stderr)
    n_files = sum(s["clips"] for s in built.values())
    kept = sum(1 for r in records if r.get("kept"))
    mb = sum(s["bytes"] for s in built.values()) / 1e6
    print(f"make_dataset: {n_files - kept} clips written, {kept} kept ({mb:.1f} MB) in {out} "
          f"in {elapsed:.1f} s; dataset total {manifest['total_bytes'] / 1e6:.1f} MB",
          file=sys.stderr)
    return 1 if failed and not n_files else 0


if __name__ == "__main__":
    sys.exit(main())
