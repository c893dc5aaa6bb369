"""The training loop: a recipe in, checkpoints out; cut at any step and continued with ``resume``.

Outputs in ``out_dir``: ``last.pt`` (model + optimizer + step + RNG states, written atomically
every ``save_every`` steps; also loadable by ``redecode.models.load``), ``model.pt`` (the final
model alone, with its recipe and scores in ``meta``: no optimizer state), ``best.pt`` (the model
at its best validation so far, saved as ``model.pt`` is; a validation that does not beat it
leaves it) and ``log.csv`` (step,
loss, lr, validation ΔPSNR-Y, seconds, target pixels per second). With ``ema``, the weights that
are validated and saved as ``state_dict`` are the moving average; ``last.pt`` keeps the optimized
ones under ``trained`` for ``resume``.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import dataclasses
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..allocator import retain_freed_memory
from ..models import ModelError, RestorationConfig, RestorationNet, load, save
from .clips import load_clip
from .config import TrainConfig, TrainError
from .sampler import Sampler, expand_paths
from .unroll import unroll
from .validate import validate

__all__ = ["LOG_FIELDS", "lr_at", "train"]

LOG_FIELDS = ["step", "loss", "lr", "val_dpsnr_y", "seconds", "px_per_s"]


def lr_at(step: int, cfg: TrainConfig, time_progress: float = 0.0) -> float:
    """Linear warm-up to ``lr``, then cosine decay to ``min_lr`` at ``steps`` (or at the end of
    ``max_minutes``: ``time_progress`` is the share of it used)."""
    if cfg.warmup and step <= cfg.warmup:
        return cfg.lr * step / cfg.warmup
    progress = max((step - cfg.warmup) / max(1, cfg.steps - cfg.warmup), time_progress)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))


def _trim_log(path: Path, last_step: int) -> None:
    """Drop log rows after ``last_step`` (written after the checkpoint a run resumes from)."""
    if not path.exists():
        return
    with path.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if int(r["step"]) <= last_step]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, LOG_FIELDS, extrasaction="ignore", restval="")
        writer.writeheader()
        writer.writerows(rows)


def _saved_config(ckpt: dict[str, Any]) -> RestorationConfig | None:
    try:
        return RestorationConfig.from_dict(ckpt.get("config"))
    except (TypeError, ValueError):
        return None


def _initial_model(cfg: TrainConfig, resuming: RestorationConfig | None = None) -> RestorationNet:
    """The recipe's starting network; ``resuming``: the config of the checkpoint a resumed run
    continues, whose weights replace the init's, so an init file that is gone (an ignored
    ``model.pt`` in a fresh clone) is no obstacle: a network of the checkpoint's shape stands in."""
    if not cfg.init:
        model = RestorationNet(cfg.model_config())
        model.name = cfg.model
        return model
    try:
        model = load(cfg.init)
    except ModelError as exc:
        if resuming is None:
            raise TrainError(f"init: {exc}") from exc
        model = RestorationNet(resuming)
        model.name = cfg.model
        return model.train()
    if cfg.drop_blocks:
        if not isinstance(model, RestorationNet):
            raise TrainError(f"drop_blocks: init {cfg.init} is not a restoration network")
        try:
            model = model.without_blocks(cfg.drop_blocks)
        except ValueError as exc:
            raise TrainError(f"drop_blocks: {exc}") from exc
    overridden = any((cfg.model_widths, cfg.model_enc_blocks, cfg.model_dec_blocks,
                      cfg.model_ref_blocks >= 0, cfg.model_ref_mix >= 0, cfg.model_cond_width > 0))
    target = cfg.model_config()
    if cfg.drop_blocks:  # the block counts are what is left of the init's
        c = model.config
        target = dataclasses.replace(target, enc_blocks=c.enc_blocks, dec_blocks=c.dec_blocks,
                                     ref_blocks=c.ref_blocks, ref_mix=c.ref_mix)
    if overridden and target != model.config:
        try:
            model = model.grown(target)
        except ValueError as exc:
            raise TrainError(f"init {cfg.init}: {exc}") from exc
    return model.train()


def _teacher(cfg: TrainConfig, device: torch.device) -> nn.Module | None:
    """The distillation teacher (``cfg.teacher``), ungated and frozen, or None."""
    if not cfg.teacher:
        return None
    try:
        teacher = load(cfg.teacher)
    except ModelError as exc:
        raise TrainError(f"teacher: {exc}") from exc
    teacher.gate = None  # the network's own output: the model gets a gate of its own
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher.to(device).eval()


def train(cfg: TrainConfig, resume: bool = False) -> Path:
    """Run a training recipe; returns the path of the final model checkpoint."""
    device = torch.device(cfg.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainError("device is cuda but CUDA is not available")
    if not cfg.train:
        raise TrainError("no training clips: set train = [...] in the config or pass --data")
    retain_freed_memory()
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
    last, log_path, best = out / "last.pt", out / "log.csv", out / "best.pt"

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    train_paths = expand_paths(cfg.train)
    sampler = Sampler(train_paths, cfg.crop, cfg.seq_len, cfg.cache_clips)
    val_clips = [load_clip(p) for p in expand_paths(cfg.val)] if cfg.val else []
    ckpt = None
    if resume:
        if not last.exists():
            raise TrainError(f"nothing to resume: {last} does not exist")
        ckpt = torch.load(last, map_location="cpu", weights_only=True)
    model = _initial_model(cfg, None if ckpt is None else _saved_config(ckpt)).to(device)
    teacher = _teacher(cfg, device)
    model_config = model.config
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=cfg.weight_decay)
    average = _averaged(model) if cfg.ema else model  # what is validated and saved
    step = 0
    seconds = 0.0  # training time before this process (a resumed run's schedule continues)
    val_score: float | None = None
    if ckpt is not None:
        if _saved_config(ckpt) != model_config:
            raise TrainError(f"{last} was trained with model config {ckpt.get('config')}, "
                             f"not {model_config.to_dict()}")
        model.load_state_dict(ckpt.get("trained", ckpt["state_dict"]))
        average.load_state_dict(ckpt["state_dict"])
        opt.load_state_dict(ckpt["optimizer"])
        step = int(ckpt["step"])
        seconds = float(ckpt.get("seconds", 0.0))
        rng.bit_generator.state = ckpt["rng"]["numpy"]
        torch.set_rng_state(ckpt["rng"]["torch"])
        if device.type == "cuda" and ckpt["rng"].get("cuda"):
            torch.cuda.set_rng_state_all(ckpt["rng"]["cuda"])
        val_score = ckpt["meta"].get("val_dpsnr_y")
        _trim_log(log_path, step)
    else:  # a new run: an earlier run's log and best model go
        log_path.unlink(missing_ok=True)
        best.unlink(missing_ok=True)
    best_score = _best_score(best)

    def meta() -> dict[str, Any]:
        return {"recipe": cfg.to_dict(), "step": step, "val_dpsnr_y": val_score, "references": cfg.references,
                "train_clips": len(train_paths), "torch": str(torch.__version__)}

    def checkpoint() -> None:
        trained = {"trained": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}
        save(average, last, meta(), extra={
            **(trained if average is not model else {}), "optimizer": opt.state_dict(), "step": step,
            "seconds": time.perf_counter() - start_time,
            "rng": {"numpy": rng.bit_generator.state, "torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else []}})

    def autocast() -> contextlib.AbstractContextManager:
        if cfg.precision == "bf16":
            return torch.autocast(device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    new_log = not log_path.exists()
    model.train()
    start_time = time.perf_counter() - seconds
    pixels = cfg.batch * cfg.seq_len * sampler.crop[0] * sampler.crop[1]
    with log_path.open("a", newline="") as log_file, tqdm(
            total=cfg.steps, initial=step, file=sys.stderr, disable=not sys.stderr.isatty(),
            desc=f"train {cfg.model}", dynamic_ncols=True) as bar:
        log = csv.DictWriter(log_file, LOG_FIELDS)
        if new_log:
            log.writeheader()
        limit = cfg.max_minutes * 60.0
        while step < cfg.steps:
            began = time.perf_counter()
            step += 1
            used = (began - start_time) / limit if limit else 0.0
            lr = lr_at(step, cfg, used)
            for group in opt.param_groups:
                group["lr"] = lr
            with autocast():
                loss = unroll(model, sampler.sample(rng, cfg.batch, cfg.references), device, cfg, teacher)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            if average is not model:
                _update_average(average, model, cfg.ema)
            took = time.perf_counter() - began
            row: dict[str, Any] = {"step": step, "loss": f"{loss.item():.6f}", "lr": f"{lr:.3e}",
                                   "val_dpsnr_y": "", "seconds": f"{time.perf_counter() - start_time:.1f}",
                                   "px_per_s": f"{pixels / took:.0f}"}
            final = step == cfg.steps or (limit > 0 and time.perf_counter() - start_time >= limit)
            if val_clips and ((cfg.val_every and step % cfg.val_every == 0) or final):
                average.meta = meta()  # validation restores as the checkpoint will (meta: references)
                val_score = validate(average, val_clips, device, cfg.val_frames)
                row["val_dpsnr_y"] = f"{val_score:.4f}"
                if best_score is None or val_score > best_score:
                    best_score = val_score
                    save(average, best, meta())  # meta() holds this step and score
            log.writerow(row)
            log_file.flush()
            if (cfg.save_every and step % cfg.save_every == 0) or final:
                checkpoint()
            bar.set_postfix(loss=row["loss"], val=row["val_dpsnr_y"] or "-")
            bar.update(1)
            if final:
                break
    average.meta = meta()
    if cfg.gate:
        from .gate import fit_gate

        gate = fit_gate(average, [load_clip(p) for p in expand_paths(cfg.gate)], progress=sys.stderr.isatty())
        average.meta["gate"] = gate.to_meta()
    final_path = out / "model.pt"
    save(average, final_path)
    return final_path


def _best_score(path: Path) -> float | None:
    """The validation score saved in ``best.pt`` (None: no such file, or no score in it)."""
    if not path.exists():
        return None
    score = torch.load(path, map_location="cpu", weights_only=True).get("meta", {}).get("val_dpsnr_y")
    return None if score is None else float(score)


def _averaged(model: RestorationNet) -> RestorationNet:
    """A frozen copy of ``model`` that :func:`_update_average` moves towards it."""
    average = copy.deepcopy(model)
    average.requires_grad_(False)
    return average


@torch.no_grad()
def _update_average(average: RestorationNet, model: RestorationNet, decay: float) -> None:
    """average <- decay * average + (1 - decay) * model, for every parameter and buffer."""
    for a, m in zip(average.state_dict().values(), model.state_dict().values()):
        if a.is_floating_point():
            a.lerp_(m, 1.0 - decay)
        else:
            a.copy_(m)
