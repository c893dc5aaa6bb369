"""classic: the classified least-squares filter, its closed-form fit and the carried corrections."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from redecode.models import ClassicConfig, ClassicNet, Reference, RestorationNet, restore_step
from redecode.models.classic import shrink_dct
from redecode.pipeline.engine import Engine
from redecode.pipeline.metrics import psnr
from redecode.pipeline.scheduler import restore_frames
from redecode.training.classic import fit_classic
from redecode.training.validate import clip_frames


@pytest.mark.parametrize("macroblock_bands,shrink,carry_quiet,h", [
    (False, (), True, 20), (True, (), True, 20), (True, (4.0, 12.0), True, 20), (True, (8.0,), False, 20),
    # 200 luma rows: forward's strips of 128 rows, the last one partial, against the whole frame's
    # features; float64, so that no DCT coefficient sits on a threshold within rounding
    (True, (4.0, 12.0), True, 100), (False, (8.0,), False, 100)])
def test_forward_is_the_features_times_the_coefficients(macroblock_bands: bool, shrink: tuple[float, ...],
                                                        carry_quiet: bool, h: int) -> None:
    torch.manual_seed(0)
    dtype = torch.float32 if h == 20 else torch.float64
    m = ClassicNet(ClassicConfig(macroblock_bands=macroblock_bands, shrink=shrink, carry_quiet=carry_quiet)).to(dtype)
    m.luma.normal_(0, 0.05)
    m.chroma.normal_(0, 0.05)
    b, w = 2, 28
    gh, gw = -(-h // 8), -(-w // 8)
    dec = torch.rand(b, 6, h, w, dtype=dtype)
    qp = torch.full((b, 1, gh, gw), 37.0, dtype=dtype)
    qp[1] = 26.0
    qp[1, 0, 1:, 2:] = 33.0  # a second band inside frame 1, seen only with macroblock bands
    qp[0, 0, gh // 2:] = 44.0  # and in frame 0 from the middle down (the tall frames: from a later strip)
    ftype = torch.tensor([1, 2])
    ref_decoded = torch.rand(b, 6, h, w, dtype=dtype)
    ref_decoded[..., : w // 2] = dec[..., : w // 2] + 0.001 * torch.randn(b, 6, h, w // 2, dtype=dtype)  # quiet on the left
    ref = Reference(torch.rand(b, 6, h, w, dtype=dtype), ref_decoded,
                    (torch.rand(b, 1, -(-h // 4), -(-w // 4)) > 0.3).to(dtype))
    with torch.no_grad():
        out = m(dec, qp, ftype, ref, None)
        f = m.features(dec, qp, ftype, ref, None)
        lw = m.luma[0][ftype].reshape(b, -1, m.luma.shape[-1])  # family 0: the default
        coef = torch.stack([lw[i][f["luma_key"][i]] for i in range(b)])
        luma = (f["luma_x"] * coef).sum(-1)
        cw = m.chroma[0][ftype]
        chroma = torch.stack([(f["chroma_x"][i] * cw[i][f["chroma_key"][i]].permute(2, 0, 1, 3)).sum(-1)
                              for i in range(b)])
        luma = torch.where(f["luma_quiet"], f["luma_whole"], luma)
        chroma = torch.where(f["chroma_quiet"], f["chroma_whole"], chroma)
    want = dec + torch.cat([F.pixel_unshuffle(luma[:, None], 2), chroma], 1)
    torch.testing.assert_close(out, want, rtol=0, atol=1e-5 if dtype == torch.float32 else 1e-12)
    # quiet pixels (left half, where the block has a vector) take the references' correction whole
    quiet = f["luma_quiet"]
    if not carry_quiet:
        assert not bool(quiet.any()) and not bool(f["chroma_quiet"].any())
        return
    has_vector = F.interpolate(ref.mask, scale_factor=8)[:, 0, :2 * h, :2 * w] > 0
    assert bool(quiet[..., :w].any()) and not bool(quiet[..., w + 1:].any()) and not bool((quiet & ~has_vector).any())
    carried = F.pixel_shuffle((ref.restored - ref.decoded)[:, :4], 2)[:, 0]
    torch.testing.assert_close(f["luma_whole"][quiet], carried[quiet])
    assert bool(f["chroma_quiet"][..., : w // 2 - 1].any()) and not bool(f["chroma_quiet"][..., w // 2 + 1:].any())
    # without references nothing is quiet
    assert not bool(m.features(dec, qp, torch.tensor([0, 0]))["luma_quiet"].any())


def test_restore_step_gives_classic_whole_frames() -> None:
    """Tiles would each see their own mean QP (the shrinkage thresholds'): classic bounds its
    memory in strips instead, and the step's tiling leaves it whole."""
    torch.manual_seed(1)
    m = ClassicNet(ClassicConfig(shrink=(4.0, 12.0))).double()
    m.luma.normal_(0, 0.05)
    m.chroma.normal_(0, 0.05)
    h, w = 72, 96
    dec = torch.rand(1, 6, h, w, dtype=torch.float64)
    qp = (37.0 + torch.randint(-6, 7, (1, 1, h // 8, w // 8))).double()
    with torch.no_grad():
        whole = restore_step(m, dec, qp, torch.tensor([0]), tile=0)
        tiled = restore_step(m, dec, qp, torch.tensor([0]), tile=32, tile_margin=16)
        # what the tiles gave before: each tile's own thresholds
        m.whole_frames = False
        per_tile = restore_step(m, dec, qp, torch.tensor([0]), tile=32, tile_margin=16)
    assert torch.equal(tiled, whole)
    assert (per_tile - whole).abs().max() > 1e-4


def test_dct_shrinkage_keeps_what_it_should() -> None:
    torch.manual_seed(1)
    x = torch.rand(2, 1, 37, 53)  # sizes off the 4-pixel grid
    torch.testing.assert_close(shrink_dct(x, torch.zeros(2, 1)), x, rtol=0, atol=1e-5)  # nothing zeroed: exact
    flat = torch.full((1, 1, 24, 24), 0.3)
    torch.testing.assert_close(shrink_dct(flat, torch.tensor([[0.05]])), flat)  # only a DC: kept
    smooth = torch.linspace(0, 1, 48).view(1, 1, 1, 48).expand(2, 1, 40, 48).contiguous()
    noisy = smooth + 0.01 * torch.randn_like(smooth)
    out = shrink_dct(noisy, torch.tensor([[0.0, 0.04], [0.04, 1e9]]))  # per frame, 2 thresholds each
    assert out.shape == (2, 2, 40, 48)
    error = (out - smooth).square().mean(dim=(2, 3))
    noise = (noisy - smooth).square().mean(dim=(2, 3))[:, 0]  # (2,)
    assert float(error[0, 0]) == pytest.approx(float(noise[0]), rel=1e-3)  # threshold 0 keeps the noise
    assert float(error[0, 1]) < 0.3 * float(noise[0]) and float(error[1, 0]) < 0.3 * float(noise[1])  # 4 sigmas
    # frame 1's second threshold keeps only the 8x8 means: the ramp's detail goes too
    assert float(error[1, 1]) > float(error[1, 0])


@pytest.fixture(scope="module")
def clip(training_clip):
    return training_clip("classic.mp4", 128, 96, 16, seed=5, speed=1.5, options={"qp": "38", "bf": "2", "g": "8"})


def test_fit_lowers_the_error_on_its_own_clip(clip) -> None:
    model = fit_classic([clip])
    assert float(model.luma.abs().sum()) > 0  # some coefficient sets had enough pixels
    engine = Engine(model, "cpu")
    gains = {"I": [], "P": [], "B": []}
    for r in restore_frames(clip_frames(clip), engine):
        t = r.frame.index
        gains[r.frame.pict_type].append(psnr(r.planes[0], clip.src_y[t]) - psnr(clip.dec_y[t], clip.src_y[t]))
    everything = [g for v in gains.values() for g in v]
    assert np.mean(everything) > 0.05  # in-sample least squares must help
    assert np.mean(gains["I"]) > 0
    assert model.meta["fit"]["clips"] == 1


def test_classic_computes_in_fp32_whatever_the_precision(clip) -> None:
    """bf16 cost classic 0.02-0.04 dB on real video (and gains it no speed): it runs in fp32."""
    model = fit_classic([clip])
    fp32, bf16 = Engine(model, "cpu", precision="fp32"), Engine(model, "cpu", precision="bf16")
    assert bf16.precision == "fp32"
    assert Engine(RestorationNet(), "cpu", precision="bf16").precision == "bf16"  # networks do not
    for a, b in zip(restore_frames(clip_frames(clip), fp32), restore_frames(clip_frames(clip), bf16)):
        assert all(np.array_equal(pa, pb) for pa, pb in zip(a.planes, b.planes))


def test_fit_shrinkage_weights_are_used(clip) -> None:
    """The fit weighs its DCT-shrinkage steps (a feature that stayed zero would solve to weight 0)."""
    model = fit_classic([clip])
    assert model.config.shrink and float(model.luma[..., -len(model.config.shrink):].abs().sum()) > 0


def test_train_from_classic_refits_and_gates(clip, tmp_path) -> None:
    """`redecode train --from classic --data DIR -o OUT.pt`: fit on DIR/train, gate on the ladder."""
    from redecode.cli import main
    from redecode.models import load
    from redecode.training.clips import save_clip

    for folder, name in (("train", "a.npz"), ("val_ladder", "b_qp38.npz")):
        (tmp_path / "data" / folder).mkdir(parents=True)
        save_clip(tmp_path / "data" / folder / name, clip, {"source_kind": "video", "source": name[0]})
    out = tmp_path / "mine.pt"
    assert main(["train", "--from", "classic", "--data", str(tmp_path / "data"), "-o", str(out)]) == 0
    model = load(out)
    assert model.arch == "classic" and model.gate is not None and model.meta["fit"]["clips"] == 1
