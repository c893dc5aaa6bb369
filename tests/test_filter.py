"""`redecode filter` between real processes: frames, early close, garbage, memory, delay."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from redecode.decoders import open_video
from redecode.pipeline.samples import make_clip

FILTER = [sys.executable, "-m", "redecode", "filter", "--model", "none"]

READER = r"""
import sys
f = sys.stdin.buffer
header = f.readline().split()
assert header[0] == b"YUV4MPEG2", header
w = int(header[1][1:]); h = int(header[2][1:])
size = w * h + 2 * ((w + 1) // 2) * ((h + 1) // 2)
n = 0
while True:
    line = f.readline()
    if not line:
        break
    assert line == b"FRAME\n", line
    assert len(f.read(size)) == size
    n += 1
print(w, h, n, b" ".join(header[3:]).decode())
"""


def run_pipe(producer: list[str], consumer: list[str], filter_args=()):
    """producer | redecode filter | consumer; returns (filter rc, filter stderr, consumer out)."""
    p1 = subprocess.Popen(producer, stdout=subprocess.PIPE)
    p2 = subprocess.Popen(FILTER + list(filter_args), stdin=p1.stdout, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    p1.stdout.close()
    p3 = subprocess.Popen(consumer, stdin=p2.stdout, stdout=subprocess.PIPE)
    p2.stdout.close()
    out, _ = p3.communicate(timeout=120)
    err = p2.stderr.read().decode()
    p2.wait(timeout=60)
    p1.wait(timeout=60)
    return p2.returncode, err, out.decode(errors="replace")


@pytest.fixture(scope="module")
def ts_clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("f") / "clip.ts", width=96, height=64, frames=30,
                     qp=32, bframes=3, container_format="mpegts")


@pytest.mark.parametrize("container", ["mpegts", "h264", "matroska", "nut", "mpeg"])
def test_pipe_producer_filter_reader(tmp_path, container):
    codec = "mpeg2video" if container == "mpeg" else "libx264"
    src = make_clip(tmp_path / f"clip.{container}", width=96, height=64, frames=20, qp=5 if
                    codec == "mpeg2video" else 32, bframes=2, codec=codec,
                    container_format=container)
    rc, err, out = run_pipe(["cat", src], [sys.executable, "-c", READER])
    assert rc == 0, err
    w, h, n, tags = out.split(maxsplit=3)
    assert (int(w), int(h), int(n)) == (96, 64, 20)
    assert "F25:1" in tags and "C420jpeg" in tags


def test_encoded_output_through_a_pipe(ts_clip):
    rc, err, out = run_pipe(["cat", ts_clip],
                            [sys.executable, "-m", "redecode", "inspect", "-", "--json"],
                            ["-f", "nut", "--crf", "20"])
    assert rc == 0, err
    import json

    summary = json.loads(out)
    assert summary["frames"] == 30 and summary["codec"] == "h264"


def test_reader_closing_early_ends_quietly(ts_clip):
    rc, err, out = run_pipe(["cat", ts_clip], ["head", "-c", "20000"])
    assert rc == 0, err
    assert "Traceback" not in err and err.strip() == ""


def test_garbage_on_stdin():
    garbage = np.random.default_rng(0).integers(0, 256, 50000, np.uint8).tobytes()
    proc = subprocess.run(FILTER, input=garbage, capture_output=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stdout == b""
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "not a video" in lines[0]


def test_unknown_encoder_is_one_line(ts_clip):
    proc = subprocess.run(FILTER + ["--format", "mkv", "--codec", "no-such-codec"],
                          input=Path(ts_clip).read_bytes(), capture_output=True, timeout=60)
    assert proc.returncode == 1 and proc.stdout == b""
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "unknown encoder 'no-such-codec'" in lines[0], lines


def test_truncated_stream_delivers_what_it_can(tmp_path):
    src = make_clip(tmp_path / "cut.h264", width=96, height=64, frames=30, qp=32, bframes=3,
                    container_format="h264")
    data = open(src, "rb").read()
    proc = subprocess.run(FILTER, input=data[: len(data) * 2 // 3], capture_output=True,
                          timeout=60)
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert "Traceback" not in err and "frames delivered" in err
    frame = 96 * 64 * 3 // 2 + len(b"FRAME\n")
    header = proc.stdout.index(b"\n") + 1
    delivered = (len(proc.stdout) - header) / frame
    assert delivered == int(delivered) and 10 <= delivered < 30


def test_sigterm_ends_cleanly(ts_clip):
    """A producer that never ends: SIGTERM stops the filter with status 130, no traceback."""
    producer = subprocess.Popen(
        ["bash", "-c", f"while true; do cat {ts_clip}; sleep 0.2; done"], stdout=subprocess.PIPE)
    proc = subprocess.Popen(FILTER + ["--input-format", "mpegts"], stdin=producer.stdout,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    producer.stdout.close()
    time.sleep(4)
    proc.terminate()
    err = proc.communicate(timeout=30)[1].decode()
    producer.kill()
    producer.wait()
    assert proc.returncode == 130 and "Traceback" not in err


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))


def test_memory_stays_flat_on_a_long_stream(tmp_path):
    """2400 frames: resident memory after the first 600 does not keep growing."""
    src = make_clip(tmp_path / "long.ts", width=128, height=96, frames=300, qp=34, bframes=3,
                    gop=60, container_format="mpegts")
    producer = subprocess.Popen(["bash", "-c", f"for i in 1 2 3 4 5 6 7 8; do cat {src}; done"],
                                stdout=subprocess.PIPE)
    proc = subprocess.Popen(FILTER + ["--input-format", "mpegts"], stdin=producer.stdout,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    producer.stdout.close()
    frame = 128 * 96 * 3 // 2 + 6
    proc.stdout.readline()
    samples, n = [], 0
    while True:
        chunk = proc.stdout.read(frame)
        if len(chunk) < frame:
            break
        n += 1
        if n % 200 == 0:
            samples.append(rss_kib(proc.pid))
    proc.wait(timeout=60)
    producer.wait(timeout=60)
    assert n == 2400, proc.stderr.read()
    early, late = max(samples[2:4]), max(samples[-3:])
    assert late - early < 8 * 1024, samples  # < 8 MiB drift over 1800 frames


def feed_slowly(packets, sink, written, pause=0.1):
    for p in packets:
        sink.write(p)
        written[0] += 1
        time.sleep(pause)
    sink.close()


def plain_arrivals(packets) -> list[int]:
    """When plain PyAV decoding hands out each frame: packets written by then."""
    import av

    r, w = os.pipe()
    written = [0]
    threading.Thread(target=feed_slowly, args=(packets, os.fdopen(w, "wb", buffering=0), written),
                     daemon=True).start()
    with av.open(os.fdopen(r, "rb", buffering=0), format="h264",
                 options={"probesize": "65536", "analyzeduration": "500000"}) as c:
        return [written[0] for _ in c.decode(c.streams.video[0])]


def test_frame_delay_is_bounded_by_the_b_frame_run(tmp_path):
    """Packets arrive one at a time: each frame leaves at most (longest run of B-frames + 1)
    frames after plain decoding would have handed it out (anchors must come first)."""
    import av

    n = 80
    src = make_clip(tmp_path / "slow.h264", width=96, height=64, frames=n, qp=32, bframes=3,
                    gop=40, container_format="h264")
    with open_video(src) as v:
        types = "".join(f.pict_type for f in v)
    b_run = max(len(run) for run in types.replace("I", " ").replace("P", " ").split())
    with av.open(src) as c:
        packets = [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]
    assert len(packets) == n and b_run >= 2
    plain = plain_arrivals(packets)
    proc = subprocess.Popen(FILTER + ["--input-format", "h264"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    written = [0]
    threading.Thread(target=feed_slowly, args=(packets, proc.stdin, written), daemon=True).start()
    frame = 96 * 64 * 3 // 2 + 6
    out = os.fdopen(proc.stdout.fileno(), "rb", closefd=False)  # buffered: read(n) is exact
    out.readline()
    arrivals = []
    for _ in range(n):
        assert len(out.read(frame)) == frame
        arrivals.append(written[0])
    proc.wait(timeout=60)
    # skip the start, while the filter process is still importing and catching up
    extra = [a - b for a, b in zip(arrivals[40:n - 4], plain[40:n - 4])]
    print("extra delay in frames", extra, "longest B run", b_run)
    assert max(extra) <= b_run + 1, (extra, b_run)


def test_frames_leave_once_their_anchor_is_decoded(tmp_path):
    """In-process and timing-free: when frame i is written, the decoder has handed out at most
    (longest B run) frames after it."""
    import io

    import torch

    from redecode.pipeline.engine import Engine, Passthrough
    from redecode.pipeline.filter import run_filter

    src = make_clip(tmp_path / "c.ts", width=64, height=48, frames=40, qp=32, bframes=3,
                    container_format="mpegts")
    with open_video(src) as v:
        types = "".join(f.pict_type for f in v)
    b_run = max(len(run) for run in types.replace("I", " ").replace("P", " ").split())
    out = io.BytesIO()
    stats = run_filter(src, out, Engine(Passthrough(), torch.device("cpu")))
    extra = [e - (i + 1) for i, e in enumerate(stats.emitted)]
    assert stats.frames == 40 and min(extra) >= 0
    assert max(extra) == b_run  # a B-frame waits exactly for the anchor after its run


def test_summary_line_and_damaged_output_kept(tmp_path, capsys):
    """In-process: a run that ends well says what it did in one line on stderr; a cut input
    still gets every frame decoded before the damage, in a finished output file."""
    from redecode.cli import main

    src = make_clip(tmp_path / "c.ts", width=64, height=48, frames=20, qp=32, gop=8,
                    container_format="mpegts")
    out = tmp_path / "out.y4m"
    assert main(["filter", "-i", src, "-o", str(out), "--model", "none"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("redecode: 20 frames in ") and "model none" in err[0]
    data = Path(src).read_bytes()
    late = tmp_path / "late.ts"
    late.write_bytes(data[len(data) // 3:])  # starts after its first key frame
    out2 = tmp_path / "late.y4m"
    assert main(["filter", "-i", str(late), "-o", str(out2), "--model", "none"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "damaged or cut short" in err[0] and "frames delivered" in err[0]
    delivered = int(err[0].split("short: ")[1].split()[0])
    frame = 64 * 48 * 3 // 2 + len(b"FRAME\n")
    body = out2.read_bytes()
    assert 0 < delivered < 20 and (len(body) - body.index(b"\n") - 1) == delivered * frame
