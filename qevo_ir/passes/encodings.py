"""Affine bit encodings of bounded parameters: ``θ_p = base_p + Σ_k w_k x_k`` over BINARY ``x``.

Each encoding turns every parameter of a :class:`~qevo_ir.parameter_model.ParameterModel` into a
run of bits with weights (all arrays, built without per-parameter Python loops); the ``quantize``
pass substitutes the encoding into the objective. Definitions and proofs: ``specs/passes.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from qevo_ir.errors import LimitExceeded, PipelineError, ValidationError
from qevo_ir.parameter_model import ParameterModel
from qevo_ir.variables import Provenance

__all__ = [
    "ENCODINGS",
    "MAX_ENCODED_BITS",
    "Encoding",
    "encode",
]

ENCODINGS = ("uniform", "twos_complement", "spin_levels", "rounding", "one_hot")
"""Names accepted by :func:`encode` (and the ``quantize`` pass's ``encoding`` option)."""

MAX_ENCODED_BITS = 50_000_000
"""Refuse encodings with more bits than this before allocating anything."""

_MAX_BITS_PER_PARAMETER = 52  # 2**52 levels: the grid is still exact in float64


@dataclass(frozen=True, eq=False)
class Encoding:
    """How every parameter is spelled in bits.

    Bit ``i`` belongs to parameter ``parameter[i]`` at position ``bit[i]`` with weight
    ``weight[i]``; parameters own contiguous runs of bits, in parameter order. With ``x`` the
    BINARY bits, ``θ = base + W x`` where ``W[p, i] = weight[i]`` if ``parameter[i] == p``.
    ``one_hot[p]`` marks parameters whose bits form a one-hot group (exactly one bit set on the
    feasible set; ``base[p] = 0`` and each weight is one level's value).
    """

    name: str
    parameter: npt.NDArray[np.int64]
    bit: npt.NDArray[np.int64]
    weight: npt.NDArray[np.float64]
    base: npt.NDArray[np.float64]
    one_hot: npt.NDArray[np.bool_]

    @property
    def num_bits(self) -> int:
        return len(self.parameter)

    @property
    def num_parameters(self) -> int:
        return len(self.base)

    def counts(self) -> npt.NDArray[np.int64]:
        """Bits per parameter."""
        return np.bincount(self.parameter, minlength=self.num_parameters).astype(np.int64)

    def matrix(self) -> sp.csr_matrix:
        """``W`` as a ``(P, n)`` CSR matrix: ``θ = base + W x``."""
        n = self.num_bits
        return sp.csr_matrix(
            (self.weight, (self.parameter, np.arange(n, dtype=np.int64))),
            shape=(self.num_parameters, n),
        )

    def provenance(
        self, block: npt.ArrayLike | None = None, names: Sequence[str] = ()
    ) -> Provenance:
        """The variable table's provenance: decoding with it alone gives ``base + W x``."""
        blk = None
        if block is not None:
            b = np.asarray(block, dtype=np.int64)
            blk = b[self.parameter] if len(b) == self.num_parameters else None
        return Provenance.build(
            parameter=self.parameter,
            weight=self.weight,
            base=self.base,
            bit=self.bit,
            block=blk,
            parameter_names=names,
        )

    def _one_hot_runs(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Start index and length of each one-hot parameter's run of bits."""
        counts = self.counts()
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        groups = np.flatnonzero(self.one_hot & (counts > 0))
        return starts[groups], counts[groups]

    def feasible(self, bits: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Per row of BINARY ``bits``: does every one-hot group have exactly one bit set?"""
        x = np.atleast_2d(np.asarray(bits, dtype=np.int64))
        starts, lengths = self._one_hot_runs()
        if len(starts) == 0:
            return np.ones(len(x), dtype=bool)
        csum = np.concatenate([np.zeros((len(x), 1), np.int64), np.cumsum(x, axis=1)], axis=1)
        sums = csum[:, starts + lengths] - csum[:, starts]
        return np.all(sums == 1, axis=1)  # type: ignore[no-any-return]

    def repair(self, bits: npt.ArrayLike) -> npt.NDArray[np.int8]:
        """Project BINARY rows onto the one-hot feasible set: keep each group's first set bit.

        A group with no bit set gets its first bit (the lowest level). Other bits are unchanged.
        """
        x = np.array(np.atleast_2d(np.asarray(bits)), dtype=np.int8)
        _, lengths = self._one_hot_runs()
        if len(lengths) == 0 or len(x) == 0:
            return x
        # The one-hot groups' bits, group after group (each group is a contiguous run).
        idx = np.flatnonzero(self.one_hot[self.parameter])
        group = np.repeat(np.arange(len(lengths)), lengths)
        run_start = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        xs = x[:, idx].astype(np.int64)
        csum = np.concatenate([np.zeros((len(x), 1), np.int64), np.cumsum(xs, axis=1)], axis=1)
        before = csum[:, run_start]  # set bits in earlier groups
        within = csum[:, 1:] - before[:, group]  # running count inside the group
        keep = (xs == 1) & (within == 1)
        empty = (csum[:, run_start + lengths] - before) == 0
        keep[:, run_start] |= empty
        x[:, idx] = keep.astype(np.int8)
        return x


def _check_limit(total: int, what: str) -> None:
    if total > MAX_ENCODED_BITS:
        raise LimitExceeded(
            f"quantize: the {what} needs {total} bits, more than the limit {MAX_ENCODED_BITS}; "
            "use fewer bits or levels, or narrower integer bounds"
        )


def encode(
    model: ParameterModel,
    encoding: str = "uniform",
    *,
    bits: int = 4,
    levels: int | None = None,
) -> Encoding:
    """Build the bit encoding of every parameter of ``model``.

    Parameters
    ----------
    model:
        The parameters' bounds and integrality.
    encoding:
        One of :data:`ENCODINGS` (see ``specs/passes.md`` for each definition).
    bits:
        Bits per real parameter for ``uniform``, ``twos_complement`` and ``spin_levels``
        (``2**bits`` levels); the default number of levels for ``one_hot`` is ``2**bits``.
    levels:
        Number of evenly spaced levels of a real parameter under ``one_hot`` (``>= 2``).

    Returns
    -------
    Encoding
        Parameters whose bounds coincide (``lower == upper``) get no bits: ``base = lower``.
        Integer parameters use the integers of ``[ceil(lower), floor(upper)]``.
    """
    if encoding not in ENCODINGS:
        raise PipelineError(
            f"quantize: unknown encoding {encoding!r}; choose one of {', '.join(ENCODINGS)}"
        )
    if not 1 <= bits <= _MAX_BITS_PER_PARAMETER:
        raise PipelineError(f"quantize: bits={bits} must be in [1, {_MAX_BITS_PER_PARAMETER}]")
    if levels is not None and levels < 2:
        raise PipelineError(f"quantize: levels={levels} must be at least 2")

    P = model.num_parameters
    lo = np.asarray(model.lower, dtype=np.float64).copy()
    hi = np.asarray(model.upper, dtype=np.float64).copy()
    ints = np.asarray(model.integer, dtype=bool)
    if ints.any():
        lo[ints] = np.ceil(lo[ints])
        hi[ints] = np.floor(hi[ints])
        empty = ints & (lo > hi)
        if empty.any():
            p = int(np.flatnonzero(empty)[0])
            raise ValidationError(
                f"integer parameter {p} has no integer in [{model.lower[p]}, {model.upper[p]}]"
            )
    span = hi - lo
    const = span == 0
    too_wide = ints & (span > 2.0**52)
    if too_wide.any():
        p = int(np.flatnonzero(too_wide)[0])
        raise ValidationError(
            f"integer parameter {p}: the range [{lo[p]}, {hi[p]}] is wider than 2**52, beyond "
            "exact float64 integers; narrow its bounds"
        )
    if encoding == "one_hot":
        return _one_hot(lo, hi, span, ints, const, levels if levels is not None else 2**bits)

    # Bits per parameter, then the position of each bit inside its parameter's run.
    if encoding == "rounding":
        k = np.where(const, 0, 1).astype(np.int64)
    else:
        int_bits = _bounded_bits(span)
        k = np.where(const, 0, np.where(ints, int_bits, bits)).astype(np.int64)
    total = int(k.sum())
    _check_limit(total, f"{encoding} encoding")
    parameter = np.repeat(np.arange(P, dtype=np.int64), k)
    starts = np.concatenate([[0], np.cumsum(k)[:-1]]).astype(np.int64)
    bit = np.arange(total, dtype=np.int64) - starts[parameter]
    kp = k[parameter]
    base = lo.copy()

    if encoding == "rounding":
        weight = span[parameter].copy()
        return _finish(encoding, parameter, bit, weight, base)

    pow2 = np.ldexp(1.0, bit.astype(np.int32))
    # Real parameters: a 2**k-level grid of pitch Δ = (upper - lower) / (2**k - 1).
    delta = np.where(const, 0.0, span / np.where(const, 1.0, np.ldexp(1.0, k) - 1.0))
    weight = delta[parameter] * pow2
    if encoding == "twos_complement":
        top = (bit == kp - 1) & ~ints[parameter]
        weight = np.where(top, -weight, weight)
        real = ~ints & ~const
        base = np.where(real, lo + delta * np.ldexp(1.0, np.maximum(k - 1, 0)), lo)
    # Integer parameters: weights 1, 2, ..., 2**(k-2) and a last weight equal to the remainder
    # R - (2**(k-1) - 1), so the sums are exactly the integers 0..R (R = upper - lower).
    int_bit = ints[parameter]
    last = int_bit & (bit == kp - 1)
    remainder = span[parameter] - (np.ldexp(1.0, (kp - 1).astype(np.int32)) - 1.0)
    weight = np.where(int_bit, np.where(last, remainder, pow2), weight)
    return _finish(encoding, parameter, bit, weight, base)


def _bounded_bits(span: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """``k = ceil(log2(R + 1))`` for each integer range ``R`` (computed exactly in integers)."""
    r = np.minimum(span, 2.0**62).astype(np.int64)
    k = np.zeros(len(r), dtype=np.int64)
    pos = r > 0
    # frexp gives R = m * 2**e with 0.5 <= m < 1, so 2**(e-1) <= R < 2**e and k = e.
    _, e = np.frexp(r[pos].astype(np.float64))
    k[pos] = e
    return k


def _one_hot(
    lo: npt.NDArray[np.float64],
    hi: npt.NDArray[np.float64],
    span: npt.NDArray[np.float64],
    ints: npt.NDArray[np.bool_],
    const: npt.NDArray[np.bool_],
    real_levels: int,
) -> Encoding:
    P = len(lo)
    int_levels = np.minimum(span, float(MAX_ENCODED_BITS + 1)).astype(np.int64) + 1
    L = np.where(const, 0, np.where(ints, int_levels, real_levels)).astype(np.int64)
    total = int(L.sum())
    _check_limit(total, "one-hot encoding")
    parameter = np.repeat(np.arange(P, dtype=np.int64), L)
    starts = np.concatenate([[0], np.cumsum(L)[:-1]]).astype(np.int64)
    bit = np.arange(total, dtype=np.int64) - starts[parameter]
    Lp = L[parameter]
    frac = bit / np.maximum(Lp - 1, 1)
    value = np.where(ints[parameter], lo[parameter] + bit, lo[parameter] + span[parameter] * frac)
    # Keep the top level exactly at the bound (lo + span * 1.0 may round).
    value = np.where(~ints[parameter] & (bit == Lp - 1), hi[parameter], value)
    base = np.where(const, lo, 0.0)
    enc = Encoding(
        name="one_hot",
        parameter=parameter,
        bit=bit,
        weight=value.astype(np.float64),
        base=base.astype(np.float64),
        one_hot=~const,
    )
    return enc


def _finish(
    name: str,
    parameter: npt.NDArray[np.int64],
    bit: npt.NDArray[np.int64],
    weight: npt.NDArray[np.float64],
    base: npt.NDArray[np.float64],
) -> Encoding:
    return Encoding(
        name=name,
        parameter=parameter,
        bit=bit,
        weight=np.asarray(weight, dtype=np.float64),
        base=np.asarray(base, dtype=np.float64),
        one_hot=np.zeros(len(base), dtype=bool),
    )
