"""Exhaustive enumeration (the ``exact`` backend), one channel at a time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.blocks.base import GramBlock
from qevo_ir.blocks.methods.base import Answer, Bits, Method, backend
from qevo_ir.errors import LimitExceeded
from qevo_ir.vartypes import BINARY

__all__ = ["EXACT", "EXACT_MAX_VARIABLES", "exact_channels"]

EXACT_MAX_VARIABLES = 24
"""Largest channel the ``exact`` method enumerates (``2**24`` states per channel)."""


def exact_channels(
    block: GramBlock, channels: npt.NDArray[np.int64], bits: Bits, limit: int, penalty: Any
) -> npt.NDArray[np.float64]:
    """Write the exact ground state of each of ``channels`` into ``bits``; their energies.

    One enumeration per channel, independent of the others: a unit an executor can map.
    """
    solver = backend("exact")
    ground = np.zeros(len(channels))
    for k, c in enumerate(channels.tolist()):
        ham = block.hamiltonian(c, penalty=penalty, labelled=False)
        res = solver.solve(ham, max_states=1, max_variables=limit)
        bits[c, np.flatnonzero(block.batch.free[c])] = res.to_vartype(BINARY)[0]
        ground[k] = res.energies[0]
    return ground


def _run(
    block: GramBlock, options: Mapping[str, Any], info: dict[str, Any], start: Bits | None
) -> Answer:
    limit = int(options.get("max_variables", EXACT_MAX_VARIABLES))
    sizes = block.batch.num_free()
    too_big = np.flatnonzero(sizes > limit)
    if len(too_big):
        c = int(too_big[0])
        raise LimitExceeded(
            f"exact: channel {c} has {int(sizes[c])} variables, more than max_variables={limit} "
            f"({len(too_big)} channels are over); use method='greedy' or 'sa'"
        )
    bits = block.baseline_bits().copy()
    channels = np.flatnonzero(sizes > 0).astype(np.int64)
    ground = exact_channels(block, channels, bits, limit, options.get("penalty"))
    info["ground_energy_sum"] = float(ground.sum())
    return Answer(bits)


EXACT = Method(
    "exact",
    ("max_variables", "penalty"),
    _run,
    summary="exhaustive enumeration per channel (exact backend)",
)
