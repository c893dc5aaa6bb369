"""Training throughput: target pixels per second of the training step, by recipe variant.

On clips from a dataset folder (default data/mix/train), the recipe's step (sampling, the unroll
with the one restoration step, loss, backward, AdamW) is timed over ``--steps`` steps after a
warm-up that fills the clip cache: with references (the P/B unroll) and without (stage 1), in
fp32 and under bf16 autocast. Target pixels are the scored ones (batch x seq_len x crop^2).

    python tools/bench_train.py [--config configs/train_small_cpu_refs.toml] [--steps 20] [--set crop=192]
"""

from __future__ import annotations

import argparse
import contextlib
import time

import numpy as np
import torch

from redecode.allocator import retain_freed_memory
from redecode.models import RestorationNet
from redecode.training.config import load_config
from redecode.training.sampler import Sampler, expand_paths
from redecode.training.unroll import unroll

from bench_common import machine


def throughput(cfg, sampler: Sampler, steps: int) -> float:
    torch.manual_seed(0)
    model = RestorationNet(cfg.model_config())
    for p in (model.tail.weight, model.ref_tail.weight):
        torch.nn.init.normal_(p, std=0.01)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    rng = np.random.default_rng(0)

    def step() -> None:
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if cfg.precision == "bf16" else contextlib.nullcontext()
        with ctx:
            loss = unroll(model, sampler.sample(rng, cfg.batch, cfg.references), torch.device("cpu"), cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    dt = (time.perf_counter() - t) / steps
    return cfg.batch * cfg.seq_len * sampler.crop[0] * sampler.crop[1] / dt, dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/train_small_cpu_refs.toml")
    ap.add_argument("--data", default="data/mix/train/*.npz")
    ap.add_argument("--clips", type=int, default=64, help="clips sampled from (all cached)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--system-malloc", action="store_true",
                    help="leave glibc's allocator as it is (training retains freed memory)")
    ap.add_argument("--precision", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a recipe key (e.g. crop=192, batch=2), as `redecode train --set`")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    retained = not args.system_malloc and retain_freed_memory()
    print(f"machine: {machine()}; allocator: {'freed memory retained' if retained else 'system default'}")
    paths = expand_paths([args.data])[: args.clips]
    for refs in (True, False):
        for precision in args.precision:
            cfg = load_config(args.config, [f"references={str(refs).lower()}", f'precision="{precision}"',
                                            "init=\"\"", *args.set])
            sampler = Sampler(paths, cfg.crop, cfg.seq_len, len(paths))
            px, dt = throughput(cfg, sampler, args.steps)
            print(f"references={refs!s:5} {precision}: batch {cfg.batch} x {cfg.seq_len} x {cfg.crop}^2, "
                  f"{dt * 1000:6.0f} ms/step, {px / 1e6:.2f} M target px/s")


if __name__ == "__main__":
    main()
