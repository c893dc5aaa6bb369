"""`redecode inspect` end to end, in-process, plus the CLI's error behaviour."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import pytest

from redecode.cli import main


def test_inspect_writes_pictures_and_json(clips, tmp_path, capsys):
    out = tmp_path / "insp"
    assert main(["inspect", str(clips.h264()), "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames"] == 24
    assert summary["frames_by_type"]["I"] >= 1 and summary["frames_by_type"]["B"] >= 1
    assert set(summary["mean_qp_by_type"]) == {"I", "P", "B"}
    assert summary["mean_qp_by_type"]["I"] < summary["mean_qp_by_type"]["B"]
    assert 0 <= summary["intra_block_share"] < 0.5 and summary["mean_motion_px"] > 0
    names = sorted(p.name for p in out.iterdir())
    assert "frames.png" in names
    assert any(n.startswith("motion_") for n in names) and any(n.startswith("qp_") for n in names)
    for name in names:
        img = cv2.imread(str(out / name))
        assert img is not None and img.shape[1] >= 640 and img.std() > 5


def test_inspect_selected_frames_and_text_summary(clips, tmp_path, capsys):
    out = tmp_path / "sel"
    assert main(["inspect", str(clips.h264()), "-o", str(out), "--frames", "0,3-4"]) == 0
    text = capsys.readouterr().out
    assert "24 frames" in text and "mean QP" in text
    names = {p.name for p in out.iterdir()}
    assert {"qp_00000.png", "qp_00003.png", "qp_00004.png", "motion_00003.png"} <= names
    assert "motion_00000.png" not in names  # an I-frame has no vectors to draw


def test_inspect_hevc_says_metadata_is_missing(clips, capsys):
    assert main(["inspect", str(clips.hevc())]) == 0
    captured = capsys.readouterr()
    assert "no motion vectors" in captured.out


def test_inspect_reads_stdin(clips):
    data = clips.h264().read_bytes()
    proc = subprocess.run([sys.executable, "-m", "redecode", "inspect", "-", "--json"],
                          input=data, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["frames"] == 24


@pytest.mark.parametrize("content,expect", [
    (None, "no such file"),
    (b"", "empty"),
    (b"hello, this is a text file\n" * 30, "not a video"),
])
def test_cli_errors_are_one_line(tmp_path, content, expect):
    path = tmp_path / "input.mp4"
    if content is not None:
        path.write_bytes(content)
    proc = subprocess.run([sys.executable, "-m", "redecode", "inspect", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expect in lines[0] and "Traceback" not in proc.stderr


def test_cli_bad_frame_selection(clips, capsys):
    assert main(["inspect", str(clips.h264()), "--frames", "3-1"]) == 1
    assert "bad frame range" in capsys.readouterr().err
