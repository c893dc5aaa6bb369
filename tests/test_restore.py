"""`redecode restore` and the streaming core: frames, timestamps, streams, colour, atomicity."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from redecode.cli import main
from redecode.decoders import open_video
from redecode.pipeline.engine import Engine, Passthrough, load_model
from redecode.pipeline.restore import partial_path, restore_file
from redecode.pipeline.samples import camera_frames, encode_frames, make_clip
from redecode.pipeline.scheduler import restore_frames
from redecode.pipeline.threads import BackgroundSink, Task, TaskPool


def frames_of(path, metadata=False):
    with open_video(path, metadata=metadata) as v:
        return v.info, list(v)


def seconds(frames):
    return [round(float(f.pts * f.time_base), 6) for f in frames]


@pytest.fixture(scope="session")
def av_clip(tmp_path_factory) -> Path:
    """Matroska with subtitles, variable-frame-rate H.264 (B-frames) and AAC audio."""
    root = tmp_path_factory.mktemp("av")
    srt_path = root / "subs.srt"
    srt_path.write_text("1\n00:00:00,100 --> 00:00:00,400\nhello\n\n"
                        "2\n00:00:00,500 --> 00:00:00,700\nworld\n\n")
    path = root / "av.mkv"
    with av.open(str(srt_path)) as srt, av.open(str(path), "w") as out:
        subs = out.add_stream_from_template(srt.streams[0])
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 128, 96, "yuv420p"
        video.options = {"bf": "2", "qp": "30"}
        video.codec_context.time_base = Fraction(1, 1000)
        audio = out.add_stream("aac", rate=48000)
        audio.layout = "mono"
        for p in srt.demux(srt.streams[0]):
            if p.size:
                p.stream = subs
                out.mux(p)
        t = 0
        for i, rgb in enumerate(camera_frames(128, 96, 20)):
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            vf.pts, vf.time_base = t, Fraction(1, 1000)
            t += 40 if i % 3 else 70  # variable frame rate
            out.mux(video.encode(vf))
        out.mux(video.encode(None))
        for k in range(30):
            tone = (0.3 * np.sin(np.arange(1024) * 0.05 + k)).astype(np.float32)[None]
            af = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            af.sample_rate, af.pts = 48000, k * 1024
            out.mux(audio.encode(af))
        out.mux(audio.encode(None))
    return path


def packets(path) -> dict[str, list[tuple[int | None, bytes]]]:
    out: dict[str, list] = {}
    with av.open(str(path)) as c:
        for p in c.demux():
            if p.size:
                out.setdefault(p.stream.type, []).append((p.pts, bytes(p)))
    return out


@pytest.fixture(scope="session")
def untrained(tmp_path_factory) -> Path:
    """A checkpoint of the small network, untrained (its zero last layer returns the input)."""
    from redecode import models

    path = tmp_path_factory.mktemp("ckpt") / "small_untrained.pt"
    models.save(models.build("small"), path)
    return path


# -- the streaming core ---------------------------------------------------------------------

class RecordingEngine(Engine):
    """Passes frames through and records every restore call and the references it got."""

    def __init__(self):
        super().__init__(Passthrough(), torch.device("cpu"))
        self.calls: list[tuple[list[int], int | None, int | None]] = []
        self.live: set[int] = set()
        self.most_live = 0

    def restore(self, items, l0, l1):
        assert len(l0) <= 3 and len(l1) <= 1
        for it in items:
            assert all(a.frame.index < it.frame.index for a in l0)
            assert all(a.frame.index > it.frame.index for a in l1)
        assert [a.frame.index for a in l0] == sorted((a.frame.index for a in l0), reverse=True)
        self.calls.append(([it.frame.index for it in items],
                           l0[0].frame.index if l0 else None,
                           l1[0].frame.index if l1 else None))
        super().restore(items, l0, l1)


def test_scheduler_order_references_and_batches(clips):
    _, frames = frames_of(clips.h264(), metadata=True)
    types = [f.pict_type for f in frames]
    engine = RecordingEngine()
    out = list(restore_frames(iter(frames), engine))
    assert [r.frame.index for r in out] == list(range(len(frames)))
    restored_at = {}
    for order, (idx, l0, l1) in enumerate(engine.calls):
        for i in idx:
            restored_at[i] = order
        for ref in (l0, l1):
            if ref is not None:  # references are restored before the frames that use them
                assert restored_at[ref] < order and types[ref] in "IP"
        kinds = {types[i] for i in idx}
        assert len(kinds) == 1
        if kinds == {"B"}:
            assert l0 is not None and l1 is not None and l0 < min(idx) and l1 > max(idx)
            assert len(idx) >= 1
        elif kinds == {"P"}:
            assert len(idx) == 1 and l0 is not None and l1 is None
        else:
            assert l0 is None and l1 is None
    assert sorted(restored_at) == list(range(len(frames)))
    assert any(len(idx) > 1 for idx, _, _ in engine.calls)  # B-frames batched


def test_scheduler_latency_is_the_reorder_depth(clips):
    """Each frame leaves once the next anchor after it has arrived, never later."""
    _, frames = frames_of(clips.h264(), metadata=True)
    engine = Engine(Passthrough(), torch.device("cpu"))
    arrived = []

    def feed():
        for f in frames:
            arrived.append(f.index)
            yield f

    for r in restore_frames(feed(), engine):
        i = r.frame.index
        nxt = next((j for j in range(i, len(frames)) if frames[j].pict_type != "B"), len(frames) - 1)
        assert arrived[-1] <= nxt, (i, arrived[-1], nxt)


class ConcurrentEngine(RecordingEngine):
    """A recording engine whose steps take a while and check, as they start, that every
    reference they were given is already restored (the parallel scheduler's promise)."""

    def __init__(self, fail_at=None):
        super().__init__()
        self.done: set[int] = set()
        self.fail_at = fail_at

    def restore(self, items, l0, l1):
        assert all(a.frame.index in self.done for a in l0 + l1)
        if any(it.frame.index == self.fail_at for it in items):
            raise RuntimeError(f"step failed at frame {self.fail_at}")
        time.sleep(0.002)
        super().restore(items, l0, l1)
        self.done.update(it.frame.index for it in items)


def test_parallel_scheduler_gives_every_frame_its_sequential_references(clips):
    _, frames = frames_of(clips.h264(), metadata=True)
    sequential = RecordingEngine()
    list(restore_frames(iter(frames), sequential, max_batch=1))
    parallel = ConcurrentEngine()
    out = list(restore_frames(iter(frames), parallel, workers=2))
    assert [r.frame.index for r in out] == list(range(len(frames)))  # display order, each once
    assert sorted(parallel.calls) == sorted(sequential.calls)  # same frames, same references
    assert parallel.calls != sequential.calls  # ... in another order: anchors ran ahead


def test_parallel_scheduler_raises_a_steps_error_and_stops_its_workers(clips):
    _, frames = frames_of(clips.h264(), metadata=True)
    before = threading.active_count()
    with pytest.raises(RuntimeError, match="step failed at frame 5"):
        list(restore_frames(iter(frames), ConcurrentEngine(fail_at=5), workers=2))
    assert threading.active_count() == before


def test_parallel_restore_matches_the_sequential_one(clips):
    """The shipped network: B-frames one by one on two workers, or batched on one."""
    _, frames = frames_of(clips.h264(), metadata=True)
    engine = Engine(load_model("small", torch.device("cpu")), torch.device("cpu"))
    threads = torch.get_num_threads()
    a = list(restore_frames(iter(frames), engine))
    b = list(restore_frames(iter(frames), engine, workers=2))
    assert torch.get_num_threads() == threads  # shared out among the workers for the run only
    for ra, rb in zip(a, b, strict=True):
        assert ra.frame.index == rb.frame.index
        for pa, pb in zip(ra.planes, rb.planes):  # float rounding of other batch sizes only
            diff = np.abs(pa.astype(int) - pb.astype(int))
            assert diff.max() <= 1 and diff.mean() < 1e-3


def test_task_pool_runs_dependencies_first_and_passes_failures_on():
    pool = TaskPool(2)
    try:
        log = []
        gate = threading.Event()
        a = pool.submit(Task(lambda: gate.wait(5) and log.append("a")))
        b = pool.submit(Task(lambda: log.append("b"), deps=[a]))
        c = pool.submit(Task(lambda: log.append("c") or 7, first=True))
        assert pool.wait(c) == 7
        assert log == ["c"]  # b waits for a, which waits for the gate
        gate.set()
        pool.wait(b)
        assert log == ["c", "a", "b"] and a.deps == [] and a.run is None  # no chain kept alive

        def boom():
            raise ValueError("bad step")
        d = pool.submit(Task(boom))
        e = pool.submit(Task(lambda: log.append("e"), deps=[d]))
        for t in (d, e):
            with pytest.raises(ValueError, match="bad step"):
                pool.wait(t)
        assert "e" not in log  # a task whose dependency failed does not run
    finally:
        pool.close()


class _SlowSink:
    """Records calls in order; each write takes a while; fails on the frame named ``fail_at``."""

    def __init__(self, fail_at=None):
        self.calls, self.fail_at, self.closed = [], fail_at, False

    def write(self, frame, planes):
        time.sleep(0.01)
        if frame == self.fail_at:
            raise OSError(f"disk full at {frame}")
        self.calls.append(("write", frame))

    def copy_packet(self, packet):
        self.calls.append(("packet", packet))

    def close(self):
        self.closed = True


def test_background_sink_keeps_the_order_and_raises_the_writers_errors():
    inner = _SlowSink()
    sink = BackgroundSink(inner, depth=2)
    for i in range(6):
        sink.copy_packet(f"p{i}")
        sink.write(i, ())
    assert not inner.closed
    sink.close()  # waits for every queued call, then closes the wrapped sink
    assert inner.closed
    assert inner.calls == [c for i in range(6) for c in (("packet", f"p{i}"), ("write", i))]

    inner = _SlowSink(fail_at=2)
    sink = BackgroundSink(inner, depth=1)
    with pytest.raises(OSError, match="disk full at 2"):
        for i in range(50):  # the error surfaces at a later call, not lost
            sink.write(i, ())
    with pytest.raises(OSError, match="disk full at 2"):
        sink.close()
    assert inner.calls == [("write", 0), ("write", 1)] and not inner.closed

    inner = _SlowSink()
    sink = BackgroundSink(inner, depth=8)
    for i in range(8):
        sink.write(i, ())
    sink.stop()  # drops what is queued, waits for the running call; nothing runs after it
    done = list(inner.calls)
    time.sleep(0.05)
    assert inner.calls == done and len(done) < 8 and not inner.closed


# -- files ----------------------------------------------------------------------------------

def test_model_none_equals_decode_lossless(clips, tmp_path):
    dst = tmp_path / "out.mkv"
    assert main(["restore", str(clips.h264()), "-o", str(dst), "--model", "none",
                 "--lossless", "--no-progress"]) == 0
    _, a = frames_of(clips.h264())
    _, b = frames_of(dst)
    assert len(a) == len(b) == 24
    assert seconds(a) == seconds(b)
    for x, y in zip(a, b):
        for p, q in zip(x.planes, y.planes):
            np.testing.assert_array_equal(p, q)


def test_streams_timestamps_and_vfr_survive(av_clip, tmp_path):
    dst = tmp_path / "restored.mkv"
    assert main(["restore", str(av_clip), "-o", str(dst), "--model", "none", "--no-progress"]) == 0
    _, a = frames_of(av_clip)
    _, b = frames_of(dst)
    assert len(a) == len(b) == 20
    assert seconds(a) == seconds(b)
    assert len(set(np.diff(seconds(b)).round(3))) > 1  # still variable frame rate
    src, out = packets(av_clip), packets(dst)
    assert src["audio"] == out["audio"]
    assert src["subtitle"] == out["subtitle"]
    with av.open(str(av_clip)) as c1, av.open(str(dst)) as c2:
        assert [s.type for s in c1.streams] == [s.type for s in c2.streams]


def test_untrained_model_runs_every_path(clips, untrained, tmp_path):
    """A real network (zero last layer) through I, P and B paths: output equals the decode."""
    dst = tmp_path / "model.mkv"
    r = restore_file(clips.h264(), dst, model=str(untrained), device="cpu", progress=False,
                     encode=__import__("redecode.pipeline.writer", fromlist=["x"]).EncodeOptions(
                         lossless=True))
    assert r.frames == 24
    _, a = frames_of(clips.h264())
    _, b = frames_of(dst)
    for x, y in zip(a, b):
        assert np.abs(x.planes[0].astype(int) - y.planes[0]).max() <= 1


def test_colour_tags_and_ten_bit_kept(tmp_path):
    src = tmp_path / "tagged.mkv"
    encode_frames(src, camera_frames(64, 48, 6), pix_fmt="yuv420p10le",
                  options={"qp": "30", "x264-params":
                           "colorprim=bt709:transfer=bt709:colormatrix=bt709"})
    info_in, a = frames_of(src)
    assert info_in.bit_depth == 10
    dst = tmp_path / "out.mkv"
    assert main(["restore", str(src), "-o", str(dst), "--model", "none", "--no-progress"]) == 0
    info_out, b = frames_of(dst)
    assert info_out.bit_depth == 10 and info_out.pix_fmt == "yuv420p10le"
    assert info_out.color == info_in.color
    assert info_in.color_matrix == "bt709" and info_in.color_primaries == "bt709"
    assert info_in.color_transfer == "bt709" and info_in.color_range == "tv"
    assert b[0].planes[0].dtype == np.uint16 and len(b) == 6


def test_refuses_to_overwrite_and_never_touches_inputs(clips, tmp_path, capsys):
    dst = tmp_path / "exists.mkv"
    dst.write_bytes(b"keep me")
    assert main(["restore", str(clips.h264()), "-o", str(dst), "--model", "none",
                 "--no-progress"]) == 1
    assert dst.read_bytes() == b"keep me"
    assert "exists" in capsys.readouterr().err
    src = tmp_path / "in.mp4"
    src.write_bytes(clips.h264().read_bytes())
    assert main(["restore", str(src), "-o", str(src), "--model", "none", "--overwrite",
                 "--no-progress"]) == 1
    assert src.read_bytes() == clips.h264().read_bytes()


def test_batch_folder_with_a_broken_file(clips, tmp_path, capsys):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "a.mp4").write_bytes(clips.h264().read_bytes())
    (src / "sub" / "b.mkv").write_bytes(clips.tenbit().read_bytes())
    (src / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + os.urandom(3000))
    out = tmp_path / "out"
    code = main(["restore", str(src), "-o", str(out), "--model", "none", "--json",
                 "--no-progress"])
    assert code == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["done"] == 2 and summary["failed"] == 1 and summary["frames"] == 30
    status = {Path(f["source"]).name: f["status"] for f in summary["files"]}
    assert status == {"a.mp4": "done", "b.mkv": "done", "broken.mp4": "failed"}
    assert (out / "a.mp4").exists() and (out / "sub" / "b.mkv").exists()
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["a.mp4", "b.mkv"]
    # resume: nothing is redone, the broken file still fails
    code = main(["restore", str(src), "-o", str(out), "--model", "none", "--skip-existing",
                 "--json", "--no-progress"])
    again = json.loads(capsys.readouterr().out)
    assert code == 1 and again["skipped"] == 2 and again["failed"] == 1


def test_skip_existing_resumes_after_a_killed_run(clips, tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("one.mp4", "two.mp4"):
        (src / name).write_bytes(clips.h264().read_bytes())
    out = tmp_path / "out"
    out.mkdir()
    (out / "one.mp4").write_bytes(b"finished earlier")
    stale = partial_path(out / "two.mp4")
    stale.write_bytes(b"half a file from a killed run")
    assert main(["restore", str(src), "-o", str(out), "--model", "none", "--skip-existing",
                 "--json", "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["skipped"] == 1 and summary["done"] == 1
    assert (out / "one.mp4").read_bytes() == b"finished earlier"
    assert not stale.exists() and len(frames_of(out / "two.mp4")[1]) == 24


def _default_sigint() -> None:
    """In the child: Ctrl-C's default disposition, whatever this process inherited (a shell's
    background job starts with SIGINT ignored, and Python then installs no handler for it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_leaves_no_partial_output(tmp_path, untrained, sig):
    src = make_clip(tmp_path / "long.mp4", width=320, height=192, frames=400, qp=35)
    dst = tmp_path / "out.mkv"
    proc = subprocess.Popen([sys.executable, "-m", "redecode", "restore", src, "-o", str(dst),
                             "--model", str(untrained), "--device", "cpu", "--no-progress"],
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    partial = partial_path(dst)
    deadline = time.time() + 60
    while not (partial.exists() and partial.stat().st_size > 0) and time.time() < deadline:
        time.sleep(0.05)
    assert partial.exists(), "the restore never started writing"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert not dst.exists() and not partial.exists()


def test_large_frames_are_restored_in_tiles_that_match_the_whole(clips):
    """Tiling bounds memory; with a margin wider than the network's reach it changes nothing."""
    from redecode import models

    torch.manual_seed(0)
    net = models.build("small")
    torch.nn.init.normal_(net.tail.weight, std=0.02)  # a network that really changes pixels
    _, frames = frames_of(clips.h264(), metadata=True)
    frames = frames[:8]  # I, B, B, P, ...: every path
    whole = Engine(net, torch.device("cpu"), tile=0)
    tiled = Engine(net, torch.device("cpu"), tile=24, tile_margin=40)  # 160x96 luma: 4x2 tiles
    a = list(restore_frames(iter(frames), whole))
    b = list(restore_frames(iter(frames), tiled))
    changed = 0
    for x, y in zip(a, b):
        for p, q in zip(x.planes, y.planes):
            assert np.abs(p.astype(int) - q.astype(int)).max() <= 1
        changed += int((x.planes[0] != x.frame.planes[0]).any())
    assert changed == len(frames)


def test_demo_with_the_shipped_model_improves_its_held_out_clip(tmp_path: Path) -> None:
    from redecode.pipeline.demo import run_demo

    r = run_demo(tmp_path, frames=24, size=(320, 192), device="cpu")
    assert r.model == "small"  # auto: the best model that ships
    assert r.delta > 0.02 and all(d > 0 for d in r.by_type.values()), (r.delta, r.by_type)
    assert Path(r.picture).stat().st_size > 0


def test_precision_auto_is_fp32_on_the_cpu_and_emulated_bf16_is_flagged(monkeypatch, caplog) -> None:
    """``auto``: fp32 on the CPU (bf16 costs ``small`` up to 0.04 dB), fp16 on CUDA; asking for
    bf16 on a CPU without bf16 hardware says, in one line, that it will be slow."""
    from redecode.pipeline import restore
    from redecode.pipeline.engine import pick_precision

    assert pick_precision("auto", "cpu") == "fp32" and pick_precision("auto", "cuda") == "fp16"
    assert pick_precision("bf16", "cpu") == "bf16"
    with pytest.raises(ValueError, match="fp16 needs CUDA"):
        pick_precision("fp16", "cpu")
    assert restore.make_engine("small", "cpu").precision == "fp32"
    for hardware, warned in ((True, False), (False, True)):
        monkeypatch.setattr(restore, "cpu_has_bf16", lambda: hardware)
        caplog.clear()
        assert restore.make_engine("small", "cpu", "bf16").precision == "bf16"
        assert any("emulated" in r.getMessage() for r in caplog.records) == warned
