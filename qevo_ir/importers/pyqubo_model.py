"""Import a compiled PyQUBO model, or the ``(qubo, offset)`` pair its ``to_qubo()`` returns.

PyQUBO may be absent (it has no wheels for every Python): the ``(qubo, offset)`` form needs no
SDK at all, and a compiled model is read through its public ``to_qubo`` and ``variables``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, overload

import numpy as np

from qevo_ir.constrained import ConstrainedModel
from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.variables import Label, check_label
from qevo_ir.vartypes import BINARY

__all__ = ["from_pyqubo", "qubo_to_hamiltonian"]


def qubo_to_hamiltonian(
    qubo: Mapping[tuple[Any, Any], float],
    offset: float = 0.0,
    variables: list[Any] | None = None,
) -> Hamiltonian:
    """A BINARY Hamiltonian from a QUBO dict ``{(u, v): bias}`` plus ``offset``.

    ``(u, u)`` entries are linear biases (``x² = x``); ``(u, v)`` and ``(v, u)`` add. Variables
    come in the order of ``variables`` when given (so variables with no term are kept), then
    in order of first appearance.
    """
    if not isinstance(qubo, Mapping):
        raise ValidationError(f"qubo must be a mapping {{(u, v): bias}}, got {type(qubo).__name__}")
    index: dict[Label, int] = {}
    labels: list[Label] = []

    def idx(label: Any) -> int:
        key = check_label(label)
        got = index.get(key)
        if got is None:
            got = index[key] = len(labels)
            labels.append(key)
        return got

    for v in variables or ():
        idx(v)
    m = len(qubo)
    rows = np.empty(m, dtype=np.int64)
    cols = np.empty(m, dtype=np.int64)
    vals = np.empty(m, dtype=np.float64)
    for k, (key, bias) in enumerate(qubo.items()):  # a dict must be walked once; arrays after
        if not isinstance(key, tuple) or len(key) != 2:
            raise ValidationError(f"qubo key {key!r} is not a pair of variables")
        rows[k] = idx(key[0])
        cols[k] = idx(key[1])
        try:
            vals[k] = float(bias)
        except (TypeError, ValueError):
            raise ValidationError(f"qubo bias of {key!r} is not a number: {bias!r}") from None
    if not np.isfinite(vals).all():
        bad = int(np.flatnonzero(~np.isfinite(vals))[0])
        raise ValidationError(f"qubo bias {vals[bad]!r} is not finite")
    n = len(labels)
    diag = rows == cols
    linear = np.bincount(rows[diag], weights=vals[diag], minlength=n).astype(np.float64)
    off = ~diag
    return Hamiltonian(
        linear, rows[off], cols[off], vals[off], float(offset), vartype=BINARY, variables=labels
    )


@overload
def from_pyqubo(
    model: Any,
    *,
    feed_dict: Mapping[str, float] | None = None,
    constraints: Literal[False] = False,
) -> Hamiltonian: ...


@overload
def from_pyqubo(
    model: Any, *, feed_dict: Mapping[str, float] | None = None, constraints: Literal[True]
) -> ConstrainedModel: ...


def from_pyqubo(
    model: Any, *, feed_dict: Mapping[str, float] | None = None, constraints: bool = False
) -> Hamiltonian | ConstrainedModel:
    """The BINARY Hamiltonian of a compiled PyQUBO model or of ``(qubo_dict, offset)``.

    For a compiled model (``expr.compile()``), ``model.to_qubo(feed_dict=...)`` gives the QUBO
    (PyQUBO's ``Spin`` variables arrive already converted to binary by PyQUBO, keeping their
    names) and ``model.variables`` the variable order, so variables whose every term vanished
    are kept. Energies equal ``model.energy`` / the QUBO's value for every assignment.

    ``constraints=True`` returns a :class:`~qevo_ir.constrained.ConstrainedModel` instead: the
    same QUBO as its objective (PyQUBO's penalties at the ``feed_dict`` weights included: zero on
    every feasible assignment) and each PyQUBO ``Constraint`` as a linear constraint
    (:mod:`qevo_ir.importers.pyqubo_constraints`), so ``qevo_ir.solve`` reports feasibility per
    sample and lowers with a certified penalty weight however small the model's own was.
    """
    if constraints:
        if isinstance(model, tuple):
            raise ValidationError(
                "constraints=True needs the compiled PyQUBO model: a (qubo, offset) pair "
                "carries no constraints"
            )
        ham = from_pyqubo(model, feed_dict=feed_dict)
        from qevo_ir.importers.pyqubo_constraints import recover_constraints

        found = recover_constraints(model, list(ham.labels), feed_dict)
        return ConstrainedModel.build(dict.fromkeys(ham.labels, "binary"), ham, found)
    if isinstance(model, tuple):
        if len(model) != 2 or not isinstance(model[0], Mapping):
            raise ValidationError("expected (qubo_dict, offset), as returned by model.to_qubo()")
        qubo, offset = model
        return qubo_to_hamiltonian(qubo, _as_float(offset))
    if hasattr(model, "compile") and not hasattr(model, "to_qubo"):
        raise ValidationError(
            "this is an uncompiled PyQUBO expression; pass model = expr.compile() instead"
        )
    if not hasattr(model, "to_qubo"):
        raise ValidationError(
            f"from_pyqubo takes a compiled PyQUBO model or (qubo, offset), got "
            f"{type(model).__name__}"
        )
    if feed_dict is None:
        qubo, offset = model.to_qubo()
    else:
        qubo, offset = model.to_qubo(feed_dict=dict(feed_dict))
    variables = list(getattr(model, "variables", []) or [])
    return qubo_to_hamiltonian(qubo, _as_float(offset), variables)


def _as_float(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"offset {value!r} is not a number") from None
    if not np.isfinite(out):
        raise ValidationError(f"offset {out!r} is not finite")
    return out
