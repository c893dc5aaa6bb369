"""classic: the classified least-squares filter, its closed-form fit and the carried corrections."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from redecode.models import ClassicConfig, ClassicNet, Reference
from redecode.pipeline.engine import Engine
from redecode.pipeline.metrics import psnr
from redecode.pipeline.scheduler import restore_frames
from redecode.training.classic import fit_classic
from redecode.training.validate import clip_frames


@pytest.mark.parametrize("macroblock_bands", [False, True])
def test_forward_is_the_features_times_the_coefficients(macroblock_bands: bool) -> None:
    torch.manual_seed(0)
    m = ClassicNet(ClassicConfig(macroblock_bands=macroblock_bands))
    m.luma.normal_(0, 0.05)
    m.chroma.normal_(0, 0.05)
    b, h, w = 2, 20, 28
    dec = torch.rand(b, 6, h, w)
    qp = torch.full((b, 1, 3, 4), 37.0)
    qp[1] = 26.0
    qp[1, 0, 1:, 2:] = 33.0  # a second band inside frame 1, seen only with macroblock bands
    ftype = torch.tensor([1, 2])
    ref = Reference(torch.rand(b, 6, h, w), torch.rand(b, 6, h, w), (torch.rand(b, 1, 5, 7) > 0.3).float())
    with torch.no_grad():
        out = m(dec, qp, ftype, ref, None)
        f = m.features(dec, qp, ftype, ref, None)
        lw = m.luma[0][ftype].reshape(b, -1, m.luma.shape[-1])  # family 0: the default
        coef = torch.stack([lw[i][f["luma_key"][i]] for i in range(b)])
        luma = (f["luma_x"] * coef).sum(-1)
        cw = m.chroma[0][ftype]
        chroma = torch.stack([(f["chroma_x"][i] * cw[i][f["chroma_key"][i]].permute(2, 0, 1, 3)).sum(-1)
                              for i in range(b)])
    want = dec + torch.cat([F.pixel_unshuffle(luma[:, None], 2), chroma], 1)
    torch.testing.assert_close(out, want, rtol=0, atol=1e-5)
    # without references the carried terms are zero: an I-frame's features have none
    f0 = m.features(dec, qp, torch.tensor([0, 0]))
    assert float(f0["luma_x"][..., -2:].abs().max()) == 0.0


@pytest.fixture(scope="module")
def clip(training_clip):
    return training_clip("classic.mp4", 128, 96, 16, seed=5, speed=1.5, options={"qp": "38", "bf": "2", "g": "8"})


def test_fit_lowers_the_error_on_its_own_clip(clip) -> None:
    model = fit_classic([clip], passes=2)
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
