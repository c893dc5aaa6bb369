"""``redecode evaluate`` end to end on tiny generated sources, plus its parts."""

from __future__ import annotations

import csv
import json
import math
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from redecode import models
from redecode.cli import main
from redecode.coding import mpeg_qscale
from redecode.decoders import open_video, rgb_to_planes
from redecode.evaluation import baselines as bl
from redecode.evaluation import point as ev
from redecode.evaluation import report
from redecode.evaluation.sources import SourceError, open_source
from redecode.pipeline import ffmpeg_tool as ffmpeg
from redecode.pipeline.samples import camera_frames
from redecode.pipeline.y4m import write_y4m

W, H, N = 64, 64, 6
QPS = ["32", "42"]


def _frames(seed: int) -> list[np.ndarray]:
    return list(camera_frames(W, H, N, seed=seed))


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("evalmedia")
    y4m = root / "pan.y4m"
    write_y4m(y4m, (rgb_to_planes(f, "yuv420p") for f in _frames(1)), W, H, Fraction(25))
    images = root / "shots"
    images.mkdir()
    for i, f in enumerate(_frames(2)):  # natural order: f2 before f10
        cv2.imwrite(str(images / f"f{i * 5}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    raw = root / "shots_64x64.yuv"
    with open(raw, "wb") as fh:
        for f in _frames(2):
            for p in rgb_to_planes(f, "yuv420p"):
                fh.write(p.tobytes())
    ckpt = root / "untrained.pt"
    models.save(models.build("small"), ckpt)
    return {"y4m": y4m, "images": images, "raw": raw, "ckpt": ckpt, "root": root}


@pytest.fixture(scope="module")
def run(media, tmp_path_factory):
    """One full run: two sources, two QPs, models none + an untrained checkpoint, baselines."""
    out = tmp_path_factory.mktemp("evalrun") / "out"
    argv = ["evaluate", str(media["y4m"]), str(media["images"]), "-o", str(out), "--qp", *QPS,
            "--model", "none", str(media["ckpt"]), "--no-progress", "--cache", str(media["root"] / "cache")]
    code = main(argv)
    doc = json.loads((out / "results.json").read_text())
    return {"code": code, "out": out, "doc": doc, "argv": argv}


def test_run_succeeds_and_writes_every_output(run):
    assert run["code"] == 0
    out = run["out"]
    for name in ("results.json", "frames.csv", "summary.md", "rd.png", "frames.png"):
        assert (out / name).is_file(), name
    for name in ("rd.png", "frames.png"):
        img = cv2.imread(str(out / name))
        assert img is not None and img.shape[0] > 200 and img.shape[1] > 400
        assert img.std() > 10  # not a blank picture
        assert (out / name).stat().st_size > 20_000
    md = (out / "summary.md").read_text()
    assert "| none |" in md and "BD-rate" in md and "ΔSSIM-Y" in md


ENTRY_TYPES = {
    "source": str, "codec": str, "qp": int, "variant": str, "kbps": float, "bpp": float,
    "psnr_y": float, "psnr_u": float, "psnr_v": float, "psnr_yuv": float, "ssim_y": float,
    "frames": int,
}


def test_results_schema(run):
    doc = run["doc"]
    for key in ("versions", "settings", "seeds", "sources", "variants", "baselines", "vmaf",
                "results", "average", "bd", "failures"):
        assert key in doc, key
    for key in ("redecode", "torch", "av", "ffmpeg"):
        assert key in doc["versions"]
    assert doc["settings"]["ladder"] == [32, 42] and doc["settings"]["mode"] == "qp"
    assert isinstance(doc["seeds"]["torch"], int)
    assert doc["failures"] == []
    variants = ["decoded", "none", "untrained", *doc["baselines"]["available"]]
    assert list(doc["variants"]) == variants
    assert len(doc["results"]) == 2 * 2 * len(variants)
    for e in doc["results"]:
        for key, typ in ENTRY_TYPES.items():
            assert isinstance(e[key], typ), (key, e[key])
        assert e["vmaf"] is None or isinstance(e["vmaf"], float)
        assert e["frames"] == N and e["codec"] == "libx264"
        assert 0 < e["ssim_y"] <= 1 and 15 < e["psnr_y"] < 60
        assert math.isclose(e["psnr_yuv"], (6 * e["psnr_y"] + e["psnr_u"] + e["psnr_v"]) / 8)
        assert math.isclose(e["bpp"], e["bits"] / (N * W * H))
        assert math.isclose(e["kbps"], e["bits"] / (N / 25) / 1000)
    labels = {e["source"] for e in doc["results"]}
    assert labels == {"pan", "shots"}
    # every variant's BD figures, per interpolation
    for name in variants[1:]:
        for method in ("pchip", "akima"):
            b = doc["bd"]["average"][name][method]
            for key in ("bd_rate_pct", "bd_psnr_db", "bd_rate_pct_yuv", "bd_psnr_db_yuv"):
                assert b[key] is None or isinstance(b[key], float)
            assert isinstance(b["bd_rate_pct"], float)
            for src in ("pan", "shots"):
                assert "bd_rate_pct" in doc["bd"]["by_source"][src][name][method]
    if doc["vmaf"]["available"]:
        assert all(isinstance(e["vmaf"], float) for e in doc["results"])


def test_bitrate_is_the_bitstream_size(run):
    doc = run["doc"]
    e = next(e for e in doc["results"] if e["variant"] == "decoded" and e["qp"] == 32)
    cache = Path(run["argv"][run["argv"].index("--cache") + 1])
    enc = next(cache.glob(f"{e['source']}-libx264-qp32-*.mkv"))
    with av.open(str(enc)) as c:
        payload = sum(p.size for p in c.demux(c.streams.video[0]) if p.size)
    # packets (+ the SPS/PPS the container keeps as extradata)
    assert payload <= e["bits"] / 8 <= payload + 200
    lo = next(x for x in doc["results"] if x["source"] == e["source"] and x["qp"] == 42
              and x["variant"] == "decoded")
    assert lo["kbps"] < e["kbps"] and lo["psnr_y"] < e["psnr_y"]


def test_model_none_is_the_decode(run):
    doc = run["doc"]
    for dec in (e for e in doc["results"] if e["variant"] == "decoded"):
        none = next(e for e in doc["results"] if e["variant"] == "none"
                    and e["source"] == dec["source"] and e["qp"] == dec["qp"])
        for k in ("psnr_y", "psnr_u", "psnr_v", "psnr_yuv", "ssim_y", "kbps"):
            assert none[k] == dec[k], k
        assert none["delta_psnr_y"] == 0.0
    for method in ("pchip", "akima"):
        b = doc["bd"]["average"]["none"][method]
        assert b["bd_rate_pct"] == pytest.approx(0.0, abs=1e-9)
        assert b["bd_psnr_db"] == pytest.approx(0.0, abs=1e-9)
    # the untrained checkpoint's last layer is zero: its input back, within rounding
    for e in doc["results"]:
        if e["variant"] == "untrained":
            assert abs(e["delta_psnr_y"]) < 0.05


def test_frames_csv(run):
    doc = run["doc"]
    with open(run["out"] / "frames.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(report.CSV_COLUMNS)
    assert len(rows) == len(doc["results"]) * N
    types = {r["type"] for r in rows}
    assert types <= {"I", "P", "B"} and "I" in types
    dec = [r for r in rows if r["variant"] == "decoded" and r["source"] == "pan" and r["qp"] == "42"]
    assert [int(r["frame"]) for r in dec] == list(range(N))
    assert all(float(r["mean_qp"]) > 30 for r in dec)
    entry = next(e for e in doc["results"] if e["variant"] == "decoded" and e["source"] == "pan"
                 and e["qp"] == 42)
    assert np.mean([float(r["psnr_y"]) for r in dec]) == pytest.approx(entry["psnr_y"], abs=1e-3)
    none = [r for r in rows if r["variant"] == "none" and r["source"] == "pan" and r["qp"] == "42"]
    assert [r["psnr_y"] for r in none] == [r["psnr_y"] for r in dec]


def test_baselines_reported(run):
    doc = run["doc"]
    avail = doc["baselines"]["available"]
    if ffmpeg.available():
        have = ffmpeg.filters()
        assert set(avail) == {b for b in bl.DEFAULT_BASELINES if b in have}
    for name in avail:
        e = next(e for e in doc["results"] if e["variant"] == name)
        assert e["filter"].startswith(name)
        if name in bl.QP_FILTERS:  # H.264: the stream's QP as an MPEG quantiser scale
            assert "qp=" in e["filter"]


def test_rerun_uses_the_cache(run, media, tmp_path):
    cache = media["root"] / "cache"
    before = {p: p.stat().st_mtime_ns for p in cache.glob("*.mkv")}
    out = tmp_path / "again"
    code = main(["evaluate", str(media["y4m"]), "-o", str(out), "--qp", *QPS, "--model", "none",
                 "--baselines", "none", "--no-vmaf", "--no-progress", "--cache", str(cache)])
    assert code == 0
    assert {p: p.stat().st_mtime_ns for p in cache.glob("*.mkv")} == before
    doc = json.loads((out / "results.json").read_text())
    first = {(e["qp"], e["variant"]): e["psnr_y"] for e in run["doc"]["results"] if e["source"] == "pan"}
    for e in doc["results"]:
        assert e["psnr_y"] == first[(e["qp"], e["variant"])]


def test_sources_agree(media, run, tmp_path):
    """A raw .yuv (size from its name) gives the same numbers as the PNG folder it was made from."""
    out = tmp_path / "raw"
    code = main(["evaluate", str(media["raw"]), "-o", str(out), "--qp", "42", "--model", "none",
                 "--baselines", "none", "--no-vmaf", "--no-progress",
                 "--cache", str(media["root"] / "cache")])
    assert code == 0
    doc = json.loads((out / "results.json").read_text())
    raw = next(e for e in doc["results"] if e["variant"] == "decoded")
    png = next(e for e in run["doc"]["results"] if e["variant"] == "decoded" and e["source"] == "shots"
               and e["qp"] == 42)
    assert raw["psnr_y"] == png["psnr_y"] and raw["bits"] == png["bits"]
    assert doc["bd"]["average"]["none"]["pchip"]["bd_rate_pct"] is None  # one point: no BD


def test_unavailable_model_and_failing_point_do_not_stop_the_rest(media, tmp_path, monkeypatch, capsys):
    real = ev.encode_point

    def flaky(job):
        if job.value == 42:
            raise RuntimeError("simulated encoder crash")
        return real(job)

    monkeypatch.setattr(ev, "encode_point", flaky)
    out = tmp_path / "fail"
    code = main(["evaluate", str(media["y4m"]), "-o", str(out), "--qp", "27", "32", "42",
                 "--model", "none", str(media["root"] / "missing.pt"), "--baselines", "none",
                 "--no-vmaf", "--no-progress", "--cache", str(media["root"] / "cache")])
    assert code == 1
    err = capsys.readouterr().err
    assert "missing" in err and "simulated encoder crash" in err
    doc = json.loads((out / "results.json").read_text())
    assert {(e["qp"], e["variant"]) for e in doc["results"]} == {
        (27, "decoded"), (27, "none"), (32, "decoded"), (32, "none")}
    errors = {(f["variant"], f["qp"]): f["error"] for f in doc["failures"]}
    assert "simulated encoder crash" in errors[(None, 42)]
    assert "missing" in doc["unavailable_models"] and ("missing", None) in errors
    assert doc["bd"]["average"]["none"]["pchip"]["bd_rate_pct"] == pytest.approx(0.0, abs=1e-9)
    assert (out / "rd.png").is_file() and (out / "frames.csv").is_file()


def test_parallel_jobs_match_serial(media, run, tmp_path):
    out = tmp_path / "par"
    code = main(["evaluate", str(media["y4m"]), "-o", str(out), "--qp", *QPS, "--model", "none",
                 "--baselines", "none", "--no-vmaf", "--no-progress", "--jobs", "2",
                 "--cache", str(media["root"] / "cache")])
    assert code == 0
    doc = json.loads((out / "results.json").read_text())
    first = {(e["qp"], e["variant"]): e for e in run["doc"]["results"] if e["source"] == "pan"}
    assert len(doc["results"]) == 4
    for e in doc["results"]:
        assert e["psnr_y"] == first[(e["qp"], e["variant"])]["psnr_y"]
        assert e["ssim_y"] == first[(e["qp"], e["variant"])]["ssim_y"]


def test_postfilters_get_a_calibrated_scale_on_h264():
    assert [bl.postfilter_qscale("spp", q) for q in (22, 27, 32, 37, 42)] == [1, 1, 2, 4, 7]
    assert [bl.postfilter_qscale("pp7", q) for q in (22, 27, 32, 37, 42)] == [1, 1, 1, 2, 4]
    assert bl.postfilter_qscale("uspp", 0) == 1 and bl.postfilter_qscale("spp", 80) == 31
    assert bl.baseline_filter("spp", "h264", 37.2) == "spp=quality=4:mode=hard:qp=4"
    assert bl.baseline_filter("spp", "mpeg2video", 37.2) == "spp=quality=4:mode=hard"  # its table
    assert bl.baseline_filter("deblock", "h264", 37.2) == bl.BASELINES["deblock"]


def test_mpeg2_qp_maps_to_a_quantiser_scale(media, tmp_path):
    assert [mpeg_qscale(q) for q in (22, 27, 32, 37, 42)] == [4, 7, 13, 23, 31]
    assert mpeg_qscale(0) == 1 and mpeg_qscale(60) == 31
    out = tmp_path / "m2"
    code = main(["evaluate", str(media["y4m"]), "-o", str(out), "--codec", "mpeg2video", "--qp", "32",
                 "--model", "none", "--baselines", "none", "--no-vmaf", "--no-progress",
                 "--frames", "4", "--cache", str(media["root"] / "cache")])
    assert code == 0
    doc = json.loads((out / "results.json").read_text())
    e = doc["results"][0]
    assert e["qscale"] == 13 and e["frames"] == 4
    # the decoder reports the same step back on the H.264 scale: 4 + 6*log2(26) = 32.2
    assert e["mean_qp"] == pytest.approx(32.0, abs=0.6)


def test_ffmpeg_decode_equals_redecode_decode(media, run):
    if not ffmpeg.available():
        pytest.skip("no ffmpeg program")
    enc = next((media["root"] / "cache").glob("pan-libx264-qp42-*.mkv"))
    with open_video(enc) as v:
        ours = [f.planes for f in v]
    theirs = list(bl.FilterRun(enc, "null", W, H).frames())
    assert len(ours) == len(theirs) == N
    for a, b in zip(ours, theirs):
        for pa, pb in zip(a, b):
            assert np.array_equal(pa, pb)


@pytest.mark.parametrize("argv,needle", [
    (["evaluate", "nope.y4m", "-o", "x"], "no such file"),
    (["evaluate", "{raw}", "-o", "x", "--size", "64by64"], "--size"),
    (["evaluate", "{raw}", "-o", "x", "--size", "60x60"], "whole number"),
    (["evaluate", "{y4m}", "-o", "x", "--codec", "vp9"], "--codec vp9"),
    (["evaluate", "{y4m}", "-o", "x", "--codec", "mpeg4", "--crf", "23"], "--crf"),
    (["evaluate", "{y4m}", "-o", "x", "--qp", "60"], "--qp 60"),
    (["evaluate", "{y4m}", "-o", "x", "--baselines", "magic"], "magic"),
])
def test_user_errors_are_one_line(media, tmp_path, capsys, argv, needle):
    argv = [a.format(raw=media["raw"], y4m=media["y4m"]) for a in argv]
    argv[argv.index("-o") + 1] = str(tmp_path / "o")
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("redecode: error:") and needle in err


def test_sources(media, tmp_path):
    src = open_source(media["images"])
    assert [p.name for p in src.images][:3] == ["f0.png", "f5.png", "f10.png"]
    assert src.digest() != src.digest(3)
    raw = open_source(media["raw"])
    assert (raw.width, raw.height, raw.rate) == (64, 64, 25)
    a = [p for f in src.frames() for p in f]
    b = [p for f in raw.frames() for p in f]
    assert all(np.array_equal(x, y) for x, y in zip(a, b)) and len(a) == len(b) == 3 * N
    assert len(list(raw.frames(limit=2))) == 2
    odd = tmp_path / "odd_63x64.yuv"
    odd.write_bytes(bytes(63 * 64 + 2 * 32 * 32))
    with pytest.raises(SourceError, match="even"):
        open_source(odd)


def test_find_ffmpeg(monkeypatch, tmp_path):
    monkeypatch.setenv(ffmpeg.ENV_VAR, str(tmp_path / "no-ffmpeg"))
    with pytest.raises(ffmpeg.FFmpegNotFound, match=ffmpeg.ENV_VAR):
        ffmpeg.find_ffmpeg()
    assert not ffmpeg.available()
    monkeypatch.delenv(ffmpeg.ENV_VAR)
    if ffmpeg.available():
        exe = ffmpeg.find_ffmpeg()
        monkeypatch.setenv(ffmpeg.ENV_VAR, exe)
        assert ffmpeg.find_ffmpeg() == exe
        assert "null" in ffmpeg.filters() and ffmpeg.version()
