"""The ``scale`` and ``normalize`` passes: multiply every coefficient and the offset by ``a > 0``.

Exact up to scale: ``E_out(y) = a · E_in(y)`` for every ``y``, reported as ``energy_scale = a``
with bound 0; the minimisers are unchanged because ``a`` is positive. A factor that would push a
nonzero coefficient into the subnormal range (or to zero) is refused, since there the claim
would be false; otherwise each coefficient rounds once (bit-exact for a power of two).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from qevo_ir.errors import PipelineError, ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.passes.base import CompilerPass, PassOutput, register_pass

__all__ = ["Normalize", "Scale", "max_abs_coefficient"]


def max_abs_coefficient(ham: Hamiltonian) -> float:
    """``max |c|`` over the linear and quadratic coefficients (the offset is not one)."""
    return float(max(np.abs(ham.linear).max(initial=0.0), np.abs(ham.quad).max(initial=0.0)))


def _scaled(ham: Hamiltonian, factor: float, who: str) -> PassOutput:
    if not (np.isfinite(factor) and factor > 0):
        raise ValidationError(f"{who}: the scale factor {factor!r} is not a finite positive number")
    try:
        with np.errstate(over="ignore", under="ignore"):  # both checked below
            out = ham.scaled(factor)
    except ValidationError:
        raise ValidationError(f"{who}: scaling by {factor!r} overflows float64") from None
    _check_no_underflow(ham, out, factor, who)
    mantissa, _ = np.frexp(factor)
    details = {"factor": factor, "bit_exact": bool(mantissa == 0.5)}
    return PassOutput(ir=out, energy_scale=factor, details=details)


def _check_no_underflow(ham: Hamiltonian, out: Hamiltonian, factor: float, who: str) -> None:
    """Refuse a factor whose results below the normal float64 range lose more than rounding.

    A normal result rounds once (relative error at most 2**-53, the precision the input was
    given in; none when ``factor`` is a power of two, ``details.bit_exact``). A result in the
    subnormal range (or flushed to zero) keeps fewer bits: each such error is computed exactly
    (rational arithmetic) and their sum may not exceed ``2**-53`` times the output's
    ``|offset| + Σ|h| + Σ|J|``, or the pass would not be exact up to scale: ``normalize(to=5e-324)``
    collapses every coefficient to one or zero units and can change the ground state.
    """
    tiny = np.finfo(np.float64).tiny
    error = Fraction(0)
    worst: tuple[str, float, float] | None = None
    for what, before, after in (
        ("h", ham.linear, out.linear),
        ("J", ham.quad, out.quad),
        ("offset", np.array([ham.offset]), np.array([out.offset])),
    ):
        for k in np.flatnonzero((before != 0) & (np.abs(after) < tiny)).tolist():
            lost = abs(Fraction(float(after[k])) - Fraction(float(before[k])) * Fraction(factor))
            if lost and worst is None:
                worst = (what, float(before[k]), float(after[k]))
            error += lost
    if not error:
        return
    scale = Fraction(abs(out.offset)) + Fraction(float(np.abs(out.linear).sum()))
    scale += Fraction(float(np.abs(out.quad).sum()))
    if error <= scale * Fraction(1, 2**53):
        return
    assert worst is not None
    what, before_k, after_k = worst
    raise ValidationError(
        f"{who}: scaling by {factor!r} takes {what} coefficient {before_k!r} to {after_k!r}, "
        f"below the smallest normal float64 ({tiny:g}), where it cannot be represented: the "
        "energies would move by more than rounding, so the result would not be exact up to "
        "scale; choose a larger target or factor"
    )


@register_pass
@dataclass(frozen=True)
class Scale(CompilerPass):
    """Multiply every coefficient and the offset by factor > 0 (exact up to scale).

    Option: ``factor`` (a finite positive number; a negative one would turn minimisation into
    maximisation and is refused).
    """

    name = "scale"
    exact = True

    factor: float = 1.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.factor) and self.factor > 0):
            raise PipelineError(f"scale: factor={self.factor} must be a finite number > 0")

    def apply(self, ir: Any) -> PassOutput:
        return _scaled(ir, float(self.factor), "scale")


@register_pass
@dataclass(frozen=True)
class Normalize(CompilerPass):
    """Scale so that the largest |h| or |J| becomes `to` (exact up to scale).

    Option: ``to`` (the target magnitude, default 1). A problem with no nonzero coefficient is
    left unchanged (factor 1).
    """

    name = "normalize"
    exact = True

    to: float = 1.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.to) and self.to > 0):
            raise PipelineError(f"normalize: to={self.to} must be a finite number > 0")

    def apply(self, ir: Any) -> PassOutput:
        ham: Hamiltonian = ir
        peak = max_abs_coefficient(ham)
        with np.errstate(over="ignore"):
            factor = 1.0 if peak == 0 else float(self.to) / peak
        if not np.isfinite(factor):
            raise ValidationError(
                f"normalize: the scale factor is not a finite positive number: the largest "
                f"coefficient {peak!r} is so small that "
                f"{self.to!r}/{peak!r} overflows float64 (the energy scale could not be "
                "reported); scale the problem up first (scale(factor=...))"
            )
        return _scaled(ham, factor, "normalize")
