"""The ``scale`` and ``normalize`` passes: multiply every coefficient and the offset by ``a > 0``.

Exact up to scale: ``E_out(y) = a · E_in(y)`` for every ``y``, reported as ``energy_scale = a``
with bound 0; the minimisers are unchanged because ``a`` is positive.
"""

from __future__ import annotations

from dataclasses import dataclass
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
        with np.errstate(over="ignore"):  # Hamiltonian.scaled refuses a result that overflowed
            out = ham.scaled(factor)
    except ValidationError:
        raise ValidationError(f"{who}: scaling by {factor!r} overflows float64") from None
    return PassOutput(ir=out, energy_scale=factor, details={"factor": factor})


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
        factor = 1.0 if peak == 0 else float(self.to) / peak
        return _scaled(ham, factor, "normalize")
