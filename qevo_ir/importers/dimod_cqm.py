"""dimod ``ConstrainedQuadraticModel`` and ``BinaryPolynomial`` import.

A CQM becomes a :class:`~qevo_ir.constrained.ConstrainedModel` (binary, spin and integer
variables with their bounds; linear constraints; constraints dimod marks discrete are kind
``one-hot``); real variables and quadratic constraints are refused. A ``BinaryPolynomial`` becomes
a :class:`~qevo_ir.polynomial.PolynomialHamiltonian`. Labels are checked like every other label.
"""

from __future__ import annotations

from typing import Any

from qevo_ir.constrained import ConstrainedModel, Constraint
from qevo_ir.errors import ValidationError
from qevo_ir.plugins import require
from qevo_ir.polynomial import PolynomialHamiltonian

__all__ = ["from_binary_polynomial", "from_cqm"]


def from_binary_polynomial(poly: Any) -> PolynomialHamiltonian:
    """The PolynomialHamiltonian of a ``dimod.BinaryPolynomial`` (exact, labels kept)."""
    dimod = require("dimod", "dimod")
    if not isinstance(poly, dimod.BinaryPolynomial):
        raise ValidationError(
            f"from_binary_polynomial takes a dimod.BinaryPolynomial, got {type(poly).__name__}"
        )
    terms: dict[tuple[Any, ...], float] = {}
    offset = 0.0
    for term, bias in poly.items():
        if not term:
            offset += float(bias)
        else:
            terms[tuple(sorted(term, key=repr))] = float(bias)
    return PolynomialHamiltonian.from_terms(terms, offset, vartype=poly.vartype.name)


def from_cqm(cqm: Any) -> ConstrainedModel:
    """The ConstrainedModel of a ``dimod.ConstrainedQuadraticModel`` (minimised, as dimod's)."""
    dimod = require("dimod", "dimod")
    if not isinstance(cqm, dimod.ConstrainedQuadraticModel):
        raise ValidationError(
            f"from_cqm takes a dimod.ConstrainedQuadraticModel, got {type(cqm).__name__}"
        )
    spec: dict[Any, Any] = {}
    for v in cqm.variables:
        vt = cqm.vartype(v)
        if vt is dimod.BINARY:
            spec[v] = "binary"
        elif vt is dimod.SPIN:
            spec[v] = "spin"
        elif vt is dimod.INTEGER:
            spec[v] = ("integer", float(cqm.lower_bound(v)), float(cqm.upper_bound(v)))
        else:
            raise ValidationError(
                f"CQM variable {v!r} is {vt.name}; only binary, spin and integer variables are "
                "imported"
            )
    obj = cqm.objective
    terms: dict[tuple[Any, ...], float] = {}
    for v, bias in obj.linear.items():
        if bias:
            terms[(v,)] = float(bias)
    for u, v, bias in obj.iter_quadratic():
        key = (u, v)
        terms[key] = terms.get(key, 0.0) + float(bias)
    discrete = set(cqm.discrete)
    senses = {"==": "==", "<=": "<=", ">=": ">="}
    cons: list[Constraint] = []
    for label, comp in cqm.constraints.items():
        lhs = comp.lhs
        if lhs.num_interactions:
            raise ValidationError(
                f"CQM constraint {label!r} is quadratic; only linear constraints are imported"
            )
        kind = "one-hot" if label in discrete else "linear"
        cons.append(
            Constraint(
                {v: float(b) for v, b in lhs.linear.items() if b},
                senses[comp.sense.value],  # type: ignore[arg-type]
                float(comp.rhs) - float(lhs.offset),
                str(label),
                kind,
            )
        )
    return ConstrainedModel.build(spec, terms, cons, offset=float(obj.offset))
