"""Lowering between the IR and dimod: ``Hamiltonian`` ↔ ``dimod.BinaryQuadraticModel``, vectorised.

The IR and dimod share one energy convention (``E = offset + Σ h v + Σ J v v``, minimised), so
lowering copies coefficients unchanged and keeps the vartype and the labels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.importers.dimod_bqm import from_dimod_bqm
from qevo_ir.plugins import require
from qevo_ir.vartypes import as_vartype

if TYPE_CHECKING:
    import dimod

__all__ = ["from_bqm", "is_embedded", "native_energies", "problem_hamiltonian", "to_bqm"]


def is_embedded(problem: object) -> bool:
    """True for an ``EmbeddedHamiltonian`` (duck-typed: it has ``chains`` and ``target``)."""
    return hasattr(problem, "chains") and hasattr(problem, "target")


def problem_hamiltonian(problem: Any) -> Hamiltonian:
    """The Hamiltonian that is lowered: ``problem`` itself, or an embedded problem's ``target``."""
    ham = problem.target if is_embedded(problem) else problem
    if not isinstance(ham, Hamiltonian):
        raise ValidationError(
            f"expected a qevo_ir Hamiltonian or EmbeddedHamiltonian, got {type(problem).__name__}"
        )
    return ham


def to_bqm(problem: Any) -> dimod.BinaryQuadraticModel:
    """The BQM with the same energy as ``problem`` for every assignment.

    ``problem`` is a :class:`~qevo_ir.hamiltonian.Hamiltonian` or an ``EmbeddedHamiltonian`` (its
    ``target`` is lowered). The BQM has the IR's vartype, its variables in IR index order and
    labelled with the IR's labels. Only the IR's arrays reach dimod: they are validated on
    construction (indices in ``[0, n)``, finite biases), which dimod itself does not check.
    """
    dimod_ = require("dimod", "dimod")
    ham = problem_hamiltonian(problem)
    order = None if ham.variables.is_range else ham.labels
    dense = _dense_upper(ham)
    bqm: dimod.BinaryQuadraticModel
    if dense is not None:
        # dimod fills its adjacency from a dense matrix about 2.5x faster than from COO vectors.
        bqm = dimod_.BinaryQuadraticModel(ham.linear, dense, ham.offset, ham.vartype.value)
        if order is not None:
            bqm.relabel_variables(dict(enumerate(order)), inplace=True)  # type: ignore[no-untyped-call]
        return bqm
    bqm = dimod_.BinaryQuadraticModel.from_numpy_vectors(
        ham.linear,
        (ham.row, ham.col, ham.quad),
        ham.offset,
        ham.vartype.value,
        variable_order=order,
    )
    return bqm


#: The dense lowering is used from this fraction of the ``n(n-1)/2`` possible couplings ...
_DENSE_MIN_FILL = 0.25
#: ... up to this many variables (the scratch matrix is ``8 n²`` bytes: 128 MiB at 4096).
_DENSE_MAX_VARIABLES = 4096


def _dense_upper(ham: Hamiltonian) -> npt.NDArray[np.float64] | None:
    """The strictly upper-triangular coupling matrix when the dense constructor is faster.

    Not used when an explicit zero coupling is stored: dimod's dense constructor drops zeros,
    and the BQM must keep every interaction of the IR.
    """
    n, m = ham.num_variables, ham.num_interactions
    if n < 2 or n > _DENSE_MAX_VARIABLES or m < _DENSE_MIN_FILL * n * (n - 1) / 2:
        return None
    if not np.all(ham.quad != 0.0):
        return None
    dense = np.zeros((n, n), dtype=np.float64)
    dense[ham.row, ham.col] = ham.quad
    return dense


def from_bqm(bqm: dimod.BinaryQuadraticModel, *, keep_zeros: bool = True) -> Hamiltonian:
    """The IR Hamiltonian of ``bqm`` (same vartype, labels and variable order), vectorised.

    Labels must be accepted by :class:`~qevo_ir.variables.VariableTable` (int, str, tuples of
    those); float and bool labels raise :class:`~qevo_ir.errors.LabelError`. Explicit zero
    interactions are kept unless ``keep_zeros`` is false.
    """
    return from_dimod_bqm(bqm, keep_zeros=keep_zeros)


def native_energies(
    bqm: dimod.BinaryQuadraticModel, samples: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Energies computed by dimod of samples whose column ``k`` is ``bqm.variables[k]``.

    For a BQM made by :func:`to_bqm`, that is the IR's variable order and vartype, so the result is
    comparable with :meth:`Hamiltonian.energies`.
    """
    arr = np.atleast_2d(np.asarray(samples))
    n = len(bqm.variables)
    if arr.ndim != 2 or arr.shape[1] != n:
        raise ValidationError(f"samples must have shape (m, {n}), got {np.shape(samples)}")
    if n == 0:
        return np.full(arr.shape[0], float(bqm.offset))
    values = (-1, 1) if as_vartype(bqm.vartype).value == "SPIN" else (0, 1)
    if arr.size and not np.all((arr == values[0]) | (arr == values[1])):
        raise ValidationError(f"samples contain values outside {set(values)} for this BQM")
    energies = bqm.energies((arr.astype(np.int8), list(bqm.variables)))
    return np.asarray(energies, dtype=np.float64)
