"""Import an unconstrained binary ``qiskit_optimization.QuadraticProgram`` as a Hamiltonian.

Constraints and non-binary variables are refused (convert with qiskit-optimization's
``QuadraticProgramToQubo`` first); a maximisation problem is negated so the Hamiltonian is
minimised, as every Hamiltonian in the IR is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.plugins import require
from qevo_ir.vartypes import BINARY

__all__ = ["from_quadratic_program"]


def from_quadratic_program(qp: Any) -> Hamiltonian:
    """The BINARY Hamiltonian of an unconstrained binary QuadraticProgram.

    ``E(x) = constant + lᵀx + Σ_{i,j} Q_ij x_i x_j`` (``Q`` as qiskit-optimization stores it,
    ``Q_ii`` folded into the linear term), negated for ``maximize``. Variable names are the
    labels, in the program's order.

    Raises
    ------
    BackendUnavailable
        qiskit-optimization is not installed.
    ValidationError
        The program has constraints or non-binary variables (the message names them and the
        converter to use), or is not a QuadraticProgram.
    """
    qo = require("qiskit_optimization", "bench")
    if not isinstance(qp, qo.QuadraticProgram):
        raise ValidationError(
            f"from_quadratic_program takes a QuadraticProgram, got {type(qp).__name__}"
        )
    n_lin, n_quad = len(qp.linear_constraints), len(qp.quadratic_constraints)
    if n_lin or n_quad:
        raise ValidationError(
            f"QuadraticProgram {qp.name!r} has {n_lin} linear and {n_quad} quadratic "
            "constraints; only unconstrained programs are imported. Convert it with "
            "qiskit_optimization.converters.QuadraticProgramToQubo() first"
        )
    binary = qo.problems.VarType.BINARY
    bad = [v.name for v in qp.variables if v.vartype != binary]
    if bad:
        raise ValidationError(
            f"QuadraticProgram {qp.name!r} has non-binary variables {bad[:5]}"
            f"{' ...' if len(bad) > 5 else ''}; convert integers with "
            "qiskit_optimization.converters.IntegerToBinary() first"
        )
    n = qp.get_num_vars()
    objective = qp.objective
    sign = -1.0 if objective.sense == qo.problems.QuadraticObjective.Sense.MAXIMIZE else 1.0
    lin = sp.coo_matrix(objective.linear.coefficients, shape=(1, n))
    linear = np.zeros(n)
    np.add.at(linear, lin.col.astype(np.int64), np.asarray(lin.data, dtype=np.float64))
    quad = sp.coo_matrix(objective.quadratic.coefficients, shape=(n, n))
    r = quad.row.astype(np.int64)
    c = quad.col.astype(np.int64)
    v = np.asarray(quad.data, dtype=np.float64)
    diag = r == c
    linear += np.bincount(r[diag], weights=v[diag], minlength=n)
    off = ~diag
    return Hamiltonian(
        sign * linear,
        r[off],
        c[off],
        sign * v[off],
        sign * float(objective.constant),
        vartype=BINARY,
        variables=[v.name for v in qp.variables],
    )
