"""Rate-distortion evaluation runs (``redecode evaluate``): ladder encodes, sources, metrics,
BD figures, classical baselines, plots and the typed report written to results.json.

Built on the streaming core (``redecode.pipeline``), which never imports this package.

Modules: ``run`` (the run as a whole), ``point`` (one source x ladder point), ``ladder``
(encodes and their cache), ``sources``, ``metrics`` (measuring, VMAF), ``baselines`` (FFmpeg
post-filters), ``bd``, ``report`` (results.json, frames.csv), ``summary`` (summary.md),
``plots`` (needs matplotlib), ``records`` (the typed records passed between them).
"""

from .records import Report, Settings
from .run import EvaluateError, EvaluateResult, run_evaluation
from .sources import SourceError

__all__ = ["EvaluateError", "EvaluateResult", "Report", "Settings", "SourceError", "run_evaluation"]
