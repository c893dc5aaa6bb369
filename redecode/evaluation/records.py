"""The typed records an evaluation run passes between its modules.

``run`` turns :class:`Settings` and sources into :class:`PointJob` objects; ``point`` measures
each into a :class:`PointResult` (one :class:`VariantResult` per variant, each with its
:class:`FrameRow` list); ``report`` gathers them into a :class:`Report` (rows of
:class:`Entry`, :class:`Average`, BD figures) and writes results.json from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from .ladder import DEFAULT_QPS
from .sources import Source

#: The per-frame metrics of DESIGN.md §4 (VMAF is separate: it may be missing).
METRICS = ("psnr_y", "psnr_u", "psnr_v", "psnr_yuv", "ssim_y")
#: Seed of torch in worker processes, recorded in results.json.
SEED = 0


@dataclass(frozen=True)
class Settings:
    """What ``redecode evaluate`` was asked to do."""

    codec: str = "libx264"
    qps: list[float] | None = None  # default: DEFAULT_QPS (when crfs is None)
    crfs: list[float] | None = None
    preset: str = "medium"
    bframes: int = 3
    gop: int | None = None
    frames: int | None = None
    models: list[str] = field(default_factory=lambda: ["auto"])
    baselines: list[str] | None = None  # None: DEFAULT_BASELINES that the ffmpeg program has
    vmaf: bool = True
    jobs: int = 1
    device: str = "auto"
    strength: float = 1.0
    cache: str | None = None  # default: <output>/cache
    size: tuple[int, int] | None = None
    rate: Fraction | None = None
    pix_fmt: str | None = None
    plot_point: float | None = None
    progress: bool | None = None

    @property
    def mode(self) -> str:
        return "crf" if self.crfs else "qp"

    @property
    def ladder(self) -> list[float]:
        return list(self.crfs) if self.crfs else list(self.qps or DEFAULT_QPS)


@dataclass(frozen=True)
class Variant:
    """A way to turn a decoded stream into frames: the anchor, a model or a baseline."""

    name: str
    kind: str  # "anchor", "model" or "baseline"
    spec: str | None = None  # model spec, or baseline name


@dataclass(frozen=True)
class SourceInfo:
    """A source as results.json describes it (``frames``: how many were measured)."""

    label: str
    path: str
    kind: str
    width: int
    height: int
    rate: str
    pix_fmt: str
    encoded_pix_fmt: str
    digest: str
    frames: int | None = None


@dataclass(frozen=True)
class PointJob:
    """One source x ladder point, with everything a worker process needs."""

    source: Source
    digest: str
    ref_format: str
    mode: str
    value: float
    settings: Settings
    variants: list[Variant]
    cache: str
    reference_y4m: str | None


@dataclass(frozen=True)
class Encoded:
    """One ladder point's bitstream: the file, its real size in bits, and how it was made."""

    path: Path
    bits: int
    frames: int
    options: dict[str, str]
    encode_seconds: float
    cached: bool = False
    qscale: int | None = None  # MPEG-2 / MPEG-4: the quantiser scale the QP maps to
    qp_equivalent: float | None = None


@dataclass(frozen=True)
class Metrics:
    """Averages: over the frames of a sequence, or over sequences."""

    psnr_y: float
    psnr_u: float
    psnr_v: float
    psnr_yuv: float
    ssim_y: float
    vmaf: float | None = None

    @staticmethod
    def of_frames(rows: list[FrameRow]) -> Metrics:
        """The per-frame mean of each metric (VMAF: None when a frame has none)."""
        avg = {k: float(np.mean([getattr(r, k) for r in rows])) for k in METRICS}
        vmaf = (float(np.mean([r.vmaf for r in rows]))
                if rows and all(r.vmaf is not None for r in rows) else None)
        return Metrics(**avg, vmaf=vmaf)


@dataclass(frozen=True)
class FrameRow(Metrics):
    """One frame's metrics against the source, with its type and mean QP in the decode."""

    type: str | None = None
    mean_qp: float | None = None


@dataclass(frozen=True)
class VariantResult:
    """One variant measured at one source x ladder point."""

    metrics: Metrics
    frames: list[FrameRow]
    seconds: float
    fps: float | None
    filter: str | None = None  # baselines: the ffmpeg filter run


@dataclass(frozen=True)
class Failure:
    """Something that failed; the rest of the run went on."""

    variant: str | None
    error: str
    source: str | None = None
    value: float | None = None


@dataclass
class PointResult:
    """What one source x ladder point produced (picklable: it comes back from workers)."""

    source: str
    mode: str
    value: float
    encoded: Encoded | None = None
    kbps: float | None = None
    bpp: float | None = None
    codec_name: str | None = None
    mean_qp: float | None = None
    variants: dict[str, VariantResult] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    """What a results.json row says of one ladder point x variant (see Entry, Average)."""

    codec: str
    mode: str
    value: float
    variant: str
    kbps: float | None
    bpp: float | None
    metrics: Metrics
    delta_psnr_y: float | None  # variant - decoded
    delta_psnr_yuv: float | None
    delta_ssim_y: float | None
    delta_vmaf: float | None
    frames: int


@dataclass(frozen=True)
class Entry(Row):
    """A row of results.json ``results``: one source x ladder point x variant."""

    source: str
    bits: int
    mean_qp: float | None
    seconds: float
    fps: float | None
    qscale: int | None = None  # MPEG-2 / MPEG-4
    qp_equivalent: float | None = None
    filter: str | None = None  # baselines


@dataclass(frozen=True)
class Average(Row):
    """A row of results.json ``average``: one ladder point x variant over every source."""

    sources: int


@dataclass(frozen=True)
class BDValues:
    """Bjøntegaard deltas of one variant against the decode, one interpolation method."""

    bd_rate_pct: float | None
    bd_psnr_db: float | None
    bd_rate_pct_yuv: float | None
    bd_psnr_db_yuv: float | None


@dataclass(frozen=True)
class BDFigures(BDValues):
    """The deltas on one source, with the overlap of the PSNR-Y curves."""

    overlap_y: float | None
    note: str | None


@dataclass(frozen=True)
class BDAverage(BDValues):
    """Mean of the per-source deltas (None unless every source has one)."""

    sources: int
    note: str | None


@dataclass
class Report:
    """A whole run, as results.json holds it (see ``report.to_json``)."""

    settings: Settings
    versions: dict[str, str | None]
    sources: list[SourceInfo]
    variants: list[Variant]
    baselines_missing: dict[str, str]
    models_missing: dict[str, str]
    vmaf_available: bool
    vmaf_note: str | None
    points: list[PointResult]
    results: list[Entry]
    average: list[Average]
    bd_by_source: dict[str, dict[str, dict[str, BDFigures]]]  # source -> variant -> method
    bd_average: dict[str, dict[str, BDAverage]]  # variant -> method
    failures: list[Failure]
    seconds: float | None = None

    def variant(self, name: str) -> Variant:
        return next(v for v in self.variants if v.name == name)
