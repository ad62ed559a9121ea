"""The ``precision`` pass: scale an Ising problem into a device's ``h``/``J`` ranges and round it.

The output is SPIN. Scaling by ``α`` is exact; rounding to a ``bits``-bit grid is not, and the
pass certifies ``|E_out(s)/α - E_in(s)| <= (Σ|Δh| + Σ|ΔJ|)/α`` (proof in ``specs/passes.md``),
counts the coefficients that fall under the device's noise floor and, for small problems, checks
whether every ground state survived.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.conventions import bits_to_basis_index
from qevo_ir.errors import LimitExceeded, PipelineError, ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.passes.base import CompilerPass, PassOutput, identity_decoder, register_pass
from qevo_ir.report import dynamic_range_bits
from qevo_ir.solvers.enumerate import enumerate_ising
from qevo_ir.vartypes import BINARY, SPIN, spin_to_binary

__all__ = [
    "DEVICE_RANGES",
    "GROUND_CHECK_AUTO_LIMIT",
    "Precision",
    "ground_states",
    "quantize_coefficients",
]

DEVICE_RANGES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    # (h_range, j_range). D-Wave solver properties ``h_range``/``j_range`` as documented for
    # Advantage systems; Advantage2 uses the same published ranges. Override with the values of
    # ``sampler.properties`` when they differ (see specs/passes.md).
    "advantage": ((-4.0, 4.0), (-1.0, 1.0)),
    "advantage2": ((-4.0, 4.0), (-1.0, 1.0)),
}

GROUND_CHECK_AUTO_LIMIT = 20
"""``check_ground_states=none`` enumerates both problems when ``n`` is at most this."""

_GROUND_CHECK_MAX = 26


def _step(lo: float, hi: float, bits: int) -> float:
    """Pitch of the symmetric ``bits``-bit grid ``{m · step}``, ``|m| <= 2**(bits-1) - 1``."""
    return max(abs(lo), abs(hi)) / float(2 ** (bits - 1) - 1)


def quantize_coefficients(
    values: npt.NDArray[np.float64], lo: float, hi: float, bits: int | None
) -> npt.NDArray[np.float64]:
    """Round already-scaled ``values`` to the grid over ``[lo, hi]`` (zero stays zero).

    The grid is ``{m · step : m integer, lo <= m · step <= hi}`` with
    ``step = max(|lo|, |hi|) / (2**(bits-1) - 1)``; ``bits=None`` only clips to ``[lo, hi]``.
    """
    if bits is None:
        return np.clip(values, lo, hi)
    step = _step(lo, hi, bits)
    m_lo = np.ceil(lo / step - 1e-9)
    m_hi = np.floor(hi / step + 1e-9)
    m = np.clip(np.rint(values / step), m_lo, m_hi)
    return np.clip(m * step, lo, hi)


#: The largest α used when the exact one overflows: a power of two (so scaling stays exact)
#: with 2**23 of headroom below DBL_MAX.
_MAX_ALPHA = 2.0**1000


def _scale_factor(
    h: npt.NDArray[np.float64],
    J: npt.NDArray[np.float64],
    h_range: tuple[float, float],
    j_range: tuple[float, float],
) -> float:
    """Largest ``α`` with ``α h ⊂ h_range`` and ``α J ⊂ j_range`` (``1.0`` if all are zero)."""
    limits: list[float] = []
    for values, (lo, hi), what in ((h, h_range, "h"), (J, j_range, "J")):
        pos = float(values.max(initial=0.0))
        neg = float(-values.min(initial=0.0))
        for mag, room, side in ((pos, hi, "positive"), (neg, -lo, "negative")):
            if mag > 0:
                if room <= 0:
                    raise ValidationError(
                        f"precision: {what} has {side} values but the {what} range "
                        f"[{lo}, {hi}] has no {side} side"
                    )
                with np.errstate(over="ignore"):  # inf is handled below
                    limits.append(float(np.float64(room) / mag))
    if not limits:
        return 1.0
    alpha = min(limits)
    if alpha == np.inf:
        # Every coefficient is so small (subnormal) that room/|c| overflows: scale by the
        # largest power of two that leaves headroom. That is exact (the coefficients move into
        # the normal range) and they stay inside the device ranges.
        alpha = _MAX_ALPHA
    if not np.isfinite(alpha) or alpha <= 0:
        raise ValidationError(
            f"precision: the scale factor {alpha!r} is not a finite positive number (the "
            "coefficients are too small or too large to scale into the device ranges)"
        )
    return alpha


#: Largest sum of |coefficients| :func:`ground_states` enumerates (every energy stays finite).
_ENUMERATE_BOUND_LIMIT = 1e300


def ground_states(ham: Hamiltonian) -> tuple[float, npt.NDArray[np.int64]]:
    """``(ground energy, sorted basis indices of every ground state)`` of a small SPIN problem.

    Uses the core enumeration kernel (:func:`qevo_ir.solvers.enumerate.enumerate_ising`).
    The offset moves every energy alike, so states are compared without it (it is added to the
    ground energy at the end): a huge offset neither overflows the enumeration nor blurs the
    ties. Ties: within ``1e-9 · (Σ|h| + Σ|J|)`` of the minimum (relative, so tiny problems keep
    their ground states apart).
    """
    n = ham.num_variables
    if n > _GROUND_CHECK_MAX:
        raise LimitExceeded(f"ground-state enumeration takes n <= {_GROUND_CHECK_MAX}, got {n}")
    spin = ham.to_spin()
    bound = float(np.abs(spin.linear).sum() + np.abs(spin.quad).sum())
    if not bound <= _ENUMERATE_BOUND_LIMIT:
        raise LimitExceeded(
            f"ground-state enumeration needs sum|h| + sum|J| <= "
            f"{_ENUMERATE_BOUND_LIMIT:g} so that energies stay finite, got {bound:.4g}; "
            "rescale the problem first (Hamiltonian.scaled)"
        )
    # Relative to the problem's own scale: an absolute floor (1e-9) would make every state of a
    # problem with coefficients of 1e-112 a ground state.
    atol = max(1e-9 * bound, 1e-290)  # the kernel needs a normal float (1/atol finite)
    res = enumerate_ising(
        spin.linear,
        spin.row,
        spin.col,
        spin.quad,
        0.0,
        num_levels=1,
        max_states=1 << n,
        atol=atol,
        max_variables=_GROUND_CHECK_MAX,
    )
    level = res.levels[0]
    idx = bits_to_basis_index(spin_to_binary(level.states)) if n else np.zeros(1, np.int64)
    return float(level.energy) + float(spin.offset), np.sort(idx)


@register_pass
@dataclass(frozen=True)
class Precision(CompilerPass):
    """Scale into device h/J ranges and round to a bits-bit grid (lossy, certified bound).

    Options: ``bits`` (grid bits incl. sign, ``none`` to scale only), ``device`` preset
    (``advantage``, ``advantage2``), ``h_range``/``j_range`` (override the preset), ``noise``
    (noise floor as a fraction of each range's largest magnitude) and ``check_ground_states``
    (``none``: when ``n <= 20``). Output is SPIN; BINARY input is converted exactly first.
    """

    name = "precision"
    exact = False

    bits: int | None = 8
    device: str = "advantage"
    h_range: tuple[float, float] | None = None
    j_range: tuple[float, float] | None = None
    noise: float = 0.01
    check_ground_states: bool | None = None

    def __post_init__(self) -> None:
        if self.device not in DEVICE_RANGES:
            raise PipelineError(
                f"precision: unknown device {self.device!r}; presets: "
                f"{', '.join(sorted(DEVICE_RANGES))} (or give h_range and j_range)"
            )
        if self.bits is not None and not 2 <= self.bits <= 52:
            raise PipelineError(f"precision: bits={self.bits} must be in [2, 52] (or none)")
        for what, rng in (("h_range", self.h_range), ("j_range", self.j_range)):
            if rng is None:
                continue
            lo, hi = rng
            if not (np.isfinite(lo) and np.isfinite(hi) and lo <= 0 <= hi and lo < hi):
                raise PipelineError(
                    f"precision: {what}={list(rng)} must be finite with lower <= 0 <= upper "
                    "and lower < upper"
                )
        if not (np.isfinite(self.noise) and 0 <= self.noise < 1):
            raise PipelineError(f"precision: noise={self.noise} must be in [0, 1)")

    def ranges(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The ``(h_range, j_range)`` in effect: explicit ranges override the device preset."""
        h_dev, j_dev = DEVICE_RANGES[self.device]
        h = (float(self.h_range[0]), float(self.h_range[1])) if self.h_range else h_dev
        j = (float(self.j_range[0]), float(self.j_range[1])) if self.j_range else j_dev
        return h, j

    def apply(self, ir: Any) -> PassOutput:
        ham: Hamiltonian = ir
        spin = ham.to_spin()
        h_rng, j_rng = self.ranges()
        h, J = spin.linear, spin.quad
        alpha = _scale_factor(h, J, h_rng, j_rng)
        if alpha == _MAX_ALPHA and spin.offset:
            # Keep the scaled offset finite too (still a power of two).
            _, exp = np.frexp(np.finfo(np.float64).max / abs(spin.offset))
            alpha = min(alpha, float(2.0 ** (int(exp) - 3)))
        with np.errstate(over="ignore"):  # checked just below
            offset = alpha * spin.offset
        if not np.isfinite(offset):
            raise ValidationError(f"precision: the offset times α = {alpha!r} overflows")
        ah, aJ = alpha * h, alpha * J
        qh = quantize_coefficients(ah, *h_rng, self.bits)
        qJ = quantize_coefficients(aJ, *j_rng, self.bits)
        err = float(np.abs(ah - qh).sum() + np.abs(aJ - qJ).sum())
        bound = err / alpha
        keep = qJ != 0
        out = Hamiltonian._trusted(
            SPIN,
            qh,
            spin.row[keep],
            spin.col[keep],
            qJ[keep],
            offset,
            spin.variables,
        )

        h_floor = self.noise * max(abs(h_rng[0]), abs(h_rng[1]))
        j_floor = self.noise * max(abs(j_rng[0]), abs(j_rng[1]))
        nz_h, nz_J = h != 0, J != 0
        below = int(np.count_nonzero(nz_h & (np.abs(ah) < h_floor))) + int(
            np.count_nonzero(nz_J & (np.abs(aJ) < j_floor))
        )
        nonzero = int(np.count_nonzero(nz_h) + np.count_nonzero(nz_J))
        to_zero_h = int(np.count_nonzero(nz_h & (qh == 0)))
        to_zero_J = int(np.count_nonzero(nz_J & (qJ == 0)))
        warnings: list[str] = []
        if below:
            warnings.append(
                f"{below} of {nonzero} nonzero coefficients fall below the noise floor "
                f"({self.noise:g} of the range: |h| < {h_floor:g}, |J| < {j_floor:g}) after "
                f"scaling by {alpha:.6g}; the device may not resolve them"
            )
        if to_zero_h + to_zero_J:
            warnings.append(
                f"{to_zero_h + to_zero_J} nonzero coefficients were rounded to zero "
                f"({to_zero_h} h, {to_zero_J} J)"
            )
        details: dict[str, Any] = {
            "alpha": alpha,
            "h_range": list(h_rng),
            "j_range": list(j_rng),
            "bits": self.bits,
            "h_step": None if self.bits is None else _step(*h_rng, self.bits),
            "j_step": None if self.bits is None else _step(*j_rng, self.bits),
            "dynamic_range_bits_before": dynamic_range_bits(h, J),
            "dynamic_range_bits_after": dynamic_range_bits(qh, qJ[keep]),
            "max_abs_error": float(
                max(np.abs(ah - qh).max(initial=0.0), np.abs(aJ - qJ).max(initial=0.0))
            ),
            "rounded_to_zero": {"h": to_zero_h, "J": to_zero_J},
            "noise_floor": {"fraction": self.noise, "h": h_floor, "J": j_floor},
            "below_noise": below,
            "nonzero_coefficients": nonzero,
            "input_vartype": str(ham.vartype),
        }
        check = self.check_ground_states
        n = ham.num_variables
        if check is None:
            check = n <= GROUND_CHECK_AUTO_LIMIT
        if check:
            if n > _GROUND_CHECK_MAX:
                raise LimitExceeded(
                    f"precision: check_ground_states enumerates 2**n states and takes n <= "
                    f"{_GROUND_CHECK_MAX}; this problem has n = {n} (set it to false)"
                )
            _, before = ground_states(spin)
            _, after = ground_states(out)
            survived = bool(np.isin(before, after).all())
            spurious = int(np.count_nonzero(~np.isin(after, before)))
            details["ground_states"] = {
                "checked": True,
                "input": len(before),
                "output": len(after),
                "all_survived": survived,
                "spurious": spurious,
            }
            if not survived or spurious:
                warnings.append(
                    f"ground states changed: {len(before)} before, {len(after)} after, "
                    f"{'all' if survived else 'not all'} survived, {spurious} new"
                )
        else:
            details["ground_states"] = {"checked": False}
        details["warnings"] = warnings

        decode = identity_decoder
        if ham.vartype is BINARY:

            def decode(samples: npt.NDArray[Any]) -> npt.NDArray[Any]:
                return spin_to_binary(samples)

        return PassOutput(
            ir=out, decode=decode, energy_bound=bound, energy_scale=alpha, details=details
        )
