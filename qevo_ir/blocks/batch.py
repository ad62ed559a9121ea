"""A batch of independent QUBOs sharing one Gram matrix: the factored form of every model block.

Each block (weight rounding, k-bit refitting, pruning, feature selection) is, per output channel,
a quadratic form in one shared matrix ``G`` (the calibration Gram matrix ``XᵀX/N``, or a
redundancy matrix). :class:`GramBatch` stores ``G`` once plus per-channel vectors, evaluates and
descends on all channels at once, and materialises Hamiltonian terms only on request.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from qevo_ir.errors import LimitExceeded, ValidationError

__all__ = ["MAX_COUPLINGS", "Cardinality", "ChannelTerms", "GramBatch"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

MAX_COUPLINGS = 150_000_000
"""Refuse to materialise more couplings than this at once (24 bytes each: about 3.6 GB)."""

# Incremental field updates drift by rounding; they are recomputed from scratch this often.
_REFRESH_EVERY = 64


@dataclass(frozen=True, eq=False)
class ChannelTerms:
    """Materialised BINARY terms of some channels: canonical COO, variables in batch order.

    Variable ``v`` is slot ``slot[v]`` of channel ``channel[v]``; channels come in ascending
    order and, within one, free slots in ascending order, so ``(row, col)`` is already canonical.
    """

    linear: FloatArray
    row: IntArray
    col: IntArray
    quad: FloatArray
    offset: float
    channel: IntArray
    slot: IntArray


@dataclass(frozen=True, eq=False)
class GramBatch:
    """``C`` independent BINARY QUBOs over ``m`` variable slots, sharing the Gram matrix ``G``.

    Channel ``c``'s energy over ``x ∈ {0, 1}^m`` (slots with ``free[c, a]`` false are absent and
    read as ``x_a = 0``) is::

        E_c(x) = offset[c] + Σ_a linear[c, a] x_a
                 + Σ_{a<b} 2 scale[c, a] scale[c, b] G[index[a], index[b]] x_a x_b
                 + penalty[c] (Σ_a x_a - target[c])²

    ``G`` is ``(k, k)`` and symmetric; ``index`` maps each slot to a row of ``G`` (several slots
    may share a row: the bits of one k-bit weight).
    """

    gram: FloatArray
    index: IntArray
    scale: FloatArray
    linear: FloatArray
    offset: FloatArray
    free: BoolArray
    penalty: FloatArray
    target: FloatArray
    _cache: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        c, m = self.scale.shape
        k = self.gram.shape[0]
        if self.gram.shape != (k, k) or self.index.shape != (m,):
            raise ValidationError("GramBatch: gram must be (k, k) and index (m,)")
        if m and (self.index.min() < 0 or self.index.max() >= k):
            raise ValidationError("GramBatch: index refers to a row outside the Gram matrix")
        for name, shape in (("linear", (c, m)), ("free", (c, m))):
            if getattr(self, name).shape != shape:
                raise ValidationError(f"GramBatch: {name} must have shape {shape}")
        for name in ("offset", "penalty", "target"):
            if getattr(self, name).shape != (c,):
                raise ValidationError(f"GramBatch: {name} must have shape ({c},)")
        for name in ("gram", "index", "scale", "linear", "offset", "free", "penalty", "target"):
            getattr(self, name).flags.writeable = False

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(
        cls,
        gram: npt.ArrayLike,
        index: npt.ArrayLike,
        scale: npt.ArrayLike,
        linear: npt.ArrayLike,
        offset: npt.ArrayLike,
        free: npt.ArrayLike | None = None,
    ) -> GramBatch:
        """A batch with no cardinality penalty; absent slots get zero scale and linear terms."""
        u = np.array(scale, dtype=np.float64, ndmin=2)
        f = np.ones(u.shape, dtype=bool) if free is None else np.array(free, dtype=bool, ndmin=2)
        lin = np.where(f, np.asarray(linear, dtype=np.float64), 0.0)
        c = u.shape[0]
        return cls(
            gram=np.ascontiguousarray(gram, dtype=np.float64),
            index=np.asarray(index, dtype=np.int64).copy(),
            scale=np.where(f, u, 0.0),
            linear=lin,
            offset=np.asarray(offset, dtype=np.float64).reshape(c).copy(),
            free=f,
            penalty=np.zeros(c),
            target=np.zeros(c),
        )

    @classmethod
    def from_residual(
        cls,
        gram: FloatArray,
        index: IntArray,
        residual: FloatArray,
        scale: FloatArray,
        free: BoolArray,
    ) -> GramBatch:
        """The batch of ``E_c(x) = e_cᵀ G e_c`` with ``e_c = residual[c] - A_c x``.

        ``A_c`` scatters ``scale[c, a] x_a`` onto row ``index[a]``; so ``e_c`` is the error
        vector of channel ``c`` (reference minus reconstruction) and ``residual[c]`` is that
        error at ``x = 0``. Expanding with ``x_a² = x_a``: ``offset = rᵀGr``,
        ``linear_a = scale_a² G_ii - 2 scale_a (G r)_i`` with ``i = index[a]``, and pair
        couplings ``2 scale_a scale_b G_ij``.
        """
        f = np.asarray(free, dtype=bool)
        u = np.where(f, scale, 0.0)
        gr = residual @ gram  # G is symmetric
        offset = np.einsum("ck,ck->c", gr, residual)
        k = gram.shape[0]
        identity = len(index) == k and bool(np.all(index == np.arange(k)))
        diag = np.diagonal(gram) if identity else np.diagonal(gram)[index]
        field = gr if identity else gr[:, index]
        del gr
        # linear = u (u diag - 2 field), in place (a layer's worth of weights per temporary)
        linear = u * diag
        field *= 2.0
        linear -= field
        del field
        linear *= u  # zero on absent slots, where u = 0
        c = u.shape[0]
        return cls(
            gram=np.ascontiguousarray(gram, dtype=np.float64),
            index=np.asarray(index, dtype=np.int64).copy(),
            scale=u,
            linear=linear,
            offset=offset,
            free=f.copy(),
            penalty=np.zeros(c),
            target=np.zeros(c),
        )

    def with_penalty(self, penalty: npt.ArrayLike, target: npt.ArrayLike) -> GramBatch:
        """The same batch with ``penalty[c] (Σ x - target[c])²`` added to each channel."""
        c = self.num_channels
        a = np.broadcast_to(np.asarray(penalty, dtype=np.float64), (c,)).copy()
        t = np.broadcast_to(np.asarray(target, dtype=np.float64), (c,)).copy()
        if not (np.isfinite(a).all() and np.all(a >= 0)):
            raise ValidationError("penalty weights must be finite and non-negative")
        return replace(self, penalty=a, target=t)

    # ------------------------------------------------------------------ sizes
    @property
    def num_channels(self) -> int:
        return int(self.scale.shape[0])

    @property
    def num_slots(self) -> int:
        return int(self.scale.shape[1])

    def num_free(self) -> IntArray:
        """Free variables per channel (read-only, cached)."""
        got = self._cache.get("num_free")
        if got is None:
            got = np.count_nonzero(self.free, axis=1).astype(np.int64)
            got.flags.writeable = False
            self._cache["num_free"] = got
        return got  # type: ignore[return-value]

    @property
    def num_variables(self) -> int:
        return int(np.count_nonzero(self.free))

    def num_couplings(self, channels: IntArray | None = None) -> int:
        """Upper bound on materialised couplings (every free pair of each channel)."""
        n = self.num_free() if channels is None else self.num_free()[channels]
        return int(np.sum(n * (n - 1) // 2))

    # ------------------------------------------------------------------ evaluation
    def _identity_index(self) -> bool:
        k = self.gram.shape[0]
        return self.num_slots == k and bool(np.all(self.index == np.arange(k)))

    def _aggregate(self, values: FloatArray) -> FloatArray:
        """Sum ``values[..., a]`` onto Gram rows ``index[a]``: shape ``(..., k)``."""
        if self._identity_index():
            return values
        k = self.gram.shape[0]
        m = self.num_slots
        lead = values.shape[:-1]
        scatter = sp.csr_matrix((np.ones(m), (np.arange(m), self.index)), shape=(m, k))
        flat = values.reshape(-1, m)
        out = np.asarray((scatter.T @ flat.T).T)
        return out.reshape(*lead, k)

    def check_bits(self, bits: npt.ArrayLike) -> FloatArray:
        """``bits`` ``(..., C, m)`` checked to be 0/1, as floats with absent slots zeroed."""
        x = np.asarray(bits)
        if x.shape[-2:] != self.free.shape:
            raise ValidationError(
                f"bits must have shape (..., {self.num_channels}, {self.num_slots}), got {x.shape}"
            )
        if x.size and not np.all((x == 0) | (x == 1)):
            raise ValidationError("bits must be 0 or 1 (BINARY values)")
        return np.where(self.free, x.astype(np.float64), 0.0)

    def energies(self, bits: npt.ArrayLike, *, penalty: bool = True) -> FloatArray:
        """Per-channel energies of ``bits`` shaped ``(..., C, m)``: returns ``(..., C)``.

        Absent slots are ignored. ``penalty=False`` leaves out the cardinality penalty.
        """
        x = self.check_bits(bits)
        ux = x * self.scale
        y = self._aggregate(ux)
        diag = np.diagonal(self.gram)[self.index]
        quad = np.einsum("...k,...k->...", y @ self.gram, y) - np.sum(ux * ux * diag, axis=-1)
        e = self.offset + np.sum(self.linear * x, axis=-1) + quad
        if penalty and np.any(self.penalty):
            e = e + self.penalty * (x.sum(axis=-1) - self.target) ** 2
        return np.asarray(e, dtype=np.float64)

    def flip_bound(self) -> FloatArray:
        """Per channel, ``max_a |linear_a| + Σ_b |J_ab|`` without the penalty (``(C,)``).

        No single flip changes a channel's (unpenalised) energy by more than this.
        """
        au = np.abs(self.scale)
        y = self._aggregate(au)
        row = (y @ np.abs(self.gram))[:, self.index]
        diag = np.abs(np.diagonal(self.gram))[self.index]
        coupling = 2.0 * au * (row - au * diag)
        bound = np.where(self.free, np.abs(self.linear) + coupling, 0.0)
        return bound.max(axis=1, initial=0.0)  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ local search
    def _fields(self, x: FloatArray) -> FloatArray:
        """``z = G y`` with ``y`` the aggregated ``scale * x``: shape ``(C', k)``."""
        z: FloatArray = self._aggregate(x * self.scale[: len(x)]) @ self.gram
        return z

    def _deltas(
        self,
        rows: IntArray,
        x: FloatArray,
        z: FloatArray,
        count: FloatArray,
        *,
        penalty: bool,
    ) -> FloatArray:
        """Energy change of flipping each slot of channels ``rows`` (``inf`` for absent slots)."""
        u = self.scale[rows]
        diag = np.diagonal(self.gram)[self.index]
        d = 1.0 - 2.0 * x
        s = z[:, self.index] - u * diag * x
        delta = d * (self.linear[rows] + 2.0 * u * s)
        if penalty and np.any(self.penalty):
            a = self.penalty[rows][:, None]
            t = self.target[rows][:, None]
            delta = delta + a * (2.0 * d * (count[:, None] - t) + 1.0)
        return np.where(self.free[rows], delta, np.inf)

    def _tolerance(self, x0: FloatArray) -> FloatArray:
        scale = np.abs(self.offset) + np.abs(self.linear).sum(axis=1) + self.flip_bound()
        tol: FloatArray = 1e-12 * (1.0 + scale + np.abs(self.energies(x0)))
        return tol

    def descend(self, bits: npt.ArrayLike, *, max_steps: int | None = None) -> npt.NDArray[np.int8]:
        """Best-improvement one-flip descent on every channel at once, from ``bits`` ``(C, m)``.

        Each step flips, in every channel that can still improve, the slot with the most
        negative energy change (penalty included); a channel stops when no flip improves it by
        more than a relative tolerance. The field vectors ``G y`` are updated incrementally
        (one row of ``G`` per moving channel per step), so a step costs ``O(C (m + k))``. Never
        returns a channel whose energy is above its start.
        """
        x0 = self.check_bits(bits)
        if x0.ndim != 2:
            raise ValidationError("descend takes one (C, m) array of bits")
        return self._local_search(x0, max_steps, swap=False)

    def swap_descend(
        self, bits: npt.ArrayLike, *, max_steps: int | None = None
    ) -> npt.NDArray[np.int8]:
        """Drop-add descent that keeps each channel's count of set bits (for cardinality).

        Each step, per channel: drop the set slot whose removal costs least, then add the unset
        slot (not the one just dropped) whose addition costs least; keep the pair only if the
        two together lower the unpenalised energy. Never worse than the start.
        """
        x0 = self.check_bits(bits)
        if x0.ndim != 2:
            raise ValidationError("swap_descend takes one (C, m) array of bits")
        return self._local_search(x0, max_steps, swap=True)

    def _local_search(
        self, x0: FloatArray, max_steps: int | None, *, swap: bool
    ) -> npt.NDArray[np.int8]:
        _c, m = x0.shape
        limit = 20 * m + 20 if max_steps is None else int(max_steps)
        x = x0.copy()
        tol = self._tolerance(x0)
        z = self._fields(x)
        count = x.sum(axis=1)
        active = np.flatnonzero(self.num_free() > (1 if swap else 0))
        gram_rows = self.gram
        for step in range(limit):
            if len(active) == 0:
                break
            if step % _REFRESH_EVERY == _REFRESH_EVERY - 1:
                z[active] = self._aggregate(x[active] * self.scale[active]) @ self.gram
            xa, za = x[active], z[active]
            if not swap:
                delta = self._deltas(active, xa, za, count[active], penalty=True)
                best = np.argmin(delta, axis=1)
                gain = delta[np.arange(len(active)), best]
                move = gain < -tol[active]
                rows, slots = active[move], best[move]
                d = 1.0 - 2.0 * x[rows, slots]
                x[rows, slots] += d
                count[rows] += d
                z[rows] += (d * self.scale[rows, slots])[:, None] * gram_rows[self.index[slots]]
                active = rows
                continue
            # swap step: drop first (unpenalised deltas), then add with updated fields
            delta = self._deltas(active, xa, za, count[active], penalty=False)
            drop_cost = np.where(xa == 1.0, delta, np.inf)
            a = np.argmin(drop_cost, axis=1)
            ar = np.arange(len(active))
            dc = drop_cost[ar, a]
            ok = np.isfinite(dc)
            ua = self.scale[active, a]
            z2 = za - ua[:, None] * gram_rows[self.index[a]]
            x2 = xa.copy()
            x2[ar, a] = 0.0
            delta2 = self._deltas(active, x2, z2, count[active] - 1.0, penalty=False)
            add_cost = np.where(x2 == 0.0, delta2, np.inf)
            add_cost[ar, a] = np.inf
            b = np.argmin(add_cost, axis=1)
            total = dc + add_cost[ar, b]
            move = ok & np.isfinite(total) & (total < -tol[active])
            rows = active[move]
            a_m, b_m = a[move], b[move]
            x[rows, a_m] = 0.0
            x[rows, b_m] = 1.0
            z[rows] += (
                self.scale[rows, b_m][:, None] * gram_rows[self.index[b_m]]
                - self.scale[rows, a_m][:, None] * gram_rows[self.index[a_m]]
            )
            active = rows
        # Guard against accepting a move on rounding noise: never end above the start.
        worse = self.energies(x, penalty=not swap) > self.energies(x0, penalty=not swap)
        x[worse] = x0[worse]
        return x.astype(np.int8)

    def repair(self, bits: npt.ArrayLike) -> npt.NDArray[np.int8]:
        """Restore ``Σ_a x_a = target[c]`` in every channel, greedily and cheaply.

        A channel with too many set bits drops, one at a time, the set slot whose removal raises
        the unpenalised energy least; one with too few adds the cheapest unset slot. Feasible
        channels are unchanged. ``target`` is clipped to ``[0, free slots]``.
        """
        x = self.check_bits(bits)
        if x.ndim != 2:
            raise ValidationError("repair takes one (C, m) array of bits")
        target = np.clip(np.rint(self.target), 0, self.num_free())
        count = x.sum(axis=1)
        z = self._fields(x)
        for _ in range(self.num_slots + 1):
            rows = np.flatnonzero(count != target)
            if len(rows) == 0:
                break
            xr = x[rows]
            delta = self._deltas(rows, xr, z[rows], count[rows], penalty=False)
            too_many = (count[rows] > target[rows])[:, None]
            allowed = np.where(too_many, xr == 1.0, xr == 0.0)
            cost = np.where(allowed, delta, np.inf)
            best = np.argmin(cost, axis=1)
            d = 1.0 - 2.0 * x[rows, best]
            x[rows, best] += d
            count[rows] += d
            z[rows] += (d * self.scale[rows, best])[:, None] * self.gram[self.index[best]]
        return x.astype(np.int8)

    # ------------------------------------------------------------------ materialisation
    def terms(self, channels: npt.ArrayLike | None = None) -> ChannelTerms:
        """Materialise the BINARY terms of ``channels`` (all by default) as one block-diagonal QUBO.

        Vectorised per channel (a loop over channels, never over terms); the pair values
        ``G[index[a], index[b]]`` are gathered once and shared by every channel. Raises
        :class:`LimitExceeded` above :data:`MAX_COUPLINGS` couplings.
        """
        if channels is None:
            chans = np.arange(self.num_channels, dtype=np.int64)
        else:
            chans = np.asarray(channels, dtype=np.int64).reshape(-1)
            if chans.size and (chans.min() < 0 or chans.max() >= self.num_channels):
                raise ValidationError(
                    f"channel index out of range for a batch of {self.num_channels} channels"
                )
            if np.any(np.diff(chans) <= 0):
                raise ValidationError("channels must be strictly increasing")
        total = self.num_couplings(chans)
        if total > MAX_COUPLINGS:
            raise LimitExceeded(
                f"materialising {len(chans)} channels needs {total} couplings, over the limit "
                f"{MAX_COUPLINGS}; take one channel at a time (hamiltonian(channel)) or solve "
                "on the factored batch (solve_block with method='greedy')"
            )
        m = self.num_slots
        iu0, iu1, pair_gram = self._pairs()
        n_free = self.num_free()[chans]
        num_vars = int(n_free.sum())
        out_row = np.empty(total, dtype=np.int64)
        out_col = np.empty(total, dtype=np.int64)
        out_quad = np.empty(total, dtype=np.float64)
        out_lin = np.empty(num_vars, dtype=np.float64)
        out_chan = np.repeat(chans, n_free)
        out_slot = np.empty(num_vars, dtype=np.int64)
        offset = 0.0
        start = 0  # first variable of the channel
        pos = 0  # first coupling of the channel
        for c, n in zip(chans.tolist(), n_free.tolist(), strict=True):
            f = self.free[c]
            slots = np.flatnonzero(f) if n < m else np.arange(m, dtype=np.int64)
            a_c = float(self.penalty[c])
            t_c = float(self.target[c])
            out_lin[start : start + n] = self.linear[c, slots] + a_c * (1.0 - 2.0 * t_c)
            out_slot[start : start + n] = slots
            offset += float(self.offset[c]) + a_c * t_c * t_c
            if n < 2:
                start += n
                continue
            # Pairs of free slots, in the order of the full upper triangle: already canonical.
            pg = pair_gram if n == m else pair_gram[f[iu0] & f[iu1]]
            r_loc, c_loc = (iu0, iu1) if n == m else self._local_pairs(n)
            u = self.scale[c, slots]
            k = len(pg)
            q = out_quad[pos : pos + k]
            if np.all(u == u[0]):
                np.multiply(pg, 2.0 * u[0] * u[0], out=q)
            else:
                np.multiply(pg, 2.0 * u[r_loc], out=q)
                q *= u[c_loc]
            if a_c:
                q += 2.0 * a_c
            np.add(r_loc, start, out=out_row[pos : pos + k])
            np.add(c_loc, start, out=out_col[pos : pos + k])
            nz = q != 0.0
            if not nz.all():  # canonical form drops explicit zeros
                kept = int(nz.sum())
                out_row[pos : pos + kept] = out_row[pos : pos + k][nz]
                out_col[pos : pos + kept] = out_col[pos : pos + k][nz]
                out_quad[pos : pos + kept] = q[nz]
                k = kept
            pos += k
            start += n
        return ChannelTerms(
            linear=out_lin,
            row=out_row[:pos] if pos < total else out_row,
            col=out_col[:pos] if pos < total else out_col,
            quad=out_quad[:pos] if pos < total else out_quad,
            offset=offset,
            channel=out_chan,
            slot=out_slot,
        )

    def _pairs(self) -> tuple[IntArray, IntArray, FloatArray]:
        """Every slot pair ``a < b`` (row-major) and ``G[index[a], index[b]]``, cached."""
        cached = self._cache.get("pairs")
        if cached is None:
            iu0, iu1 = _upper_pairs(self.num_slots)
            cached = (iu0, iu1, self.gram[self.index[iu0], self.index[iu1]])
            self._cache["pairs"] = cached
        return cached  # type: ignore[return-value]

    def _local_pairs(self, n: int) -> tuple[IntArray, IntArray]:
        """``triu_indices(n, 1)`` as int64, cached for a few sizes (channels share sizes)."""
        store = self._cache.setdefault("local", {})
        assert isinstance(store, dict)
        got = store.get(n)
        if got is None:
            if len(store) >= 16:
                store.pop(next(iter(store)))
            got = store[n] = _upper_pairs(n)
        return got


def _upper_pairs(n: int) -> tuple[IntArray, IntArray]:
    """Row-major pairs ``(i, j)``, ``i < j < n`` (``np.triu_indices(n, 1)``, faster)."""
    lengths = np.arange(n - 1, -1, -1, dtype=np.int64)
    rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
    starts = np.cumsum(lengths) - lengths  # first pair of each row
    cols = np.arange(len(rows), dtype=np.int64) - starts[rows] + rows + 1
    return rows, cols


@dataclass(frozen=True, eq=False)
class Cardinality:
    """The constraint ``Σ_a x_a = k[c]`` over the free variables of each channel ``c``.

    It stays symbolic on a block until the block is lowered to a Hamiltonian, where it becomes
    the penalty ``A_c (Σ_a x_a - k_c)²``; :meth:`violation` and :meth:`satisfied` check samples.
    """

    k: IntArray

    def __post_init__(self) -> None:
        self.k.flags.writeable = False

    @classmethod
    def create(cls, k: npt.ArrayLike, num_channels: int) -> Cardinality:
        arr = np.broadcast_to(np.asarray(k, dtype=np.int64), (num_channels,)).copy()
        if np.any(arr < 0):
            raise ValidationError("cardinality targets must be non-negative")
        return cls(arr)

    def violation(self, bits: npt.ArrayLike) -> IntArray:
        """``Σ_a x_a - k[c]`` per channel for BINARY ``bits`` shaped ``(..., C, m)``."""
        x = np.asarray(bits, dtype=np.int64)
        return x.sum(axis=-1) - self.k  # type: ignore[no-any-return]

    def satisfied(self, bits: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Whether every channel of each sample meets its target: shape ``(...)``."""
        return np.all(self.violation(bits) == 0, axis=-1)  # type: ignore[no-any-return]
