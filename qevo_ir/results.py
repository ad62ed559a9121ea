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


def _positions(labels: list[Any]) -> dict[Any, int]:
    return {label: k for k, label in enumerate(labels)}


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

    def to_sampleset(self) -> Any:
        """This result as a ``dimod.SampleSet``: the source's labels and vartype, the IR
        energies, the occurrence counts, and ``info`` (needs the ``dimod`` extra)."""
        from qevo_ir.plugins import require

        dimod = require("dimod", "dimod")
        labels = list(self.variables.labels)
        return dimod.SampleSet.from_samples(
            (np.asarray(self.samples, dtype=np.int8).reshape(len(self), len(labels)), labels),
            vartype=self.vartype.value,
            energy=np.asarray(self.energies, dtype=np.float64),
            num_occurrences=np.asarray(self.num_occurrences, dtype=np.int64),
            info=dict(self.info),
        )

    @classmethod
    def from_sampleset(cls, sampleset: Any, hamiltonian: Hamiltonian | None = None) -> SampleResult:
        """A result from a ``dimod.SampleSet`` (any sampler's).

        With ``hamiltonian``, columns are matched to its variables by label, samples are
        converted to its vartype, and energies are recomputed from the IR (never the vendor's
        numbers); identical rows are merged. Without it, the sample set's own labels, vartype
        and energies are kept (rows sorted by energy).
        """
        record = sampleset.record
        labels = list(sampleset.variables)
        raw = np.asarray(record.sample, dtype=np.int8).reshape(len(record), len(labels))
        occ = np.asarray(record.num_occurrences, dtype=np.int64).reshape(-1)
        vt = Vartype(getattr(sampleset.vartype, "name", str(sampleset.vartype)))
        info = dict(getattr(sampleset, "info", {}) or {})
        if hamiltonian is not None:
            if len(labels) != hamiltonian.num_variables:
                raise ValidationError(
                    f"the sample set has {len(labels)} variables, the Hamiltonian "
                    f"{hamiltonian.num_variables}"
                )
            position = _positions(labels)
            try:
                cols = [position[x] for x in hamiltonian.labels]
            except KeyError as exc:
                raise ValidationError(
                    f"the sample set lacks variable {exc.args[0]!r} of the Hamiltonian"
                ) from None
            return cls.from_samples(
                hamiltonian, raw[:, cols], vartype=vt, num_occurrences=occ, info=info
            )
        energies = np.asarray(record.energy, dtype=np.float64).reshape(-1)
        order = np.lexsort((np.arange(len(raw)), energies))
        return cls(
            samples=np.ascontiguousarray(raw[order]),
            energies=energies[order],
            num_occurrences=occ[order],
            variables=VariableTable(labels),
            vartype=vt,
            info=info,
        )

    def to_vartype(self, vartype: Vartype) -> npt.NDArray[np.int8]:
        if vartype is self.vartype:
            return self.samples
        if vartype is Vartype.BINARY:
            return spin_to_binary(self.samples)
        return binary_to_spin(self.samples)
