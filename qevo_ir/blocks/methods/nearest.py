"""Round-to-nearest (the block's own baseline: nearest grid point, magnitude pruning, top-k)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qevo_ir.blocks.base import GramBlock
from qevo_ir.blocks.methods.base import Answer, Bits, Method

__all__ = ["NEAREST"]


def _run(
    block: GramBlock, options: Mapping[str, Any], info: dict[str, Any], start: Bits | None
) -> Answer:
    return Answer(block.baseline_bits())


NEAREST = Method("nearest", (), _run, searches=False, summary="the block's baseline")
