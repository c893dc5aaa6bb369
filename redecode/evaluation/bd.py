"""Bjøntegaard deltas: BD-rate and BD-PSNR between two rate-distortion curves.

The curves are interpolated piecewise (PCHIP, as the JCT-VC common-test-conditions sheet does,
or Akima) over log10(rate), and integrated over the interval where both exist:

* BD-rate: mean difference of log10(rate) as a function of PSNR, as a percentage
  ``(10 ** mean - 1) * 100``; negative = the test needs fewer bits for the same quality.
* BD-PSNR: mean difference of PSNR as a function of log10(rate), in dB; positive = better.

The ``bjontegaard`` package computes the numbers when it is installed (``pip install
redecode[eval]``); otherwise the same integrals are taken with scipy here. Results come back as
:class:`BDResult` with a note instead of an exception when they cannot be computed (fewer than
two points, curves that do not overlap, repeated values).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

METHODS = ("pchip", "akima")
MIN_OVERLAP = 0.5
"""Curves overlapping less than this share of their joint range get a warning note."""


@dataclass(frozen=True)
class BDResult:
    """One Bjøntegaard delta.

    Attributes:
        value: the delta (percent for BD-rate, dB for BD-PSNR), or None when it cannot be computed.
        overlap: share (0..1) of the joint range of the integration variable that both curves
            cover, or None.
        note: why there is no value, or a warning about it (little overlap, few points).
    """

    value: float | None
    overlap: float | None = None
    note: str | None = None


def implementation() -> str:
    """``"bjontegaard X.Y.Z"`` when the package is used, else ``"scipy"``."""
    try:
        import bjontegaard
    except ImportError:
        return "scipy"
    return f"bjontegaard {getattr(bjontegaard, '__version__', '?')}"


def bd_rate(rate_anchor, dist_anchor, rate_test, dist_test, method: str = "pchip",
            min_overlap: float = MIN_OVERLAP) -> BDResult:
    """BD-rate of the test curve against the anchor, in percent (see the module docstring).

    Args:
        rate_anchor, dist_anchor: the anchor's rates (any unit, > 0) and qualities (e.g. PSNR).
        rate_test, dist_test: the test's; the number of points may differ from the anchor's.
        method: "pchip" or "akima".
        min_overlap: below this overlap of the quality ranges a warning note is added.
    """
    return _delta("rate", rate_anchor, dist_anchor, rate_test, dist_test, method, min_overlap)


def bd_psnr(rate_anchor, dist_anchor, rate_test, dist_test, method: str = "pchip",
            min_overlap: float = MIN_OVERLAP) -> BDResult:
    """BD-PSNR (mean quality difference, dB) of the test curve against the anchor."""
    return _delta("psnr", rate_anchor, dist_anchor, rate_test, dist_test, method, min_overlap)


def _clean(rate, dist) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(rate, dtype=np.float64).ravel()
    d = np.asarray(dist, dtype=np.float64).ravel()
    if r.shape != d.shape:
        raise ValueError(f"{len(r)} rates but {len(d)} quality values")
    keep = np.isfinite(r) & np.isfinite(d) & (r > 0)
    return r[keep], d[keep]


def _delta(kind, rate_a, dist_a, rate_t, dist_t, method, min_overlap) -> BDResult:
    if method not in METHODS:
        raise ValueError(f"unknown interpolation {method!r}; use {' or '.join(METHODS)}")
    ra, da = _clean(rate_a, dist_a)
    rt, dt = _clean(rate_t, dist_t)
    n = min(len(ra), len(rt))
    if n < 2:
        return BDResult(None, None, f"needs at least 2 valid rate-distortion points per curve, got {n}")
    # BD-rate integrates log-rate over quality; BD-PSNR quality over log-rate.
    if kind == "rate":
        xa, ya, xt, yt = da, np.log10(ra), dt, np.log10(rt)
    else:
        xa, ya, xt, yt = np.log10(ra), da, np.log10(rt), dt
    for x in (xa, xt):
        if len(np.unique(x)) != len(x):
            axis = "quality" if kind == "rate" else "rate"
            return BDResult(None, None, f"a curve repeats a {axis} value; cannot interpolate")
    lo, hi = max(xa.min(), xt.min()), min(xa.max(), xt.max())
    span = max(xa.max(), xt.max()) - min(xa.min(), xt.min())
    overlap = float(max(hi - lo, 0.0) / span) if span > 0 else 0.0
    if hi <= lo:
        return BDResult(None, overlap, "the curves do not overlap")
    notes = []
    if overlap < min_overlap:
        axis = "quality" if kind == "rate" else "rate"
        notes.append(f"curves overlap over only {100 * overlap:.0f}% of their {axis} range")
    if n < 4:
        notes.append(f"only {n} points per curve")
    value = _package(kind, ra, da, rt, dt, method)
    if value is None:
        avg = (_integral(xt, yt, method, lo, hi) - _integral(xa, ya, method, lo, hi)) / (hi - lo)
        value = (10.0 ** avg - 1.0) * 100.0 if kind == "rate" else avg
    if not math.isfinite(value):
        return BDResult(None, overlap, "; ".join(notes + ["interpolation failed"]))
    return BDResult(float(value), overlap, "; ".join(notes) or None)


def _package(kind, ra, da, rt, dt, method) -> float | None:
    """The ``bjontegaard`` package's value, or None when it is not installed."""
    try:
        import bjontegaard
    except ImportError:
        return None
    # The package only reverses descending input; hand it each curve sorted by the variable it
    # interpolates over, so any ladder order works.
    order_a = np.argsort(da if kind == "rate" else ra)
    order_t = np.argsort(dt if kind == "rate" else rt)
    fn = bjontegaard.bd_rate if kind == "rate" else bjontegaard.bd_psnr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # overlap is judged (and reported) here
        return float(fn(ra[order_a], da[order_a], rt[order_t], dt[order_t], method=method,
                        require_matching_points=False, min_overlap=0.0))


def _integral(x: np.ndarray, y: np.ndarray, method: str, lo: float, hi: float) -> float:
    from scipy import interpolate

    order = np.argsort(x)
    x, y = x[order], y[order]
    if method == "pchip":
        f = interpolate.PchipInterpolator(x, y)
    elif len(x) > 2:
        f = interpolate.Akima1DInterpolator(x, y)
    else:
        f = interpolate.make_interp_spline(x, y, k=1)
    return float(f.integrate(lo, hi))
