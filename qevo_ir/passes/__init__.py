"""Compiler passes and pipelines: every pass registers itself in :data:`PASSES` on import.

``Pipeline.parse("fix | sparsify(rel=1e-3) | precision(bits=5)")`` builds a pipeline from a
string; ``pipeline.run(ir)`` returns a :class:`CompileResult` (final IR, records, decoder) and
``result.report()`` the :class:`~qevo_ir.report.CompileReport`. See ``specs/passes.md``.
"""

import importlib

from qevo_ir.passes.base import (
    PASSES,
    CompilerPass,
    Decoder,
    PassOutput,
    PassRecord,
    register_pass,
)
from qevo_ir.passes.components import (
    Components,
    component_indices,
    join_samples,
    split_components,
)
from qevo_ir.passes.fix import Fix
from qevo_ir.passes.gauge import Gauge, gauge_transform
from qevo_ir.passes.negate import Negate
from qevo_ir.passes.penalize import Penalize
from qevo_ir.passes.pipeline import CompileResult, Pipeline, list_passes, parse_pipeline
from qevo_ir.passes.precision import DEVICE_RANGES, Precision
from qevo_ir.passes.quadratize import Quadratize, quadratize
from qevo_ir.passes.quantize import Quantize, quantize
from qevo_ir.passes.scale import Normalize, Scale
from qevo_ir.passes.sparsify import Sparsify


def _import_optional(module: str) -> None:
    """Import ``module`` if it exists; only the absence of that very module is tolerated."""
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise


# The embed pass lives in its own module and imports its SDKs lazily; a checkout without it still
# has every other pass, but an embed module that fails to import its own dependencies is an error.
_import_optional("qevo_ir.passes.embed")

__all__ = [
    "DEVICE_RANGES",
    "PASSES",
    "CompileResult",
    "CompilerPass",
    "Components",
    "Decoder",
    "Fix",
    "Gauge",
    "Negate",
    "Normalize",
    "PassOutput",
    "PassRecord",
    "Penalize",
    "Pipeline",
    "Precision",
    "Quadratize",
    "Quantize",
    "Scale",
    "Sparsify",
    "component_indices",
    "gauge_transform",
    "join_samples",
    "list_passes",
    "parse_pipeline",
    "quadratize",
    "quantize",
    "register_pass",
    "split_components",
]
