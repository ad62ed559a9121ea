"""Samples and their energies, in the IR's variables: what every backend's ``solve`` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.variables import Label, VariableTable
from qevo_ir.vartypes import Vartype, binary_to_spin, spin_to_binary

__all__ = ["SampleResult"]


def _aggregate(
    arr: npt.NDArray[np.int8], occ: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64]]:
    """Merge identical rows, summing occurrences; rows are packed to bytes first (fast)."""
    m, n = arr.shape
    if n == 0:
        return arr[:1], np.array([occ.sum()], dtype=np.int64)
    packed = np.packbits(arr > 0, axis=1)
    keys = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).reshape(m)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    counts = np.bincount(inverse.reshape(-1), weights=occ, minlength=len(first))
    return arr[first], counts.astype(np.int64)


@dataclass(frozen=True, eq=False)
class SampleResult:
    """Distinct samples sorted by energy, with how often each was seen.

    ``samples`` is ``(m, n)`` int8 in ``vartype``; ``energies[k]`` is the IR energy of row ``k``
    (never a vendor's number: backends recompute it with :meth:`Hamiltonian.energies`).
    """

    samples: npt.NDArray[np.int8]
    energies: npt.NDArray[np.float64]
    num_occurrences: npt.NDArray[np.int64]
    variables: VariableTable
    vartype: Vartype
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_samples(
        cls,
        hamiltonian: Hamiltonian,
        samples: npt.ArrayLike,
        *,
        vartype: Vartype | None = None,
        num_occurrences: npt.ArrayLike | None = None,
        info: dict[str, Any] | None = None,
        aggregate: bool = True,
    ) -> SampleResult:
        """Build from raw samples (in ``vartype``, default the IR's); energies from the IR."""
        arr = np.asarray(samples, dtype=np.int8)
        n = hamiltonian.num_variables
        if arr.ndim == 1:
            arr = arr.reshape(1, -1) if n else arr.reshape(-1, 0)
        if arr.ndim != 2 or arr.shape[1] != n:
            raise ValidationError(f"samples of shape {arr.shape} do not have {n} columns")
        vt = vartype or hamiltonian.vartype
        if vt is not hamiltonian.vartype:
            arr = binary_to_spin(arr) if vt is Vartype.BINARY else spin_to_binary(arr)
        occ = (
            np.ones(len(arr), dtype=np.int64)
            if num_occurrences is None
            else np.asarray(num_occurrences, dtype=np.int64).reshape(-1)
        )
        if aggregate and len(arr):
            arr, occ = _aggregate(arr, occ)
        energies = hamiltonian.energies(arr) if len(arr) else np.zeros(0)
        order = np.lexsort((np.arange(len(arr)), energies))
        return cls(
            samples=np.ascontiguousarray(arr[order]),
            energies=energies[order],
            num_occurrences=occ[order],
            variables=hamiltonian.variables,
            vartype=hamiltonian.vartype,
            info=dict(info or {}),
        )

    def __len__(self) -> int:
        return len(self.energies)

    @property
    def best_energy(self) -> float:
        if not len(self):
            raise ValidationError("the result holds no samples")
        return float(self.energies[0])

    def lowest(self, atol: float = 1e-9) -> SampleResult:
        """The samples whose energy is within ``atol`` of the best."""
        keep = self.energies <= self.best_energy + atol
        return SampleResult(
            self.samples[keep],
            self.energies[keep],
            self.num_occurrences[keep],
            self.variables,
            self.vartype,
            self.info,
        )

    def assignments(self, limit: int | None = None) -> list[dict[Label, int]]:
        """Samples as ``{label: value}`` dicts in the source's labels and vartype."""
        labels = self.variables.labels
        rows = self.samples if limit is None else self.samples[:limit]
        return [dict(zip(labels, map(int, row), strict=True)) for row in rows]

    def to_vartype(self, vartype: Vartype) -> npt.NDArray[np.int8]:
        if vartype is self.vartype:
            return self.samples
        if vartype is Vartype.BINARY:
            return spin_to_binary(self.samples)
        return binary_to_spin(self.samples)
