"""Quality metrics against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from redecode.pipeline import metrics


def _planes(rng, h=48, w=64, hi=256, dtype=np.uint8):
    return tuple(rng.integers(0, hi, s).astype(dtype) for s in ((h, w), (h // 2, w // 2), (h // 2, w // 2)))


@pytest.mark.parametrize("d", [1, 3, 10])
def test_psnr_of_a_constant_offset(d):
    a = np.full((32, 48), 100, np.uint8)
    b = a + np.uint8(d)
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 / d ** 2), abs=1e-12)
    a10 = np.full((32, 48), 500, np.uint16)
    assert metrics.psnr(a10, a10 + d, 10) == pytest.approx(10 * math.log10(1023 ** 2 / d ** 2))


def test_psnr_identical_is_inf_and_capped_in_frame_metrics():
    rng = np.random.default_rng(1)
    p = _planes(rng)
    assert metrics.psnr(p[0], p[0]) == math.inf
    m = metrics.frame_metrics(p, p)
    assert m["psnr_y"] == m["psnr_yuv"] == metrics.PSNR_CAP
    assert m["ssim_y"] == pytest.approx(1.0)


def test_psnr_yuv_weights():
    ref = (np.zeros((16, 16), np.uint8), np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8))
    dist = (ref[0] + 2, ref[1] + 4, ref[2] + 8)
    y, u, v = (10 * math.log10(255 ** 2 / e ** 2) for e in (2, 4, 8))
    got = metrics.psnr_yuv(ref, dist)
    assert got["yuv"] == pytest.approx((6 * y + u + v) / 8)
    fm = metrics.frame_metrics(ref, dist)
    assert (fm["psnr_y"], fm["psnr_u"], fm["psnr_v"]) == pytest.approx((y, u, v))
    assert fm["psnr_yuv"] == pytest.approx(got["yuv"])


def test_psnr_random_pair_against_direct_mse():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (40, 40)).astype(np.uint8)
    b = rng.integers(0, 256, (40, 40)).astype(np.uint8)
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    assert metrics.psnr(a, b) == pytest.approx(10 * np.log10(255.0 ** 2 / mse))


@pytest.mark.parametrize("bit_depth,noise", [(8, 5.0), (8, 40.0), (10, 12.0)])
def test_ssim_matches_scikit_image(bit_depth, noise):
    skm = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(bit_depth + int(noise))
    peak = (1 << bit_depth) - 1
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    # a smooth picture with texture, plus noise
    yy, xx = np.mgrid[:61, :83]
    a = (peak / 2 + peak / 3 * np.sin(xx / 7.0) * np.cos(yy / 5.0)
         + rng.normal(0, peak / 40, xx.shape)).clip(0, peak).astype(dtype)
    b = (a + rng.normal(0, noise * peak / 255, a.shape)).clip(0, peak).astype(dtype)
    ours = metrics.ssim(a, b, bit_depth)
    ref = skm.structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, data_range=peak)
    assert ours == pytest.approx(ref, abs=1e-12)


def test_ssim_properties():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (32, 32)).astype(np.uint8)
    assert metrics.ssim(a, a) == pytest.approx(1.0)
    b = (a.astype(int) + rng.integers(-20, 21, a.shape)).clip(0, 255).astype(np.uint8)
    assert 0 < metrics.ssim(a, b) < 1
    assert metrics.ssim(a, b) == pytest.approx(metrics.ssim(b, a))
    assert metrics.ssim_map(a, b).shape == (22, 22)
    with pytest.raises(ValueError):
        metrics.ssim(a[:8, :8], b[:8, :8])
