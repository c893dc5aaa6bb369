"""Training: clip files, recipes, the unrolled loop, resuming; clips from an encoded video."""

from __future__ import annotations

import csv
import dataclasses
import math
import shutil
import types
from pathlib import Path

import numpy as np
import pytest
import torch

import redecode.training.loop as loop
from redecode.cli import main as cli_main
from redecode.models import RestorationNet, load
from redecode.pipeline.gop import reference_plan
from redecode.pipeline.metrics import psnr
from redecode.training import TrainError, load_config
from redecode.training.clips import Clip, ClipError, clip_from_frames, clip_shape, load_clip, save_clip
from redecode.training.sampler import ClipTensors, make_run
from redecode.training.unroll import unroll

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "configs" / "train_smoke.toml"


def train_main(args: list[str]) -> int:
    return cli_main(["train", *args])


def synthetic_clip(h: int = 64, w: int = 64, length: int = 10, seed: int = 0) -> Clip:
    """A texture panning 2 px right and 1 px down per frame, decoded = blocky, brighter copy.

    Types follow an x264-like IBBP pattern in display order; vectors are the true motion.
    """
    rng = np.random.default_rng(seed)
    big = rng.integers(0, 256, (h // 4 + 2 * length, w // 4 + 2 * length)).astype(np.float32)
    big = np.kron(big, np.ones((4, 4), np.float32))  # smooth-ish texture, 4x4 cells
    letters = ("IBBP" + "BBP" * length)[:length]
    if letters[-1] == "B":
        letters = letters[:-1] + "P"
    plan = reference_plan(list(letters))
    def frame(t: int) -> np.ndarray:
        return big[t:t + h, 2 * t:2 * t + w]
    src = np.stack([frame(t) for t in range(length)]).round().astype(np.uint8)
    blocks = src.reshape(length, h // 8, 8, w // 8, 8).astype(np.float32).mean(axis=(2, 4), keepdims=True)
    blocky = (0.6 * src.reshape(length, h // 8, 8, w // 8, 8) + 0.4 * blocks).reshape(length, h, w)
    dec = np.clip(blocky + 12, 0, 255).round().astype(np.uint8)
    src_c = src[:, ::2, ::2].copy()
    dec_c = np.clip(src_c.astype(np.int16) + 6, 0, 255).astype(np.uint8)
    g8 = (length, math.ceil(h / 8), math.ceil(w / 8))
    l0, l1 = np.zeros((length, 2, *g8[1:]), np.float32), np.zeros((length, 2, *g8[1:]), np.float32)
    m0, m1 = np.zeros(g8, bool), np.zeros(g8, bool)
    for t, (r0, r1) in enumerate(plan):
        for vec, mask, r in ((l0, m0, r0), (l1, m1, r1)):
            if r is not None:
                vec[t, 0], vec[t, 1] = 2 * (t - r), (t - r)
                mask[t] = True
    return Clip(src_y=src, src_u=src_c, src_v=src_c.copy(), dec_y=dec, dec_u=dec_c, dec_v=dec_c.copy(),
                qp=np.full((length, math.ceil(h / 16), math.ceil(w / 16)), 34, np.int16),
                types=np.array(["IPB".index(c) for c in letters], np.uint8),
                l0=l0, l1=l1, l0_mask=m0, l1_mask=m1)


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clips") / "synthetic.npz"
    save_clip(path, synthetic_clip())
    return path


def _log(out: Path) -> list[dict[str, str]]:
    with (out / "log.csv").open(newline="") as f:
        return list(csv.DictReader(f))


# ---- clip files ----------------------------------------------------------------------------

def test_clip_file_round_trip(clip_file: Path) -> None:
    clip = load_clip(clip_file)
    ref = synthetic_clip()
    for name in ("src_y", "dec_u", "qp", "types", "l1", "l0_mask"):
        np.testing.assert_array_equal(getattr(clip, name), getattr(ref, name))
    assert clip_shape(clip_file) == (10, 64, 64)
    crop = clip.crop(16, 32, 32, 32)
    crop.validate()
    assert crop.qp.shape == (10, 2, 2) and crop.l0.shape == (10, 2, 4, 4) and crop.src_u.shape == (10, 16, 16)
    with pytest.raises(ValueError):
        clip.crop(8, 0, 32, 32)


def test_malformed_clip_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    with pytest.raises(ClipError):
        load_clip(bad)
    arrays = {k: getattr(synthetic_clip(), k) for k in ("src_y", "src_u", "src_v", "dec_y", "dec_u", "dec_v",
                                                      "qp", "types", "l0", "l1", "l0_mask")}
    np.savez(tmp_path / "missing.npz", **arrays)
    with pytest.raises(ClipError, match="l1_mask"):
        load_clip(tmp_path / "missing.npz")
    arrays["l1_mask"] = np.zeros((10, 3, 3), bool)
    np.savez(tmp_path / "shape.npz", **arrays)
    with pytest.raises(ClipError, match="l1_mask"):
        load_clip(tmp_path / "shape.npz")


# ---- recipes -------------------------------------------------------------------------------

def test_shipped_recipes_parse() -> None:
    for path in sorted((ROOT / "configs").glob("train_*.toml")):
        cfg = load_config(path)
        cfg.model_config()
    smoke = load_config(SMOKE)
    assert smoke.model_config().widths == (8, 16)


def test_recipe_errors(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text('model = "small"\nlearning_rate = 0.1\n')
    with pytest.raises(TrainError, match="unknown config keys: learning_rate"):
        load_config(path)
    path.write_text('steps = "many"\n')
    with pytest.raises(TrainError, match="steps"):
        load_config(path)
    path.write_text('crop = 100\n')
    with pytest.raises(TrainError, match="multiple of 16"):
        load_config(path)
    assert train_main([str(path)]) == 1  # one-line error, no traceback


# ---- unrolling -----------------------------------------------------------------------------

def test_runs_follow_the_reference_plan(clip_file: Path) -> None:
    clip = load_clip(clip_file)
    plan = reference_plan(clip.type_letters)  # I B B P B B P B B P
    assert ClipTensors.from_clip(clip).plan == plan
    run = make_run(ClipTensors.from_clip(clip), 4, 3)  # B B P: needs anchors 3 and 6
    assert run.window == {4, 5, 6}
    # outside anchors first (3, and 0 as a farther list-0 candidate), anchors before B-frames
    assert run.order == [0, 3, 6, 4, 5]
    assert run.candidates(4) == [3, 0] and run.candidates(6) == [3, 0]


def test_distillation_target(clip_file: Path) -> None:
    """A teacher that is the model itself, with all of the target, leaves nothing to learn: it
    restores the same frames from its own restored references, as the model does. With none of
    the target, the loss is the plain one."""
    torch.manual_seed(0)
    cfg = load_config(SMOKE)
    model = RestorationNet(cfg.model_config())
    for p in model.parameters():
        torch.nn.init.normal_(p, 0, 0.05)  # not the identity, so references matter
    runs = [make_run(ClipTensors.from_clip(load_clip(clip_file)), 4, 3)]  # B B P after anchors 0 and 3
    device = torch.device("cpu")
    whole = dataclasses.replace(cfg, teacher="x", teacher_weight=1.0)
    none = dataclasses.replace(cfg, teacher="x", teacher_weight=0.0)
    other = RestorationNet(cfg.model_config())  # the identity
    with torch.no_grad():
        plain = float(unroll(model, runs, device, cfg))
        assert plain > 0
        assert float(unroll(model, runs, device, whole, teacher=model)) == 0.0
        assert float(unroll(model, runs, device, none, teacher=model)) == pytest.approx(plain, rel=1e-6)
        assert float(unroll(model, runs, device, whole, teacher=other)) > 0  # another teacher moves it
    with pytest.raises(TrainError, match="teacher_weight"):
        dataclasses.replace(cfg, teacher_weight=1.5)


def test_smoke_training_loss_falls_and_resumes(clip_file: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "run"
    args = [str(SMOKE), "--train", str(clip_file), "--val", str(clip_file), "--out-dir", str(out)]
    assert train_main(args + ["--set", "steps=30", "--set", "val_every=30"]) == 0
    rows = _log(out)
    assert [int(r["step"]) for r in rows] == list(range(1, 31))
    losses = [float(r["loss"]) for r in rows]
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    assert float(rows[-1]["val_dpsnr_y"]) > 0  # restored beats decoded on its own training clip
    model = load(out / "model.pt")
    assert model.meta["step"] == 30 and model.meta["recipe"]["model_widths"] == [8, 16]

    # Resume: a run that crashes during step 6 restarts from its step-4 checkpoint; steps 5..8
    # must then match an uninterrupted run.
    straight, split = tmp_path / "straight", tmp_path / "split"
    common = [str(SMOKE), "--train", str(clip_file), "--set", "save_every=4", "--set", "warmup=2",
              "--set", "steps=8"]
    assert train_main(common + ["--out-dir", str(straight)]) == 0
    _interrupt_at_step(6, common + ["--out-dir", str(split)], monkeypatch)
    assert torch.load(split / "last.pt", weights_only=True)["step"] == 4
    assert len(_log(split)) == 5
    assert train_main(common + ["--out-dir", str(split), "--resume"]) == 0
    a, b = _log(straight), _log(split)
    assert [int(r["step"]) for r in b] == list(range(1, 9))
    np.testing.assert_allclose([float(r["loss"]) for r in b], [float(r["loss"]) for r in a], rtol=1e-4)
    # a checkpoint of another model shape is refused
    assert train_main(common + ["--out-dir", str(split), "--resume", "--set", "model_widths=[8, 8]"]) == 1
    # fine-tuning may grow the reference path (starting from the same function), nothing else
    grown = tmp_path / "grown"
    init = ["--set", f"init='{straight / 'model.pt'}'", "--set", "steps=2"]
    assert train_main(common + init + ["--out-dir", str(grown), "--set", "model_ref_mix=1"]) == 0
    assert load(grown / "model.pt").config.ref_mix == 1
    assert train_main(common + init + ["--out-dir", str(grown), "--set", "model_cond_width=9"]) == 1
    # ... and may leave residual blocks out (the rest keep their weights)
    smaller = tmp_path / "smaller"
    assert train_main(common + init + ["--out-dir", str(smaller), "--set", "drop_blocks=['dec.0.0']"]) == 0
    assert load(smaller / "model.pt").config.dec_blocks[0] == load(straight / "model.pt").config.dec_blocks[0] - 1
    assert train_main(common + init + ["--out-dir", str(smaller), "--set", "drop_blocks=['dec.9.0']"]) == 1
    # a run resumes after its init file is gone (an ignored model.pt in a fresh clone) ...
    gone, cut = tmp_path / "gone.pt", tmp_path / "cut"
    shutil.copy(straight / "model.pt", gone)
    from_gone = common + ["--set", f"init='{gone}'", "--out-dir", str(cut)]
    _interrupt_at_step(6, from_gone, monkeypatch)
    gone.unlink()
    assert train_main(from_gone + ["--resume"]) == 0
    assert [int(r["step"]) for r in _log(cut)] == list(range(1, 9))
    # ... but a new run from it fails with one line
    assert train_main(from_gone[:-2] + ["--out-dir", str(tmp_path / "new")]) == 1


def _interrupt_at_step(n: int, args: list[str], monkeypatch) -> None:
    """Run ``redecode train ARGS`` with a Ctrl-C raised during step ``n``."""
    real_unroll, calls = loop.unroll, []

    def crashing_unroll(*a, **kw):
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt
        return real_unroll(*a, **kw)

    monkeypatch.setattr(loop, "unroll", crashing_unroll)
    assert train_main(args) == 130  # interrupted
    monkeypatch.setattr(loop, "unroll", real_unroll)


def test_weight_average_is_saved_and_resumed(clip_file: Path, tmp_path: Path, monkeypatch) -> None:
    common = [str(SMOKE), "--train", str(clip_file), "--set", "save_every=4", "--set", "warmup=2",
              "--set", "steps=8", "--set", "ema=0.5"]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert train_main(common + ["--out-dir", str(straight)]) == 0
    last = torch.load(straight / "last.pt", weights_only=True)
    final = load(straight / "model.pt").state_dict()
    assert "optimizer" in last and "trained" in last
    # saved: the average, which lags the optimized weights
    assert all(torch.equal(final[k], last["state_dict"][k]) for k in final)
    torch.manual_seed(load_config(SMOKE).seed)
    init = loop._initial_model(load_config(SMOKE)).state_dict()

    def distance(a: dict, b: dict) -> float:
        return sum(float((a[k] - b[k]).norm()) for k in final)

    # between the start and the optimized weights: it moved, and it lags them
    assert 0 < distance(final, last["trained"]) < distance(init, last["trained"])
    assert distance(final, init) > 0
    _interrupt_at_step(6, common + ["--out-dir", str(split)], monkeypatch)
    assert train_main(common + ["--out-dir", str(split), "--resume"]) == 0
    resumed = load(split / "model.pt").state_dict()
    for k in final:  # both the optimized weights and their average continue where they were cut
        torch.testing.assert_close(resumed[k], final[k], rtol=1e-4, atol=1e-6)
    without = tmp_path / "plain"
    assert train_main(common[:-2] + ["--out-dir", str(without)]) == 0
    assert "trained" not in torch.load(without / "last.pt", weights_only=True)
    with pytest.raises(TrainError, match="ema"):
        load_config(None, ["ema=1.0"])


def test_time_budget_continues_across_resume(clip_file: Path, tmp_path: Path, monkeypatch) -> None:
    """``max_minutes``: a resumed run continues the time it had used, so its learning rate and
    its end follow the uninterrupted run's instead of starting the budget again."""
    clock = [0.0]
    monkeypatch.setattr(loop, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
    real_unroll = loop.unroll

    def slow_unroll(*a, **kw):  # every step takes 6 s of the fake clock: 10 steps in a minute
        clock[0] += 6.0
        return real_unroll(*a, **kw)

    monkeypatch.setattr(loop, "unroll", slow_unroll)
    common = [str(SMOKE), "--train", str(clip_file), "--set", "save_every=4", "--set", "warmup=2",
              "--set", "steps=100", "--set", "max_minutes=1.0"]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert train_main(common + ["--out-dir", str(straight)]) == 0
    _interrupt_at_step(6, common + ["--out-dir", str(split)], monkeypatch)  # restores slow_unroll
    assert train_main(common + ["--out-dir", str(split), "--resume"]) == 0
    a, b = _log(straight), _log(split)
    assert [int(r["step"]) for r in a] == list(range(1, 11))
    assert [int(r["step"]) for r in b] == list(range(1, 11))
    assert [r["lr"] for r in b] == [r["lr"] for r in a]
    assert [r["seconds"] for r in b] == [r["seconds"] for r in a]


# ---- clips from an encoded video -----------------------------------------------------------

def test_clip_from_encoded_video(tmp_path: Path) -> None:
    decoders = pytest.importorskip("redecode.decoders")
    if not hasattr(decoders, "open_video"):
        pytest.skip("decoder not available")
    import av

    from redecode.pipeline.samples import camera_frames, encode_frames

    # the pristine planes are the encoder's own input: the same RGB -> yuv420p conversion
    rgb_frames = list(camera_frames(64, 64, 10, seed=1))
    pristine = []
    for rgb in rgb_frames:
        planes = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p").to_ndarray()
        pristine.append((planes[:64].copy(), planes[64:80].reshape(32, 32).copy(),
                         planes[80:].reshape(32, 32).copy()))
    video = encode_frames(tmp_path / "clip.mp4", rgb_frames, options={"qp": "37", "bf": "2", "g": "12"})
    with decoders.open_video(video, metadata=True) as reader:
        clip = clip_from_frames(pristine, reader)
    assert clip.length == 10 and set(clip.type_letters) == {"I", "P", "B"}
    assert clip.l1_mask[clip.types == 2].any() and not clip.l0_mask[clip.types == 0].any()
    assert 25 < psnr(clip.dec_y, clip.src_y) < 50  # decoded really is the encoded source
    save_clip(tmp_path / "clip.npz", clip)
    out = tmp_path / "run"
    assert train_main([str(SMOKE), "--train", str(tmp_path / "clip.npz"), "--out-dir", str(out),
                       "--set", "steps=2"]) == 0


def test_best_validation_is_kept(clip_file: Path, tmp_path: Path, monkeypatch) -> None:
    """``best.pt``: the model at its best validation so far, with that step and score; a resumed
    run knows the best it had, and a new run in the same folder starts its own."""
    scores = iter([0.1, 0.3, 0.2, 0.25, 0.05, 0.5])
    monkeypatch.setattr(loop, "validate", lambda *a, **kw: next(scores))
    out = tmp_path / "run"
    common = [str(SMOKE), "--train", str(clip_file), "--val", str(clip_file), "--out-dir", str(out),
              "--set", "val_every=2", "--set", "save_every=2", "--set", "warmup=2"]

    def best() -> tuple[int, float]:
        meta = load(out / "best.pt").meta
        return meta["step"], meta["val_dpsnr_y"]

    assert train_main(common + ["--set", "steps=8"]) == 0  # scores 0.1 0.3 0.2 0.25 at steps 2 4 6 8
    assert best() == (4, 0.3)
    assert train_main(common + ["--set", "steps=10", "--resume"]) == 0  # 0.05 at step 10: kept
    assert best() == (4, 0.3)
    assert train_main(common + ["--set", "steps=2"]) == 0  # a new run: 0.5 at step 2
    assert best() == (2, 0.5)
