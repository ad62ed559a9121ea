"""The ``gauge`` pass: a spin-reversal transform, exact, that hides a problem's sign pattern.

With ``g ∈ {±1}^n``: SPIN ``h'_i = g_i h_i``, ``J'_ij = g_i g_j J_ij`` and ``s = g ∘ s'``;
BINARY substitutes ``x = f + g ∘ x'`` (``f = (1 - g)/2``, i.e. ``x = x' XOR f``). Energies are
preserved: ``E'(y) = E(decode(y))`` (``specs/passes.md``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.errors import PipelineError, ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.passes.base import CompilerPass, PassOutput, register_pass
from qevo_ir.vartypes import SPIN

__all__ = ["Gauge", "gauge_transform"]


def gauge_transform(ham: Hamiltonian, g: npt.ArrayLike) -> Hamiltonian:
    """The spin-reversal transform of ``ham`` by ``g ∈ {±1}^n`` (vectorised, exact algebra)."""
    gv = np.asarray(g, dtype=np.float64).reshape(-1)
    n = ham.num_variables
    if gv.shape != (n,) or not np.all(np.abs(gv) == 1):
        raise ValidationError(f"gauge: the flip vector must have {n} entries, each -1 or +1")
    r, c, q = ham.row, ham.col, ham.quad
    quad = q * gv[r] * gv[c]
    if ham.vartype is SPIN:
        lin = ham.linear * gv
        offset = ham.offset
    else:
        f = (1.0 - gv) / 2.0  # 1 where the bit is flipped
        lin = ham.linear * gv
        lin += np.bincount(r, weights=q * gv[r] * f[c], minlength=n)
        lin += np.bincount(c, weights=q * f[r] * gv[c], minlength=n)
        offset = ham.offset + float(ham.linear @ f) + float(np.sum(q * f[r] * f[c]))
    return Hamiltonian._trusted(
        ham.vartype,
        np.ascontiguousarray(lin, dtype=np.float64),
        r,
        c,
        np.ascontiguousarray(quad, dtype=np.float64),
        float(offset),
        ham.variables,
    )


@register_pass
@dataclass(frozen=True)
class Gauge(CompilerPass):
    """Spin-reversal transform by a random (seed) or explicit (flip) ±1 vector (exact).

    Options: ``seed`` (``none``: a fresh seed, recorded in the report so the run can be repeated)
    or ``flip`` (a list of ``n`` entries, each ``-1`` or ``1``), not both.
    """

    name = "gauge"
    exact = True

    seed: int | None = None
    flip: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.seed is not None and self.flip is not None:
            raise PipelineError("gauge: give seed or flip, not both")
        if self.seed is not None and not 0 <= self.seed < 2**63:
            raise PipelineError(f"gauge: seed={str(self.seed)[:40]} must be in [0, 2**63)")
        if self.flip is not None and any(v not in (-1, 1) for v in self.flip):
            raise PipelineError("gauge: every flip entry must be -1 or 1")

    def apply(self, ir: Any) -> PassOutput:
        ham: Hamiltonian = ir
        n = ham.num_variables
        details: dict[str, Any] = {}
        if self.flip is not None:
            if len(self.flip) != n:
                raise ValidationError(f"gauge: flip has {len(self.flip)} entries for {n} variables")
            g = np.asarray(self.flip, dtype=np.int8)
        else:
            seed = self.seed if self.seed is not None else secrets.randbits(63)
            details["seed"] = seed
            g = (2 * np.random.default_rng(seed).integers(0, 2, size=n) - 1).astype(np.int8)
        details["flipped"] = int(np.count_nonzero(g < 0))
        out = gauge_transform(ham, g)
        if ham.vartype is SPIN:

            def decode(samples: npt.NDArray[Any]) -> npt.NDArray[Any]:
                return (np.atleast_2d(np.asarray(samples)) * g).astype(np.int8)

        else:
            f = (g < 0).astype(np.int8)

            def decode(samples: npt.NDArray[Any]) -> npt.NDArray[Any]:
                return np.bitwise_xor(np.atleast_2d(np.asarray(samples)).astype(np.int8), f)

        return PassOutput(ir=out, decode=decode, details=details)
