"""Train a restoration network the way it infers.

Usage::

    python tools/train.py configs/train_small.toml                  # data paths from the config
    python tools/train.py configs/train_smoke.toml --train clip.npz --out runs/smoke
    python tools/train.py configs/train_small.toml --resume         # continue from out_dir/last.pt
    python tools/train.py configs/train_base.toml --device cuda --set batch=16 --set lr=1e-4

Each step samples ``batch`` runs of ``seq_len`` consecutive frames (display order) from clip
files (format: :mod:`redecode.models.clips`), cropped at random on the 16-pixel macroblock grid.
Within a run the frames are restored as the pipeline restores them: reference structure from
``redecode.pipeline.gop.reference_plan`` over the whole clip, anchors (I/P) in display order
first, then B-frames, every P/B frame fed the model's *own* restored references (gradients flow
through them unless ``detach_refs``). A reference that lies outside the run (the anchor before
its first frame, the one after its last B-frames) is restored first, without gradient, with its
own references stood in for by their decoded frames. Frames are batched across runs when they
have the same reference lists. The loss is Charbonnier on all six packed channels (the four luma
channels weigh luma 2:1 against chroma; ``chroma_weight`` scales the chroma ones) against the
pristine frames of the run.

Outputs in ``out_dir``: ``last.pt`` (model + optimizer + step + RNG states, written atomically
every ``save_every`` steps; also loadable by ``redecode.models.load``), ``model.pt`` (the final
model checkpoint with its recipe in ``meta``) and ``log.csv`` (step, loss, lr, validation
ΔPSNR-Y of restored over decoded against pristine, seconds).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import glob
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redecode.models import (  # noqa: E402
    SIZES, ModelError, Reference, RestorationConfig, RestorationNet, motion_to_tensor,
    planes_to_tensor, qp_to_tensor, save, select_reference, tensor_to_planes,
)
from redecode.models.clips import Clip, ClipError, clip_from_frames, clip_shape, load_clip  # noqa: E402
from redecode.models.zoo import atomic_save  # noqa: E402
from redecode.pipeline.gop import is_anchor, reference_plan  # noqa: E402

#: Anchors kept as list-0 candidates, as ``redecode.pipeline.scheduler.restore_frames`` does.
LIST0_CANDIDATES = 3

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


class TrainError(Exception):
    """A user error (bad config, missing data): printed as one line, exit status 2."""


# ---- configuration -------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainConfig:
    """A training recipe (flat TOML; unknown keys are an error).

    Attributes:
        model: named size to start from ("small", "base").
        model_widths, model_enc_blocks, model_dec_blocks: override the size's config (empty: keep).
        model_ref_blocks, model_cond_width: override the size's config (-1 / 0: keep).
        train, val: glob patterns of clip ``.npz`` files (relative to the working directory).
        out_dir: where checkpoints and the log go.
        steps: optimizer steps in all.
        batch: runs per step.
        seq_len: consecutive frames per run.
        crop: luma crop side in pixels, a multiple of 16 (clipped to the smallest clip).
        lr, min_lr, warmup: AdamW learning rate, cosine floor and linear warm-up steps.
        weight_decay, grad_clip: AdamW weight decay; gradient norm clip (0 = off).
        loss: "charbonnier" (robust, L1-like) or "mse" (what PSNR measures).
        charbonnier_eps: epsilon of the Charbonnier loss (in [0, 1] pixel units).
        chroma_weight: weight of the two chroma channels against the four luma ones.
        detach_refs: stop gradients at restored references (truncated unrolling).
        save_every, val_every: checkpoint / validation interval in steps (0 = only at the end).
        val_frames: validate on the first N frames of each validation clip (0 = all).
        cache_clips: clip files kept in memory.
        seed: seeds model initialisation and sampling.
        device: "cpu", "cuda", "cuda:1", ...
        threads: CPU threads for torch (0 = torch's default); 1 is fastest for tiny models.
    """

    model: str = "small"
    model_widths: tuple[int, ...] = ()
    model_enc_blocks: tuple[int, ...] = ()
    model_dec_blocks: tuple[int, ...] = ()
    model_ref_blocks: int = -1
    model_cond_width: int = 0
    train: tuple[str, ...] = ()
    val: tuple[str, ...] = ()
    out_dir: str = "runs/train"
    steps: int = 100_000
    batch: int = 8
    seq_len: int = 6
    crop: int = 128
    lr: float = 4e-4
    min_lr: float = 1e-6
    warmup: int = 1000
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    loss: str = "charbonnier"
    charbonnier_eps: float = 1e-3
    chroma_weight: float = 1.0
    detach_refs: bool = False
    save_every: int = 1000
    val_every: int = 5000
    val_frames: int = 0
    cache_clips: int = 64
    seed: int = 0
    device: str = "cpu"
    threads: int = 0

    def __post_init__(self) -> None:
        if self.model not in SIZES:
            raise TrainError(f"model must be one of {', '.join(SIZES)}, got {self.model!r}")
        positive = ("steps", "batch", "seq_len", "crop", "cache_clips")
        for name in positive:
            if getattr(self, name) < 1:
                raise TrainError(f"{name} must be >= 1")
        if self.crop % 16:
            raise TrainError(f"crop must be a multiple of 16 (the macroblock grid), got {self.crop}")
        if self.loss not in ("charbonnier", "mse"):
            raise TrainError(f"loss must be charbonnier or mse, got {self.loss!r}")
        if self.lr <= 0 or self.min_lr < 0 or self.charbonnier_eps <= 0:
            raise TrainError("lr and charbonnier_eps must be > 0, min_lr >= 0")

    def model_config(self) -> RestorationConfig:
        """The size's config with this recipe's overrides."""
        overrides: dict[str, Any] = {}
        for key in ("widths", "enc_blocks", "dec_blocks"):
            if getattr(self, f"model_{key}"):
                overrides[key] = getattr(self, f"model_{key}")
        if self.model_ref_blocks >= 0:
            overrides["ref_blocks"] = self.model_ref_blocks
        if self.model_cond_width > 0:
            overrides["cond_width"] = self.model_cond_width
        try:
            return dataclasses.replace(SIZES[self.model], **overrides)
        except ValueError as exc:
            raise TrainError(f"model overrides: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}


_STR_TUPLES = {"train", "val"}


def _coerce(name: str, value: Any, default: Any) -> Any:
    """Check a TOML value against the field's default type."""
    if isinstance(default, tuple):
        item = str if name in _STR_TUPLES else int
        if not isinstance(value, list) or not all(isinstance(v, item) and not isinstance(v, bool) for v in value):
            raise TrainError(f"{name} must be a list of {item.__name__}s, got {value!r}")
        return tuple(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise TrainError(f"{name} must be true or false, got {value!r}")
        return value
    if isinstance(default, float):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise TrainError(f"{name} must be a number, got {value!r}")
        return float(value)
    if not isinstance(value, type(default)) or isinstance(value, bool):
        raise TrainError(f"{name} must be a {type(default).__name__}, got {value!r}")
    return value


def parse_config(data: dict[str, Any]) -> TrainConfig:
    """A :class:`TrainConfig` from a flat dict; unknown keys and wrong types raise TrainError."""
    defaults = {f.name: f.default for f in fields(TrainConfig)}
    unknown = sorted(set(data) - set(defaults))
    if unknown:
        raise TrainError(f"unknown config keys: {', '.join(unknown)}")
    return TrainConfig(**{k: _coerce(k, v, defaults[k]) for k, v in data.items()})


def load_config(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a TOML recipe, then apply ``key=value`` overrides (values in TOML syntax)."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise TrainError(f"cannot read config {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise TrainError(f"{path}: {exc}") from exc
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise TrainError(f"--set expects key=value, got {item!r}")
        try:
            data.update(tomllib.loads(f"{key.strip()} = {value.strip()}"))
        except tomllib.TOMLDecodeError:
            data[key.strip()] = value.strip()  # a bare string
    return parse_config(data)


# ---- data ----------------------------------------------------------------------------------

def clip_from_video(
    pristine: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    video: str | os.PathLike[str],
) -> Clip:
    """A training clip from the pristine planes of a video and its encoded file.

    Args:
        pristine: (Y, U, V) 4:2:0 planes of the frames that were encoded, in display order.
        video: the encoded file; decoded with ``redecode.decoders.open_video`` (with metadata).

    Returns:
        The clip, ready for :func:`redecode.models.clips.save_clip`.
    """
    from redecode.decoders import open_video

    with open_video(video, metadata=True) as reader:
        return clip_from_frames(pristine, reader, bit_depth=reader.info.bit_depth)


@dataclass
class FrameData:
    """One frame of a (cropped) clip as tensors; see ``redecode.models.tensors``."""

    decoded: Tensor  # (6, h, w)
    pristine: Tensor  # (6, h, w)
    qp: Tensor  # (1, gh16, gw16)
    frame_type: int
    motion: tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]  # (vectors, mask) for l0, l1

    def has_list(self, index: int) -> bool:
        return bool(self.motion[index][1].any())


class ClipView:
    """Lazily converts the frames of one clip to tensors (cached)."""

    def __init__(self, clip: Clip) -> None:
        self.clip = clip
        self._frames: dict[int, FrameData] = {}

    def frame(self, t: int) -> FrameData:
        if t not in self._frames:
            c = self.clip
            bd = c.bit_depth
            self._frames[t] = FrameData(
                decoded=planes_to_tensor(c.dec_y[t], c.dec_u[t], c.dec_v[t], bd),
                pristine=planes_to_tensor(c.src_y[t], c.src_u[t], c.src_v[t], bd),
                qp=qp_to_tensor(c.qp[t], c.height, c.width),
                frame_type=int(c.types[t]),
                motion=(motion_to_tensor(c.l0[t], c.l0_mask[t]), motion_to_tensor(c.l1[t], c.l1_mask[t])),
            )
        return self._frames[t]


@dataclass
class Run:
    """Frames of one clip restored together, in restoration order."""

    view: ClipView
    plan: list[tuple[int | None, int | None]]
    window: frozenset[int]  # frames that are scored
    order: list[int] = field(default_factory=list)  # window frames plus out-of-window references

    def references(self, t: int) -> tuple[int | None, int | None]:
        """The plan's references of frame t, dropping lists the frame has no vector of."""
        frame = self.view.frame(t)
        r0, r1 = self.plan[t]
        return (r0 if r0 is not None and frame.has_list(0) else None,
                r1 if r1 is not None and frame.has_list(1) else None)

    def candidates(self, t: int) -> list[int]:
        """Anchors frame t's list-0 vectors may point into, nearest first (as the pipeline's
        scheduler keeps them: up to LIST0_CANDIDATES anchors before the frame)."""
        r0 = self.references(t)[0]
        if r0 is None:
            return []
        letters = self.view.clip.type_letters
        before = [a for a in range(r0, -1, -1) if is_anchor(letters[a])]
        return before[:LIST0_CANDIDATES]


def make_run(view: ClipView, plan: list[tuple[int | None, int | None]], start: int, length: int) -> Run:
    """A run over frames ``start`` .. ``start + length - 1`` with its outside references added."""
    letters = view.clip.type_letters
    window = frozenset(range(start, start + length))
    run = Run(view, plan, window)
    frames = set(window)
    frames.update(r for t in window for r in run.references(t) if r is not None)
    frames.update(c for t in window for c in run.candidates(t))
    anchors = sorted(t for t in frames if is_anchor(letters[t]))
    run.order = anchors + sorted(t for t in frames if not is_anchor(letters[t]))
    return run


class Sampler:
    """Random runs from clip files: a clip, a start frame, a crop on the macroblock grid."""

    def __init__(self, paths: Sequence[str], crop: int, seq_len: int, cache: int) -> None:
        self.paths = list(paths)
        shapes = [clip_shape(p) for p in self.paths]
        min_h = min(s[1] for s in shapes) // 16 * 16
        min_w = min(s[2] for s in shapes) // 16 * 16
        self.crop = (min(crop, min_h), min(crop, min_w))
        if min(self.crop) < 16:
            raise TrainError("training clips must be at least 16x16 pixels")
        self.seq_len = seq_len
        self._load = lru_cache(maxsize=cache)(self._read)

    def _read(self, index: int) -> tuple[Clip, list[tuple[int | None, int | None]]]:
        clip = load_clip(self.paths[index])
        return clip, reference_plan(clip.type_letters)

    def sample(self, rng: np.random.Generator, batch: int) -> list[Run]:
        runs = []
        ch, cw = self.crop
        for _ in range(batch):
            clip, plan = self._load(int(rng.integers(len(self.paths))))
            length = min(self.seq_len, clip.length)
            start = int(rng.integers(0, clip.length - length + 1))
            top = 16 * int(rng.integers(0, (clip.height - ch) // 16 + 1))
            left = 16 * int(rng.integers(0, (clip.width - cw) // 16 + 1))
            runs.append(make_run(ClipView(clip.crop(top, left, ch, cw)), plan, start, length))
        return runs


def expand_paths(patterns: Sequence[str]) -> list[str]:
    """Files matching glob patterns, sorted; a pattern matching nothing is an error."""
    paths: list[str] = []
    for pattern in patterns:
        found = sorted(glob.glob(pattern, recursive=True))
        if not found:
            raise TrainError(f"no clip files match {pattern!r}")
        paths.extend(found)
    return paths


# ---- unrolled restoration ------------------------------------------------------------------

def _forward(
    model: RestorationNet,
    runs: Sequence[Run],
    restored: Sequence[dict[int, Tensor]],
    items: Sequence[tuple[int, int]],
    device: torch.device,
    detach_refs: bool,
) -> Tensor:
    """Restore frames (run index, frame index) with the same reference lists in one batch."""
    frames = [runs[b].view.frame(t) for b, t in items]
    decoded = torch.stack([f.decoded for f in frames]).to(device)
    qp = torch.stack([f.qp for f in frames]).to(device)
    frame_type = torch.tensor([f.frame_type for f in frames], device=device)
    refs: list[Reference | None] = []
    for li in (0, 1):
        if runs[items[0][0]].references(items[0][1])[li] is None:
            refs.append(None)
            continue
        per_item = [runs[b].candidates(t) if li == 0 else [runs[b].references(t)[1]]
                    for b, t in items]
        k = max(len(c) for c in per_item)
        rest: list[list[Tensor]] = [[] for _ in range(k)]
        dec: list[list[Tensor]] = [[] for _ in range(k)]
        for (b, _), cands in zip(items, per_item):
            cands = cands + [cands[-1]] * (k - len(cands))  # pad: repeat the farthest
            for j, r in enumerate(cands):
                ref_frame = runs[b].view.frame(r)
                # a reference outside the run stands in with its decoded frame
                rr = restored[b].get(r)
                rr = ref_frame.decoded.to(device) if rr is None else rr
                rest[j].append(rr.detach() if detach_refs else rr)
                dec[j].append(ref_frame.decoded.to(device))
        vec = torch.stack([f.motion[li][0] for f in frames]).to(device)
        mask = torch.stack([f.motion[li][1] for f in frames]).to(device)
        refs.append(select_reference(decoded, [torch.stack(r) for r in rest],
                                     [torch.stack(d) for d in dec], vec, mask))
    return model(decoded, qp, frame_type, refs[0], refs[1])


def frame_loss(x: Tensor, y: Tensor, cfg: TrainConfig) -> Tensor:
    """Mean Charbonnier distance or squared error over (B, 6, h, w), chroma channels weighted."""
    d = (x - y).square()
    if cfg.loss == "charbonnier":
        d = torch.sqrt(d + cfg.charbonnier_eps ** 2)
    chroma_weight = cfg.chroma_weight
    w = d.new_tensor([1.0, 1.0, 1.0, 1.0, chroma_weight, chroma_weight]).view(1, 6, 1, 1)
    return (d * w).mean(dim=(0, 2, 3)).sum() / w.sum()


def unroll(model: RestorationNet, runs: Sequence[Run], device: torch.device, cfg: TrainConfig) -> Tensor:
    """Restore every run in order and return the mean loss over their window frames."""
    restored: list[dict[int, Tensor]] = [{} for _ in runs]
    losses: list[Tensor] = []
    count = 0
    for k in range(max(len(r.order) for r in runs)):
        groups: dict[tuple[bool, bool, bool], list[tuple[int, int]]] = {}
        for b, run in enumerate(runs):
            if k < len(run.order):
                t = run.order[k]
                r0, r1 = run.references(t)
                groups.setdefault((r0 is not None, r1 is not None, t in run.window), []).append((b, t))
        for (_, _, scored), items in groups.items():
            with torch.set_grad_enabled(scored and torch.is_grad_enabled()):
                out = _forward(model, runs, restored, items, device, cfg.detach_refs)
            for (b, t), o in zip(items, out):
                restored[b][t] = o
            if scored:
                target = torch.stack([runs[b].view.frame(t).pristine for b, t in items]).to(device)
                losses.append(frame_loss(out, target, cfg) * len(items))
                count += len(items)
    return torch.stack(losses).sum() / count


def psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    """PSNR in dB of two planes (capped at 100 dB for identical planes)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 100.0 if mse <= peak * peak * 1e-10 else 10.0 * math.log10(peak * peak / mse)


@torch.no_grad()
def evaluate(model: RestorationNet, clips: Sequence[Clip], device: torch.device, max_frames: int = 0) -> float:
    """Validation ΔPSNR-Y (restored minus decoded, against pristine): per frame, clip, overall.

    Each clip is restored whole, frame by frame, in the pipeline's order with restored
    references.
    """
    was_training = model.training
    model.eval()
    per_clip = []
    for clip in clips:
        if max_frames:
            clip = clip.frames(0, min(max_frames, clip.length))
        letters = clip.type_letters
        run = make_run(ClipView(clip), reference_plan(letters), 0, clip.length)
        peak = float((1 << clip.bit_depth) - 1)
        restored: dict[int, Tensor] = {}
        deltas = []
        for t in run.order:
            out = _forward(model, [run], [restored], [(0, t)], device, False)[0]
            if is_anchor(letters[t]):
                restored[t] = out
            y, _, _ = tensor_to_planes(out, clip.height, clip.width, clip.bit_depth)
            deltas.append(psnr(y, clip.src_y[t], peak) - psnr(clip.dec_y[t], clip.src_y[t], peak))
        per_clip.append(float(np.mean(deltas)))
    model.train(was_training)
    return float(np.mean(per_clip))


# ---- training loop -------------------------------------------------------------------------

def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to ``lr``, then cosine decay to ``min_lr`` at ``steps``."""
    if cfg.warmup and step <= cfg.warmup:
        return cfg.lr * step / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))


LOG_FIELDS = ["step", "loss", "lr", "val_dpsnr_y", "seconds"]


def _trim_log(path: Path, last_step: int) -> None:
    """Drop log rows after ``last_step`` (written after the checkpoint a run resumes from)."""
    if not path.exists():
        return
    with path.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if int(r["step"]) <= last_step]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, LOG_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def train(cfg: TrainConfig, resume: bool = False) -> Path:
    """Run a training recipe; returns the path of the final model checkpoint."""
    device = torch.device(cfg.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainError("device is cuda but CUDA is not available")
    if not cfg.train:
        raise TrainError("no training clips: set train = [...] in the config or pass --train")
    threads = torch.get_num_threads()
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    try:
        return _train(cfg, device, resume)
    finally:
        torch.set_num_threads(threads)


def _train(cfg: TrainConfig, device: torch.device, resume: bool) -> Path:
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    last, log_path = out / "last.pt", out / "log.csv"

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    sampler = Sampler(expand_paths(cfg.train), cfg.crop, cfg.seq_len, cfg.cache_clips)
    val_clips = [load_clip(p) for p in expand_paths(cfg.val)] if cfg.val else []
    model_config = cfg.model_config()
    model = RestorationNet(model_config).to(device)
    model.name = cfg.model
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=cfg.weight_decay)
    step = 0
    val_score: float | None = None
    if resume:
        if not last.exists():
            raise TrainError(f"nothing to resume: {last} does not exist")
        ckpt = torch.load(last, map_location="cpu", weights_only=True)
        if ckpt.get("config") != model_config.to_dict():
            raise TrainError(f"{last} was trained with model config {ckpt.get('config')}, not {model_config.to_dict()}")
        model.load_state_dict(ckpt["state_dict"])
        opt.load_state_dict(ckpt["optimizer"])
        step = int(ckpt["step"])
        rng.bit_generator.state = ckpt["rng"]["numpy"]
        torch.set_rng_state(ckpt["rng"]["torch"])
        if device.type == "cuda" and ckpt["rng"].get("cuda"):
            torch.cuda.set_rng_state_all(ckpt["rng"]["cuda"])
        val_score = ckpt["meta"].get("val_dpsnr_y")
        _trim_log(log_path, step)
    elif log_path.exists():
        log_path.unlink()

    def meta() -> dict[str, Any]:
        return {"recipe": cfg.to_dict(), "step": step, "val_dpsnr_y": val_score,
                "torch": str(torch.__version__)}

    def checkpoint() -> None:
        state = {
            "arch": RestorationNet.arch, "config": model_config.to_dict(),
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "meta": meta(), "optimizer": opt.state_dict(), "step": step,
            "rng": {"numpy": rng.bit_generator.state, "torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else []},
        }
        atomic_save(state, last)

    new_log = not log_path.exists()
    model.train()
    start_time = time.perf_counter()
    with log_path.open("a", newline="") as log_file, tqdm(
            total=cfg.steps, initial=step, file=sys.stderr, disable=not sys.stderr.isatty(),
            desc=f"train {cfg.model}", dynamic_ncols=True) as bar:
        log = csv.DictWriter(log_file, LOG_FIELDS)
        if new_log:
            log.writeheader()
        while step < cfg.steps:
            step += 1
            lr = lr_at(step, cfg)
            for group in opt.param_groups:
                group["lr"] = lr
            loss = unroll(model, sampler.sample(rng, cfg.batch), device, cfg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            row: dict[str, Any] = {"step": step, "loss": f"{loss.item():.6f}", "lr": f"{lr:.3e}",
                                   "val_dpsnr_y": "", "seconds": f"{time.perf_counter() - start_time:.1f}"}
            final = step == cfg.steps
            if val_clips and ((cfg.val_every and step % cfg.val_every == 0) or final):
                val_score = evaluate(model, val_clips, device, cfg.val_frames)
                row["val_dpsnr_y"] = f"{val_score:.4f}"
            log.writerow(row)
            log_file.flush()
            if (cfg.save_every and step % cfg.save_every == 0) or final:
                checkpoint()
            bar.set_postfix(loss=row["loss"], val=row["val_dpsnr_y"] or "-")
            bar.update(1)
    model.meta = meta()
    final_path = out / "model.pt"
    save(model, final_path)
    return final_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train a redecode restoration network.")
    parser.add_argument("config", help="TOML recipe (configs/train_*.toml)")
    parser.add_argument("--train", nargs="+", metavar="GLOB", help="training clip files (replace the config's)")
    parser.add_argument("--val", nargs="+", metavar="GLOB", help="validation clip files (replace the config's)")
    parser.add_argument("--out", help="output folder (replaces out_dir)")
    parser.add_argument("--device", help="cpu, cuda, cuda:N (replaces device)")
    parser.add_argument("--resume", action="store_true", help="continue from out_dir/last.pt")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, value in TOML syntax (repeatable)")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config, args.set)
        changes: dict[str, Any] = {}
        if args.train:
            changes["train"] = tuple(args.train)
        if args.val:
            changes["val"] = tuple(args.val)
        if args.out:
            changes["out_dir"] = args.out
        if args.device:
            changes["device"] = args.device
        cfg = dataclasses.replace(cfg, **changes)
        path = train(cfg, resume=args.resume)
    except (TrainError, ClipError, ModelError) as exc:
        print(f"train: error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
