"""The wheel carries everything the commands need: the demo's picture, the catalogue, the weights."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_file_list(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = next(tmp_path.glob("redecode-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    need = {"redecode/py.typed", "redecode/pipeline/assets/coffee.jpg", "redecode/pipeline/assets/red_panda.jpg",
            "redecode/training/catalog.toml",
            "redecode/cli/__init__.py", "redecode/evaluation/run.py", "redecode/training/loop.py"}
    need |= {f"redecode/models/weights/{p.name}" for p in (ROOT / "redecode/models/weights").glob("*.pt")}
    assert need <= names, sorted(need - names)
    assert not any(n.startswith(("tests/", "tools/", "checkpoints/", "data/")) for n in names)
