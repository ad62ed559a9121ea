"""``qiskit_optimization.QuadraticProgram`` import and export.

An unconstrained binary program imports as a Hamiltonian (a maximisation problem negated so it is
minimised, as every Hamiltonian in the IR is). A program with linear constraints or bounded
integer variables imports as a :class:`~qevo_ir.constrained.ConstrainedModel` (sense kept, lowered
by ``penalize``); quadratic constraints and continuous variables are refused.
:func:`to_quadratic_program` writes a ConstrainedModel back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.plugins import require
from qevo_ir.vartypes import BINARY

__all__ = ["from_quadratic_program", "to_quadratic_program"]


def from_quadratic_program(qp: Any) -> Any:
    """The BINARY Hamiltonian of an unconstrained binary QuadraticProgram, or the
    :class:`ConstrainedModel` of one with linear constraints or bounded integer variables.

    ``E(x) = constant + lᵀx + Σ_{i,j} Q_ij x_i x_j`` (``Q`` as qiskit-optimization stores it,
    ``Q_ii`` folded into the linear term), negated for ``maximize``. Variable names are the
    labels, in the program's order.

    Raises
    ------
    BackendUnavailable
        qiskit-optimization is not installed.
    ValidationError
        The program has quadratic constraints or continuous variables, or is not a
        QuadraticProgram.
    """
    qo = require("qiskit_optimization", "bench")
    if not isinstance(qp, qo.QuadraticProgram):
        raise ValidationError(
            f"from_quadratic_program takes a QuadraticProgram, got {type(qp).__name__}"
        )
    n_lin, n_quad = len(qp.linear_constraints), len(qp.quadratic_constraints)
    if n_quad:
        raise ValidationError(
            f"QuadraticProgram {qp.name!r} has {n_quad} quadratic constraints; only linear "
            "constraints are imported"
        )
    binary = qo.problems.VarType.BINARY
    integer = qo.problems.VarType.INTEGER
    bad = [v.name for v in qp.variables if v.vartype not in (binary, integer)]
    if bad:
        raise ValidationError(
            f"QuadraticProgram {qp.name!r} has continuous variables {bad[:5]}"
            f"{' ...' if len(bad) > 5 else ''}; only binary and integer variables are imported"
        )
    if n_lin or any(v.vartype == integer for v in qp.variables):
        return _constrained(qp, qo)
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


def _constrained(qp: Any, qo: Any) -> Any:
    from qevo_ir.constrained import ConstrainedModel, Constraint

    names = [v.name for v in qp.variables]
    spec: dict[str, Any] = {}
    for v in qp.variables:
        if v.vartype == qo.problems.VarType.BINARY:
            spec[v.name] = "binary"
        else:
            spec[v.name] = ("integer", float(v.lowerbound), float(v.upperbound))
    obj = qp.objective
    terms: dict[tuple[str, ...], float] = {}
    for i, c in obj.linear.to_dict().items():
        terms[(names[int(i)],)] = terms.get((names[int(i)],), 0.0) + float(c)
    for (i, j), c in obj.quadratic.to_dict().items():
        key = (names[int(i)], names[int(j)])
        terms[key] = terms.get(key, 0.0) + float(c)
    senses = {"EQ": "==", "LE": "<=", "GE": ">="}
    cons = [
        Constraint(
            {names[int(i)]: float(c) for i, c in con.linear.to_dict().items()},
            senses[con.sense.name],  # type: ignore[arg-type]
            float(con.rhs),
            con.name or None,
        )
        for con in qp.linear_constraints
    ]
    sense = "max" if obj.sense == qo.problems.QuadraticObjective.Sense.MAXIMIZE else "min"
    return ConstrainedModel.build(spec, terms, cons, offset=float(obj.constant), sense=sense)


def to_quadratic_program(model: Any, name: str = "qevo") -> Any:
    """A ``QuadraticProgram`` of a :class:`ConstrainedModel` of degree <= 2 with binary and
    integer variables (spin variables and higher-degree objectives are refused); variable
    names are ``str(label)``."""
    qo = require("qiskit_optimization", "bench")
    from qevo_ir.constrained import INTEGER_KIND, SPIN_KIND, ConstrainedModel

    if not isinstance(model, ConstrainedModel):
        raise ValidationError(f"to_quadratic_program takes a ConstrainedModel, got {type(model)}")
    if np.any(model.kinds == SPIN_KIND) or model.degree > 2:
        raise ValidationError(
            "a QuadraticProgram holds binary/integer variables and a quadratic objective; this "
            "model has spin variables or a higher-degree objective"
        )
    qp = qo.QuadraticProgram(name)
    names = [str(x) for x in model.labels]
    if len(set(names)) != len(names):
        raise ValidationError("two variable labels print the same; relabel the model first")
    for k, nm in enumerate(names):
        if model.kinds[k] == INTEGER_KIND:
            qp.integer_var(int(model.lower[k]), int(model.upper[k]), nm)
        else:
            qp.binary_var(nm)
    p, idx, coef, off = model.objective
    linear: dict[str, float] = {}
    quadratic: dict[tuple[str, str], float] = {}
    for t in range(len(coef)):
        vs = [names[int(i)] for i in idx[p[t] : p[t + 1]]]
        if len(vs) == 1:
            linear[vs[0]] = linear.get(vs[0], 0.0) + float(coef[t])
        else:
            key = (vs[0], vs[1])
            quadratic[key] = quadratic.get(key, 0.0) + float(coef[t])
    goal = qp.maximize if model.sense == "max" else qp.minimize
    goal(linear=linear, quadratic=quadratic, constant=float(off))
    A = model.constraint_matrix
    for k, (cname, sense) in enumerate(zip(model.constraint_names, model.senses, strict=True)):
        cols = A.indices[A.indptr[k] : A.indptr[k + 1]]
        vals = A.data[A.indptr[k] : A.indptr[k + 1]]
        qp.linear_constraint(
            {names[int(c)]: float(v) for c, v in zip(cols, vals, strict=True)},
            sense,
            float(model.rhs[k]),
            cname,
        )
    return qp
