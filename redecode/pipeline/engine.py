"""The restoration engine: a model on a device, fed decoder frames, giving back planes.

The engine turns :class:`~redecode.decoders.Frame` objects into the networks' packed tensors,
runs batches of frames that share their references, and unpacks the results. It keeps the
tensors of the frames it restored so that the scheduler can hand them back as references.
With ``--model none`` (:class:`Passthrough`) it needs no tensors at all, and torch is never
imported.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..allocator import retain_freed_memory
from ..coding import FrameType, codec_family
from ..decoders import Frame

if TYPE_CHECKING:
    import torch

log = logging.getLogger("redecode")

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


class Passthrough:
    """``--model none``: returns the decoded frame; the rest of the pipeline runs as usual."""

    name = "none"

    def __init__(self) -> None:
        self.meta: dict[str, Any] = {}


@functools.lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """True when this CPU computes bfloat16 natively (AMX-BF16 or AVX512-BF16, Linux flags)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return False
    return bool(re.search(r"\b(amx_bf16|avx512_bf16)\b", flags))


def pick_precision(precision: str, device_type: str) -> str:
    """``auto``: fp16 on CUDA, fp32 on the CPU; others are checked.

    Not bf16 on CPUs that have it (AMX-BF16): there it is 1.3x faster end to end at 640x360,
    but costs the shipped ``small`` 0.003-0.005 dB at QP 22-37 and 0.04 at QP 42 on held-out
    real video, and its references' gain at QP 37 falls from 0.051 to 0.039 dB
    (docs/benchmarks.md, "bf16 against fp32"); ``--precision bf16`` asks for it.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"--precision {precision}: use one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        return "fp16" if device_type == "cuda" else "fp32"
    if precision == "fp16" and device_type != "cuda":
        raise ValueError("--precision fp16 needs CUDA; on the CPU use fp32 or bf16")
    return precision


@dataclass
class Packed:
    """A frame's packed tensors on the engine's device.

    Attributes:
        frame: the decoder's frame (planes, metadata, timestamps).
        decoded: (6, h, w) the decoded frame (None with ``--model none``, which needs no tensors).
        restored: (6, h, w) the restored frame, once restored.
    """

    frame: Frame
    decoded: torch.Tensor | None
    restored: torch.Tensor | None = None


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU, or any other name than
    auto, cpu, cuda and cuda:N, is an error (one line)."""
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", name):
        raise ValueError(f"--device {name}: use auto, cpu, cuda or cuda:N")
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"--device {name}: no CUDA GPU is available (this torch build or machine "
                             "has none); use --device cpu")
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ValueError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return torch.device(name)


def load_model(spec: str, device: torch.device) -> Any:
    """The model named by ``--model``: auto | small | base | classic | none | a checkpoint path.

    ``auto``: see :func:`redecode.models.auto_model`.
    """
    if spec == "none":
        return Passthrough()
    from .. import models

    if spec == "auto":
        spec = models.auto_model(device.type == "cuda")
    return models.load(spec, device=device)


class Engine:
    """Runs a restoration model on frames.

    Args:
        model: a model of ``redecode.models`` (or :class:`Passthrough`).
        device: where tensors and the model live (unused with :class:`Passthrough`).
        precision: "fp32" (default), "bf16" (autocast; CPUs with AMX/AVX512-BF16, GPUs),
            "fp16" (CUDA), or "auto" (see :func:`pick_precision`). A model whose class sets
            ``fp32_only`` (``classic``) always computes in fp32.
        references: give P/B-frames their motion-compensated references; False restores every
            frame through the intra path (the ablation of tools/bench_quality.py). A model
            trained without references (``meta["references"]`` False) always runs without.
        tile: largest side, in packed pixels (half the luma size), run in one piece; larger
            frames are restored in overlapping tiles so memory stays bounded (0: never tile).
        tile_margin: overlap of the tiles, in packed pixels, on each side.
        strength: share of the model's (gated) correction kept, 0 (the decode) to 1 (default).
    """

    def __init__(self, model: Any, device: torch.device | str = "cpu", *, precision: str = "fp32",
                 references: bool = True, tile: int = 544,
                 tile_margin: int = 48, strength: float = 1.0) -> None:
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"--strength {strength:g}: must be between 0 and 1")
        self.identity = isinstance(model, Passthrough)
        self.model = model
        self.device = device
        self.precision = "fp32"
        self.references = references and bool(getattr(model, "meta", {}).get("references", True))
        self.tile, self.tile_margin = tile, tile_margin
        self.strength = strength
        if self.identity:
            return
        import torch

        retain_freed_memory()
        self.device = torch.device(device)
        self.precision = pick_precision(precision, self.device.type)
        if getattr(model, "fp32_only", False):
            self.precision = "fp32"
        self.dtype = torch.float16 if self.precision == "fp16" else torch.float32
        self.model = model.to(device=self.device, dtype=self.dtype).eval()

    @property
    def name(self) -> str:
        return str(getattr(self.model, "name", type(self.model).__name__))

    def pack(self, frame: Frame) -> Packed:
        """Upload a frame's planes as a packed (6, h, w) tensor."""
        if self.identity:
            return Packed(frame, None)
        from .. import models

        y, u, v = frame.planes
        t = models.planes_to_tensor(y, u, v, frame.bit_depth, device=self.device)
        return Packed(frame, t.to(self.dtype))

    def restore(self, items: list[Packed], l0: list[Packed], l1: list[Packed]) -> None:
        """Restore frames that share the same references, in one batch; sets ``.restored``.

        Args:
            items: frames to restore (all P, or all B between the same two anchors, or I).
            l0: restored anchors the frames' list-0 vectors may point into, nearest first
                (empty: none); each block uses the one its vector matches best.
            l1: the restored anchor after the frames, for their list-1 vectors (or empty).
        """
        if self.identity:
            for it in items:
                it.restored = it.decoded
            return
        import torch

        with torch.inference_mode(), self._autocast():
            self._restore(items, l0, l1)

    def _autocast(self) -> contextlib.AbstractContextManager:
        import torch

        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _restore(self, items: list[Packed], l0: list[Packed], l1: list[Packed]) -> None:
        import torch

        from .. import models

        f0 = items[0].frame
        h, w = f0.height, f0.width
        decoded = torch.stack([it.decoded for it in items])
        qp = torch.stack([models.qp_to_tensor(it.frame.qp, h, w) for it in items])
        ftype = torch.tensor([FrameType[it.frame.pict_type] for it in items])
        if not self.references:
            l0 = l1 = []
        cands = [self._candidates(items, lst, anchors) for lst, anchors in (("l0", l0), ("l1", l1))]
        family = torch.tensor([codec_family(it.frame.codec) for it in items], device=self.device)
        out = models.restore_step(self.model, decoded, qp.to(self.device, self.dtype), ftype.to(self.device),
                                  *cands, tile=self.tile, tile_margin=self.tile_margin, strength=self.strength,
                                  family=family)
        for it, r in zip(items, out.to(self.dtype)):
            it.restored = r

    def _candidates(self, items: list[Packed], lst: str, anchors: list[Packed]) -> Any:
        """One list's candidates; frames without vectors of it (or without any motion) get an
        all-zero mask, so each frame decides for itself whether it uses the list."""
        if not anchors or all(it.frame.motion is None for it in items):
            return None
        import torch

        from .. import models

        f0 = items[0].frame
        grid = (-(-f0.height // 8), -(-f0.width // 8))
        vecs, masks = [], []
        for it in items:
            m = it.frame.motion
            if m is None:
                v, k = torch.zeros(2, *grid), torch.zeros(1, *grid)
            else:
                v, k = models.motion_to_tensor(getattr(m, lst), getattr(m, f"{lst}_mask"))
            vecs.append(v)
            masks.append(k)
        return models.Candidates(  # the anchors, shared by the whole batch: batch 1
            [a.restored[None] for a in anchors],
            [a.decoded[None] for a in anchors],
            torch.stack(vecs).to(self.device, self.dtype),
            torch.stack(masks).to(self.device, self.dtype),
        )

    def planes(self, item: Packed) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The restored frame as planes at the frame's depth and chroma size."""
        if self.identity:
            return item.frame.planes
        from .. import models

        f = item.frame
        chroma = (f.planes[1], f.planes[2])
        return models.tensor_to_planes(item.restored.float(), f.height, f.width, f.bit_depth,
                                       decoded_chroma=chroma)
