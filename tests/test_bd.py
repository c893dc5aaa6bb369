"""BD-rate / BD-PSNR: closed-form cases, the bjontegaard package, and what cannot be computed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from redecode.evaluation import bd

RATES = [120.0, 210.0, 380.0, 700.0, 1300.0]
PSNRS = [29.1, 31.8, 34.2, 36.9, 39.5]


@pytest.mark.parametrize("method", bd.METHODS)
def test_identical_curves_give_zero(method):
    r = bd.bd_rate(RATES, PSNRS, RATES, PSNRS, method)
    p = bd.bd_psnr(RATES, PSNRS, RATES, PSNRS, method)
    assert r.value == pytest.approx(0.0, abs=1e-12)
    assert p.value == pytest.approx(0.0, abs=1e-12)
    assert r.overlap == 1.0 and r.note is None


@pytest.mark.parametrize("method", bd.METHODS)
@pytest.mark.parametrize("factor", [0.8, 1.25, 0.5])
def test_rate_scaled_by_a_constant_gives_that_factor(method, factor):
    # Same quality at factor x the bits everywhere: BD-rate = (factor - 1) * 100 exactly.
    r = bd.bd_rate(RATES, PSNRS, [x * factor for x in RATES], PSNRS, method)
    assert r.value == pytest.approx((factor - 1) * 100, abs=1e-9)


@pytest.mark.parametrize("method", bd.METHODS)
def test_constant_quality_shift_gives_that_bd_psnr(method):
    p = bd.bd_psnr(RATES, PSNRS, RATES, [d + 0.7 for d in PSNRS], method)
    assert p.value == pytest.approx(0.7, abs=1e-12)


def test_linear_curve_closed_form():
    # PSNR = a + b*log10(rate) on both curves, test shifted up by s dB: BD-rate = 10**(-s/b) - 1
    # (any piecewise interpolation of a straight line is that line).
    a, b, s = 10.0, 8.0, 0.5
    rates = np.array([100.0, 200.0, 400.0, 800.0])
    for method in bd.METHODS:
        r = bd.bd_rate(rates, a + b * np.log10(rates), rates, a + s + b * np.log10(rates), method)
        assert r.value == pytest.approx((10 ** (-s / b) - 1) * 100, rel=1e-9)


def test_scipy_fallback_matches_the_package(monkeypatch):
    bjontegaard = pytest.importorskip("bjontegaard")
    test_d = [29.6, 32.1, 34.9, 37.2, 39.8]
    test_r = [125.0, 200.0, 390.0, 650.0, 1250.0]
    for method in bd.METHODS:
        ours = bd.bd_rate(RATES, PSNRS, test_r, test_d, method).value
        theirs = bjontegaard.bd_rate(RATES, PSNRS, test_r, test_d, method=method)
        assert ours == pytest.approx(theirs, rel=1e-12)
        ours_p = bd.bd_psnr(RATES, PSNRS, test_r, test_d, method).value
        assert ours_p == pytest.approx(bjontegaard.bd_psnr(RATES, PSNRS, test_r, test_d, method=method),
                                       rel=1e-12)
    # the same integrals without the package
    monkeypatch.setattr(bd, "_package", lambda *a: None)
    for method in bd.METHODS:
        fallback = bd.bd_rate(RATES, PSNRS, test_r, test_d, method).value
        assert fallback == pytest.approx(bjontegaard.bd_rate(RATES, PSNRS, test_r, test_d,
                                                             method=method), rel=1e-9)


def test_ladder_order_does_not_matter():
    rev = bd.bd_rate(RATES[::-1], PSNRS[::-1], [x * 0.9 for x in RATES], PSNRS, "pchip")
    assert rev.value == pytest.approx(-10.0, abs=1e-9)
    shuffled = [2, 0, 4, 1, 3]
    p = bd.bd_psnr([RATES[i] for i in shuffled], [PSNRS[i] for i in shuffled], RATES,
                   [d + 0.2 for d in PSNRS], "akima")
    assert p.value == pytest.approx(0.2, abs=1e-12)


def test_few_points():
    two = bd.bd_rate(RATES[:2], PSNRS[:2], [x * 0.9 for x in RATES[:2]], PSNRS[:2], "akima")
    assert two.value == pytest.approx(-10.0, abs=1e-9) and "2 points" in two.note
    one = bd.bd_rate(RATES[:1], PSNRS[:1], RATES[:1], PSNRS[:1], "pchip")
    assert one.value is None and "at least 2" in one.note


def test_overlap_warning_and_no_overlap():
    little = bd.bd_rate(RATES, PSNRS, RATES, [d + 8.0 for d in PSNRS], "pchip")
    assert little.value is not None and little.overlap < bd.MIN_OVERLAP
    assert "overlap" in little.note
    none = bd.bd_rate(RATES, PSNRS, RATES, [d + 20.0 for d in PSNRS], "pchip")
    assert none.value is None and none.overlap == 0.0 and "do not overlap" in none.note


def test_bad_values_are_dropped_or_reported():
    rep = bd.bd_rate(RATES, [30.0, 30.0, 31.0, 32.0, 33.0], RATES, PSNRS, "pchip")
    assert rep.value is None and "repeats" in rep.note
    r = bd.bd_rate(RATES + [float("nan")], PSNRS + [41.0], RATES, PSNRS, "pchip")
    assert r.value == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        bd.bd_rate(RATES, PSNRS, RATES, PSNRS, "cubic-spline")
    assert math.isfinite(bd.bd_psnr(RATES, PSNRS, RATES[:3], PSNRS[:3], "pchip").value)
