"""Restoration networks: packing, shapes, conditioning, gradients, checkpoints."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import redecode.models as rm
from redecode.models import (
    MODELS, SIZES, ModelError, Reference, RestorationConfig, RestorationNet, build, load,
    motion_to_tensor, planes_to_tensor, qp_to_tensor, save, tensor_to_planes,
)

TINY = RestorationConfig(widths=(8, 12, 16), enc_blocks=(1, 1, 1), dec_blocks=(1, 1), ref_blocks=1, ref_mix=1,
                        cond_width=8)


def _planes(rng: np.random.Generator, h: int, w: int, bit_depth: int = 8) -> tuple[np.ndarray, ...]:
    dtype = np.uint8 if bit_depth <= 8 else np.uint16
    top = 1 << bit_depth
    ch, cw = (h + 1) // 2, (w + 1) // 2
    return (rng.integers(0, top, (h, w)).astype(dtype), rng.integers(0, top, (ch, cw)).astype(dtype),
            rng.integers(0, top, (ch, cw)).astype(dtype))


def _inputs(b: int, height: int, width: int, lists: int, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    h, w = math.ceil(height / 2), math.ceil(width / 2)
    gh, gw = math.ceil(height / 8), math.ceil(width / 8)
    refs = [Reference(torch.rand(b, 6, h, w, generator=g), torch.rand(b, 6, h, w, generator=g),
                      (torch.rand(b, 1, gh, gw, generator=g) > 0.3).float()) for _ in range(lists)]
    return {
        "decoded": torch.rand(b, 6, h, w, generator=g),
        "qp": torch.full((b, 1, math.ceil(height / 16), math.ceil(width / 16)), 32.0),
        "frame_type": torch.full((b,), min(lists, 2), dtype=torch.long),
        "l0": refs[0] if lists > 0 else None,
        "l1": refs[1] if lists > 1 else None,
    }


def _randomise_tail(model: torch.nn.Module, seed: int = 0) -> None:
    """Give the zero-initialised last layer weights, as training would."""
    torch.manual_seed(seed)
    torch.nn.init.normal_(model.tail.weight, std=0.05)
    torch.nn.init.normal_(model.ref_tail.weight, std=0.05)


# ---- packing -------------------------------------------------------------------------------

@pytest.mark.parametrize("bit_depth", [8, 10])
@pytest.mark.parametrize("size", [(37, 65), (64, 48), (1, 1)])
def test_planes_round_trip_exactly(bit_depth: int, size: tuple[int, int]) -> None:
    y, u, v = _planes(np.random.default_rng(0), *size, bit_depth)
    t = planes_to_tensor(y, u, v, bit_depth)
    h, w = size
    assert t.shape == (6, math.ceil(h / 2), math.ceil(w / 2)) and t.dtype == torch.float32
    assert 0.0 <= float(t.min()) and float(t.max()) <= 1.0
    y2, u2, v2 = tensor_to_planes(t, h, w, bit_depth)
    for a, b in ((y, y2), (u, u2), (v, v2)):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_packing_layout() -> None:
    y = np.arange(16, dtype=np.uint8).reshape(4, 4)
    u = np.full((2, 2), 100, np.uint8)
    t = planes_to_tensor(y, u, u) * 255
    assert t[:4, 0, 0].round().tolist() == [0, 1, 4, 5]  # top-left 2x2 luma block
    assert t[4, 0, 0].round() == 100


def test_tensor_to_planes_clips_and_rounds() -> None:
    t = torch.full((6, 2, 2), 0.5)
    t[0, 0, 0] = 1.7
    t[5, 1, 1] = -0.3
    y, u, v = tensor_to_planes(t, 3, 4)
    assert y.shape == (3, 4) and u.shape == (2, 2)
    assert y[0, 0] == 255 and v[1, 1] == 0 and y[1, 1] == 128


def test_chroma_422_and_444() -> None:
    rng = np.random.default_rng(4)
    h, w = 10, 12
    y = rng.integers(0, 256, (h, w), dtype=np.uint8)
    u444 = rng.integers(0, 256, (h, w), dtype=np.uint8)
    u422 = u444[:, ::2].copy()
    t444 = planes_to_tensor(y, u444, u444)
    t422 = planes_to_tensor(y, u422, u422)
    expected = u444.astype(np.float32).reshape(5, 2, 6, 2).mean(axis=(1, 3)) / 255
    np.testing.assert_allclose(t444[4].numpy(), expected, atol=1e-6)
    assert t422.shape == (6, 5, 6)
    # no correction: the decoded chroma comes back unchanged at its own size
    for uu, tt in ((u444, t444), (u422, t422)):
        _, u2, _ = tensor_to_planes(tt, h, w, decoded_chroma=(uu, uu))
        np.testing.assert_array_equal(u2, uu)
    with pytest.raises(ValueError, match="chroma"):
        planes_to_tensor(y, u444[:7], u444[:7])


def test_qp_and_motion_helpers() -> None:
    qp = qp_to_tensor(np.full((3, 5), 30, np.int16), 37, 65)
    assert qp.shape == (1, 3, 5) and qp.dtype == torch.float32 and float(qp[0, 0, 0]) == 30
    assert float(qp_to_tensor(None, 37, 65)[0, 2, 4]) == rm.DEFAULT_QP
    with pytest.raises(ValueError):
        qp_to_tensor(np.zeros((2, 5), np.int16), 37, 65)
    vec = np.ones((2, 5, 9), np.float32)
    mask = np.zeros((5, 9), bool)
    mask[0, 0] = True
    v, m = motion_to_tensor(vec, mask)
    assert v.shape == (2, 5, 9) and m.shape == (1, 5, 9)
    assert float(v.sum()) == 2.0 and float(m.sum()) == 1.0


# ---- forward -------------------------------------------------------------------------------

@pytest.mark.parametrize("lists", [0, 1, 2])
def test_odd_size_shapes_and_identity_at_init(lists: int) -> None:
    model = RestorationNet(TINY).eval()
    x = _inputs(2, 37, 65, lists)
    with torch.inference_mode():
        out = model(**x)
    assert out.shape == (2, 6, 19, 33)
    torch.testing.assert_close(out, x["decoded"])  # zero last layer: exact identity


def test_named_sizes_run_odd_sizes() -> None:
    for name in SIZES:
        model = build(name).eval()
        assert model.name == name and model.meta == {}
        _randomise_tail(model)
        with torch.inference_mode():
            out = model(**_inputs(1, 37, 65, 2))
        assert out.shape == (1, 6, 19, 33) and torch.isfinite(out).all()


def test_qp_conditioning_changes_output() -> None:
    model = RestorationNet(TINY).eval()
    _randomise_tail(model)
    x = _inputs(1, 96, 160, 1)
    with torch.inference_mode():
        low = model(**{**x, "qp": torch.full_like(x["qp"], 22.0)})
        high = model(**{**x, "qp": torch.full_like(x["qp"], 42.0)})
        mixed_qp = x["qp"].clone()
        mixed_qp[..., 0, 0] = 51.0  # one macroblock
        mixed = model(**{**x, "qp": mixed_qp})
        base = model(**x)
    assert (low - high).abs().max() > 1e-4
    diff = (mixed - base).abs()[0].amax(0)
    assert diff[:8, :8].max() > 1e-5  # the changed macroblock moves
    assert diff[-8:, -8:].max() < 1e-6  # a far one does not: conditioning is spatial
    with torch.inference_mode():
        as_b = model(**{**x, "frame_type": torch.tensor([2])})
    assert (as_b - base).abs().max() > 1e-5  # frame type is an input too


def test_all_zero_mask_reference_works() -> None:
    model = RestorationNet(TINY).eval()
    _randomise_tail(model)
    x = _inputs(1, 32, 48, 2)
    x["l1"].mask.zero_()
    with torch.inference_mode():
        out = model(**x)
    assert torch.isfinite(out).all()


def test_gradients_reach_every_parameter() -> None:
    model = RestorationNet(TINY)
    _randomise_tail(model)
    inter = _inputs(2, 37, 65, 2, seed=1)
    intra = _inputs(2, 37, 65, 0, seed=2)
    loss = model(**inter).square().mean() + model(**intra).square().mean()
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing


@pytest.mark.parametrize("size", [(37, 65), (32, 48)])
def test_reference_inputs_equal_the_padded_concatenation_values_and_gradients(size) -> None:
    """The reference path's input is the concatenation of its padded inputs, exactly, with the
    same gradients under autograd; the inference path writes it into one buffer."""
    import torch.nn.functional as F

    from redecode.models.net import DIFF_GAIN, Reference, _reference_inputs
    from redecode.models.warp import dense_field

    h, w = -(-size[0] // 2), -(-size[1] // 2)
    g = torch.Generator().manual_seed(0)
    dec, r_res, r_dec = (torch.rand(2, 6, h, w, generator=g, requires_grad=True) for _ in range(3))
    mask = (torch.rand(2, 1, -(-h // 4), -(-w // 4), generator=g) > 0.3).float()
    pad = (0, -(-w // 8) * 8 - w, 0, -(-h // 8) * 8 - h)

    def padded(x):
        return F.pad(x, pad, mode="replicate") if pad[1] or pad[3] else x

    current = padded(dec)
    want = torch.cat([current, (current - padded(r_dec)) * DIFF_GAIN, (padded(r_res) - padded(r_dec)) * DIFF_GAIN,
                      padded(dense_field(mask, h, w, 4))], dim=1)
    got = _reference_inputs(current, dec, Reference(r_res, r_dec, mask), pad)
    assert torch.equal(got, want)
    weights = torch.rand(want.shape, generator=g)
    grads_want = torch.autograd.grad((want * weights).sum(), (dec, r_res, r_dec), retain_graph=True)
    grads_got = torch.autograd.grad((got * weights).sum(), (dec, r_res, r_dec))
    for a, b in zip(grads_want, grads_got):
        torch.testing.assert_close(a, b)
    with torch.inference_mode():  # the inference path writes the differences in place
        fast = _reference_inputs(current.detach(), dec.detach(), Reference(r_res.detach(), r_dec.detach(), mask), pad)
    assert fast.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(fast, want.detach())


def test_grown_model_computes_the_same_then_trains_its_new_blocks() -> None:
    small = RestorationNet(RestorationConfig(widths=(8, 12), enc_blocks=(1, 1), dec_blocks=(1,), cond_width=8))
    _randomise_tail(small)
    big = small.grown(dataclasses.replace(small.config, ref_blocks=1, ref_mix=2))
    assert len(big.ref_blocks) == 1 and len(big.ref_mix) == 2
    x = _inputs(2, 32, 48, 2, seed=3)
    with torch.no_grad():
        assert torch.equal(big(**x), small(**x))
    big(**x).square().mean().backward()
    assert big.ref_mix[1].conv2.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="only more ref_blocks"):
        small.grown(dataclasses.replace(small.config, cond_width=9))  # not a reference-path field
    with pytest.raises(ValueError, match="only more ref_blocks"):
        big.grown(dataclasses.replace(big.config, ref_mix=1))  # fewer blocks


@pytest.mark.parametrize("dropped", [["enc.2.0"], ["dec.0.0"], ["enc.0.0", "dec.1.0"], ["ref_mix.0"]])
def test_model_without_blocks_is_the_model_with_their_residuals_zeroed(dropped: list[str]) -> None:
    config = RestorationConfig(widths=(8, 12, 16), enc_blocks=(1, 1, 2), dec_blocks=(1, 1), ref_mix=1, cond_width=8)
    model = RestorationNet(config)
    torch.manual_seed(5)
    for p in model.parameters():  # every weight non-zero, as after training
        torch.nn.init.normal_(p, std=0.1)
    smaller = model.without_blocks(dropped)
    for name in dropped:
        block = dict(model.named_modules())[name]
        torch.nn.init.zeros_(block.conv2.weight)
        torch.nn.init.zeros_(block.conv2.bias)
    c = smaller.config
    assert sum(c.enc_blocks + c.dec_blocks) + c.ref_mix == 7 - len(dropped)
    for lists in (0, 2):
        x = _inputs(2, 32, 48, lists, seed=4)
        with torch.no_grad():
            torch.testing.assert_close(smaller(**x), model(**x), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="no residual block 'enc.3.0'"):
        model.without_blocks(["enc.3.0"])
    with pytest.raises(ValueError, match="no residual block 'head'"):
        model.without_blocks(["head"])
    with pytest.raises(ValueError, match="no residual block 'ref_mix.1'"):
        model.without_blocks(["ref_mix.1"])


def test_bad_input_shapes_raise() -> None:
    model = RestorationNet(TINY)
    x = _inputs(1, 32, 32, 1)
    with pytest.raises(ValueError, match="qp"):
        model(**{**x, "qp": torch.zeros(1, 1, 3, 3)})
    bad = Reference(x["l0"].restored, x["l0"].decoded, x["l0"].mask[..., :2])
    with pytest.raises(ValueError, match="l0.mask"):
        model(**{**x, "l0": bad})


# ---- table and checkpoints -----------------------------------------------------------------

def test_model_table_and_sizes() -> None:
    assert set(SIZES) == {"small", "base"}
    assert MODELS == {"restoration": RestorationNet, "classic": rm.ClassicNet}
    with pytest.raises(ModelError, match="unknown"):
        build("huge")


@pytest.mark.parametrize("arch", list(MODELS))
def test_save_load_round_trip(tmp_path: Path, arch: str) -> None:
    config = TINY if arch == "restoration" else rm.ClassicConfig()
    model = MODELS[arch](config)
    if arch == "restoration":
        _randomise_tail(model)
    else:
        torch.manual_seed(0)
        for buf in model.buffers():
            buf.normal_(0, 0.02)
    path = tmp_path / "m.pt"
    save(model, path, meta={"recipe": "test", "score": 0.5})
    loaded = load(path)
    assert not loaded.training and loaded.meta == {"recipe": "test", "score": 0.5}
    assert loaded.name == arch and loaded.config == config
    x = _inputs(1, 37, 65, 2)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(**x), model.eval()(**x), rtol=0, atol=0)
    # a named size keeps its name through a checkpoint
    save(build("small"), tmp_path / "s.pt")
    assert load(str(tmp_path / "s.pt")).name == "small"
    ckpt = torch.load(path, weights_only=True)
    assert set(ckpt) == {"arch", "config", "state_dict", "meta"} and isinstance(ckpt["config"], dict)


def test_shipped_name_without_weights_is_clear(monkeypatch) -> None:
    from redecode.models import zoo

    monkeypatch.setattr(zoo, "_shipped", lambda name: None)  # an installation without weights
    with pytest.raises(ModelError, match="no trained weights ship for model 'small'"):
        load("small")
    with pytest.raises(ModelError, match="no trained weights ship in this installation"):
        zoo.auto_model(cuda=False)


def test_auto_picks_the_best_model_that_ships(monkeypatch) -> None:
    from redecode.models import zoo

    for shipped, cpu, cuda in (({"classic"}, "classic", "classic"), ({"classic", "small"}, "small", "small"),
                               ({"classic", "small", "base"}, "small", "base")):
        monkeypatch.setattr(zoo, "_shipped", lambda name, s=shipped: Path(name) if name in s else None)
        assert (zoo.auto_model(cuda=False), zoo.auto_model(cuda=True)) == (cpu, cuda)


def test_shipped_name_loads_packaged_weights(tmp_path: Path, monkeypatch) -> None:
    from redecode.models import zoo

    model = build("small")
    _randomise_tail(model)
    save(model, tmp_path / "small.pt", meta={"recipe": "r"})
    monkeypatch.setattr(zoo, "_shipped", lambda name: tmp_path / f"{name}.pt" if name == "small" else None)
    loaded = load("small")
    assert loaded.name == "small" and loaded.meta == {"recipe": "r"} and not loaded.training
    with pytest.raises(ModelError, match="no trained weights ship for model 'base'"):
        load("base")


def test_unknown_name_or_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="unknown model"):
        load("medium")
    with pytest.raises(ModelError, match="unknown model"):
        load(tmp_path / "absent.pt")


def _checkpoint() -> dict:
    model = RestorationNet(TINY)
    return {"arch": "restoration", "config": TINY.to_dict(), "state_dict": model.state_dict(), "meta": {}}


@pytest.mark.parametrize("case", [
    "garbage", "not-a-dict", "wrong-arch", "missing-state", "missing-config", "bad-config",
    "unknown-config-key", "state-mismatch", "state-missing-key", "config-mismatch",
])
def test_malformed_checkpoints_raise_model_error(tmp_path: Path, case: str) -> None:
    path = tmp_path / "bad.pt"
    ckpt = _checkpoint()
    if case == "garbage":
        path.write_bytes(b"\x00not a checkpoint" * 10)
    else:
        if case == "not-a-dict":
            ckpt = [1, 2, 3]
        elif case == "wrong-arch":
            ckpt["arch"] = "transformer"
        elif case == "missing-state":
            del ckpt["state_dict"]
        elif case == "missing-config":
            del ckpt["config"]
        elif case == "bad-config":
            ckpt["config"]["widths"] = "wide"
        elif case == "unknown-config-key":
            ckpt["config"]["depth"] = 3
        elif case == "state-mismatch":
            ckpt["state_dict"]["head.weight"] = torch.zeros(3, 3)
        elif case == "state-missing-key":
            del ckpt["state_dict"]["tail.bias"]
        elif case == "config-mismatch":
            ckpt["config"]["widths"] = [8, 16, 16]
        torch.save(ckpt, path)
    with pytest.raises(ModelError):
        load(path)


def test_checkpoint_with_pickled_object_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    ckpt = _checkpoint()
    ckpt["meta"] = {"obj": Path("x")}  # not allowed by weights_only loading
    torch.save(ckpt, path)
    with pytest.raises(ModelError, match="cannot read"):
        load(path)


def test_models_do_not_import_decoders_or_pipeline() -> None:
    import ast

    root = Path(rm.__file__).parent
    for source in root.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert "decoders" not in name and "pipeline" not in name, f"{source.name} imports {name}"


WEIGHTS = sorted((Path(rm.__file__).parent / "weights").glob("*.pt"))


@pytest.mark.parametrize("path", WEIGHTS, ids=lambda p: p.stem)
def test_shipped_weights_carry_their_gate_data_and_figures(path: Path) -> None:
    from redecode.models.gate import Gate

    model = load(path.stem)
    meta = model.meta
    assert model.gate is not None and Gate.from_meta(meta["gate"]) == model.gate
    assert meta["shipped_as"] == path.stem and meta["data"]["train"]["clips"] > 0
    gain = meta["validation"]["video/37"]["psnr"]["all"]  # held-out real video, QP 37 (bench_quality)
    assert gain > 0.0 and meta["validation_note"]
    assert "optimizer" not in torch.load(path, map_location="cpu", weights_only=True)


@pytest.mark.parametrize("f", [1, 2, 4])
def test_film_channels_last_path_matches_the_plain_one(f: int) -> None:
    from redecode.models.net import _film

    g = torch.Generator().manual_seed(f)
    b, c, gh, gw = 2, 5, 3, 4
    x = torch.randn(b, c, gh * f, gw * f, generator=g)
    ss = torch.randn(b, 2 * c, gh, gw, generator=g)
    gain, shift = (1 + ss[:, :c]).repeat_interleave(f, 2).repeat_interleave(f, 3), \
        ss[:, c:].repeat_interleave(f, 2).repeat_interleave(f, 3)  # per pixel
    want = x * gain + shift
    for layout in (torch.contiguous_format, torch.channels_last):
        xl = x.contiguous(memory_format=layout).requires_grad_(True)
        sl = ss.clone().requires_grad_(True)
        got = _film(xl, sl)
        torch.testing.assert_close(got, want)
        weights = torch.rand(want.shape, generator=g)
        gx, gs = torch.autograd.grad((got * weights).sum(), (xl, sl))
        torch.testing.assert_close(gx, weights * gain)

        def per_block(t):  # (b, c, gh * f, gw * f) summed over each block
            return t.unflatten(3, (gw, f)).unflatten(2, (gh, f)).sum((3, 5))

        torch.testing.assert_close(gs, torch.cat([per_block(weights * x), per_block(weights)], 1))
