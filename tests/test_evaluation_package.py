"""The evaluation package's shape: results.json keys, layering, no hidden state, shared helpers."""

from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import redecode
from redecode import models
from redecode.decoders import (PLANAR_YUV_FORMATS, frame_planes, planes_to_frame, raw_frames,
                               rgb_to_planes)
from redecode.evaluation import baselines as bl
from redecode.evaluation.metrics import vmaf_command
from redecode.evaluation.point import Engines
from redecode.pipeline import ffmpeg_tool
from redecode.atomic import atomic_path
from redecode.pipeline.samples import camera_frames
from redecode.pipeline.y4m import Y4MWriter, write_y4m, y4m_header

PACKAGE = Path(redecode.__file__).parent

TOP_KEYS = ["tool", "versions", "settings", "seeds", "sources", "variants", "baselines",
            "unavailable_models", "vmaf", "results", "average", "bd", "failures", "seconds"]
ENTRY_KEYS = ["source", "codec", "qp", "variant", "kbps", "bpp", "bits", "psnr_y", "psnr_u",
              "psnr_v", "psnr_yuv", "ssim_y", "vmaf", "frames", "delta_psnr_y", "delta_psnr_yuv",
              "delta_ssim_y", "delta_vmaf", "mean_qp", "seconds", "fps"]
AVERAGE_KEYS = ["source", "codec", "qp", "variant", "sources", "kbps", "bpp", "psnr_y", "psnr_u",
                "psnr_v", "psnr_yuv", "ssim_y", "vmaf", "delta_psnr_y", "delta_psnr_yuv",
                "delta_ssim_y", "delta_vmaf", "frames"]
SOURCE_KEYS = ["label", "path", "kind", "width", "height", "rate", "pix_fmt", "encoded_pix_fmt",
               "digest", "frames"]
BD_KEYS = ["anchor", "rate", "distortion", "methods", "implementation", "min_overlap", "average",
           "by_source"]
BD_FIGURES = ["bd_rate_pct", "bd_psnr_db", "bd_rate_pct_yuv", "bd_psnr_db_yuv", "overlap_y", "note"]
BD_AVERAGE = ["bd_rate_pct", "bd_psnr_db", "bd_rate_pct_yuv", "bd_psnr_db_yuv", "sources", "note"]


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> dict:
    """A tiny run in a fresh interpreter (so its imports can be checked): results.json, modules."""
    root = tmp_path_factory.mktemp("tiny")
    src = root / "tiny.y4m"
    write_y4m(src, (rgb_to_planes(f) for f in camera_frames(48, 32, 4, seed=5)), 48, 32, Fraction(25))
    baselines = ["deblock"] if ffmpeg_tool.has_filter("deblock") else ["none"]
    argv = ["evaluate", str(src), "-o", str(root / "out"), "--qp", "32", "42", "--model", "none",
            "--baselines", *baselines, "--no-vmaf", "--no-progress"]
    r = _python(f"""
        import json, sys
        import matplotlib
        matplotlib.use("svg")  # the caller's choice, which a run must leave alone
        from redecode.cli import main
        code = main({argv!r})
        plt = sys.modules.get("matplotlib.pyplot")  # (the bjontegaard package imports it)
        print(json.dumps({{"code": code, "backend": matplotlib.get_backend(),
                          "open_figures": len(plt.get_fignums()) if plt else 0}}))
        """, root)
    assert r.returncode == 0, r.stderr
    state = json.loads(r.stdout.strip().splitlines()[-1])
    return {**state, "doc": json.loads((root / "out" / "results.json").read_text()),
            "baseline": baselines[0], "out": root / "out"}


def test_results_json_keeps_its_keys(tiny_run):
    doc = tiny_run["doc"]
    assert tiny_run["code"] == 0
    assert list(doc) == TOP_KEYS  # the structure of earlier releases: no "version" key needed
    assert doc["tool"] == "redecode evaluate" and doc["seeds"] == {"torch": 0}
    assert [list(s) for s in doc["sources"]] == [SOURCE_KEYS]
    assert doc["sources"][0]["frames"] == 4
    names = ["decoded", "none"] + ([tiny_run["baseline"]] if tiny_run["baseline"] != "none" else [])
    assert list(doc["variants"]) == names
    assert doc["variants"]["none"] == {"kind": "model", "spec": "none"}
    assert len(doc["results"]) == 2 * len(names) and len(doc["average"]) == 2 * len(names)
    for e in doc["results"]:
        extra = ["filter"] if doc["variants"][e["variant"]]["kind"] == "baseline" else []
        assert list(e) == ENTRY_KEYS[:-2] + extra + ENTRY_KEYS[-2:], e["variant"]
    for a in doc["average"]:
        assert list(a) == AVERAGE_KEYS and a["source"] == "average"
    assert list(doc["bd"]) == BD_KEYS
    for name in names[1:]:
        assert list(doc["bd"]["average"][name]) == ["pchip", "akima"]
        assert list(doc["bd"]["average"][name]["pchip"]) == BD_AVERAGE
        assert list(doc["bd"]["by_source"]["tiny"][name]["akima"]) == BD_FIGURES
    assert doc["failures"] == [] and doc["vmaf"] == {"available": False, "note": "turned off (--no-vmaf)"}
    for name in ("frames.csv", "summary.md", "rd.png", "frames.png"):
        assert (tiny_run["out"] / name).is_file()


def test_plots_leave_matplotlib_alone(tiny_run):
    assert tiny_run["backend"] == "svg"  # no matplotlib.use(...) behind the caller's back
    assert tiny_run["open_figures"] == 0  # figures drawn without pyplot


def test_pipeline_does_not_pull_in_evaluation_or_matplotlib(tmp_path):
    r = _python("""
        import importlib, pkgutil, sys
        import redecode.pipeline
        for m in pkgutil.iter_modules(redecode.pipeline.__path__):
            importlib.import_module(f"redecode.pipeline.{m.name}")
        bad = sorted(n for n in sys.modules if n.split(".")[0] == "matplotlib"
                     or n.startswith("redecode.evaluation"))
        print(bad)
        """, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def _imports(path: Path) -> set[str]:
    """Absolute names of the redecode modules a file imports."""
    pkg = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                out.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {n for n in out if n.split(".")[0] == "redecode"}


@pytest.mark.parametrize("layer", ["decoders", "models", "pipeline", "training"])
def test_lower_layers_never_import_evaluation(layer):
    for path in (PACKAGE / layer).rglob("*.py"):
        bad = [n for n in _imports(path) if n.startswith("redecode.evaluation")]
        assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


def test_no_sys_path_edits_or_backend_selection():
    for path in [*PACKAGE.rglob("*.py"), *(PACKAGE.parent / "tools").glob("*.py")]:
        text = path.read_text()
        assert "sys.path.insert" not in text and "sys.path.append" not in text, path
        assert "matplotlib.use(" not in text, path


def test_engines_follow_a_rewritten_checkpoint(tmp_path):
    ckpt = tmp_path / "m.pt"
    models.save(models.build("small"), ckpt)
    engines = Engines()
    first = engines.get(str(ckpt), "cpu")
    assert engines.get(str(ckpt), "cpu") is first
    models.save(models.build("small"), ckpt)
    st = ckpt.stat()
    os.utime(ckpt, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert engines.get(str(ckpt), "cpu") is not first


@pytest.mark.skipif(not ffmpeg_tool.available(), reason="no ffmpeg program")
def test_ffmpeg_commands_come_from_graphs(tmp_path):
    cmd = bl.filter_command(tmp_path / "in.mkv", "spp=quality=4:mode=hard:qp=4")
    assert cmd[0] == ffmpeg_tool.find_ffmpeg()
    i = cmd.index("-i")
    assert cmd[i - 4:i] == ["-export_side_data", "venc_params", "-thread_type", "slice"]
    assert cmd[cmd.index("-filter_complex") + 1] == "[0:v:0]spp=mode=hard:qp=4:quality=4[s0]"
    for pair in (["-filter_complex_threads", "1"], ["-fps_mode", "passthrough"],
                 ["-loglevel", "error"], ["-map", "[s0]"]):
        assert any(cmd[k:k + 2] == pair for k in range(len(cmd))), pair
    assert bl.split_filter("deblock=filter=strong:block=8") == ("deblock", {"filter": "strong", "block": "8"})
    vm = vmaf_command(tmp_path / "ref.y4m", "/tmp/a:b'c/vmaf.json")
    graph = vm[vm.index("-filter_complex") + 1]
    assert graph.startswith("[0:v][1:v]libvmaf=") and "log_fmt=json" in graph
    assert r"log_path=/tmp/a\\:b\\\'c/vmaf.json" in graph  # escaped for option, then graph


def test_y4m_header_and_round_trip(tmp_path):
    assert y4m_header(64, 48, Fraction(25), "yuv420p", 1) == (
        b"YUV4MPEG2 W64 H48 F25:1 Ip A1:1 C420jpeg XYSCSS=420JPEG XCOLORRANGE=LIMITED\n")
    assert y4m_header(64, 48, Fraction(30000, 1001), "yuv422p10le", 2) == (
        b"YUV4MPEG2 W64 H48 F30000:1001 Ip A1:1 C422p10 XYSCSS=422P10 XCOLORRANGE=FULL\n")
    assert y4m_header(8, 8, None, "yuv444p") == b"YUV4MPEG2 W8 H8 F25:1 Ip A1:1 C444 XYSCSS=444\n"
    with pytest.raises(ValueError, match="cannot carry"):
        y4m_header(8, 8, None, "nv12")
    rng = np.random.default_rng(0)
    for fmt in ("yuv420p", "yuv420p10le", "yuv444p"):
        frame = av.VideoFrame(32, 16, fmt)
        frames = [tuple(rng.integers(0, 1000 if "10" in fmt else 256, (p.height, p.width))
                        .astype(np.uint16 if "10" in fmt else np.uint8) for p in frame.planes)
                  for _ in range(3)]
        path = tmp_path / f"{fmt}.y4m"
        assert write_y4m(path, frames, 32, 16, Fraction(25), fmt) == 3
        assert not list(tmp_path.glob(".*partial*"))
        with av.open(str(path)) as c:
            back = [frame_planes(f) for f in c.decode(video=0)]
        assert len(back) == 3
        for a, b in zip(frames, back):
            assert all(np.array_equal(x, y) for x, y in zip(a, b))
    buf = io.BytesIO()
    w = Y4MWriter(buf, 32, 16, Fraction(25))
    w.write(tuple(np.zeros(s, np.uint8) for s in ((16, 32), (8, 16), (8, 16))))
    assert w.count == 1 and buf.getvalue().count(b"FRAME\n") == 1


def test_planes_and_frames_round_trip():
    rng = np.random.default_rng(1)
    for fmt in PLANAR_YUV_FORMATS:
        bits = max(c.bits for c in av.VideoFormat(fmt).components)
        shapes = [(p.height, p.width) for p in av.VideoFrame(18, 10, fmt).planes]
        dtype = np.uint16 if bits > 8 else np.uint8
        planes = tuple(rng.integers(0, 1 << bits, s).astype(dtype) for s in shapes)
        back = frame_planes(planes_to_frame(planes, fmt))
        assert all(np.array_equal(a, b) for a, b in zip(planes, back)), fmt
        raw = b"".join(np.ascontiguousarray(p).astype("<u2" if bits > 8 else np.uint8).tobytes()
                       for p in planes)
        got = list(raw_frames(io.BytesIO(raw * 2), 18, 10, fmt))
        assert len(got) == 2 and all(np.array_equal(a, b) for a, b in zip(planes, got[1]))
        with pytest.raises(ValueError, match="truncated"):
            list(raw_frames(io.BytesIO(raw[:-1]), 18, 10, fmt))


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old" and sorted(tmp_path.iterdir()) == [target]
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and sorted(tmp_path.iterdir()) == [target]
