"""PyQUBO ``Constraint`` terms recovered as linear constraints of a :class:`ConstrainedModel`.

A compiled PyQUBO model exposes its constraints only through ``decode_sample(...).constraints()``
(each constraint's name, whether it holds, and its penalty's value). The penalty of a constraint is
read back by probing: its value at ``0``, at each unit vector and at each pair of unit vectors
inside its support gives the quadratic polynomial ``P(x) = O + Σ L_i x_i + Σ Q_ij x_i x_j``
exactly when ``P`` is at most quadratic. Two shapes are recognised, PyQUBO's common idioms:

* ``P = c · (a·x − b)²`` (``Constraint((Σ x − 1)**2)``, cardinality, any weighted linear
  equality): the equality ``a·x = b``, coefficients rescaled so the smallest ``|a_i|`` is 1 and
  snapped to integers when within ``1e-9`` of them;
* ``P = Σ c_ij x_i x_j`` with every ``c_ij > 0`` and no other term (``Constraint(x * y)``):
  ``x_i + x_j ≤ 1`` for each pair.

Every recovered constraint is then checked on random assignments against PyQUBO's own verdict
(value and satisfied flag); any other penalty, a constraint whose ``condition`` is not "the value
is 0", or one of degree 3 or more is refused with :class:`ValidationError` naming it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.constrained import Constraint
from qevo_ir.errors import LimitExceeded, ValidationError
from qevo_ir.variables import Label

__all__ = ["MAX_PROBED_PAIRS", "recover_constraints"]

#: Pairs of variables probed at most (each probe is one ``decode_sample``, ~50 µs-1 ms).
MAX_PROBED_PAIRS = 200_000
_CHECKS = 64  # random assignments each recovered constraint is checked on
_RTOL = 1e-9

Verdicts = dict[str, tuple[bool, float]]


def recover_constraints(
    model: Any, labels: Sequence[Label], feed_dict: Mapping[str, float] | None, *, seed: int = 0
) -> list[Constraint]:
    """The linear constraints behind a compiled PyQUBO model's ``Constraint`` terms."""
    n = len(labels)
    fd = dict(feed_dict or {})

    def probe(x: npt.NDArray[np.int8]) -> Verdicts:
        sample = {label: int(v) for label, v in zip(labels, x.tolist(), strict=True)}
        try:
            decoded = model.decode_sample(sample, vartype="BINARY", feed_dict=fd)
            got = decoded.constraints()
        except Exception as exc:  # PyQUBO's C++ core raises its own types
            raise ValidationError(
                f"PyQUBO could not evaluate the model's constraints ({type(exc).__name__}: {exc})"
            ) from None
        return {str(k): (bool(ok), float(value)) for k, (ok, value) in got.items()}

    zero = np.zeros(n, dtype=np.int8)
    at_zero = probe(zero)
    names = sorted(at_zero)
    if not names:
        return []
    rng = np.random.default_rng(seed)

    def values_at(x: npt.NDArray[np.int8]) -> npt.NDArray[np.float64]:
        got = probe(x)
        return np.array([got[k][1] for k in names])

    o = values_at(zero)
    unit = np.empty((n, len(names)))
    for i in range(n):
        e = zero.copy()
        e[i] = 1
        unit[i] = values_at(e) - o
    # support: a variable that changes a constraint's value from 0, from all-ones, or from a
    # random point (a variable hidden from all three is caught by the final check)
    ones = np.ones(n, dtype=np.int8)
    r = rng.integers(0, 2, size=n).astype(np.int8)
    flips = np.zeros((n, len(names)), dtype=bool)
    for base in (ones, r):
        at_base = values_at(base)
        for i in range(n):
            x = base.copy()
            x[i] ^= 1
            flips[i] |= ~_close(values_at(x), at_base)
    support = [np.flatnonzero(flips[:, k] | ~_close(unit[:, k], 0.0)) for k in range(len(names))]
    pairs = sorted({(int(i), int(j)) for s in support for a, i in enumerate(s) for j in s[a + 1 :]})
    if len(pairs) > MAX_PROBED_PAIRS:
        raise LimitExceeded(
            f"recovering the PyQUBO constraints needs {len(pairs)} probes of pairs, over "
            f"{MAX_PROBED_PAIRS}; import the model without constraints=True"
        )
    quad: dict[tuple[int, int], npt.NDArray[np.float64]] = {}
    for i, j in pairs:
        x = zero.copy()
        x[[i, j]] = 1
        quad[(i, j)] = values_at(x) - o - unit[i] - unit[j]
    out: list[Constraint] = []
    checks = rng.integers(0, 2, size=(_CHECKS, n)).astype(np.int8)
    points = [(zero, at_zero), *((x, probe(x)) for x in checks)]
    position = {label: i for i, label in enumerate(labels)}
    for k, name in enumerate(names):
        s = support[k]
        lin = {int(i): float(unit[i, k]) for i in s}
        q = {(i, j): float(v[k]) for (i, j), v in quad.items() if i in lin and j in lin}
        _check_polynomial(name, float(o[k]), lin, q, points)
        recovered = _recognise(name, float(o[k]), lin, q, labels)
        _check_verdicts(name, recovered, points, position)
        out.extend(recovered)
    return out


def _close(a: Any, b: Any) -> npt.NDArray[np.bool_]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.asarray(np.abs(a - b) <= _RTOL * np.maximum(1.0, np.maximum(np.abs(a), np.abs(b))))


def _recognise(
    name: str,
    o: float,
    lin: dict[int, float],
    q: dict[tuple[int, int], float],
    labels: Sequence[Label],
) -> list[Constraint]:
    scale = max([1.0, abs(o), *map(abs, lin.values()), *map(abs, q.values())])
    tol = _RTOL * scale

    def near(a: float, b: float) -> bool:
        return abs(a - b) <= tol

    if not lin:  # a constant penalty
        if near(o, 0.0):
            return []
        raise ValidationError(f"PyQUBO constraint {name!r} can never be satisfied (penalty {o:g})")
    # a sum of positive products: x_i + x_j <= 1 for each
    if near(o, 0.0) and all(near(v, 0.0) for v in lin.values()):
        positive = [(i, j) for (i, j), v in q.items() if not near(v, 0.0)]
        if positive and all(q[p] > 0 for p in positive):
            return [
                Constraint(
                    {labels[i]: 1.0, labels[j]: 1.0},
                    "<=",
                    1.0,
                    name if len(positive) == 1 else f"{name}[{t}]",
                    "at-most-k",
                )
                for t, (i, j) in enumerate(sorted(positive))
            ]
    # c·(a·x − b)² with binary x: L_i = a_i² − 2 b a_i, Q_ij = 2 a_i a_j, O = b²
    found = _squared_equality(o, lin, q, near)
    if found is None:
        raise ValidationError(
            f"PyQUBO constraint {name!r} is neither a squared linear equality c·(a·x − b)² nor a "
            "sum of positive products; import the model without constraints=True (its penalty "
            "stays in the objective) or write the constraint as one of those"
        )
    a, b = found
    smallest = min(abs(v) for v in a.values())
    a = {i: v / smallest for i, v in a.items()}
    b /= smallest
    values = (*a.values(), b)
    if all(abs(v - round(v)) <= 1e-9 * max(1.0, abs(v)) for v in values):
        a = {i: float(round(v)) for i, v in a.items()}
        b = float(round(b))
    kind = "linear"
    if all(v == 1.0 for v in a.values()) and b == int(b):
        kind = "one-hot" if b == 1.0 else "cardinality"
    return [Constraint({labels[i]: v for i, v in sorted(a.items())}, "==", b, name, kind)]


def _squared_equality(
    o: float,
    lin: dict[int, float],
    q: dict[tuple[int, int], float],
    near: Callable[[float, float], bool],
) -> tuple[dict[int, float], float] | None:
    if o < 0:
        return None
    b = math.sqrt(o)
    order = sorted(lin)
    first = order[0]
    disc = b * b + lin[first]
    if disc < 0 and not near(disc, 0.0):
        return None
    root = math.sqrt(max(disc, 0.0))
    for a0 in (b + root, b - root):
        if near(a0, 0.0):
            continue
        a = {first: a0}
        for j in order[1:]:
            a[j] = q.get((first, j), 0.0) / (2.0 * a0)
        if any(near(v, 0.0) for v in a.values()):
            continue
        if all(near(lin[i], a[i] * a[i] - 2.0 * b * a[i]) for i in order) and all(
            near(q.get((i, j), 0.0), 2.0 * a[i] * a[j])
            for t, i in enumerate(order)
            for j in order[t + 1 :]
        ):
            return a, b
    return None


def _check_polynomial(
    name: str,
    o: float,
    lin: dict[int, float],
    q: dict[tuple[int, int], float],
    points: list[tuple[npt.NDArray[np.int8], Verdicts]],
) -> None:
    """The recovered quadratic polynomial against PyQUBO's value of the penalty."""
    for x, got in points:
        mine = o + sum(v * float(x[i]) for i, v in lin.items())
        mine += sum(v * float(x[i] * x[j]) for (i, j), v in q.items())
        if not _close(mine, got[name][1]):
            raise ValidationError(
                f"PyQUBO constraint {name!r} is not quadratic in the model's variables (its "
                "penalty is of degree 3 or more); import the model without constraints=True"
            )


def _check_verdicts(
    name: str,
    recovered: list[Constraint],
    points: list[tuple[npt.NDArray[np.int8], Verdicts]],
    position: Mapping[Any, int],
) -> None:
    """The recovered constraints against PyQUBO's own satisfied flag."""
    for x, got in points:
        ok, value = got[name]
        if _holds(recovered, x, position) != ok:
            raise ValidationError(
                f"PyQUBO constraint {name!r} says {'satisfied' if ok else 'broken'} where its "
                f"penalty is {value:g}; a custom condition cannot be imported as a linear "
                "constraint (import the model without constraints=True)"
            )


def _holds(
    recovered: list[Constraint], x: npt.NDArray[np.int8], position: Mapping[Any, int]
) -> bool:
    for c in recovered:
        total = sum(v * float(x[position[label]]) for label, v in c.coefficients.items())
        tol = 1e-9 * max(1.0, abs(c.rhs) + sum(abs(v) for v in c.coefficients.values()))
        if c.sense == "==" and abs(total - c.rhs) > tol:
            return False
        if c.sense == "<=" and total > c.rhs + tol:
            return False
    return True
