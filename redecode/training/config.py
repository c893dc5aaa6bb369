"""Training recipes: flat TOML files parsed into a frozen dataclass (unknown keys are an error)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..models import SIZES, RestorationConfig

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["TrainConfig", "TrainError", "load_config", "parse_config"]

LOSSES = ("mse", "psnr", "charbonnier")
PRECISIONS = ("fp32", "bf16")


class TrainError(Exception):
    """A user error (bad config, missing data): printed as one line, exit status 2."""


@dataclass(frozen=True)
class TrainConfig:
    """A training recipe.

    Attributes:
        model: named size to start from ("small", "base").
        model_widths, model_enc_blocks, model_dec_blocks: override the size's config (empty: keep).
        model_ref_blocks, model_ref_mix, model_cond_width: override the size's config (-1 / 0:
            keep). With ``init``, only ``ref_blocks`` / ``ref_mix`` may differ from the init's, and
            only upwards: the added blocks start as the identity (``RestorationNet.grown``).
        init: checkpoint (path, or a shipped model name) whose weights start the run
            (fine-tuning); empty: a fresh network.
        drop_blocks: residual blocks of ``init`` left out ("enc.K.I", "dec.K.I"), the others
            keeping their weights (``RestorationNet.without_blocks``): a faster network to
            fine-tune.
        train, val: glob patterns of clip ``.npz`` files (relative to the working directory).
        gate: clip files on which the safety gate is fitted at the end (a validation ladder:
            every QP); empty: no gate.
        out_dir: where checkpoints and the log go.
        steps: optimizer steps in all.
        max_minutes: also stop after this much training time (0: no limit), counted across
            ``--resume``s (the checkpoint keeps the time used); the learning-rate schedule then
            follows whichever of steps and time runs out first.
        batch: runs per step.
        seq_len: consecutive frames per run (scored); their references outside the run are
            restored first, without gradient.
        crop: luma crop side in pixels, a multiple of 16 (clipped to the smallest clip).
        lr, min_lr, warmup: AdamW learning rate, cosine floor and linear warm-up steps.
        weight_decay, grad_clip: AdamW weight decay; gradient norm clip (0 = off).
        loss: "mse" (what PSNR measures), "psnr" (each frame's squared error divided by its
            decode's: the mean ΔPSNR in dB to first order, so clean low-QP frames weigh as much
            as noisy ones) or "charbonnier" (robust, L1-like).
        charbonnier_eps: epsilon of the Charbonnier loss (in [0, 1] pixel units).
        psnr_floor: floor added to both errors of the "psnr" loss, in squared 8-bit code values
            (a decode error below it weighs as if it were it).
        chroma_weight: weight of the two chroma channels against the four luma ones.
        detach_refs: stop gradients at restored references (truncated unrolling; faster).
        references: give P/B frames their references; false trains every frame through the
            intra path (a cheap first stage).
        precision: "fp32", or "bf16" autocast for the network (fp32 master weights).
        teacher: checkpoint (path, or a shipped model name) whose output joins the target
            (distillation); empty: none. It restores the same runs beside the model, with its own
            restored references, without its gate and without gradient.
        teacher_weight: the teacher's share of the target: (1 - w) * pristine + w * teacher.
        ema: decay of an exponential moving average of the weights, updated after every step
            (0 = off). When on, validation, ``model.pt`` and ``last.pt``'s ``state_dict`` hold
            the average; ``last.pt`` keeps the optimized weights for ``resume`` beside it.
        save_every, val_every: checkpoint / validation interval in steps (0 = only at the end).
        val_frames: validate on the first N frames of each validation clip (0 = all).
        cache_clips: clip files kept in memory.
        seed: seeds model initialisation and sampling.
        device: "cpu", "cuda", "cuda:1", ...
        threads: CPU threads for torch (0 = torch's default).
    """

    model: str = "small"
    model_widths: tuple[int, ...] = ()
    model_enc_blocks: tuple[int, ...] = ()
    model_dec_blocks: tuple[int, ...] = ()
    model_ref_blocks: int = -1
    model_ref_mix: int = -1
    model_cond_width: int = 0
    init: str = ""
    drop_blocks: tuple[str, ...] = ()
    train: tuple[str, ...] = ()
    val: tuple[str, ...] = ()
    gate: tuple[str, ...] = ()
    out_dir: str = "runs/train"
    steps: int = 100_000
    max_minutes: float = 0.0
    batch: int = 8
    seq_len: int = 6
    crop: int = 128
    lr: float = 4e-4
    min_lr: float = 1e-6
    warmup: int = 1000
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    loss: str = "mse"
    charbonnier_eps: float = 1e-3
    psnr_floor: float = 0.25
    chroma_weight: float = 1.0
    detach_refs: bool = False
    references: bool = True
    precision: str = "fp32"
    teacher: str = ""
    teacher_weight: float = 0.5
    ema: float = 0.0
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
        for name in ("steps", "batch", "seq_len", "crop", "cache_clips"):
            if getattr(self, name) < 1:
                raise TrainError(f"{name} must be >= 1")
        if self.crop % 16:
            raise TrainError(f"crop must be a multiple of 16 (the macroblock grid), got {self.crop}")
        if self.loss not in LOSSES:
            raise TrainError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.precision not in PRECISIONS:
            raise TrainError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.drop_blocks and not self.init:
            raise TrainError("drop_blocks needs init (the checkpoint whose blocks are dropped)")
        if not 0.0 <= self.teacher_weight <= 1.0:
            raise TrainError(f"teacher_weight must be in [0, 1], got {self.teacher_weight}")
        if not 0.0 <= self.ema < 1.0:
            raise TrainError(f"ema must be in [0, 1), got {self.ema}")
        if self.lr <= 0 or self.min_lr < 0 or self.charbonnier_eps <= 0 or self.psnr_floor <= 0:
            raise TrainError("lr, charbonnier_eps and psnr_floor must be > 0, min_lr >= 0")

    def model_config(self) -> RestorationConfig:
        """The size's config with this recipe's overrides."""
        overrides: dict[str, Any] = {}
        for key in ("widths", "enc_blocks", "dec_blocks"):
            if getattr(self, f"model_{key}"):
                overrides[key] = getattr(self, f"model_{key}")
        if self.model_ref_blocks >= 0:
            overrides["ref_blocks"] = self.model_ref_blocks
        if self.model_ref_mix >= 0:
            overrides["ref_mix"] = self.model_ref_mix
        if self.model_cond_width > 0:
            overrides["cond_width"] = self.model_cond_width
        try:
            return dataclasses.replace(SIZES[self.model], **overrides)
        except ValueError as exc:
            raise TrainError(f"model overrides: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (lists for tuples), as stored in a checkpoint's meta."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}


_STR_TUPLES = {"train", "val", "gate", "drop_blocks"}


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


def load_config(path: str | os.PathLike[str] | None, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a TOML recipe (None: the defaults), then apply ``key=value`` overrides (TOML values)."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except OSError as exc:
            raise TrainError(f"cannot read config {path}: {exc.strerror or exc}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
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
