"""The model table, named sizes, and checkpoints.

A checkpoint is a dict ``{"arch", "config", "state_dict", "meta"}`` written with ``torch.save``
and read with ``torch.load(..., weights_only=True)``: ``arch`` is a key of :data:`MODELS`,
``config`` the model's config as a plain dict, ``meta`` a plain dict (training recipe, scores).
Extra keys (a training checkpoint's optimizer state, ...) are ignored by :func:`load`.
Trained weights ship inside the package as ``redecode/models/weights/<size>.pt``.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..atomic import atomic_path
from .classic import ClassicNet
from .gate import Gate
from .net import RestorationConfig, RestorationNet

__all__ = ["MODELS", "SHIPPED", "SIZES", "ModelError", "auto_model", "build", "load", "save"]

#: Every architecture a checkpoint may name, by its ``arch`` string.
MODELS: dict[str, type[nn.Module]] = {
    "restoration": RestorationNet,
    "classic": ClassicNet,
}

#: Default configs of the named sizes: ``small`` for CPUs, ``base`` for GPUs and best quality.
SIZES: dict[str, RestorationConfig] = {
    "small": RestorationConfig(widths=(16, 32, 64), enc_blocks=(1, 1, 2), dec_blocks=(1, 1), ref_blocks=0,
                               ref_mix=0, cond_width=32),
    "base": RestorationConfig(widths=(64, 96, 128), enc_blocks=(2, 2, 4), dec_blocks=(2, 2), ref_blocks=1,
                              cond_width=64),
}


#: Names that ``load`` looks up among the weights shipped in the package.
SHIPPED: tuple[str, ...] = (*SIZES, "classic")


class ModelError(Exception):
    """A model cannot be built or loaded (unknown name, missing weights, bad checkpoint)."""


def auto_model(cuda: bool) -> str:
    """The model ``auto`` means: ``base`` on CUDA when it ships, else ``small`` when it ships,
    else ``classic`` (each ships only when it beats the next on validation)."""
    order = ("base", "small", "classic") if cuda else ("small", "classic")
    for name in order:
        if _shipped(name) is not None:
            return name
    raise ModelError("no trained weights ship in this installation (expected redecode/models/weights/"
                     "classic.pt); use --model none or a checkpoint file")


def _size_name(config: Any) -> str | None:
    for name, size in SIZES.items():
        if size == config:
            return name
    return None


def build(name: str) -> RestorationNet:
    """An untrained model of a named size.

    Args:
        name: "small" or "base".

    Returns:
        The model in training mode, its last layer zero so that it returns its input.
    """
    if name not in SIZES:
        raise ModelError(f"unknown model size {name!r}; known sizes: {', '.join(SIZES)}")
    model = RestorationNet(SIZES[name])
    model.name = name
    return model


def save(model: nn.Module, path: str | os.PathLike[str], meta: dict[str, Any] | None = None,
         extra: dict[str, Any] | None = None) -> None:
    """Write a model checkpoint atomically (temporary file, then rename).

    Args:
        model: a model of :data:`MODELS`.
        path: destination file.
        meta: plain dict stored with it (training recipe, scores); defaults to ``model.meta``.
        extra: more top-level keys, for a training checkpoint's state (optimizer, step, RNG);
            :func:`load` ignores them, and shipped files never hold them.
    """
    arch = next((a for a, cls in MODELS.items() if type(model) is cls), None)
    if arch is None:
        raise ModelError(f"{type(model).__name__} is not in the model table")
    meta = dict(getattr(model, "meta", {}) if meta is None else meta)
    checkpoint = {
        "arch": arch,
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
        "meta": meta,
    }
    clash = set(extra or {}) & set(checkpoint)
    if clash:
        raise ModelError(f"extra checkpoint keys clash with the schema: {sorted(clash)}")
    checkpoint.update(extra or {})
    atomic_save(checkpoint, path)


def atomic_save(obj: Any, path: str | os.PathLike[str]) -> None:
    """``torch.save`` to a temporary file next to ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def _shipped(name: str) -> Path | None:
    ref = resources.files("redecode.models").joinpath("weights", f"{name}.pt")
    return Path(str(ref)) if ref.is_file() else None


def load(name_or_path: str | os.PathLike[str], device: str | torch.device = "cpu") -> RestorationNet:
    """A trained model in eval mode.

    Args:
        name_or_path: a shipped size name ("small", "base"), loading
            ``redecode/models/weights/<name>.pt``, or the path of a checkpoint file.
        device: where to put the model.

    Returns:
        The model with ``name`` (size name when its config is a named size's, else the arch) and
        ``meta`` (the checkpoint's) set.

    Raises:
        ModelError: unknown name, no shipped weights, unreadable or malformed checkpoint.
    """
    if isinstance(name_or_path, str) and name_or_path in SHIPPED:
        path = _shipped(name_or_path)
        if path is None:
            raise ModelError(
                f"no trained weights ship for model {name_or_path!r} yet; "
                f"train one with `redecode train` and pass the checkpoint's path")
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise ModelError(
                f"unknown model {str(name_or_path)!r}: not a model name ({', '.join(SHIPPED)}) "
                f"nor a checkpoint file")
    return _load_checkpoint(path, device)


def _load_checkpoint(path: Path, device: str | torch.device) -> RestorationNet:
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user error
        # one line: torch's own reason, without its advice ("Please file an issue ...",
        # "Re-running with weights_only=False ...", "Check the documentation ...")
        text = " ".join(str(exc).split())
        marker = "WeightsUnpickler error:"
        reason = text.split(marker, 1)[1] if marker in text else text
        for advice in (" Check the documentation", " Please use", " Please file"):
            reason = reason.split(advice)[0]
        reason = reason.strip() or ("the file ends early" if isinstance(exc, EOFError) else "")
        reason = f"{type(exc).__name__}: {reason[:200]}" if reason else type(exc).__name__
        raise ModelError(f"cannot read checkpoint {path} (not a redecode checkpoint, damaged, or holding "
                         f"objects other than tensors and plain data): {reason}") from exc
    if not isinstance(checkpoint, dict):
        raise ModelError(f"{path} is not a redecode checkpoint (expected a dict, got {type(checkpoint).__name__})")
    missing = [k for k in ("arch", "config", "state_dict") if k not in checkpoint]
    if missing:
        raise ModelError(f"{path} is not a redecode checkpoint: missing {', '.join(missing)}")
    arch = checkpoint["arch"]
    if not isinstance(arch, str) or arch not in MODELS:
        raise ModelError(f"{path}: unknown architecture {arch!r}; known: {', '.join(MODELS)}")
    cls = MODELS[arch]
    meta = checkpoint.get("meta", {})
    if not isinstance(meta, dict):
        raise ModelError(f"{path}: meta must be a dict, got {type(meta).__name__}")
    try:
        config = cls.config_class.from_dict(checkpoint["config"])  # type: ignore[attr-defined]
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{path}: bad config for {arch}: {exc}") from exc
    model = cls(config)
    state = checkpoint["state_dict"]
    if not isinstance(state, dict):
        raise ModelError(f"{path}: state_dict must be a dict, got {type(state).__name__}")
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, ValueError) as exc:
        first = str(exc).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:3])
        raise ModelError(f"{path}: weights do not match the {arch} config {asdict(config)}: {detail}") from exc
    model.name = _size_name(config) or arch
    model.meta = dict(meta)
    try:
        model.gate = Gate.from_meta(meta["gate"]) if "gate" in meta else None
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path}: bad gate in meta: {exc}") from exc
    return model.to(device).eval()
