"""The reference exact solver: enumeration for small problems, tree decomposition for sparse ones.

It needs numpy only and registers in the ``qevo_ir.backends`` entry-point group like any other
backend. The algorithms are core code (:mod:`qevo_ir.solvers`); this plugin chooses between
them. It returns the ground energy, every ground state (up to ``max_states``), the exact
degeneracy and, by enumeration, the lowest ``num_levels`` distinct energy levels.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.advice import option
from qevo_ir.atomic import atomic_write_text
from qevo_ir.backend import Capabilities
from qevo_ir.budget import memory_budget
from qevo_ir.errors import LimitExceeded, ValidationError
from qevo_ir.formats import read_json_file
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.results import SampleResult
from qevo_ir.solvers.enumerate import DEFAULT_MAX_VARIABLES, enumerate_ising
from qevo_ir.solvers.tree import (
    affordable_width,
    check_plan,
    plan_elimination,
    solve_tree,
)
from qevo_ir.vartypes import BINARY, SPIN, spin_to_binary

__all__ = [
    "ENUMERATE_AUTO_LIMIT",
    "MAX_VARIABLES",
    "METHODS",
    "ExactBackend",
    "ExactLevel",
    "ExactSolution",
    "solve_exact",
]

MAX_VARIABLES = DEFAULT_MAX_VARIABLES
#: The options :meth:`ExactBackend.solve` passes to :func:`solve_exact`.
SOLVE_OPTIONS = (
    "num_levels",
    "max_states",
    "atol",
    "max_variables",
    "method",
    "memory_limit",
    "order",
    "progress",
)
#: Values listed per list of states in an artifact (``to_dict``): about 30 MB of JSON.
ARTIFACT_STATE_ENTRIES = 2_000_000
"""Largest problem the enumeration method takes (``2**34`` states)."""

ENUMERATE_AUTO_LIMIT = 26
"""``method="auto"`` enumerates up to this many variables (well under a second)."""

METHODS = ("auto", "enumerate", "tree")


#: Largest ``exact.json`` artifact :meth:`ExactBackend.read_artifact` accepts.
ARTIFACT_MAX_BYTES = 1024**3


@dataclass(frozen=True)
class ExactLevel:
    """One distinct energy level: its energy, exact count, and (up to ``max_states``) states."""

    energy: float
    count: int
    states: npt.NDArray[np.int8]  # in the IR's vartype, column i = variable i
    truncated: bool


@dataclass(frozen=True)
class ExactSolution:
    """The exact answer for one Hamiltonian, in its own vartype and variable order."""

    hamiltonian: Hamiltonian
    levels: tuple[ExactLevel, ...]
    seconds: float
    atol: float | None
    method: str = "enumerate"
    width: int | None = None

    @property
    def ground_energy(self) -> float:
        return self.levels[0].energy

    @property
    def degeneracy(self) -> int:
        return self.levels[0].count

    @property
    def ground_states(self) -> npt.NDArray[np.int8]:
        return self.levels[0].states

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: assignments are ``{label: value}`` in the source's labels and vartype.

        At most :data:`ARTIFACT_STATE_ENTRIES` values are listed per list of states (a
        2048-variable problem with 61,440 ground states would otherwise take tens of GB as
        JSON); a shortened list is marked ``truncated``, its ``count`` stays exact.
        """
        labels = self.hamiltonian.labels
        label_json = [_json_label(x) for x in labels]
        keep = max(1, ARTIFACT_STATE_ENTRIES // max(1, self.hamiltonian.num_variables))
        keys = [_key(x) for x in label_json]

        def states(arr: npt.NDArray[np.int8]) -> list[list[int]]:
            return [list(map(int, row)) for row in arr[:keep]]

        ground = self.ground_states
        return {
            "solver": "exact",
            "num_variables": self.hamiltonian.num_variables,
            "vartype": self.hamiltonian.vartype.value,
            "labels": label_json,
            "ground_energy": self.ground_energy,
            "degeneracy": self.degeneracy,
            "ground_states": [dict(zip(keys, row, strict=True)) for row in states(ground)],
            "ground_states_truncated": self.levels[0].truncated or len(ground) > keep,
            "levels": [
                {
                    "energy": lv.energy,
                    "count": lv.count,
                    "states": states(lv.states),
                    "truncated": lv.truncated or len(lv.states) > keep,
                }
                for lv in self.levels
            ],
            "seconds": self.seconds,
            "method": self.method,
            "width": self.width,
            "source_hash": self.hamiltonian.content_hash(),
        }


def _key(label: Any) -> str:
    """A JSON object key for a label: strings as they are, anything else as its JSON text."""
    return label if isinstance(label, str) else json.dumps(label)


def _json_label(label: Any) -> Any:
    return [_json_label(x) for x in label] if isinstance(label, tuple) else label


def _label_coordinates(hamiltonian: Hamiltonian) -> npt.NDArray[np.int64] | None:
    """Coordinates for the tree method's sweeps: the labels as an ``(n, d)`` array when every
    label is a tuple of ``d`` integers (``2 ≤ d ≤ 4``: lattice, Chimera or Pegasus coordinates),
    or the Chimera coordinates ``(i, j, u, k)`` of integer labels in ``dwave_networkx``'s linear
    Chimera numbering when every coupling is a Chimera edge there (:func:`_chimera_coordinates`)."""
    if hamiltonian.num_variables == 0:
        return None
    if hamiltonian.variables.is_range:
        return _chimera_coordinates(
            np.arange(hamiltonian.num_variables), hamiltonian.row, hamiltonian.col
        )
    labels = hamiltonian.labels
    first = labels[0]
    if isinstance(first, int) and all(
        isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 1 << 40 for x in labels
    ):
        ints = np.array(labels, dtype=np.int64)
        return _chimera_coordinates(ints, hamiltonian.row, hamiltonian.col)
    if not isinstance(first, tuple) or not 2 <= len(first) <= 4:
        return None
    d = len(first)
    for label in labels:
        if not (
            isinstance(label, tuple)
            and len(label) == d
            and all(isinstance(x, int) and not isinstance(x, bool) for x in label)
        ):
            return None
    try:
        return np.array(labels, dtype=np.int64)
    except OverflowError:  # coordinates past int64 are no geometry we can sweep
        return None


def _chimera_coordinates(
    ints: npt.NDArray[np.int64], row: npt.NDArray[np.int64], col: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64] | None:
    """``(i, j, u, k)`` of each integer label in the linear numbering of
    ``dwave_networkx.chimera_graph(m)`` (``((i·m + j)·2 + u)·4 + k``, the smallest ``m`` that holds
    every label) when every coupling is an edge of that graph: inside a cell between the two
    shores, or along a shore to the next cell (vertical ``u = 0`` down a column, horizontal
    ``u = 1`` along a row, same ``k``). Anything else: ``None``."""
    if row.size == 0:
        return None
    m = max(1, math.isqrt(int(ints.max()) // 8))
    while 8 * m * m <= int(ints.max()):
        m += 1
    i, j, u, k = np.unravel_index(ints, (m, m, 2, 4))
    a, b = row, col
    same_cell = (i[a] == i[b]) & (j[a] == j[b])
    inside = same_cell & (u[a] != u[b])
    along = (u[a] == u[b]) & (k[a] == k[b])
    vertical = along & (u[a] == 0) & (j[a] == j[b]) & (np.abs(i[a] - i[b]) == 1)
    horizontal = along & (u[a] == 1) & (i[a] == i[b]) & (np.abs(j[a] - j[b]) == 1)
    if not np.all(inside | vertical | horizontal):
        return None
    return np.stack([i, j, u, k], axis=1).astype(np.int64)


def solve_exact(
    hamiltonian: Hamiltonian,
    *,
    method: str = "auto",
    num_levels: int = 1,
    max_states: int = 65536,
    atol: float | None = None,
    max_variables: int = MAX_VARIABLES,
    memory_limit: int | None = None,
    order: Any = None,
    progress: Any = None,
) -> ExactSolution:
    """The exact ground level of ``hamiltonian`` (converted exactly to SPIN internally).

    ``method``: ``enumerate`` (every assignment; at most ``max_variables`` variables; any
    ``num_levels``), ``tree`` (variable elimination over a tree decomposition; any size whose
    tables fit ``memory_limit`` bytes, by default the memory budget: half the available memory,
    or ``qevo --max-memory``; the ground level only), or ``auto``: enumeration up to
    :data:`ENUMERATE_AUTO_LIMIT` variables or when ``num_levels > 1``, else the tree method when
    it fits and costs less than enumeration, else enumeration within ``max_variables``.
    A problem neither method takes raises :class:`LimitExceeded` before any work, naming the
    width and bytes the tree method needs. ``order``: an elimination order for the tree method
    (a permutation of the variable indices, e.g. a Chimera or Pegasus order from
    ``dwave_networkx``), used instead of the heuristics.
    """
    if method not in METHODS:
        raise ValidationError(f"exact: method must be one of {', '.join(METHODS)}, got {method!r}")
    if memory_limit is None:
        memory_limit = memory_budget()
    if num_levels < 1 or max_states < 1:
        raise ValidationError("num_levels and max_states must be at least 1")
    n = hamiltonian.num_variables
    spin = hamiltonian.to_spin()
    if method == "tree" and num_levels > 1:
        raise ValidationError(
            "exact: the tree method finds the ground level only; num_levels > 1 needs "
            "method='enumerate'"
        )
    use_tree = method == "tree"
    plan = None
    refusal = ""
    if method == "tree" or (method == "auto" and n > ENUMERATE_AUTO_LIMIT and num_levels == 1):
        try:
            plan = plan_elimination(
                n,
                spin.row,
                spin.col,
                max_width=affordable_width(memory_limit),
                order=order,
                coordinates=None if order is not None else _label_coordinates(hamiltonian),
            )
        except ValueError as exc:
            raise ValidationError(f"exact: {exc}") from None
        try:
            check_plan(plan, memory_limit)
            fits = True
        except MemoryError as exc:
            fits = False
            refusal = str(exc)
        if method == "tree" and not fits:
            raise LimitExceeded(
                f"{refusal}; raise memory_limit, or reduce the problem (fix, components, "
                f"sparsify), or use a sampler ({option('backend', 'sa')})"
            )
        # Enumeration prunes most of its 2**n states; the tree's work is its table entries.
        use_tree = method == "tree" or (
            fits and (n > max_variables or plan.table_entries <= (1 << n) >> 6)
        )
        if method == "auto" and not use_tree and n > max_variables:
            raise LimitExceeded(
                f"the exact solver enumerates at most {max_variables} variables and this "
                f"problem has {n}; {refusal}. Reduce the problem first (fix, components, "
                f"sparsify), raise memory_limit, or use a sampler ({option('backend', 'sa')})"
            )
    start = time.perf_counter()
    if use_tree:
        assert plan is not None
        tree = solve_tree(
            spin.linear,
            spin.row,
            spin.col,
            spin.quad,
            spin.offset,
            max_states=max_states,
            atol=atol,
            memory_limit=memory_limit,
            plan=plan,
        )
        raw_levels = tree.levels
        width: int | None = tree.width
    else:
        if n > max_variables:
            hint = (
                "num_levels > 1 needs enumeration (the tree method finds the ground level only)"
                if num_levels > 1
                else "Use method='tree' for a sparse problem"
            )
            raise LimitExceeded(
                f"the exact solver enumerates at most {max_variables} variables "
                f"(2**{max_variables} states); this problem has {n}. {hint}; reduce it first "
                "(fix, components, sparsify) or use a sampler (--backend sa)"
            )
        try:
            result = enumerate_ising(
                spin.linear,
                spin.row,
                spin.col,
                spin.quad,
                spin.offset,
                num_levels=num_levels,
                max_states=max_states,
                atol=atol,
                max_variables=max_variables,
                progress=progress,
            )
        except ValueError as exc:  # the kernel's own limit checks
            raise LimitExceeded(str(exc)) from None
        raw_levels = result.levels
        width = None
    seconds = time.perf_counter() - start
    convert = hamiltonian.vartype is BINARY
    levels = tuple(
        ExactLevel(
            energy=float(lv.energy),
            count=int(lv.count),
            states=spin_to_binary(lv.states) if convert else lv.states,
            truncated=bool(lv.truncated),
        )
        for lv in raw_levels
    )
    return ExactSolution(
        hamiltonian, levels, seconds, atol, "tree" if use_tree else "enumerate", width
    )


class ExactBackend:
    """Backend plugin ``exact``: the reference solver (numpy only)."""

    name = "exact"
    capabilities = Capabilities(
        vartypes=frozenset({SPIN, BINARY}),
        max_variables=None,
        needs_embedding=False,
        samples=False,
        exact=True,
        artifacts=("exact.json",),
        extra=None,
        certified=True,
        degeneracy=True,
    )

    def lower(self, hamiltonian: Hamiltonian, **options: Any) -> ExactSolution:
        """The exact solution itself is this backend's native artifact."""
        return solve_exact(hamiltonian, **options)

    def write(self, native: ExactSolution, directory: Path, **options: Any) -> list[Path]:
        path = Path(directory) / "exact.json"
        atomic_write_text(path, json.dumps(native.to_dict(), indent=1) + "\n")
        return [path]

    def read_artifact(self, path: Path) -> dict[str, Any]:
        data = read_json_file(path, max_bytes=ARTIFACT_MAX_BYTES)
        if not isinstance(data, dict) or data.get("solver") != "exact":
            raise ValidationError(f"{path}: not an exact.json artifact")
        return data

    def solve(self, hamiltonian: Hamiltonian, **options: Any) -> SampleResult:
        unknown = sorted(set(options) - set(SOLVE_OPTIONS))
        if unknown:
            raise ValidationError(
                f"exact has no option {unknown[0]!r}; its options: {', '.join(SOLVE_OPTIONS)}"
            )
        sol = solve_exact(hamiltonian, **options)
        states = np.concatenate([lv.states for lv in sol.levels]) if sol.levels else None
        result = SampleResult.from_samples(
            hamiltonian,
            states if states is not None else np.zeros((0, hamiltonian.num_variables)),
            info={
                "solver": "exact",
                "method": sol.method,
                **({"width": sol.width} if sol.width is not None else {}),
                "ground_energy": sol.ground_energy,
                "degeneracy": sol.degeneracy,
                "truncated": sol.levels[0].truncated,
                "seconds": sol.seconds,
                "levels": [(lv.energy, lv.count) for lv in sol.levels],
                "optimal": True,
                "lower_bound": sol.ground_energy,
                "gap": 0.0,
                "lower_bound_source": "tree" if sol.method == "tree" else "exact",
            },
        )
        if len(result):
            # The best sample is a proved ground state: its IR energy (a float64 sum, which can
            # differ from the correctly rounded ground energy by a rounding error) is the bound,
            # so the gap is exactly 0.
            result.info["lower_bound"] = result.best_energy
        return result
