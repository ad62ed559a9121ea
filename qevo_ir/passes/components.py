"""The ``components`` pass and helpers: find the connected components of the coupling graph.

The pass leaves the Hamiltonian unchanged (exact) and reports the components; a solver may then
solve them apart with :func:`split_components` and reassemble samples with :func:`join_samples`,
because the energy is the sum of the components' energies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.passes.base import CompilerPass, PassOutput, register_pass

__all__ = [
    "Components",
    "component_indices",
    "component_labels",
    "join_samples",
    "split_components",
]

_REPORTED_SIZES = 100


def component_labels(ham: Hamiltonian) -> npt.NDArray[np.int64]:
    """Component number of each variable; component ``k`` is the one whose smallest variable
    index comes ``k``-th. Isolated variables are components of size one."""
    n = ham.num_variables
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    graph = sp.csr_matrix(
        (np.ones(ham.num_interactions, dtype=np.int8), (ham.row, ham.col)), shape=(n, n)
    )
    count, labels = connected_components(graph, directed=False)
    _, first = np.unique(labels, return_index=True)
    rank = np.empty(count, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(count)
    comp: npt.NDArray[np.int64] = rank[np.asarray(labels, dtype=np.int64)]
    return comp


def component_indices(ham: Hamiltonian) -> list[npt.NDArray[np.int64]]:
    """Variable indices of each connected component (ascending), in :func:`component_labels`
    order."""
    comp = component_labels(ham)
    if comp.size == 0:
        return []
    order = np.argsort(comp, kind="stable").astype(np.int64)
    sizes = np.bincount(comp)
    return list(np.split(order, np.cumsum(sizes)[:-1]))


def split_components(ham: Hamiltonian) -> list[Hamiltonian]:
    """One Hamiltonian per component (labels and provenance kept); the offset goes to the first.

    ``Σ_k parts[k].energies(y[:, idx_k]) == ham.energies(y)`` with ``idx_k`` from
    :func:`component_indices`.
    """
    parts = [ham.subproblem(idx) for idx in component_indices(ham)]
    if parts:
        first = parts[0]
        parts[0] = Hamiltonian._trusted(
            first.vartype,
            first.linear,
            first.row,
            first.col,
            first.quad,
            ham.offset,
            first.variables,
        )
    return parts


def join_samples(ham: Hamiltonian, samples: Sequence[npt.ArrayLike]) -> npt.NDArray[np.int8]:
    """Reassemble per-component samples (``samples[k]`` of shape ``(m, n_k)``) into ``(m, n)``.

    The components are those of :func:`component_indices` (same order as
    :func:`split_components`). A component given a single row is broadcast to all ``m`` rows.
    """
    comp = component_labels(ham)
    sizes = np.bincount(comp) if comp.size else np.zeros(0, dtype=np.int64)
    if len(samples) != len(sizes):
        raise ValidationError(
            f"join_samples: {len(samples)} sample arrays for {len(sizes)} components"
        )
    arrays = [np.atleast_2d(np.asarray(s)) for s in samples]
    m = max((len(a) for a in arrays), default=1)
    for k, arr in enumerate(arrays):  # a shape check per given array
        if arr.shape[1] != sizes[k] or len(arr) not in (1, m):
            raise ValidationError(
                f"join_samples: component {k} has {sizes[k]} variables; got samples of shape "
                f"{arr.shape} (expected ({m}, {sizes[k]}) or (1, {sizes[k]}))"
            )
    out = np.zeros((m, ham.num_variables), dtype=np.int8)
    if arrays:
        order = np.argsort(comp, kind="stable")
        out[:, order] = np.concatenate([np.broadcast_to(a, (m, a.shape[1])) for a in arrays], 1)
    return out


@register_pass
@dataclass(frozen=True)
class Components(CompilerPass):
    """Find the connected components of the coupling graph; the Hamiltonian is unchanged (exact).

    ``details`` holds ``num_components``, ``largest``, ``isolated`` (size-one components) and
    ``component_sizes`` (the largest 100, descending); :func:`split_components` gives the parts.
    """

    name = "components"
    exact = True

    def apply(self, ir: Any) -> PassOutput:
        ham: Hamiltonian = ir
        comp = component_labels(ham)
        sizes = np.bincount(comp) if comp.size else np.zeros(0, dtype=np.int64)
        desc = np.sort(sizes)[::-1]
        details = {
            "num_components": len(sizes),
            "largest": int(desc[0]) if len(desc) else 0,
            "isolated": int(np.count_nonzero(sizes == 1)),
            "component_sizes": desc[:_REPORTED_SIZES].tolist(),
            "component_sizes_truncated": len(desc) > _REPORTED_SIZES,
        }
        return PassOutput(ir=ham, details=details)
