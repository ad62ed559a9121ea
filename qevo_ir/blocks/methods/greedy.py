"""Best-improvement one-flip descent on every channel at once (swap descent under a cardinality)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qevo_ir.blocks.base import GramBlock
from qevo_ir.blocks.methods.base import Answer, Bits, Method, option_int

__all__ = ["GREEDY"]


def _run(
    block: GramBlock, options: Mapping[str, Any], info: dict[str, Any], start: Bits | None
) -> Answer:
    max_steps = option_int(options, "max_steps", -1, 0)
    steps = None if max_steps < 0 else max_steps
    x0 = block.baseline_bits() if start is None else block.repair(start)
    if block.cardinality is not None:
        return Answer(block.batch.swap_descend(x0, max_steps=steps))
    return Answer(block.batch.descend(x0, max_steps=steps))


GREEDY = Method(
    "greedy",
    ("max_steps",),
    _run,
    summary="one-flip descent from the baseline (or from init) on all channels at once",
)
