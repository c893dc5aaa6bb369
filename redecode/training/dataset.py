"""``redecode dataset``: pictures and videos in, training clips out.

Every clip's recipe (source, size, trajectory, encoder settings) is drawn from a generator
seeded with ``(seed, split, index)`` alone, so ``--jobs`` does not change the result and a
dataset can be rebuilt instead of copied. A clip is rendered (camera motion over a still, or a
span of a real video scaled down by at least 2x), converted to yuv420p once (the encoder's own
input, so pristine and decoded share one colour domain), encoded with libx264, mpeg2video or
mpeg4 (each with its own spread of quantisers, presets and GOP structures), decoded with its
metadata by :func:`redecode.decoders.open_video` and written with
:func:`redecode.training.clips.save_clip`. The split is by source: validation scenes never
appear in training. ``val_ladder/`` holds the validation scenes at x264 QP 22..42 (preset
medium, 3 B-frames, 3 references): the scenes of the quality benchmark and the safety gate.

Layout: DIR/train/NNNNNN.npz, DIR/val/NNNNNN.npz, DIR/val_ladder/SSS_qpQQ.npz, DIR/manifest.json.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..coding import LADDER_QPS
from .camera import camera_clip
from .clips import FORMAT, Clip, read_meta, save_clip
from .encodes import (
    CODECS,
    encode_decode,
    ladder_settings,
    pin_malloc,
    sample_encoder,
    to_yuv420,
)
from .manifest import summarize, write_manifest
from .sources import (
    Source,
    builtin_sources,
    dead_leaves_sources,
    load_image,
    user_sources,
    video_clip,
    video_size,
)

__all__ = ["CODECS", "DatasetError", "DatasetOptions", "build_dataset"]

SPLIT_CODES = {"train": 0, "val": 1, "val_ladder": 2}


class DatasetError(Exception):
    """A mistake in the options or the sources: one line for the user."""


@dataclass(frozen=True)
class DatasetOptions:
    """What ``redecode dataset`` builds.

    Attributes:
        out: the dataset folder.
        sources: files and folders of the user's images and videos.
        val_sources: files and folders held out for validation (then ``val_fraction`` is unused).
        video_downscale: the least factor the user's videos are scaled down by (1: they are
            already clean).
        builtin: catalogue collections to use (``catalog.COLLECTIONS``), "deadleaves" for the
            procedural pictures; empty: none.
        clips, val_clips: training / validation clips to write.
        frames: frames per clip.
        size: ((min w, min h), (max w, max h)) of the clips, multiples of 16.
        codecs: encoders to spread the clips over.
        qp_range: H.264 QP / CRF range (MPEG-2/4 draw the quantiser scale of the same step).
        val_fraction: share of the user's files held out for validation (whole files).
        val_ladder: also write the validation ladder; ladder_scenes per validation source.
        seed, jobs, resume: see the module docstring; resume keeps clips already written with
            the same recipe.
        cache: folder for extracted built-in pictures (default DIR/sources).
    """

    out: Path
    sources: tuple[str, ...] = ()
    val_sources: tuple[str, ...] = ()
    builtin: tuple[str, ...] = ()
    clips: int = 300
    val_clips: int = 30
    frames: int = 24
    size: tuple[tuple[int, int], tuple[int, int]] = ((256, 192), (384, 256))
    codecs: tuple[str, ...] = ("libx264",)
    qp_range: tuple[int, int] = (17, 45)
    val_fraction: float = 0.1
    val_ladder: bool = False
    ladder_scenes: int = 2
    seed: int = 0
    jobs: int = 1
    resume: bool = False
    cache: Path | None = None
    video_downscale: float = 2.0

    def __post_init__(self) -> None:
        unknown = [c for c in self.codecs if c not in CODECS]
        if unknown or not self.codecs:
            raise DatasetError(f"--codec: unknown {', '.join(unknown) or 'none given'}; known: {', '.join(CODECS)}")
        if self.frames < 2 or self.clips < 0 or self.val_clips < 0 or self.jobs < 1 or self.ladder_scenes < 1:
            raise DatasetError("--frames must be >= 2, --jobs and --ladder-scenes >= 1, clip counts >= 0")
        if self.video_downscale < 1:
            raise DatasetError("--video-downscale must be >= 1")
        if not 0 <= self.val_fraction < 1:
            raise DatasetError("--val-fraction must be in [0, 1)")
        (w0, h0), (w1, h1) = self.size
        if min(w0, h0) < 16 or any(v % 16 for v in (w0, h0, w1, h1)) or w0 > w1 or h0 > h1:
            raise DatasetError("--size: sides must be multiples of 16, the first size not above the second")
        if not 0 <= self.qp_range[0] <= self.qp_range[1] <= 51:
            raise DatasetError("--qp-range: need 0 <= first <= second <= 51")


# -- planning ---------------------------------------------------------------------------------

def _rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, SPLIT_CODES[split], index])


def _size(rng: np.random.Generator, opts: DatasetOptions) -> tuple[int, int]:
    (w0, h0), (w1, h1) = opts.size
    return 16 * int(rng.integers(w0 // 16, w1 // 16 + 1)), 16 * int(rng.integers(h0 // 16, h1 // 16 + 1))


def _pick(rng: np.random.Generator, sources: Sequence[Source]) -> Source:
    w = np.array([s.weight for s in sources], np.float64)
    return sources[int(rng.choice(len(sources), p=w / w.sum()))]


def _start(rng: np.random.Generator, src: Source, frames: int) -> float | None:
    """A start time inside the source's span leaving room for ``frames`` frames."""
    if src.kind != "video":
        return None
    if not src.duration or not src.rate:
        return 0.0
    lo, hi = src.span[0] * src.duration, src.span[1] * src.duration - (frames + 1) / src.rate
    return round(float(rng.uniform(lo, hi)), 3) if hi > lo else round(lo, 3)


def _scene(split: str, index: int, sources: Sequence[Source], opts: DatasetOptions) -> dict:
    rng = _rng(opts.seed, split, index)
    src = _pick(rng, sources)
    width, height = _size(rng, opts)
    if src.kind == "video":
        width, height = video_size(src, (width, height)) or (width, height)
    return {"split": split, "index": index, "source": src.record(), "path": src.path,
            "width": width, "height": height, "frames": opts.frames,
            "trajectory_seed": int(rng.integers(1 << 31)), "start_s": _start(rng, src, opts.frames),
            "seed": opts.seed, "rng": rng}


def plan_clip(split: str, index: int, sources: Sequence[Source], opts: DatasetOptions) -> dict:
    spec = _scene(split, index, sources, opts)
    rng = spec.pop("rng")
    codec = opts.codecs[int(rng.integers(len(opts.codecs)))]
    spec["jobs"] = [{"file": f"{split}/{index:06d}.npz",
                     "encoder": sample_encoder(rng, codec, opts.frames, opts.qp_range)}]
    return spec


def plan_ladder(scene: int, src: Source, opts: DatasetOptions) -> dict:
    spec = _scene("val_ladder", scene, [src], opts)
    spec.pop("rng")
    spec["jobs"] = [{"file": f"val_ladder/{scene:03d}_qp{q}.npz",
                     "encoder": ladder_settings(q)} for q in LADDER_QPS]
    return spec


def usable(src: Source, frames: int) -> str | None:
    """Why a source cannot give clips (too short, too small), or None."""
    if src.kind != "video":
        return None
    if src.frames_in_span() and src.frames_in_span() < frames + 2:
        return f"{src.key} ({src.split}): {src.frames_in_span()} frames, shorter than {frames}"
    if video_size(src, (10 ** 6, 10 ** 6)) is None:
        return f"{src.key}: {src.width}x{src.height} is too small to scale down 2x to 128x96"
    return None


# -- work (in worker processes with jobs > 1) -------------------------------------------------

def _worker_init() -> None:
    import cv2

    cv2.setNumThreads(1)
    pin_malloc()


def render(spec: dict) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], dict]:
    """The pristine frames of a recipe as yuv420p planes, and the motion description."""
    w, h, t = spec["width"], spec["height"], spec["frames"]
    src = Source(**{**spec["source"], "path": spec["path"], "span": tuple(spec["source"]["span"])})
    if src.kind == "video":
        frames, info = video_clip(src, w, h, t, spec["start_s"] or 0.0, spec["trajectory_seed"])
    else:
        frames, info = camera_clip(load_image(src.path), w, h, t, spec["trajectory_seed"])
    return to_yuv420(frames), info


def spec_hash(spec: dict, encoder: dict) -> str:
    """A short hash of a clip's full recipe (for ``resume``)."""
    keep = {k: v for k, v in spec.items() if k not in ("jobs", "path")}
    return hashlib.sha1(json.dumps({"spec": keep, "encoder": encoder}, sort_keys=True).encode()).hexdigest()[:16]


def run_task(task: tuple[str, dict, bool]) -> list[dict]:
    """Build one clip (or one ladder scene at every QP); one record per file written or kept.
    A failure gives a record with "error" instead of stopping the build."""
    out, spec, resume = Path(task[0]), task[1], task[2]
    records: list[dict] = []
    todo = []
    for job in spec["jobs"]:
        key = spec_hash(spec, job["encoder"])
        meta = read_meta(out / job["file"]) if resume else None
        if meta is not None and meta.get("spec_hash") == key:
            records.append({"meta": meta, "bytes": (out / job["file"]).stat().st_size, "kept": True})
        else:
            todo.append((job, key))
    if not todo:
        return records
    try:
        planes, info = render(spec)
        for job, key in todo:
            clip, facts = encode_decode(planes, job["encoder"])
            meta = _clip_meta(spec, job, clip, facts, info, key)
            records.append({"meta": meta, "bytes": save_clip(out / job["file"], clip, meta)})
    except Exception as e:  # noqa: BLE001 - reported per clip, the build goes on
        records.append({"split": spec["split"], "error": f"{spec['jobs'][0]['file']} ({spec['source']['key']}): "
                                                         f"{type(e).__name__}: {e}"})
    return records


def _psnr_y(clip: Clip) -> float:
    from ..pipeline.metrics import psnr

    return float(np.mean([psnr(clip.dec_y[t], clip.src_y[t], clip.bit_depth) for t in range(clip.length)]))


def _clip_meta(spec: dict, job: dict, clip: Clip, facts: dict, info: dict, key: str) -> dict:
    w, h, t = spec["width"], spec["height"], spec["frames"]
    bits = facts["size_bits"]
    return {
        "format": FORMAT, "file": job["file"], "split": spec["split"], "index": spec["index"],
        "source": spec["source"]["key"], "source_file": os.path.basename(spec["path"]),
        "licence": spec["source"]["licence"], "author": spec["source"]["author"],
        "source_kind": spec["source"]["kind"], "width": w, "height": h, "frames": t, "seed": spec["seed"],
        "trajectory_seed": spec["trajectory_seed"], "start_s": spec["start_s"], "motion": info,
        "encoder": job["encoder"], "psnr_y": round(_psnr_y(clip), 4), "size_bits": bits,
        "decode_order": facts["decode_order"], "bpp": round(sum(bits) / (w * h * t), 5),
        "mean_qp": round(float(clip.qp.mean()), 3), "types": "".join(clip.type_letters), "spec_hash": key,
    }


# -- the build --------------------------------------------------------------------------------

@dataclass
class BuildResult:
    """What a build wrote: per split summaries, messages, and whether anything failed."""

    built: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    written: int = 0
    kept: int = 0
    seconds: float = 0.0


def collect_sources(opts: DatasetOptions) -> tuple[list[Source], list[str]]:
    """Every source of the build, and notes (missing built-ins, files skipped, unusable)."""
    sources: list[Source] = []
    notes: list[str] = []
    builtin = [b for b in opts.builtin if b != "deadleaves"]
    cache = opts.cache or (opts.out / "sources")
    if builtin:
        try:
            found, missing = builtin_sources(builtin, cache)
        except ValueError as e:
            raise DatasetError(f"built-in collections: {e}") from None
        sources += found
        notes += missing
    if "deadleaves" in opts.builtin:
        sources += dead_leaves_sources(cache / "deadleaves", opts.seed)
    try:
        user, skipped = user_sources(opts.sources, opts.val_fraction, opts.val_sources, opts.video_downscale)
    except FileNotFoundError as e:
        raise DatasetError(str(e)) from None
    sources += user
    notes += skipped
    keep = []
    for s in sources:
        why = usable(s, opts.frames)
        if why:
            notes.append(f"{why}: skipped")
        else:
            keep.append(s)
    return keep, notes


def build_dataset(opts: DatasetOptions, progress: bool = False) -> BuildResult:
    """Build the dataset described by ``opts``; see the module docstring."""
    sources, notes = collect_sources(opts)
    by_split = {sp: [s for s in sources if s.split == sp] for sp in ("train", "val")}
    if opts.clips and not by_split["train"]:
        raise DatasetError("no training sources: give files or folders, or built-in collections")
    if (opts.val_clips or opts.val_ladder) and not by_split["val"]:
        raise DatasetError("no validation sources (give 2 or more files, or use --val-clips 0)")
    if not pin_malloc():
        notes.append("not glibc: CRF clips may not be byte-reproducible")
    out = opts.out
    wanted = {"train": opts.clips, "val": opts.val_clips}
    building = [sp for sp in ("train", "val") if wanted[sp]] + (["val_ladder"] if opts.val_ladder else [])
    for sp in building:
        (out / sp).mkdir(parents=True, exist_ok=True)
        if not opts.resume:  # a fresh build of a split replaces what was there
            for old in list((out / sp).glob("*.npz")) + list((out / sp).glob(".*.partial.npz")):
                old.unlink()
    tasks: list[tuple[str, dict, bool]] = []
    for sp in ("train", "val"):
        tasks += [(str(out), plan_clip(sp, i, by_split[sp], opts), opts.resume) for i in range(wanted[sp])]
    if opts.val_ladder:
        scenes = [s for s in by_split["val"] for _ in range(opts.ladder_scenes)]
        tasks += [(str(out), plan_ladder(i, s, opts), opts.resume) for i, s in enumerate(scenes)]

    from tqdm import tqdm

    result = BuildResult(notes=notes)
    t0 = time.perf_counter()
    records: list[dict] = []
    bar = tqdm(total=len(tasks), unit="clip", file=sys.stderr, disable=not progress, desc="dataset")
    try:
        if opts.jobs == 1:
            _worker_init()
            for task in tasks:
                records += run_task(task)
                bar.update()
        else:
            # spawn: forked children inherit FFmpeg's and OpenCV's thread pools half-initialised
            # and can hang on their locks; fresh interpreters cannot.
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(opts.jobs, initializer=_worker_init) as pool:
                for recs in pool.imap_unordered(run_task, tasks):
                    records += recs
                    bar.update()
    finally:
        bar.close()
        pin_malloc(False)  # in-process callers get plain malloc back
    result.seconds = time.perf_counter() - t0

    def split_of(r: dict) -> str:
        return r["meta"]["split"] if "meta" in r else r["split"]

    records.sort(key=lambda r: r["meta"]["file"] if "meta" in r else r["error"])
    settings = {"frames": opts.frames, "size": [list(s) for s in opts.size], "qp_range": list(opts.qp_range),
                "codecs": list(opts.codecs)}
    result.built = {sp: summarize([r for r in records if split_of(r) == sp], settings, opts.seed) for sp in building}
    write_manifest(out, result.built, sources, notes)
    result.failed = [e for s in result.built.values() for e in s["failed"]]
    result.kept = sum(1 for r in records if r.get("kept"))
    result.written = sum(s["clips"] for s in result.built.values()) - result.kept
    return result
