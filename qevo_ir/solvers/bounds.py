"""Lower bounds on the ground energy of a Hamiltonian, and roof duality's persistencies.

Every result of :func:`qevo_ir.solve` carries ``lower_bound``, ``gap`` and
``lower_bound_source`` (``specs/solvers.md``). A backend that proves its answer sets them itself
(``exact``, ``tree``, ``mip``); for the others :func:`lower_bound` gives a cheap one:

- ``roof_duality``: the roof-duality bound (the LP relaxation of the posiform, by max-flow) from
  ``dwave-preprocessing`` (extra ``roof``) when it is installed, else from qevo's own maximum
  flow (:func:`qevo_ir.solvers.persistency.proved_fixings`, numpy and scipy);
- ``trivial``: ``offset - Σ|h| - Σ|J|`` on the exact SPIN form (every term at its lowest),
  numpy only.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.plugins import require
from qevo_ir.polynomial import PolynomialHamiltonian
from qevo_ir.vartypes import SPIN

__all__ = [
    "BOUND_METHODS",
    "LowerBound",
    "RoofDuality",
    "certificate",
    "lower_bound",
    "roof_duality",
    "roof_duality_available",
    "trivial_bound",
]

BOUND_METHODS = ("auto", "roof_duality", "trivial")

#: The roof bound is lowered by this fraction of ``|offset| + Σ|coefficients|``:
#: dwave-preprocessing converts biases to 64-bit integers (truncating at about 2⁻⁶¹ of the
#: largest) and sums in float64, so its figure can sit a rounding error above the true bound.
_ROOF_SLACK = 1e-12


@dataclass(frozen=True)
class LowerBound:
    """``value`` ≤ the ground energy; ``source`` names how it was obtained."""

    value: float
    source: str
    seconds: float


@dataclass(frozen=True)
class RoofDuality:
    """Roof duality on one Hamiltonian: its bound and the variables it fixes.

    ``indices``/``values``: the variables the library fixes (values in the Hamiltonian's
    vartype). It claims, with ``strict=True`` (strong persistency), that every ground state has
    these values, and with ``strict=False`` (weak persistency as well) that at least one has all
    of them; both claims were measured false on small problems (``specs/passes.md``, ``fix``),
    so the ``fix`` pass does not use them: :func:`qevo_ir.solvers.persistency.proved_fixings`
    computes strong persistencies itself, each certified. The bound held on every problem tried.
    """

    lower_bound: float
    indices: npt.NDArray[np.int64]
    values: npt.NDArray[np.int8]
    strict: bool
    seconds: float


def trivial_bound(ham: Hamiltonian | PolynomialHamiltonian) -> float:
    """Every term at its smallest value: ``offset - Σ|h| - Σ|J|`` of the exact SPIN form; for a
    polynomial, each monomial is ``±1`` (SPIN: ``offset − Σ|c|``) or ``0``/``1`` (BINARY:
    ``offset + Σ min(c, 0)``)."""
    if isinstance(ham, PolynomialHamiltonian):
        c = ham.coeffs
        with np.errstate(over="ignore"):
            if ham.vartype is SPIN:
                return ham.offset - float(np.abs(c).sum())
            return ham.offset + float(np.minimum(c, 0.0).sum())
    spin = ham.to_spin()
    return float(spin.offset - np.abs(spin.linear).sum() - np.abs(spin.quad).sum())


def roof_duality_available() -> bool:
    """Whether ``dwave-preprocessing`` (extra ``roof``) is importable."""
    try:
        require("dwave.preprocessing", "roof")
    except ImportError:
        return False
    return True


def roof_duality(ham: Hamiltonian, *, strict: bool = True) -> RoofDuality:
    """Roof duality from ``dwave-preprocessing``; :class:`BackendUnavailable` names extra ``roof``.

    The problem goes to dwave-preprocessing as a BINARY BQM over ``0 .. n-1`` built from the
    IR's validated arrays (no relabelling pass inside the library), its biases scaled by a power
    of two so the largest is about 1 (exact; the library's integer conversion overflows on tiny
    or huge biases), the offset added back afterwards. The bound is lowered by
    ``1e-12 · (|offset| + Σ|h| + Σ|J|)`` of the BINARY form (module docstring).
    """
    start = time.perf_counter()
    from dwave.preprocessing import roof_duality as _roof

    binary = ham.to_binary()
    bqm, shift = _scaled_bqm(binary)
    scaled_bound, fixed = _roof(bqm, strict=strict)
    bound = math.ldexp(float(scaled_bound), -shift) + binary.offset
    slack = _ROOF_SLACK * max(1.0, binary.l1_norm())
    idx = np.fromiter(fixed.keys(), dtype=np.int64, count=len(fixed))
    val = np.fromiter(fixed.values(), dtype=np.int8, count=len(fixed))
    order = np.argsort(idx)
    idx, val = idx[order], val[order]
    if ham.vartype is SPIN:
        val = (2 * val - 1).astype(np.int8)
    return RoofDuality(float(bound) - slack, idx, val, strict, time.perf_counter() - start)


def _scaled_bqm(binary: Hamiltonian) -> tuple[Any, int]:
    """The BINARY ``binary`` as a dimod BQM over ``0 .. n-1`` without its offset, its biases
    scaled by ``2**shift`` (exact) so the largest is about 1: the library's integer conversion
    divides by the largest bias and overflows on tiny or huge ones."""
    require("dwave.preprocessing", "roof")
    dimod = require("dimod", "roof")
    top = max(
        float(np.abs(binary.linear).max(initial=0.0)), float(np.abs(binary.quad).max(initial=0.0))
    )
    shift = -math.frexp(top)[1] if top > 0 else 0
    bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(
        np.ldexp(binary.linear, shift),
        (binary.row, binary.col, np.ldexp(binary.quad, shift)),
        0.0,
        "BINARY",
    )
    return bqm, shift


def lower_bound(
    ham: Hamiltonian, *, method: Literal["auto", "roof_duality", "trivial"] = "auto"
) -> LowerBound:
    """A cheap lower bound on the ground energy: roof duality (``auto``, ``roof_duality``;
    dwave-preprocessing's when the extra is installed, else qevo's own max flow), or the trivial
    bound (``trivial``). Roof duality's is never below the trivial bound (the larger is kept)."""
    if method not in BOUND_METHODS:
        raise ValidationError(
            f"lower bound method must be one of {', '.join(BOUND_METHODS)}, got {method!r}"
        )
    start = time.perf_counter()
    if method == "trivial":
        return LowerBound(trivial_bound(ham), "trivial", time.perf_counter() - start)
    if roof_duality_available():
        roof = roof_duality(ham).lower_bound
    else:
        from qevo_ir.solvers.persistency import proved_fixings

        roof = proved_fixings(ham).lower_bound
    # Roof duality is at least as tight as the trivial bound in exact arithmetic; keep the
    # larger so that the slack never makes it worse.
    value = max(roof, trivial_bound(ham))
    return LowerBound(value, "roof_duality", time.perf_counter() - start)


def certificate(best_energy: float | None, bound: float, source: str) -> dict[str, object]:
    """The ``lower_bound``/``gap``/``lower_bound_source`` entries of a result's ``info``.

    ``gap = best_energy - bound`` (``inf`` when either is unknown; never negative: a bound a
    rounding error above the best energy gives ``0.0``).
    """
    finite = best_energy is not None and np.isfinite(bound)
    gap = max(0.0, float(best_energy) - bound) if finite and best_energy is not None else np.inf
    return {"lower_bound": float(bound), "gap": float(gap), "lower_bound_source": source}
