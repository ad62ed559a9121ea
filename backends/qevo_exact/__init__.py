"""The reference exact solver: exhaustive, vectorised enumeration of every assignment.

It needs numpy only and registers in the ``qevo_ir.backends`` entry-point group like any other
backend. It returns the ground energy, every ground state (up to ``max_states``), the exact
degeneracy, and the lowest ``num_levels`` distinct energy levels.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.atomic import atomic_write_text
from qevo_ir.backend import Capabilities
from qevo_ir.errors import LimitExceeded, ValidationError
from qevo_ir.formats import read_json_file
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.results import SampleResult
from qevo_ir.solvers.enumerate import DEFAULT_MAX_VARIABLES, enumerate_ising
from qevo_ir.vartypes import BINARY, SPIN, spin_to_binary

__all__ = ["MAX_VARIABLES", "ExactBackend", "ExactLevel", "ExactSolution", "solve_exact"]

MAX_VARIABLES = DEFAULT_MAX_VARIABLES


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
        """JSON-ready: assignments are ``{label: value}`` in the source's labels and vartype."""
        labels = self.hamiltonian.labels
        label_json = [_json_label(x) for x in labels]

        def states(arr: npt.NDArray[np.int8]) -> list[list[int]]:
            return [list(map(int, row)) for row in arr]

        return {
            "solver": "exact",
            "num_variables": self.hamiltonian.num_variables,
            "vartype": self.hamiltonian.vartype.value,
            "labels": label_json,
            "ground_energy": self.ground_energy,
            "degeneracy": self.degeneracy,
            "ground_states": [
                dict(zip(map(_key, label_json), row, strict=True))
                for row in states(self.ground_states)
            ],
            "ground_states_truncated": self.levels[0].truncated,
            "levels": [
                {
                    "energy": lv.energy,
                    "count": lv.count,
                    "states": states(lv.states),
                    "truncated": lv.truncated,
                }
                for lv in self.levels
            ],
            "seconds": self.seconds,
            "source_hash": self.hamiltonian.content_hash(),
        }


def _key(label: Any) -> str:
    """A JSON object key for a label: strings as they are, anything else as its JSON text."""
    return label if isinstance(label, str) else json.dumps(label)


def _json_label(label: Any) -> Any:
    return [_json_label(x) for x in label] if isinstance(label, tuple) else label


def solve_exact(
    hamiltonian: Hamiltonian,
    *,
    num_levels: int = 1,
    max_states: int = 65536,
    atol: float | None = None,
    max_variables: int = MAX_VARIABLES,
    progress: Any = None,
) -> ExactSolution:
    """Enumerate every assignment of ``hamiltonian`` (converted exactly to SPIN internally).

    Raises :class:`LimitExceeded` at once when ``num_variables > max_variables``.
    """
    n = hamiltonian.num_variables
    if n > max_variables:
        raise LimitExceeded(
            f"the exact solver is limited to {max_variables} variables (2**{max_variables} "
            f"states); this problem has {n}. Reduce it first (fix, components, sparsify) or use "
            "a sampler (--backend sa)"
        )
    if num_levels < 1 or max_states < 1:
        raise ValidationError("num_levels and max_states must be at least 1")
    spin = hamiltonian.to_spin()
    start = time.perf_counter()
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
    seconds = time.perf_counter() - start
    convert = hamiltonian.vartype is BINARY
    levels = tuple(
        ExactLevel(
            energy=float(lv.energy),
            count=int(lv.count),
            states=spin_to_binary(lv.states) if convert else lv.states,
            truncated=bool(lv.truncated),
        )
        for lv in result.levels
    )
    return ExactSolution(hamiltonian, levels, seconds, atol)


class ExactBackend:
    """Backend plugin ``exact``: the reference solver (numpy only)."""

    name = "exact"
    capabilities = Capabilities(
        vartypes=frozenset({SPIN, BINARY}),
        max_variables=MAX_VARIABLES,
        needs_embedding=False,
        samples=False,
        exact=True,
        artifacts=("exact.json",),
        extra=None,
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
        sol = solve_exact(hamiltonian, **options)
        states = np.concatenate([lv.states for lv in sol.levels]) if sol.levels else None
        return SampleResult.from_samples(
            hamiltonian,
            states if states is not None else np.zeros((0, hamiltonian.num_variables)),
            info={
                "solver": "exact",
                "ground_energy": sol.ground_energy,
                "degeneracy": sol.degeneracy,
                "truncated": sol.levels[0].truncated,
                "seconds": sol.seconds,
                "levels": [(lv.energy, lv.count) for lv in sol.levels],
            },
        )
