"""Restoration networks steered by bitstream metadata (torch). Knows nothing of files or decoders.

Public API::

    build(name) -> RestorationNet            # untrained, size "small" or "base"
    load(name_or_path, device="cpu")         # shipped weights by name, or a checkpoint path
    save(model, path, meta=None)
    ModelError                               # every model-loading failure
    MODELS, SIZES                            # arch table, named size configs
    Reference, RestorationConfig, RestorationNet
    planes_to_tensor, tensor_to_planes, qp_to_tensor, motion_to_tensor
    warp, warp_packed, dense_field
    select_reference                         # list-0 reference chosen block by block
    restore_step, Candidates, LIST0_CANDIDATES  # the one restoration step (inference = training)
"""

from .classic import ClassicConfig, ClassicNet
from .net import Reference, RestorationConfig, RestorationNet
from .tensors import DEFAULT_QP, chroma_size, motion_to_tensor, planes_to_tensor, qp_to_tensor, tensor_to_planes
from .refselect import select_reference
from .step import LIST0_CANDIDATES, Candidates, restore_step
from .warp import dense_field, warp, warp_packed
from .zoo import MODELS, SHIPPED, SIZES, ModelError, auto_model, build, load, save


__all__ = [
    "ClassicConfig", "ClassicNet", "DEFAULT_QP", "LIST0_CANDIDATES", "Candidates", "restore_step", "MODELS", "SIZES", "ModelError", "Reference", "SHIPPED", "auto_model", "RestorationConfig",
    "RestorationNet", "build", "chroma_size", "dense_field", "load", "motion_to_tensor",
    "planes_to_tensor", "qp_to_tensor", "save", "select_reference", "tensor_to_planes", "warp", "warp_packed",
]
