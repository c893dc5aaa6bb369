"""tools/gpu_train.sh --dry-run: the prepared GPU run, end to end on the CPU with tiny settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from redecode.models import load

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_train_dry_run(tmp_path: Path) -> None:
    out = tmp_path / "gpu"
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(ROOT / "tools" / "gpu_train.sh"), "--dry-run", str(out)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("base", "small"):
        path = out / f"{name}.pt"
        assert path.stat().st_size < 16 * 2 ** 20  # each checkpoint travels back under 16 MiB
        model = load(path)
        assert model.name == name and model.gate is not None and model.meta["references"] is True
        assert set(torch.load(path, weights_only=True)) == {"arch", "config", "state_dict", "meta"}
    table = (out / "quality.md").read_text()
    assert "| real video (1) | 37 |" in table and f"model {out / 'base.pt'}" in table
    assert "gpu_train: done" in done.stderr
