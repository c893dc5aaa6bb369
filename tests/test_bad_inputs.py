"""Bad and odd inputs, as a new user meets them: every case runs a command in-process through
``redecode.cli.main`` and must end within its time limit with the documented exit status, no
traceback, one clear line naming the file or the option at fault, no partial output left
behind, and its inputs unchanged. Then a seeded, time-bounded random mutation of real streams
through the decoder (and now and then the whole restore).

Documented outcomes (README): 0 restored; 1 with a "damaged or cut short: N frames restored"
line and an output holding those frames; 1 with one error line and no output; 2 for a command
line argparse rejects.
"""

from __future__ import annotations

import faulthandler
import hashlib
import logging
import os
import signal
import struct
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from redecode.cli import main
from redecode.decoders import DecodeError, open_video
from redecode.pipeline.samples import camera_frames, encode_frames, make_clip

CASE_SECONDS = 30  # no case comes near this; a hang ends the case (and a stuck C call, the run)


class Hang(BaseException):
    """Raised in the main thread when a case runs past its limit."""


@pytest.fixture(autouse=True)
def _no_stale_log_handler():
    logging.getLogger("redecode").handlers.clear()
    yield
    logging.getLogger("redecode").handlers.clear()


# -- inputs ----------------------------------------------------------------------------------

def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = zlib.compress(b"".join(b"\x00" + b"\x80" * (3 * min(width, 64))
                                  for _ in range(min(height, 64))))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def _flip(data: bytes, seed: int, n: int, start: float = 0.2) -> bytes:
    rng = np.random.default_rng(seed)
    b = bytearray(data)
    for pos in rng.integers(int(len(b) * start), len(b), n):
        b[pos] ^= 1 << int(rng.integers(0, 8))
    return bytes(b)


def _stream(path: Path, codec: str, pix_fmt: str, width: int = 64, height: int = 48,
            frames: int = 6, **opts) -> Path:
    encode_frames(path, camera_frames(width, height, frames), codec=codec, pix_fmt=pix_fmt,
                  options=opts)
    return path


def _two_videos(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        streams = []
        for w, h in ((64, 48), (32, 32)):
            s = out.add_stream("libx264", rate=25)
            s.width, s.height, s.pix_fmt = w, h, "yuv420p"
            streams.append(s)
        for i, rgb in enumerate(camera_frames(64, 48, 6)):
            for s in streams:
                f = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[: s.height, : s.width]),
                                               format="rgb24").reformat(format="yuv420p")
                f.pts = i
                out.mux(s.encode(f))
        for s in streams:
            out.mux(s.encode(None))
    return path


def _vfr(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.codec_context.time_base = Fraction(1, 1000)
        t = 0
        for i, rgb in enumerate(camera_frames(64, 48, 10)):
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            f.pts, f.time_base = t, Fraction(1, 1000)
            t += 40 if i % 2 else 95
            out.mux(s.encode(f))
        out.mux(s.encode(None))
    return path


def _with_audio(path: Path, fmt: str | None = None) -> Path:
    """H.264 with B-frames and AAC audio, interleaved (the copy path of restore)."""
    with av.open(str(path), "w", format=fmt) as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        video.options = {"bf": "2", "qp": "30", "g": "10"}
        audio = out.add_stream("aac", rate=16000)
        audio.layout = "mono"
        for i, rgb in enumerate(camera_frames(64, 48, 20)):
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            f.pts = i
            out.mux(video.encode(f))
            tone = (0.3 * np.sin(np.arange(640) * 0.05 + i)).astype(np.float32)[None]
            a = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            a.sample_rate, a.pts = 16000, i * 640
            out.mux(audio.encode(a))
        out.mux(video.encode(None))
        out.mux(audio.encode(None))
    return path


def _audio(path: Path, codec: str, fmt: str) -> Path:
    with av.open(str(path), "w", format=fmt) as out:
        s = out.add_stream(codec, rate=16000)
        s.layout = "mono"
        for k in range(8):
            sample_fmt = s.codec_context.format.name
            data = (np.sin(np.arange(1024) * 0.05 + k) * 0.3).astype(np.float32)
            if sample_fmt.startswith("s16"):
                data = (data * 20000).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(data[None], format=sample_fmt, layout="mono")
            frame.sample_rate, frame.pts = 16000, k * 1024
            out.mux(s.encode(frame))
        out.mux(s.encode(None))
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    """Every input of the suite, made once (about two seconds)."""
    root = tmp_path_factory.mktemp("bad")
    m: dict[str, Path] = {}

    def put(name: str, data: bytes) -> None:
        m[name] = root / name
        m[name].write_bytes(data)

    base = {
        "mp4": make_clip(root / "src.mp4", width=96, height=64, frames=30, qp=30, gop=10),
        "mkv": make_clip(root / "src.mkv", width=96, height=64, frames=30, qp=30, gop=10),
        "ts": make_clip(root / "src.ts", width=96, height=64, frames=30, qp=30, gop=10,
                        container_format="mpegts"),
        "mpg": make_clip(root / "src.mpg", width=96, height=64, frames=30, codec="mpeg2video",
                         qp=5, gop=10, container_format="mpeg"),
        "avi": make_clip(root / "src.avi", width=96, height=64, frames=30, codec="mpeg4", qp=5,
                         gop=10),
        "h264": make_clip(root / "src.h264", width=96, height=64, frames=30, qp=30, gop=10,
                          container_format="h264"),
        "webm": make_clip(root / "src.webm", width=96, height=64, frames=30, codec="libvpx",
                          qp=None, gop=10),
        "av_ts": _with_audio(root / "av.ts", "mpegts"),
        "av_mkv": _with_audio(root / "av.mkv"),
    }
    data = {k: Path(v).read_bytes() for k, v in base.items()}
    for k, v in base.items():
        m[k] = Path(v)
    # an MP4 with its index at the front, big enough that 10 % holds its first frames
    with av.open(str(root / "fast.mp4"), "w", options={"movflags": "+faststart"}) as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 160, 96, "yuv420p"
        s.options = {"qp": "20", "bf": "2", "g": "100"}
        for i, rgb in enumerate(camera_frames(160, 96, 48, speed=4)):
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            f.pts = i
            out.mux(s.encode(f))
        out.mux(s.encode(None))
    fast = (root / "fast.mp4").read_bytes()
    for p in (10, 25, 50, 75, 90):
        put(f"fast_cut{p}.mp4", fast[: len(fast) * p // 100])
    put("plain_cut50.mp4", data["mp4"][: len(data["mp4"]) // 2])  # index at the end: lost
    for p in (25, 50, 75):
        put(f"cut{p}.mkv", data["mkv"][: len(data["mkv"]) * p // 100])
    put("cut30.ts", data["ts"][: len(data["ts"]) * 30 // 100])
    put("cut61.ts", data["ts"][: len(data["ts"]) * 61 // 100])
    put("late.ts", data["ts"][len(data["ts"]) // 3:])
    for k in ("h264", "mpg", "avi", "webm"):
        put(f"cut50.{k}", data[k][: len(data[k]) // 2])
    for seed in range(3):
        put(f"flip{seed}.mp4", _flip(data["mp4"], seed, 20))
    for seed in range(2):
        put(f"flip{seed}.ts", _flip(data["ts"], 10 + seed, 30))
        put(f"flip{seed}.mkv", _flip(data["mkv"], 20 + seed, 20))
    put("flip.avi", _flip(data["avi"], 30, 20))
    put("flip.mpg", _flip(data["mpg"], 31, 20))
    put("header_flip.mp4", _flip(data["mp4"], 40, 8, start=0.0)[:64] + data["mp4"][64:])
    mid = bytearray(data["mp4"])
    mid[len(mid) // 3: len(mid) // 2] = bytes(len(mid) // 2 - len(mid) // 3)
    put("zero_run.mp4", bytes(mid))
    put("zeros.mp4", bytes(4096))
    rng = np.random.default_rng(7)
    put("random.mp4", rng.integers(0, 256, 20000, np.uint8).tobytes())
    put("random.ts", rng.integers(0, 256, 20000, np.uint8).tobytes())
    put("notes.mp4", b"these are notes, not frames\n" * 40)
    put("picture.mp4", _png(32, 24))
    import cv2
    put("photo.mp4", cv2.imencode(".jpg", np.full((24, 32, 3), 128, np.uint8))[1].tobytes())
    put("empty.mp4", b"")
    m["tone.mp4"] = _audio(root / "tone.mp4", "aac", "mp4")
    m["tone.wav"] = _audio(root / "tone.wav", "pcm_s16le", "wav")
    put("huge.y4m", b"YUV4MPEG2 W16000 H16000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + b"\x80" * 5000)
    put("huger.y4m", b"YUV4MPEG2 W60000 H60000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + b"\x80" * 5000)
    put("huge_png.mp4", _png(100000, 100000))
    m["odd_mpeg2.mpg"] = Path(make_clip(root / "odd_mpeg2.mpg", width=33, height=17, frames=5,
                                        codec="mpeg2video", qp=5, container_format="mpeg"))
    m["odd_mpeg4.avi"] = Path(make_clip(root / "odd_mpeg4.avi", width=33, height=17, frames=5,
                                        codec="mpeg4", qp=5))
    m["one_px.mkv"] = _stream(root / "one_px.mkv", "ffv1", "yuv420p", 1, 1, 3)
    m["odd444.mp4"] = _stream(root / "odd444.mp4", "libx264", "yuv444p", 65, 37, 4, qp="30")
    m["two_px.mp4"] = _stream(root / "two_px.mp4", "libx264", "yuv420p", 2, 2, 3)
    m["ten_bit.mkv"] = _stream(root / "ten_bit.mkv", "libx264", "yuv420p10le", qp="30")
    m["yuv422.mkv"] = _stream(root / "yuv422.mkv", "libx264", "yuv422p", qp="30")
    m["yuv422_10.mkv"] = _stream(root / "yuv422_10.mkv", "libx264", "yuv422p10le", qp="30")
    m["vfr.mkv"] = _vfr(root / "vfr.mkv")
    m["two_videos.mkv"] = _two_videos(root / "two_videos.mkv")
    m["one_h264.mp4"] = _stream(root / "one_h264.mp4", "libx264", "yuv420p", frames=1)
    m["one_mpeg2.mpg"] = Path(make_clip(root / "one_mpeg2.mpg", width=64, height=48, frames=1,
                                        codec="mpeg2video", qp=5, container_format="mpeg"))
    m["one_mpeg4.avi"] = Path(make_clip(root / "one_mpeg4.avi", width=64, height=48, frames=1,
                                        codec="mpeg4", qp=5))
    small = make_clip(root / "small.ts", width=96, height=64, frames=8, container_format="mpegts")
    large = make_clip(root / "large.ts", width=128, height=96, frames=8, container_format="mpegts")
    put("resized.ts", Path(small).read_bytes() + Path(large).read_bytes())
    (root / "no_videos").mkdir()
    (root / "no_videos" / "readme.txt").write_text("nothing here")
    m["no_videos"] = root / "no_videos"
    (root / "folder.mp4").mkdir()
    m["folder.mp4"] = root / "folder.mp4"
    m["missing.mp4"] = root / "missing.mp4"
    (root / "blocker").write_bytes(b"a file where a folder should be")
    m["blocker"] = root / "blocker"
    pair = root / "pair"
    pair.mkdir()
    (pair / "a.mp4").write_bytes(data["mp4"])
    (pair / "b.mkv").write_bytes(data["mkv"])
    m["pair"] = pair
    m["not_a_checkpoint.pt"] = root / "not_a_checkpoint.pt"
    m["not_a_checkpoint.pt"].write_bytes(data["mp4"])
    return m


# -- the cases -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One command. ``args`` may name inputs as ``@NAME`` (from ``media``) and the output
    as ``OUT`` (a fresh path in the case's own folder) or ``OUTDIR``.

    ``outcome``: "ok" (0, output written), "damaged" (1, a "damaged or cut short" line and an
    output), "error" (1, one error line, no output), "usage" (2), or "any" (damage the decoder
    may or may not notice: 0 with an output, or 1 either way).
    """

    id: str
    args: tuple[str, ...]
    outcome: str
    expect: str = ""  # words the error (or damage) line must hold


def restore(src: str, *extra: str, out: str = "OUT.mkv") -> tuple[str, ...]:
    return ("restore", src, "-o", out, "--model", "none", "--no-progress", *extra)


CASES = [
    # cuts at several points in several containers
    *[Case(f"mp4 index first, cut at {p}%", restore(f"@fast_cut{p}.mp4"), "damaged",
           "damaged or cut short") for p in (10, 25, 50, 75, 90)],
    Case("mp4 index last, cut in half", restore("@plain_cut50.mp4"), "error",
         "without its index"),
    *[Case(f"mkv cut at {p}%", restore(f"@cut{p}.mkv"), "damaged", "header records")
      for p in (25, 50, 75)],
    Case("ts cut at 30%", restore("@cut30.ts"), "damaged", "damaged or cut short"),
    Case("ts cut at 61%", restore("@cut61.ts"), "damaged", "damaged or cut short"),
    Case("ts missing its first third", restore("@late.ts"), "damaged", "starts mid-stream"),
    Case("raw h264 cut in half", restore("@cut50.h264"), "damaged", "damaged or cut short"),
    Case("mpeg-2 ps cut in half", restore("@cut50.mpg"), "damaged", "damaged or cut short"),
    Case("avi cut in half", restore("@cut50.avi"), "damaged", "damaged or cut short"),
    Case("webm cut in half", restore("@cut50.webm"), "damaged", "header records"),
    # bit flips, zeros, random bytes
    *[Case(f"mp4 bit flips {s}", restore(f"@flip{s}.mp4"), "any") for s in range(3)],
    *[Case(f"ts bit flips {s}", restore(f"@flip{s}.ts"), "any") for s in range(2)],
    *[Case(f"mkv bit flips {s}", restore(f"@flip{s}.mkv"), "any") for s in range(2)],
    Case("avi bit flips", restore("@flip.avi"), "any"),
    Case("mpeg-2 ps bit flips", restore("@flip.mpg"), "any"),
    Case("mp4 header bit flips", restore("@header_flip.mp4"), "any"),
    Case("mp4 with a run of zeros", restore("@zero_run.mp4"), "any"),
    Case("all zeros named .mp4", restore("@zeros.mp4"), "error", "not a video"),
    Case("random bytes named .mp4", restore("@random.mp4"), "error", "not a video"),
    Case("random bytes named .ts", restore("@random.ts"), "error", "random.ts"),
    Case("empty file", restore("@empty.mp4"), "error", "empty file"),
    # not videos
    Case("text named .mp4", restore("@notes.mp4"), "error", "not a video"),
    Case("png named .mp4", restore("@picture.mp4"), "error", "an image file"),
    Case("jpeg named .mp4", restore("@photo.mp4"), "error", "an image file"),
    Case("audio only (aac in mp4)", restore("@tone.mp4"), "error", "no video stream"),
    Case("audio only (wav)", restore("@tone.wav"), "error", "no video stream"),
    # odd and huge sizes
    Case("33x17 mpeg-2", restore("@odd_mpeg2.mpg"), "ok"),
    Case("33x17 mpeg-4", restore("@odd_mpeg4.avi"), "ok"),
    Case("1x1 4:2:0", restore("@one_px.mkv"), "ok"),
    Case("2x2", restore("@two_px.mp4"), "ok"),
    Case("65x37 4:4:4", restore("@odd444.mp4"), "ok"),
    Case("y4m header claims 16000x16000", restore("@huge.y4m"), "error", "huge.y4m"),
    Case("y4m header claims 60000x60000", restore("@huger.y4m"), "error", "huger.y4m"),
    Case("png header claims 100000x100000", restore("@huge_png.mp4"), "error", "huge_png.mp4"),
    # formats that must simply work
    Case("10-bit", restore("@ten_bit.mkv"), "ok"),
    Case("4:2:2", restore("@yuv422.mkv"), "ok"),
    Case("4:2:2 10-bit", restore("@yuv422_10.mkv"), "ok"),
    Case("variable frame rate", restore("@vfr.mkv"), "ok"),
    Case("two video streams", restore("@two_videos.mkv"), "ok"),
    Case("one-frame h264", restore("@one_h264.mp4"), "ok"),
    Case("one-frame mpeg-2", restore("@one_mpeg2.mpg"), "ok"),
    Case("one-frame mpeg-4", restore("@one_mpeg4.avi"), "ok"),
    Case("webm input gets an mkv output", restore("@webm", out="OUTDIR/"), "ok"),
    Case("picture size changes mid-stream", restore("@resized.ts"), "damaged", "size changes"),
    # paths
    Case("folder without videos", restore("@no_videos", out="OUTDIR"), "error",
         "holds no video files"),
    Case("folder named .mp4", restore("@folder.mp4"), "error", "holds no video files"),
    Case("missing file", restore("@missing.mp4"), "error", "no such file"),
    Case("glob matching nothing", restore("@no_videos/*.mp4"), "error", "matches no file"),
    Case("output equal to input", restore("@mp4", out="@mp4"), "error", "overwrite"),
    Case("output folder equal to input folder", restore("@pair", out="@pair"), "error",
         "would overwrite an input"),
    Case("output that exists", restore("@mp4", out="@mkv"), "error", "exists"),
    Case("output without extension", restore("@mp4", out="OUT"), "error", "file extension"),
    Case("output folder under a file", restore("@mp4", out="@blocker/x/out.mkv"), "error",
         "cannot create its folder"),
    Case("several inputs, output a file", ("restore", "@mp4", "@mkv", "-o", "@blocker",
                                           "--model", "none"), "error", "output folder"),
    Case("named output that cannot hold x264", restore("@mp4", out="OUT.webm"), "error",
         "cannot hold libx264"),
    # bad options
    Case("--device tpu", restore("@mp4", "--device", "tpu"), "error", "--device tpu"),
    Case("--device meta", restore("@mp4", "--device", "meta"), "error", "--device meta"),
    Case("--crf -5", restore("@mp4", "--crf", "-5"), "error", "--crf -5"),
    Case("--crf 100", restore("@mp4", "--crf", "100"), "error", "--crf 100"),
    Case("--crf abc", restore("@mp4", "--crf", "abc"), "usage", "--crf"),
    Case("--encoder-option unknown", restore("@mp4", "--encoder-option", "nosuch=1"), "error",
         "nosuch"),
    Case("--encoder-option bad value", restore("@mp4", "--encoder-option", "tune=bogus"),
         "error", "tune=bogus"),
    Case("--preset unknown", restore("@mp4", "--preset", "bogus"), "error", "--preset bogus"),
    Case("--codec unknown", restore("@mp4", "--codec", "nosuch"), "error", "--codec nosuch"),
    Case("--pix-fmt unknown", restore("@mp4", "--pix-fmt", "bogus"), "error", "--pix-fmt"),
    Case("--precision unknown", restore("@mp4", "--precision", "fp8"), "usage", "--precision"),
    Case("--strength 2", restore("@mp4", "--strength", "2"), "error", "--strength"),
    Case("--model that is not a checkpoint",
         ("restore", "@mp4", "-o", "OUT.mkv", "--model", "@not_a_checkpoint.pt", "--device",
          "cpu"), "error", "not_a_checkpoint.pt"),
    Case("no output given", ("restore", "@mp4"), "usage", "-o"),
    # inspect and filter
    Case("inspect text", ("inspect", "@notes.mp4"), "error", "not a video"),
    Case("inspect a cut mkv", ("inspect", "@cut50.mkv", "-o", "OUTDIR"), "ok"),
    Case("filter a cut ts to a file", ("filter", "-i", "@cut30.ts", "-o", "OUT.y4m",
                                       "--model", "none"), "damaged", "frames delivered"),
    Case("filter random bytes", ("filter", "-i", "@random.mp4", "-o", "OUT.y4m", "--model",
                                 "none"), "error", "not a video"),
    Case("filter a missing file", ("filter", "-i", "@missing.mp4", "-o", "OUT.y4m",
                                   "--model", "none"), "error", "no such file"),
]


def _digest(path: Path) -> str | None:
    if path.is_file():
        return hashlib.sha1(path.read_bytes()).hexdigest()
    if path.is_dir():
        return "|".join(f"{p.relative_to(path)}:{_digest(p)}" for p in sorted(path.rglob("*")))
    return None


def _run(argv: list[str], seconds: float = CASE_SECONDS) -> int:
    """main(argv) with a time limit; argparse's exits are returned as statuses."""
    def hang(signum, frame):
        raise Hang(f"{argv} ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, hang)
    # a hang inside C code, where no signal handler runs, ends the test run instead
    faulthandler.dump_traceback_later(seconds * 3, exit=True, file=sys.__stderr__)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return main(argv)
    except SystemExit as e:
        return int(e.code or 0)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        faulthandler.cancel_dump_traceback_later()
        signal.signal(signal.SIGALRM, previous)


def _frames(path: Path) -> int:
    with open_video(path, metadata=False) as v:
        return sum(1 for _ in v)


def _check(case: Case, code: int, err: str, work: Path, out: Path, outdir: Path,
           inputs: dict[Path, str | None]) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    # nothing half-written, anywhere the case wrote
    assert not [p for p in work.rglob("*") if ".partial" in p.name], list(work.rglob("*"))
    for path, digest in inputs.items():
        assert _digest(path) == digest, f"{path} was changed"
    written = [p for p in work.rglob("*") if p.is_file()]
    # every line is ours: "redecode...:" or a restore's "IN -> OUT: ..." result line
    strays = [line for line in lines if not line.startswith("redecode") and " -> " not in line
              and not line.startswith("usage:") and not line.startswith(" ")]
    assert not strays, err
    errors = [line for line in lines if "error:" in line]
    damage = [line for line in lines if "damaged or cut short" in line and "error:" not in line
              and " restored, " not in line]
    outcome = case.outcome
    if outcome == "any":  # the decoder may not notice every flipped bit
        outcome = "ok" if code == 0 else "damaged" if damage else "error"
    if outcome == "ok":
        assert code == 0, err
        assert not errors, err
        if case.args[0] == "restore":
            assert written and all(_frames(p) > 0 for p in written), err
    elif outcome == "damaged":
        assert code == 1, err
        line = damage[0] if damage else (errors[0] if errors else "")
        assert len(damage) + len(errors) == 1 and case.expect in line, err
        assert len(written) == 1 and _frames(written[0]) > 0, (err, written)
    elif outcome == "error":
        assert code == 1, err
        assert len(errors) == 1 and case.expect in errors[0], err
        assert not written, (err, written)
    else:  # usage
        assert code == 2, err
        assert lines and "error:" in lines[-1] and case.expect in lines[-1], err
        assert not written


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, media, tmp_path, capsys):
    work = tmp_path / "work"
    work.mkdir()
    out, outdir = work / "out", work / "outdir"

    def resolve(arg: str) -> str:
        if arg.startswith("@"):
            name, _, rest = arg[1:].partition("/")
            return str(media[name] / rest) if rest else str(media[name])
        return arg.replace("OUTDIR", str(outdir)).replace("OUT", str(out))

    argv = [resolve(a) for a in case.args]
    inputs = {p: _digest(p) for p in media.values()}
    capsys.readouterr()
    started = time.perf_counter()
    code = _run(argv)
    seconds = time.perf_counter() - started
    err = capsys.readouterr().err
    _check(case, code, err, work, out, outdir, inputs)
    assert seconds < CASE_SECONDS


def test_case_count():
    assert len(CASES) >= 50


def test_read_only_output_folder_names_the_output(media, tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("running as root: permissions are not enforced")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code = _run(["restore", str(media["mp4"]), "-o", str(locked / "out.mkv"), "--model",
                     "none", "--no-progress"])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 1 and len(err) == 1 and str(locked / "out.mkv") in err[0]
        assert str(media["mp4"]) not in err[0] and list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_fifo_input_is_read_not_called_empty(media, tmp_path, capsys):
    """A FIFO (like /dev/stdin on a pipe) reports size 0: it must be read, not refused."""
    fifo = tmp_path / "pipe.ts"
    os.mkfifo(fifo)
    data = media["ts"].read_bytes()

    def feed():
        with open(fifo, "wb") as f:
            f.write(data)

    threading.Thread(target=feed, daemon=True).start()
    out = tmp_path / "out.mkv"
    code = _run(["restore", str(fifo), "-o", str(out), "--model", "none", "--no-progress"], 60)
    err = capsys.readouterr().err
    assert code == 0, err
    assert "empty" not in err and _frames(out) == 30


def test_device_file_is_not_called_empty(tmp_path, capsys):
    code = _run(["inspect", os.devnull])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "empty" not in err[0] and os.devnull in err[0]


# -- random mutations of real streams --------------------------------------------------------

MUTATION_SECONDS = 15.0  # the loop's budget; the whole test stays under 30 s


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    b = bytearray(data)
    kind = int(rng.integers(0, 6))
    n = len(b)
    if kind == 0:  # bit flips
        for pos in rng.integers(0, n, int(rng.integers(1, 40))):
            b[pos] ^= 1 << int(rng.integers(0, 8))
    elif kind == 1:  # a run of random bytes
        at, size = int(rng.integers(0, n)), int(rng.integers(1, 2000))
        b[at:at + size] = rng.integers(0, 256, min(size, n - at), np.uint8).tobytes()
    elif kind == 2:  # a run of zeros
        at, size = int(rng.integers(0, n)), int(rng.integers(1, 4000))
        b[at:at + size] = bytes(min(size, n - at))
    elif kind == 3:  # cut
        b = b[: int(rng.integers(0, n))]
    elif kind == 4:  # a chunk deleted
        at, size = int(rng.integers(0, n)), int(rng.integers(1, 3000))
        del b[at:at + size]
    else:  # a chunk repeated
        at, size = int(rng.integers(0, n)), int(rng.integers(1, 3000))
        b[at:at] = b[at:at + size]
    return bytes(b)


def test_random_mutations_through_the_decoder(media, tmp_path, capsys):
    """Seeded and bounded: each mutant either fails with one-line DecodeError naming it, or
    decodes into frames whose planes, QP maps and vectors have the shapes the info promises
    and whose timestamps increase; every 8th also goes through restore, which must leave no
    partial file."""
    rng = np.random.default_rng(2024)
    names = ["mp4", "mkv", "ts", "mpg", "avi", "h264", "webm", "av_ts", "av_mkv"]
    originals = {k: media[k].read_bytes() for k in names}
    started = time.perf_counter()
    tried = failed = decoded_frames = restored = 0
    while time.perf_counter() - started < MUTATION_SECONDS and tried < 2000:
        kind = names[tried % len(names)]
        path = tmp_path / f"m{tried}{media[kind].suffix}"
        path.write_bytes(_mutate(originals[kind], rng))
        tried += 1
        try:
            with open_video(path) as v:
                info = v.info
                last = None
                for f in v:
                    y, u, w = f.planes
                    assert y.shape == (info.height, info.width)
                    assert u.shape == w.shape == (-(-info.height >> info.chroma_shift[1]),
                                                  -(-info.width >> info.chroma_shift[0]))
                    if f.qp is not None:
                        assert f.qp.shape == (-(-info.height // 16), -(-info.width // 16))
                    if f.motion is not None:
                        assert f.motion.l0.shape == (2, -(-info.height // 8), -(-info.width // 8))
                    assert last is None or f.pts > last
                    last = f.pts
                    decoded_frames += 1
        except DecodeError as e:
            msg = str(e)
            assert "\n" not in msg and msg.startswith(str(path)), msg
            failed += 1
        if tried % 8 == 0 or kind.startswith("av_"):
            out = tmp_path / f"r{tried}.mkv"
            code = _run(["restore", str(path), "-o", str(out), "--model", "none",
                         "--no-progress"], 60)
            err = capsys.readouterr().err
            assert code in (0, 1) and "Traceback" not in err, err
            assert not list(tmp_path.glob(".*partial*"))
            assert out.exists() == (code == 0 or "frames restored into" in err), err
            restored += 1
        path.unlink()
    print(f"{tried} mutants: {failed} refused, {decoded_frames} frames decoded, "
          f"{restored} restored, in {time.perf_counter() - started:.1f} s")
    assert tried >= 50
