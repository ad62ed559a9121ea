"""Import a ``dimod.BinaryQuadraticModel`` as a Hamiltonian: same vartype, labels and energies.

The BQM is read through ``to_numpy_vectors`` (vectorised); the arrays are validated by the
Hamiltonian constructor, so nothing malformed reaches the IR.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.plugins import require
from qevo_ir.vartypes import as_vartype

__all__ = ["from_dimod_bqm"]


def from_dimod_bqm(bqm: Any, *, keep_zeros: bool = False) -> Hamiltonian:
    """The Hamiltonian of ``bqm`` with the BQM's vartype, variable order and labels.

    dimod and the IR share the energy convention ``offset + Σ h v + Σ J v v`` (minimised), so
    coefficients are copied unchanged and energies agree for every assignment. Labels must be
    ``int``, ``str`` or tuples of those (float and bool labels raise
    :class:`~qevo_ir.errors.LabelError`, because ``1``, ``1.0`` and ``True`` collide). Explicit
    zero interactions are dropped unless ``keep_zeros``.

    Raises
    ------
    BackendUnavailable
        dimod is not installed (``pip install 'qevo-ir[dimod]'``).
    ValidationError
        ``bqm`` is not a binary quadratic model or has non-finite biases.
    """
    dimod = require("dimod", "dimod")
    if not isinstance(bqm, dimod.BinaryQuadraticModel):
        raise ValidationError(
            f"from_dimod_bqm takes a dimod.BinaryQuadraticModel, got {type(bqm).__name__}"
        )
    labels = list(bqm.variables)
    vectors = bqm.to_numpy_vectors(variable_order=labels, sort_indices=True)
    quadratic = vectors.quadratic
    return Hamiltonian(
        np.asarray(vectors.linear_biases, dtype=np.float64),
        np.asarray(quadratic.row_indices, dtype=np.int64),
        np.asarray(quadratic.col_indices, dtype=np.int64),
        np.asarray(quadratic.biases, dtype=np.float64),
        float(vectors.offset),
        vartype=as_vartype(bqm.vartype),
        variables=labels,
        keep_zeros=keep_zeros,
    )
