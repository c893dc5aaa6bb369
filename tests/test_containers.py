"""What real files need from `redecode restore`: the picture's description kept in every
container (aspect ratio, field order, colour tags), the container rule, odd sizes, damaged and
cut inputs, options checked before any work, MPEG-4 B-frames, and the pictures of inspect."""

from __future__ import annotations

import json
import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from redecode.cli import main
from redecode.decoders import ColorTags, Frame, Motion, VideoInfo, open_video
from redecode.pipeline.batch import plan_jobs
from redecode.pipeline.restore import partial_path
from redecode.pipeline.samples import camera_frames, make_clip


@pytest.fixture(autouse=True)
def _no_stale_log_handler():
    """main() points the "redecode" logger at the sys.stderr of its time: an earlier test's
    captured stream, closed since. Start each test without it."""
    logging.getLogger("redecode").handlers.clear()
    yield
    logging.getLogger("redecode").handlers.clear()


def write_clip(path, codec, width, height, *, frames=6, sar=None, fields=None, color=None,
               options=None, container_format=None, pix_fmt="yuv420p", mux_options=None,
               speed=1.0):
    """A clip with an aspect ratio, a field order ("tff"/"bff", set on the frames as FFmpeg's
    setfield filter does) and colour tags (range, matrix, primaries, transfer codes)."""
    tb = Fraction(1, 25)
    graph = None
    if fields:
        graph = av.filter.Graph()
        src = graph.add_buffer(width=width, height=height, format=pix_fmt, time_base=tb)
        setfield, sink = graph.add("setfield", fields), graph.add("buffersink")
        src.link_to(setfield)
        setfield.link_to(sink)
        graph.configure()
    with av.open(str(path), "w", format=container_format, options=mux_options or {}) as out:
        s = out.add_stream(codec, rate=25)
        s.width, s.height, s.pix_fmt = width, height, pix_fmt
        cc = s.codec_context
        if sar:
            cc.sample_aspect_ratio = sar
        if fields:
            cc.field_order = 2 if fields == "tff" else 3
        if color:
            cc.color_range, cc.colorspace, cc.color_primaries, cc.color_trc = color
        s.options = dict(options or {})
        for i, rgb in enumerate(camera_frames(width, height, frames, speed=speed)):
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
            f.pts, f.time_base = i, tb
            if color:
                f.color_range, f.colorspace, f.color_primaries, f.color_trc = color
            if graph is not None:
                graph.push(f)
                f = graph.pull()
            out.mux(s.encode(f))
        out.mux(s.encode(None))
    return Path(path)


def described(path):
    with open_video(path) as v:
        i = v.info
        return i.sample_aspect_ratio, i.field_order_name, i.color.names()


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("described")
    mpeg2 = {"qmin": "5", "qmax": "5", "flags": "+ildct+ilme"}
    return {
        # PAL-like MPEG-2: pixels 16:11 (176x144 shown 16:9), top field first, BT.470BG
        "mpeg2_tff": write_clip(root / "pal.mpg", "mpeg2video", 176, 144, sar=Fraction(16, 11),
                                fields="tff", color=(1, 5, 5, 5), options=mpeg2,
                                container_format="mpeg"),
        # H.264, pixels 4:3, bottom field first, BT.709 full range
        "h264_bff": write_clip(root / "bff.mkv", "libx264", 128, 96, sar=Fraction(4, 3),
                               fields="bff", color=(2, 1, 1, 1),
                               options={"qp": "30", "x264-params": "bff=1"}),
    }


@pytest.mark.parametrize("ext", ["mp4", "mkv", "mov", "ts"])
@pytest.mark.parametrize("which", ["mpeg2_tff", "h264_bff"])
def test_aspect_fields_and_colour_kept_per_container(media, tmp_path, which, ext):
    src = media[which]
    sar, fields, color = described(src)
    assert sar in (Fraction(16, 11), Fraction(4, 3)) and fields in ("tt", "bb")
    assert color["range"] in ("tv", "pc") and color["matrix"] != "unknown"
    dst = tmp_path / f"out.{ext}"
    assert main(["restore", str(src), "-o", str(dst), "--model", "none", "--no-progress"]) == 0
    assert described(dst) == (sar, fields, color)
    with open_video(dst) as v:
        assert v.info.display_aspect_ratio == Fraction(v.info.width, v.info.height) * sar
        assert sum(1 for _ in v) == 6


def test_avi_keeps_the_aspect_ratio(media, tmp_path):
    """AVI holds no field order and no colour tags; MPEG-4 Part 2 carries the aspect ratio."""
    dst = tmp_path / "out.avi"
    assert main(["restore", str(media["mpeg2_tff"]), "-o", str(dst), "--model", "none",
                 "--codec", "mpeg4", "--no-progress"]) == 0
    assert described(dst)[0] == Fraction(16, 11)


def test_ts_keeps_the_range_without_a_colour_description(tmp_path):
    """An MPEG-2 input says only "limited range": x264 must still write it for MPEG-TS."""
    src = write_clip(tmp_path / "plain.mpg", "mpeg2video", 96, 64, color=(1, 2, 2, 2),
                     options={"qmin": "5", "qmax": "5"}, container_format="mpeg")
    assert described(src)[2]["range"] == "tv"
    dst = tmp_path / "out.ts"
    assert main(["restore", str(src), "-o", str(dst), "--model", "none", "--no-progress"]) == 0
    assert described(dst)[2] == described(src)[2]


# -- the container rule ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    make_clip(root / "a.webm", width=64, height=48, frames=6, codec="libvpx", qp=None)
    make_clip(root / "b.avi", width=64, height=48, frames=6, codec="mpeg4", qp=5)
    make_clip(root / "c.mp4", width=64, height=48, frames=6)
    make_clip(root / "d.ts", width=64, height=48, frames=6, container_format="mpegts")
    return root


def test_container_rule_in_a_batch(mixed, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["restore", str(mixed), "-o", str(out), "--model", "none", "--no-progress"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.mkv", "b.mkv", "c.mp4", "d.ts"]
    lines = capsys.readouterr().err.strip().splitlines()
    said = [i for i, line in enumerate(lines) if "; writing " in line]
    assert len(said) == 2
    assert "a.webm: a .webm file cannot hold libx264 video" in lines[said[0]]
    assert lines[said[0]].endswith(f"writing {out / 'a.mkv'}")
    assert "AVI keeps no presentation timestamps" in lines[said[1]]
    assert "b.avi" in lines[said[1]] and str(out / "b.mkv") in lines[said[1]]
    first_done = min(i for i, line in enumerate(lines) if " -> " in line)
    assert max(said) < first_done  # decided before any file was restored
    for name in ("a.mkv", "b.mkv"):
        with open_video(out / name) as v:
            assert v.info.codec == "h264" and sum(1 for _ in v) == 6


def test_container_rule_is_decided_without_decoding(mixed, tmp_path):
    jobs = plan_jobs([str(mixed)], str(tmp_path / "o"))
    assert [j.output.name for j in jobs] == ["a.mkv", "b.mkv", "c.mp4", "d.ts"]
    from redecode.pipeline.writer import EncodeOptions

    jobs = plan_jobs([str(mixed)], str(tmp_path / "o"), EncodeOptions(codec="ffv1"))
    assert [j.output.name for j in jobs] == ["a.mkv", "b.avi", "c.mkv", "d.mkv"]


def test_named_output_that_cannot_hold_the_codec(mixed, tmp_path, capsys):
    dst = tmp_path / "out.webm"
    assert main(["restore", str(mixed / "c.mp4"), "-o", str(dst), "--model", "none"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(dst) in err[0] and ".mkv" in err[0]
    assert not dst.exists() and not partial_path(dst).exists()


# -- odd sizes -------------------------------------------------------------------------------

@pytest.mark.parametrize("codec,size,ext,pix_fmt", [
    ("mpeg2video", (33, 17), "mpg", "yuv420p"),
    ("mpeg4", (33, 17), "avi", "yuv420p"),
    ("ffv1", (1, 1), "mkv", "yuv420p"),
    ("libx264", (1, 1), "mkv", "yuv444p"),
])
def test_odd_sizes_keep_their_size(tmp_path, capsys, codec, size, ext, pix_fmt):
    opts = {"qmin": "5", "qmax": "5"} if codec.startswith("mpeg") else {}
    src = write_clip(tmp_path / f"odd.{ext}", codec, *size, frames=5, options=opts,
                     pix_fmt=pix_fmt, container_format="mpeg" if ext == "mpg" else None)
    dst = tmp_path / "out.mkv"
    assert main(["restore", str(src), "-o", str(dst), "--model", "none", "--no-progress"]) == 0
    with open_video(dst) as v:
        assert (v.info.width, v.info.height) == size
        assert v.info.pix_fmt == "yuv444p" and sum(1 for _ in v) == 5
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if pix_fmt == "yuv420p":
        assert "odd size" in err and str(dst) in err


def test_odd_size_with_an_impossible_pix_fmt_is_one_line(tmp_path, capsys):
    src = write_clip(tmp_path / "odd.mkv", "ffv1", 33, 17, frames=3)
    dst = tmp_path / "out.mkv"
    assert main(["restore", str(src), "-o", str(dst), "--model", "none", "--pix-fmt",
                 "yuv420p", "--no-progress"]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if "odd size" in line]
    assert len(err) == 1 and str(dst) in err[0] and "yuv444p" in err[0]
    assert not dst.exists() and not partial_path(dst).exists()


def test_output_errors_name_the_output(clips, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"x")
    dst = blocker / "sub" / "out.mkv"  # its folder cannot be made: a file is in the way
    assert main(["restore", str(clips.h264()), "-o", str(dst), "--model", "none",
                 "--no-progress"]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if "restored," not in line]
    assert len(err) == 1 and str(dst) in err[0] and str(clips.h264()) not in err[0]


# -- damaged and cut inputs ------------------------------------------------------------------

@pytest.fixture(scope="module")
def cut_inputs(tmp_path_factory):
    """MP4s with the index at the front cut at 10/50/90 %, an MKV cut in half, a TS missing
    its first third."""
    root = tmp_path_factory.mktemp("cut")
    fast = write_clip(root / "whole.mp4", "libx264", 160, 96, frames=48, speed=4,
                      options={"qp": "20", "bf": "2", "g": "100"},
                      mux_options={"movflags": "+faststart"})
    mkv = make_clip(root / "whole.mkv", width=96, height=64, frames=30, qp=30)
    ts = make_clip(root / "whole.ts", width=96, height=64, frames=30, qp=30, gop=12,
                   container_format="mpegts")
    out = {}
    data = fast.read_bytes()
    for p in (10, 50, 90):
        out[f"mp4_{p}"] = root / f"cut{p}.mp4"
        out[f"mp4_{p}"].write_bytes(data[: len(data) * p // 100])
    data = Path(mkv).read_bytes()
    out["mkv_50"] = root / "half.mkv"
    out["mkv_50"].write_bytes(data[: len(data) // 2])
    data = Path(ts).read_bytes()
    out["ts_start"] = root / "late.ts"
    out["ts_start"].write_bytes(data[len(data) // 3:])
    return out


@pytest.mark.parametrize("which,most", [("mp4_10", 48), ("mp4_50", 48), ("mp4_90", 48),
                                        ("mkv_50", 30), ("ts_start", 30)])
def test_cut_inputs_are_restored_as_far_as_they_go(cut_inputs, tmp_path, capsys, which, most):
    src = cut_inputs[which]
    before = src.read_bytes()
    dst = tmp_path / f"out{src.suffix}"
    assert main(["restore", str(src), "-o", str(dst), "--model", "none", "--json",
                 "--no-progress"]) == 1
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    with open_video(dst) as v:
        n = sum(1 for _ in v)
    assert 0 < n < most
    assert summary["damaged"] == 1 and summary["done"] == 0 and summary["frames"] == n
    assert summary["files"][0]["status"] == "damaged" and summary["files"][0]["problem"]
    lines = [line for line in captured.err.splitlines() if "damaged or cut short" in line]
    assert len(lines) == 1 and f"{n} frames restored" in lines[0] and str(src) in lines[0]
    assert "Traceback" not in captured.err
    assert src.read_bytes() == before and not partial_path(dst).exists()


def test_damaged_files_are_counted_in_the_batch_summary(cut_inputs, clips, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.mp4").write_bytes(clips.h264().read_bytes())
    (folder / "cut.mkv").write_bytes(cut_inputs["mkv_50"].read_bytes())
    assert main(["restore", str(folder), "-o", str(tmp_path / "out"), "--model", "none",
                 "--no-progress"]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "1 restored, 1 damaged or cut short, 0 skipped, 0 failed" in last
    assert "x the input's size" in last


# -- options, before any work ----------------------------------------------------------------

@pytest.mark.parametrize("args,expect", [
    (["--device", "tpu"], "--device tpu"),
    (["--device", "meta"], "--device meta"),
    (["--crf", "-5"], "--crf -5"),
    (["--crf", "100"], "--crf 100"),
    (["--codec", "libx265", "--crf", "52"], "--crf 52"),
    (["--encoder-option", "nosuch=1"], "--encoder-option nosuch"),
    (["--encoder-option", "tune=bogus"], "--encoder-option tune=bogus"),
    (["--encoder-option", "novalue"], "--encoder-option 'novalue'"),
    (["--preset", "bogus"], "--preset bogus"),
    (["--codec", "nosuch"], "--codec nosuch"),
    (["--codec", "aac"], "--codec aac"),
    (["--pix-fmt", "bogus"], "--pix-fmt bogus"),
    (["--pix-fmt", "rgb24"], "--pix-fmt rgb24"),
    (["--strength", "2"], "--strength 2"),
])
def test_bad_options_are_one_line_before_any_work(clips, tmp_path, capsys, args, expect):
    dst = tmp_path / "out.mkv"
    model = [] if "--model" in args else ["--model", "none"]
    assert main(["restore", str(clips.h264()), "-o", str(dst), *model, *args]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expect in err[0] and "Traceback" not in err[0], err
    assert not dst.exists() and not partial_path(dst).exists()


def test_a_model_file_that_is_not_a_checkpoint(clips, tmp_path, capsys):
    dst = tmp_path / "out.mkv"
    assert main(["restore", str(clips.h264()), "-o", str(dst), "--model", str(clips.h264()),
                 "--device", "cpu"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(clips.h264()) in err[0] and "checkpoint" in err[0]
    assert "file an issue" not in err[0].lower() and "weights_only" not in err[0]
    assert not dst.exists()


@pytest.mark.parametrize("command", ["demo", "evaluate", "filter"])
def test_device_is_checked_first_on_every_command(clips, tmp_path, capsys, command):
    out = tmp_path / "out"
    argv = {"demo": ["demo", "-o", str(out)],
            "evaluate": ["evaluate", str(clips.h264()), "-o", str(out), "--model", "none"],
            "filter": ["filter", "-i", str(clips.h264()), "-o", str(out)]}[command]
    assert main(argv + ["--device", "tpu"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["redecode: error: --device tpu: use auto, cpu, cuda or cuda:N"]
    assert not out.exists()


# -- MPEG-4 Part 2 B-frames ------------------------------------------------------------------

def test_mpeg4_b_frames_export_only_zero_vectors(tmp_path, caplog, capsys):
    """Measured: FFmpeg's MPEG-4 decoder keeps no B-frame vectors (h263dec.c updates the
    motion table for non-B pictures only), so the export's B entries are all zero; redecode
    hands those frames out without motion and says so once, in inspect and in restore."""
    src = make_clip(tmp_path / "m4.avi", width=160, height=96, frames=24, codec="mpeg4", qp=5,
                    bframes=2)
    counts: dict[str, list[int]] = {}
    with av.open(src) as c:
        st = c.streams.video[0]
        st.codec_context.options = {"export_side_data": "mvs"}
        for f in c.decode(st):
            side = f.side_data.get("MOTION_VECTORS")
            if side is None:
                continue
            a = side.to_ndarray()
            moving = int(((a["motion_x"] != 0) | (a["motion_y"] != 0)).sum())
            kind = av.video.frame.PictureType(f.pict_type).name
            zero_moving = counts.setdefault(kind, [0, 0])
            zero_moving[0] += len(a) - moving
            zero_moving[1] += moving
    print("MPEG-4 exported vectors (zero, non-zero):", counts)
    assert counts["B"][1] == 0 and counts["B"][0] > 500
    assert counts["P"][1] > 0.9 * sum(counts["P"])
    with caplog.at_level(logging.WARNING, logger="redecode"), open_video(src) as v:
        frames = list(v)
    assert all(f.motion is None for f in frames if f.pict_type == "B")
    assert all(f.motion is not None for f in frames if f.pict_type == "P")
    assert len([r for r in caplog.records if "B-frames carry no motion" in r.message]) == 1
    for argv in (["inspect", str(src)],
                 ["restore", str(src), "-o", str(tmp_path / "r.mkv"), "--model", "none",
                  "--no-progress"]):
        assert main(argv) == 0
        err = capsys.readouterr().err
        assert err.count("B-frames carry no motion vectors") == 1, err


# -- inspect's pictures, filter's and restore's summaries ------------------------------------

INFO = VideoInfo(64, 32, Fraction(25), Fraction(1, 25), "h264", "yuv420p", 8, (1, 1), ColorTags(),
                 None, None, True, True)  # a plain 64x32 8-bit 4:2:0 stream


def _frame(planes, qp=None, motion=None, ptype="P"):
    return Frame(index=3, pts=3, time_base=Fraction(1, 25), pict_type=ptype, planes=planes,
                 qp=qp, motion=motion)


def test_qp_map_reads_the_same_on_any_picture():
    """The heat map is drawn on a grey copy: a red and a green picture of the same luma give
    the same QP picture, and the colour bar is there."""
    from redecode.pipeline.inspect import draw_qp

    info = INFO
    y = np.tile(np.linspace(30, 220, 64, dtype=np.uint8), (32, 1))
    qp = np.array([[10, 20, 30, 40], [22, 30, 38, 51]], np.int16)
    red = draw_qp(_frame((y, np.full((16, 32), 90, np.uint8), np.full((16, 32), 240, np.uint8)),
                         qp), info)
    green = draw_qp(_frame((y, np.full((16, 32), 60, np.uint8), np.full((16, 32), 40, np.uint8)),
                           qp), info)
    np.testing.assert_array_equal(red, green)
    assert red.shape[1] >= 960 and red.shape[0] > 960 // 2 + 40
    bar = red[-30:-24, 80:-20].astype(int)  # the colour bar: a ramp of many colours
    assert len({tuple(px) for px in bar.reshape(-1, 3)}) > 50


def test_intra_blocks_are_marked_in_a_colour_of_their_own():
    from redecode.pipeline.inspect import INTRA_COLOR, L0_COLOR, L1_COLOR, draw_motion

    info = INFO
    y = np.full((32, 64), 120, np.uint8)
    red = (y, np.full((16, 32), 90, np.uint8), np.full((16, 32), 240, np.uint8))
    mask = np.ones((4, 8), bool)
    mask[1, 2] = False  # one intra block
    vec = np.zeros((2, 4, 8), np.float32)
    vec[0] = 2.0
    motion = Motion(8, vec, np.zeros_like(vec), mask, np.zeros_like(mask))
    img = draw_motion(_frame(red, motion=motion), info)
    assert INTRA_COLOR not in (L0_COLOR, L1_COLOR)
    body = img[24:-30]  # below the caption, above the legend
    scale = body.shape[1] // 64
    cell = body[8 * scale:16 * scale, 16 * scale:24 * scale]
    assert (cell == INTRA_COLOR).all(axis=2).sum() > 20  # hatched in magenta
    elsewhere = body[:8 * scale]
    assert not (elsewhere == INTRA_COLOR).all(axis=2).any()
    grey = elsewhere[(elsewhere != L0_COLOR).any(axis=2)]
    assert (np.ptp(grey.astype(int), axis=1) < 40).mean() > 0.9  # the picture is grey: red hides nothing


def test_restore_reports_the_output_size(clips, tmp_path, capsys):
    dst = tmp_path / "out.mkv"
    assert main(["restore", str(clips.h264()), "-o", str(dst), "--model", "none",
                 "--json", "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    ratio = dst.stat().st_size / clips.h264().stat().st_size
    assert summary["size_ratio"] == pytest.approx(ratio, rel=1e-3)
    assert summary["files"][0]["output_bytes"] == dst.stat().st_size
