"""The rounding methods, one small module each, behind one registry.

Layers, top to bottom: :mod:`qevo_ir.blocks.solve` (``solve_block``, warm starts, comparison)
runs a :class:`~qevo_ir.blocks.methods.base.Method` from :data:`REGISTRY`; a method reads the
block (``base.py`` and the block types) and its :class:`~qevo_ir.blocks.batch.GramBatch` (the
batch arithmetic at the bottom). Nothing below calls up.
"""

from __future__ import annotations

from qevo_ir.blocks.methods.adaround import ADAROUND
from qevo_ir.blocks.methods.base import Answer, Method
from qevo_ir.blocks.methods.exact import EXACT, EXACT_MAX_VARIABLES
from qevo_ir.blocks.methods.gptq import GPTQ
from qevo_ir.blocks.methods.gptq_block import GPTQ_BLOCK
from qevo_ir.blocks.methods.greedy import GREEDY
from qevo_ir.blocks.methods.nearest import NEAREST
from qevo_ir.blocks.methods.qaoa import QAOA, QAOA_MAX_VARIABLES
from qevo_ir.blocks.methods.samplers import SA, TABU
from qevo_ir.errors import ValidationError

__all__ = [
    "EXACT_MAX_VARIABLES",
    "METHODS",
    "QAOA_MAX_VARIABLES",
    "REGISTRY",
    "Answer",
    "Method",
    "get_method",
]

REGISTRY: dict[str, Method] = {
    m.name: m for m in (NEAREST, GREEDY, SA, TABU, EXACT, QAOA, GPTQ, ADAROUND, GPTQ_BLOCK)
}
METHODS: tuple[str, ...] = tuple(REGISTRY)


def get_method(name: str) -> Method:
    """The registered method ``name``; :class:`ValidationError` listing them otherwise."""
    got = REGISTRY.get(name) if isinstance(name, str) else None
    if got is None:
        raise ValidationError(f"unknown method {name!r}; expected one of {', '.join(METHODS)}")
    return got
