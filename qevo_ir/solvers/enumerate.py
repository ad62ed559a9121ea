"""Exhaustive exact minimisation of an Ising energy (the kernel of the ``exact`` backend).

Energy convention (SPIN, ``s_i ∈ {-1, +1}``), minimised::

    E(s) = offset + Σ_i h_i s_i + Σ_k J_k s_{row_k} s_{col_k}

Public API: :func:`enumerate_ising` (returns :class:`EnumerationResult` of :class:`Level`),
:func:`index_to_spins`, :func:`ising_energy`, :data:`DEFAULT_MAX_VARIABLES`.

Algorithm
---------
*Order.* States are ranked with variable 0 as the most significant digit (``-1`` before
``+1``), so ranks ``0 .. 2**n - 1`` are the states in lexicographic order; "the first
``max_states`` states of a level" is then a matter of keeping the smallest ranks.

*Split.* The variables are split into a high part (which chunk, which row of the chunk) and
a low part ``L`` of ``b = 14`` variables (the columns). Every energy is
``(P[r, j] + v[j]) + rc[r]``: ``P`` is the row-part-to-``L`` coupling matrix (fixed, built
once), ``v`` the chunk's column vector, ``rc`` its row constants — one float64 add per state
and no per-state Python. The tables are built by doubling (``±w`` per variable), never by
BLAS, so every state gets one well-defined float64 energy whatever path evaluates it.

*Exact pruning.* Columns are cut into segments of 64. ``min P`` over a segment is fixed and
``min v`` over it is cheap per chunk, so ``(min P + min v) + rc`` bounds every energy of the
segment from below — rigorously, since float rounding is monotone and the bound is computed
by the same operations. Segments whose bound is above the current cut-off (the end of the
``num_levels``-th level found so far) are skipped; the best-bounded segments are evaluated
first so the cut-off drops fast. Counts stay exact: every state at or below the cut-off is
evaluated. On random instances this skips > 99% of the states; on highly degenerate ones it
degrades gracefully to evaluating whole rows.

*Symmetry.* When every ``h_i`` is zero, ``E(s) = E(-s)``: only the states with ``s_0 = -1``
are enumerated and the others are their mirror images.

*Threads.* Super-chunks (``2**24`` states) are spread over the CPUs with plain threads:
numpy releases the GIL in the large element-wise operations.

Memory is ``8 * 2**chunk_bits`` bytes for ``P`` plus a few MB per thread, whatever ``n`` is;
only the states of the best ``num_levels`` levels are kept (at most ``max_states`` per energy
bucket, see :func:`enumerate_ising`). Depends on numpy only.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_CHUNK_BITS",
    "DEFAULT_MAX_VARIABLES",
    "EnumerationResult",
    "Level",
    "enumerate_ising",
    "index_to_spins",
    "ising_energy",
]

DEFAULT_MAX_VARIABLES = 34
"""Default size limit: ``2**34`` states."""

DEFAULT_CHUNK_BITS = 20
"""Default chunk: ``2**20`` states (the fixed matrix ``P`` is 8 MB)."""

_MAX_CHUNK_BITS = 24
"""Largest accepted ``chunk_bits`` (the fixed matrix ``P`` takes ``8 * 2**chunk_bits`` bytes)."""

_LOW_BITS = 14
"""Variables in the low (column) part: rows of ``P`` are ``2**14`` long."""

_GRID = 16
"""Energies are bucketed on a grid of pitch ``atol / _GRID`` (see :func:`enumerate_ising`)."""

_TABLE_BITS = 18
"""The per-chunk column vectors come from a table of at most ``2**18`` float64 entries."""

_PEEL_LIMIT = 8
"""Distinct buckets extracted by repeated min-scans before falling back to ``np.unique``."""

_MAX_THREADS = 8
"""Worker threads at most (the hot loop is memory-bound beyond a few cores)."""

_SEG_BITS = 6
"""Columns are bounded in segments of ``2**6`` (see :class:`_Scan`)."""

_BEST_FIRST = 4
"""Best-bounded segments evaluated one at a time, per super-chunk, before the rest."""

_DENSE_FRACTION = 8
"""Evaluate whole rows instead of segments once more than 1/8 of the segments are candidates."""

_BLOCK_ENERGIES = 1 << 18
"""Energies evaluated per block (2 MB; the candidate extraction needs a few times that)."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
SpinArray = npt.NDArray[np.int8]


@dataclass(frozen=True)
class Level:
    """One energy level: all states whose energies are tied (see :func:`enumerate_ising`).

    ``energy``: the level's energy. ``count``: the exact number of states in the level.
    ``states``: int8 array of shape ``(min(count, max_states), n)`` with entries in
    ``{-1, +1}`` (column ``i`` is variable ``i``), rows in lexicographic order (``-1 < +1``,
    variable 0 first); these are the lexicographically *first* states of the level.
    ``truncated``: ``count > len(states)``.
    """

    energy: float
    count: int
    states: SpinArray
    truncated: bool


@dataclass(frozen=True)
class EnumerationResult:
    """Outcome of :func:`enumerate_ising`.

    ``levels``: the lowest distinct levels (at most ``num_levels``), ascending in energy;
    ``levels[0]`` is the ground level. ``states_examined``: ``2**num_variables``.
    ``seconds``: wall-clock time spent in the kernel.
    """

    num_variables: int
    levels: tuple[Level, ...]
    states_examined: int
    seconds: float


def index_to_spins(indices: npt.ArrayLike, n: int) -> SpinArray:
    """Spins for state indices: bit ``i`` of the index set ⇔ ``s_i = +1``.

    That is ``index = Σ_i x_i 2**i`` with ``x = (s + 1) / 2``. Returns an int8 array of shape
    ``(len(indices), n)`` with entries in ``{-1, +1}``.
    """
    if n < 0 or n > 62:
        raise ValueError(f"n must be in [0, 62], got {n}")
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= (1 << n)):
        raise ValueError(f"state indices must lie in [0, 2**{n})")
    bits = (idx[:, None] >> np.arange(n, dtype=np.int64)) & 1
    spins: SpinArray = (2 * bits - 1).astype(np.int8)
    return spins


def _rank_to_spins(ranks: IntArray, n: int) -> SpinArray:
    """Spins for lexicographic ranks (bit ``n-1-i`` of the rank ⇔ ``s_i = +1``)."""
    spins: SpinArray = np.ascontiguousarray(index_to_spins(ranks, n)[:, ::-1])
    return spins


def ising_energy(
    spins: npt.ArrayLike,
    h: npt.ArrayLike,
    row: npt.ArrayLike,
    col: npt.ArrayLike,
    J: npt.ArrayLike,
    offset: float = 0.0,
) -> float:
    """Energy of one ±1 state, correctly rounded (``math.fsum`` of the exact terms)."""
    s = np.asarray(spins, dtype=np.float64).reshape(-1)
    hh = np.asarray(h, dtype=np.float64).reshape(-1)
    rr = np.asarray(row, dtype=np.int64).reshape(-1)
    cc = np.asarray(col, dtype=np.int64).reshape(-1)
    jj = np.asarray(J, dtype=np.float64).reshape(-1)
    terms = np.concatenate([[float(offset)], hh * s, jj * s[rr] * s[cc]])
    return math.fsum(terms.tolist())


def _as_float_vector(x: npt.ArrayLike, what: str) -> FloatArray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        if arr.size == 0:
            arr = arr.reshape(0)
        else:
            raise ValueError(f"{what} must be a 1-D array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contains a non-finite value")
    return arr


def _as_index_vector(x: npt.ArrayLike, n: int, what: str) -> IntArray:
    arr = np.asarray(x)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not (np.isfinite(arr).all() and np.all(arr == np.round(arr))):
            raise ValueError(f"{what} must hold integers")
    elif arr.dtype.kind not in "iu":
        raise ValueError(f"{what} must hold integers, got dtype {arr.dtype}")
    out = arr.astype(np.int64)
    if int(out.min()) < 0 or int(out.max()) >= n:
        raise ValueError(f"{what} has an index out of range for {n} variables")
    return out


# --------------------------------------------------------------------------------------------
# Level bookkeeping
# --------------------------------------------------------------------------------------------


@dataclass
class _Selection:
    """The candidates of one block that share one key."""

    key: float
    count: int
    ranks: IntArray  # ascending, the first (at most max_states) of the selection
    min_value: float
    min_rank: int


class _Bucket:
    """All states seen so far whose energy key is one value."""

    __slots__ = ("count", "min_rank", "min_value", "ranks")

    def __init__(self) -> None:
        self.count = 0
        self.ranks: IntArray = np.zeros(0, dtype=np.int64)  # ascending, <= max_states
        self.min_value = math.inf
        self.min_rank = -1


class _LevelStore:
    """Buckets of candidate states and the running cut-off, updated block by block.

    A *key* is the energy snapped to the grid (in grid units) or, without snapping, the
    energy itself. Levels are formed greedily from the lowest key: a level starting at key
    ``k0`` holds every key ``<= k0 + width``. ``threshold`` is the end key of the
    ``num_levels``-th level (``inf`` while fewer levels are known). Adding states can only
    lower it, so a state above it can never enter the result and is dropped. The outcome does
    not depend on the order in which blocks arrive.

    :meth:`extract` reads a (possibly stale, hence larger) threshold and runs without the
    lock; :meth:`merge` must be called under :attr:`lock`.
    """

    def __init__(self, num_levels: int, max_states: int, atol: float, scale: float) -> None:
        self.num_levels = num_levels
        self.max_states = max_states
        # Snap when atol > 0 and grid indices stay exact integers in float64, and the pitch's
        # inverse is finite (a subnormal atol, e.g. 1e-309, would make it inf: keys inf/nan).
        q = atol / _GRID
        with np.errstate(over="ignore", divide="ignore"):
            inverse = 1.0 / q if q > 0.0 else math.inf
        self.snap = atol > 0.0 and math.isfinite(inverse) and (scale + atol) / q < 2.0**50
        self.inv_q = inverse if self.snap else 1.0
        self.width = float(_GRID) if self.snap else atol
        self.buckets: dict[float, _Bucket] = {}
        self.threshold = math.inf
        self.lowest = math.inf
        self.lock = threading.Lock()

    # key <-> raw energy ---------------------------------------------------------------------
    def key(self, value: float) -> float:
        """The bucket key of one energy."""
        return float(np.rint(value * self.inv_q)) if self.snap else value

    def keys(self, values: FloatArray) -> FloatArray:
        """The bucket keys of an array of energies."""
        if not self.snap:
            return values
        out: FloatArray = np.rint(values * self.inv_q)
        return out

    def raw_cut(self, key: float) -> float:
        """A raw energy at or above every energy whose key is ``<= key``."""
        if not self.snap or math.isinf(key):
            return key
        return (key + 0.75) / self.inv_q

    # candidate extraction (no lock) ---------------------------------------------------------
    def _local_threshold(self, block: FloatArray, block_min: float) -> float:
        """End key of the ``num_levels``-th level within ``block`` alone (an upper bound)."""
        start = self.key(block_min)
        for _ in range(self.num_levels - 1):
            above = self.raw_cut(start + self.width)
            nxt = float(np.min(block, where=block > above, initial=math.inf))
            if math.isinf(nxt):
                return math.inf
            start = self.key(nxt)
        return start + self.width

    def extract(self, block: FloatArray, row_base: IntArray, low_bits: int) -> list[_Selection]:
        """The candidates of a 2-D float64 block of energies, grouped by key.

        Row ``r``, column ``j`` of ``block`` is the state of rank ``row_base[r] + j``;
        ``row_base`` is ascending, so the flattened block is in lexicographic order.
        """
        threshold, lowest = self.threshold, self.lowest  # snapshot; only ever decreases
        bmin = float(block.min())
        kmin = self.key(bmin)
        if kmin > threshold:
            return []
        limit = threshold
        if kmin < lowest or math.isinf(limit):
            # A new lowest energy: the block's own levels may cut much lower.
            limit = min(limit, self._local_threshold(block, bmin))
        ncols = block.shape[1]
        lo_mask = (1 << low_bits) - 1

        def ranks_of(flat: IntArray) -> IntArray:
            r: IntArray = row_base[flat >> low_bits] + (flat & lo_mask)
            return r

        if self.key(float(block.max())) == kmin and kmin <= limit:
            # The whole block is one bucket (degenerate problems): no gathering.
            arg = int(np.argmin(block))
            first = np.arange(min(self.max_states, block.size), dtype=np.int64)
            min_rank = int(row_base[arg // ncols]) + arg % ncols
            return [_Selection(kmin, block.size, ranks_of(first), bmin, min_rank)]
        flat = np.flatnonzero(block <= self.raw_cut(limit))
        vals = block.reshape(-1)[flat]
        keys = self.keys(vals)
        if self.snap:
            keep = keys <= limit
            if not keep.all():
                flat, vals, keys = flat[keep], vals[keep], keys[keep]
        out: list[_Selection] = []
        peeled = 0
        while flat.size:
            if peeled >= _PEEL_LIMIT:
                uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
                order = np.argsort(inverse, kind="stable")  # by key, then by rank
                ends = np.cumsum(counts)
                for k, lo, hi in zip(
                    uniq.tolist(), (ends - counts).tolist(), ends.tolist(), strict=True
                ):
                    sel = order[lo:hi]
                    out.append(self._selection(k, flat[sel], vals[sel], ranks_of))
                break
            k0 = float(keys.min())
            hit = keys == k0
            if hit.all():
                out.append(self._selection(k0, flat, vals, ranks_of))
                break
            out.append(self._selection(k0, flat[hit], vals[hit], ranks_of))
            rest = ~hit
            flat, vals, keys = flat[rest], vals[rest], keys[rest]
            peeled += 1
        return out

    def _selection(
        self,
        key: float,
        flat: IntArray,
        vals: FloatArray,
        ranks_of: Callable[[IntArray], IntArray],
    ) -> _Selection:
        j = int(np.argmin(vals))
        min_rank = int(ranks_of(flat[j : j + 1])[0])
        return _Selection(
            key, flat.size, ranks_of(flat[: self.max_states]), float(vals[j]), min_rank
        )

    # merging (under the lock) ---------------------------------------------------------------
    def merge(self, selections: list[_Selection]) -> None:
        """Add extracted selections to the buckets and lower the threshold."""
        if not selections:
            return
        for sel in selections:
            if sel.key > self.threshold:
                continue
            bucket = self.buckets.get(sel.key)
            if bucket is None:
                bucket = self.buckets[sel.key] = _Bucket()
            bucket.count += sel.count
            stored = bucket.ranks
            if sel.ranks.size and (
                stored.size < self.max_states or int(sel.ranks[0]) < int(stored[-1])
            ):
                if stored.size and int(sel.ranks[0]) > int(stored[-1]):
                    merged = np.concatenate([stored, sel.ranks])
                else:
                    merged = np.sort(np.concatenate([stored, sel.ranks]))
                bucket.ranks = merged[: self.max_states]
            if (sel.min_value, sel.min_rank) < (bucket.min_value, bucket.min_rank):
                bucket.min_value, bucket.min_rank = sel.min_value, sel.min_rank
        groups = self.groups()
        if groups:
            self.lowest = groups[0][0]
        if len(groups) == self.num_levels:
            self.threshold = groups[-1][0] + self.width
            for k in [k for k in self.buckets if k > self.threshold]:
                del self.buckets[k]

    def groups(self) -> list[list[float]]:
        """Keys grouped into levels (greedy from the lowest), at most ``num_levels`` groups."""
        out: list[list[float]] = []
        end = -math.inf
        for k in sorted(self.buckets):
            if k > end:
                if len(out) == self.num_levels:
                    break
                out.append([])
                end = k + self.width
            out[-1].append(k)
        return out


# --------------------------------------------------------------------------------------------
# The scan
# --------------------------------------------------------------------------------------------


def _spin_matrix(first: int, count: int, bits: int) -> FloatArray:
    """``±1`` rows for ranks ``first .. first+count-1`` over ``bits`` bits, MSB first."""
    r = np.arange(first, first + count, dtype=np.int64)
    shifts = np.arange(bits - 1, -1, -1, dtype=np.int64)
    m: FloatArray = (((r[:, None] >> shifts) & 1) * 2 - 1).astype(np.float64)
    return m


def _signed_sums(weights: npt.NDArray[Any], dtype: type[Any] = np.float64) -> npt.NDArray[Any]:
    """``X[r] = Σ_i s_i(r) weights[i]`` over all ``2**k`` spin rows ``r`` (MSB first).

    ``weights`` has shape ``(k, m)``; the result ``(2**k, m)``. Built by doubling, one
    variable at a time (the last first, each new one becoming the most significant), in a
    fixed order: no BLAS (whose worker threads would compete with ours for the cores) and
    bit-for-bit reproducible.
    """
    k, m = weights.shape
    out = np.empty((1 << k, m), dtype=dtype)
    out[0] = 0.0
    size = 1
    for i in range(k - 1, -1, -1):
        w = weights[i]
        np.add(out[:size], w, out=out[size : 2 * size])
        out[:size] -= w
        size *= 2
    return out


def _energies(h: FloatArray, upper: FloatArray) -> FloatArray:
    """``Σ h_i s_i + Σ_{i<j} J_ij s_i s_j`` over all ``2**k`` spin rows (MSB first)."""
    k = h.size
    out = np.empty(1 << k, dtype=np.float64)
    out[0] = 0.0
    size = 1
    for j in range(k - 1, -1, -1):
        # Local field of variable j over the states of variables j+1 .. k-1.
        field = _signed_sums(np.ascontiguousarray(upper[j, j + 1 :, None]))[:, 0] + h[j]
        np.add(out[:size], field, out=out[size : 2 * size])
        out[:size] -= field
        size *= 2
    return out


def _available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


class _Scan:
    """The split of one problem, the precomputed tables and the exact per-state formula.

    Variables are split, most significant first, into ``H2a`` (``a2a`` bits: which
    *super-chunk*, the unit of work), ``H2b`` (``a2b`` bits: which chunk within it),
    ``H1`` (``r1`` bits: the rows of a chunk) and ``L`` (``b`` bits: the columns). With the
    fixed matrix ``P[r, j] = Σ_{i∈H1} s_i(r) Σ_{l∈L} J_il s_l(j)``, the chunk's column vector
    ``v[j]`` (``e_L`` plus the ``H2``-to-``L`` couplings) and its row constants ``rc[r]`` (every
    term not involving ``L``), the energy of (chunk, row ``r``, column ``j``) is::

        E = (P[r, j] + v[j]) + rc[r]

    always evaluated in exactly this order, in float64, whichever path computes it, so every
    state has one well-defined float64 energy. Rank of (super-chunk ``ca``, chunk ``cb``,
    row ``r``, column ``j``) is ``((ca << a2b | cb) << r1 | r) << b | j``.

    Columns come in segments of ``2**seg_bits``. ``PG[r, g] = min P[r, segment g]`` is fixed
    and ``VG[g] = min v[segment g]`` is cheap per chunk, so ``(PG + VG) + rc`` is a lower
    bound of every energy in the segment — exact, not approximate: float rounding is
    monotone and the bound is computed by the same operations as the energies. Only the
    segments whose bound reaches the current cut-off are evaluated.

    Nothing here uses BLAS (its worker threads would compete with ours for the cores).
    """

    def __init__(self, h: FloatArray, jd: FloatArray, offset: float, chunk_bits: int) -> None:
        n = h.size
        b = min(n, _LOW_BITS, chunk_bits)
        a = n - b
        r1 = min(a, chunk_bits - b)
        a2 = a - r1
        a2b = min(a2, max(0, _TABLE_BITS - b))
        a2a = a2 - a2b
        seg_bits = min(_SEG_BITS, b)
        self.b, self.r1, self.a2a, self.a2b, self.seg_bits = b, r1, a2a, a2b, seg_bits
        self.rows = 1 << r1
        self.nsub = 1 << a2b
        self.ngroups = 1 << (b - seg_bits)
        self.units = 1 << a2a
        self.unit_states = self.nsub << (r1 + b)
        ha, hb, h1 = slice(0, a2a), slice(a2a, a2), slice(a2, a)

        e_l = _energies(h[a:], jd[a:, a:])
        centre = 0.5 * (float(e_l.max()) + float(e_l.min()))
        e_l -= centre
        cross = np.ascontiguousarray(_signed_sums(np.ascontiguousarray(jd[:a, a:].T)).T)
        self.cross_a = np.ascontiguousarray(cross[ha])  # (a2a, 2**b)
        self.s_1 = _spin_matrix(0, self.rows, r1)
        self.const = offset + centre
        self.p = _signed_sums(np.ascontiguousarray(cross[h1]))  # P: (rows, 2**b)
        self.pg = self.p.reshape(self.rows, self.ngroups, -1).min(axis=2)
        # H2b tables: column vectors and row constants of the chunks of a super-chunk.
        self.v_b = _signed_sums(np.ascontiguousarray(cross[hb])) + e_l  # (nsub, 2**b)
        w_b = _signed_sums(np.ascontiguousarray(jd[hb, h1]))  # (nsub, r1)
        self.rc_b = (
            _energies(h[hb], jd[hb, hb])[:, None]
            + _signed_sums(np.ascontiguousarray(w_b.T)).T
            + _energies(h[h1], jd[h1, h1])
        )  # (nsub, rows)
        self.h_a = h[ha]
        self.j_aa = jd[ha, ha]
        self.j_ab = jd[ha, hb]
        self.j_a1 = jd[ha, h1]

    def unit_terms(self, ca: int) -> tuple[FloatArray, FloatArray]:
        """Column vectors ``V`` (nsub, 2**b) and row constants ``RC`` (nsub, rows) of ``ca``."""
        s = _spin_matrix(ca, 1, self.a2a)[0]
        v_a = (self.cross_a * s[:, None]).sum(axis=0)
        e_a = float(((self.j_aa * s[:, None]).sum(axis=0) * s).sum()) + float((self.h_a * s).sum())
        w_a = (self.j_a1 * s[:, None]).sum(axis=0)  # (r1,)
        rc_a = (self.const + e_a) + (self.s_1 * w_a).sum(axis=1)  # (rows,)
        x_ab = _signed_sums(np.ascontiguousarray((self.j_ab * s[:, None]).sum(axis=0)[:, None]))
        big_v: FloatArray = v_a + self.v_b
        big_rc: FloatArray = (rc_a + x_ab) + self.rc_b
        return big_v, big_rc

    def rows_block(self, v: FloatArray, rc: FloatArray, rows: IntArray | None) -> FloatArray:
        """Energies of whole rows (all when ``None``) of one chunk (its ``v`` and ``rc``)."""
        if rows is None:
            out: FloatArray = self.p + v
            out += rc[:, None]
        else:
            out = self.p[rows] + v
            out += rc[rows, None]
        return out

    def segments_block(self, big_v: FloatArray, big_rc: FloatArray, idx: IntArray) -> FloatArray:
        """Energies of segments ``idx`` (flat over ``(cb, r, g)``) of one super-chunk."""
        g = idx % self.ngroups
        r = (idx // self.ngroups) % self.rows
        cb = idx // (self.ngroups * self.rows)
        seg = 1 << self.seg_bits
        out: FloatArray = self.p.reshape(self.rows, self.ngroups, seg)[r, g]
        out += big_v.reshape(self.nsub, self.ngroups, seg)[cb, g]
        out += big_rc[cb, r][:, None]
        return out


def _run_scan(
    scan: _Scan,
    store: _LevelStore,
    threads: int,
    prune: bool,
    progress: Callable[[int], None] | None,
) -> None:
    """Evaluate every super-chunk of ``scan`` into ``store`` on ``threads`` threads."""
    b, r1, seg_bits = scan.b, scan.r1, scan.seg_bits
    row_batch = max(1, _BLOCK_ENERGIES >> b)
    segment_batch = max(1, _BLOCK_ENERGIES >> seg_bits)
    counter = itertools.count()
    stop = threading.Event()
    errors: list[BaseException] = []
    done = [0, 0]  # units finished, units reported

    def report() -> None:
        assert progress is not None
        while done[1] < done[0]:
            done[1] += 1
            progress(done[1] * scan.unit_states)

    def merge(block: FloatArray, row_base: IntArray, low_bits: int) -> None:
        sels = store.extract(block, row_base, low_bits)
        if sels:
            with store.lock:
                store.merge(sels)

    def rows_of(
        ca: int, big_v: FloatArray, big_rc: FloatArray, cb: int, rows: IntArray | None
    ) -> None:
        base = ((ca << scan.a2b) | cb) << (r1 + b)
        if rows is None and scan.rows <= row_batch:
            offsets = np.arange(scan.rows, dtype=np.int64)
            merge(scan.rows_block(big_v[cb], big_rc[cb], None), base + (offsets << b), b)
            return
        todo = np.arange(scan.rows, dtype=np.int64) if rows is None else rows
        for start in range(0, todo.size, row_batch):
            part = todo[start : start + row_batch]
            merge(scan.rows_block(big_v[cb], big_rc[cb], part), base + (part << b), b)

    def segments_of(ca: int, big_v: FloatArray, big_rc: FloatArray, idx: IntArray) -> None:
        base = ca << (scan.a2b + r1 + b)
        for start in range(0, idx.size, segment_batch):
            part = idx[start : start + segment_batch]
            # (cb, r, g) flat index -> rank of the segment's first state.
            row_base = base + (part << seg_bits)
            merge(scan.segments_block(big_v, big_rc, part), row_base, seg_bits)

    def unit(ca: int) -> None:
        big_v, big_rc = scan.unit_terms(ca)
        if not prune:
            for cb in range(scan.nsub):
                rows_of(ca, big_v, big_rc, cb, None)
            return
        seg = 1 << seg_bits
        vg = big_v.reshape(scan.nsub, scan.ngroups, seg).min(axis=2)
        lower = scan.pg[None, :, :] + vg[:, None, :]
        lower += big_rc[:, :, None]
        flat_lower = lower.reshape(-1)
        cand = np.flatnonzero(flat_lower <= store.raw_cut(store.threshold))
        first: list[int] = []
        for _ in range(_BEST_FIRST):
            if cand.size <= 1:
                break
            # Best segment first: it usually lowers the cut-off below nearly all the others.
            best = int(cand[np.argmin(flat_lower[cand])])
            segments_of(ca, big_v, big_rc, np.array([best], dtype=np.int64))
            first.append(best)
            cut = store.raw_cut(store.threshold)
            cand = cand[(cand != best) & (flat_lower[cand] <= cut)]
        if not cand.size:
            return
        if cand.size * _DENSE_FRACTION < lower.size:
            segments_of(ca, big_v, big_rc, cand)
            return
        # Many candidates (degenerate problems): whole rows, chunk by chunk; a row holding a
        # segment already evaluated above is done segment by segment instead.
        row_of = cand // scan.ngroups  # (cb, r) flat
        done_rows = np.unique(np.array(first, dtype=np.int64) // scan.ngroups)
        partial = np.isin(row_of, done_rows)
        if partial.any():
            segments_of(ca, big_v, big_rc, cand[partial])
            row_of = row_of[~partial]
        row_of = np.unique(row_of)
        row_cb = row_of // scan.rows
        for cb in np.unique(row_cb).tolist():
            rows = row_of[row_cb == cb] % scan.rows
            rows_of(ca, big_v, big_rc, cb, None if rows.size == scan.rows else rows)

    def work(reporter: bool) -> None:
        while not stop.is_set():
            ca = next(counter)
            if ca >= scan.units:
                return
            unit(ca)
            with store.lock:
                done[0] += 1
            if reporter and progress is not None:
                report()

    def helper() -> None:
        try:
            work(False)
        except BaseException as exc:  # re-raised in the calling thread
            errors.append(exc)
            stop.set()

    helpers = [
        threading.Thread(target=helper, daemon=True)
        for _ in range(max(1, min(threads, scan.units)) - 1)
    ]
    try:
        for t in helpers:
            t.start()
        work(True)
    except BaseException:
        stop.set()
        raise
    finally:
        for t in helpers:
            t.join()
    if errors:
        raise errors[0]
    if progress is not None:
        report()


def _dense_upper(n: int, row: IntArray, col: IntArray, values: FloatArray) -> FloatArray:
    jd = np.zeros((n, n), dtype=np.float64)
    lo = np.minimum(row, col)
    hi = np.maximum(row, col)
    np.add.at(jd, (lo, hi), values)
    return jd


def _default_atol(h: FloatArray, values: FloatArray, offset: float) -> float:
    scale = abs(offset) + float(np.abs(h).sum()) + float(np.abs(values).sum())
    return 1e-9 * max(1.0, scale)


def enumerate_ising(
    h: npt.ArrayLike,
    row: npt.ArrayLike,
    col: npt.ArrayLike,
    J: npt.ArrayLike,
    offset: float = 0.0,
    *,
    num_levels: int = 1,
    max_states: int = 65536,
    atol: float | None = None,
    max_variables: int = DEFAULT_MAX_VARIABLES,
    chunk_bits: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EnumerationResult:
    """Exhaustively minimise ``offset + Σ h_i s_i + Σ_k J_k s_{row_k} s_{col_k}`` over ``±1``.

    Parameters
    ----------
    h:
        Linear coefficients; ``n = len(h)`` is the number of variables (``n = 0`` is allowed:
        the one empty state, energy ``offset``).
    row, col, J:
        Couplings in COO form, normally ``row < col`` and unique; a pair given as
        ``row > col`` is read as ``(col, row)`` and duplicate pairs are summed. A self-loop
        (``row == col``) is a :class:`ValueError`.
    offset:
        Constant energy.
    num_levels:
        How many of the lowest distinct levels to return (``>= 1``).
    max_states:
        At most this many states are returned per level (the lexicographically first ones);
        ``count`` stays exact.
    atol:
        Tie tolerance, ``>= 0``. Default ``1e-9 * max(1, |offset| + Σ|h| + Σ|J|)``.
    max_variables:
        Size limit; a larger problem raises :class:`ValueError` at once, before any
        allocation.
    chunk_bits:
        ``log2`` of the states per chunk, ``0 .. 24`` (default 20; smaller for small
        problems). The fixed matrix ``P`` takes ``8 * 2**chunk_bits`` bytes; evaluation works
        on blocks of at most ``2**18`` energies, so peak extra memory stays in the tens of MB
        whatever ``n`` is. Results do not depend on it except through float64 rounding of
        the energies (which the tie tolerance absorbs).
    progress:
        Called as ``progress(states_done, 2**n)`` once per unit of work (a super-chunk of
        ``2**24`` states at the default chunk size; a single call for ``n <= 24``), always
        from the calling thread, with increasing ``states_done``; the last call has
        ``states_done == 2**n``. An exception raised by it stops the scan and propagates.

    The scan uses one thread per available CPU (at most 8); numpy releases the GIL in its
    large element-wise operations. Nothing calls BLAS.

    Tie rule
    --------
    Energies are evaluated in float64 and, when ``atol > 0``, bucketed on a grid of pitch
    ``atol / 16`` (``key = rint(E * 16 / atol)``; without ``atol`` or when the grid would not
    be exact, the float64 energy itself is the key). Levels are formed greedily from the
    lowest key: a level starting at key ``k0`` contains every state whose key is at most
    ``k0 + 16`` (i.e. within ``atol`` of the level's lowest energy, up to the grid pitch); the
    next level starts at the next key above. A level's ``energy`` is the correctly rounded
    (``math.fsum``) energy of its lowest state, where "lowest" is decided by the kernel's
    float64 evaluation and exact ties go to the lexicographically first state; it is within
    float64 rounding of the minimum over the level's states and does not depend on BLAS.

    Returns
    -------
    EnumerationResult
        ``levels`` ascending (fewer than ``num_levels`` only if the problem has fewer).
    """
    return _enumerate(
        h,
        row,
        col,
        J,
        offset,
        num_levels=num_levels,
        max_states=max_states,
        atol=atol,
        max_variables=max_variables,
        chunk_bits=chunk_bits,
        progress=progress,
    )


def _enumerate(
    h: npt.ArrayLike,
    row: npt.ArrayLike,
    col: npt.ArrayLike,
    J: npt.ArrayLike,
    offset: float = 0.0,
    *,
    num_levels: int = 1,
    max_states: int = 65536,
    atol: float | None = None,
    max_variables: int = DEFAULT_MAX_VARIABLES,
    chunk_bits: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    prune: bool = True,
    use_symmetry: bool = True,
    threads: int | None = None,
) -> EnumerationResult:
    """:func:`enumerate_ising` with the internal switches exposed (for tests and benchmarks).

    ``prune``: skip the segments whose exact lower bound is above the cut-off (else every
    energy is evaluated).
    ``use_symmetry``: allow the ``h == 0`` mirror-image halving.
    ``threads``: worker threads (default: the CPUs this process may use, at most
    ``_MAX_THREADS``).
    """
    t0 = time.perf_counter()
    h_arr = np.asarray(h)
    n = int(h_arr.size)
    if n > max_variables:
        raise ValueError(
            f"exact enumeration is limited to {max_variables} variables "
            f"(2**{max_variables} states); this problem has {n}"
        )
    if n > 62:
        raise ValueError(f"exact enumeration cannot index more than 62 variables; got {n}")
    if num_levels < 1:
        raise ValueError(f"num_levels must be >= 1, got {num_levels}")
    if max_states < 0:
        raise ValueError(f"max_states must be >= 0, got {max_states}")
    auto_chunks = chunk_bits is None
    if chunk_bits is None:
        chunk_bits = DEFAULT_CHUNK_BITS
    if not 0 <= chunk_bits <= _MAX_CHUNK_BITS:
        raise ValueError(f"chunk_bits must be in [0, {_MAX_CHUNK_BITS}], got {chunk_bits}")
    offset = float(offset)
    if not math.isfinite(offset):
        raise ValueError("offset must be finite")
    hv = _as_float_vector(h_arr, "h")
    jv = _as_float_vector(J, "J")
    rv = _as_index_vector(row, n, "row")
    cv = _as_index_vector(col, n, "col")
    if not rv.size == cv.size == jv.size:
        raise ValueError(f"row, col and J differ in length: {rv.size}, {cv.size}, {jv.size}")
    if np.any(rv == cv):
        raise ValueError("self-loop coupling (row == col)")
    if atol is None:
        atol = _default_atol(hv, jv, offset)
    atol = float(atol)
    if not (atol >= 0.0 and math.isfinite(atol)):
        raise ValueError(f"atol must be a finite number >= 0, got {atol}")

    jd = _dense_upper(n, rv, cv, jv)
    scale = abs(offset) + float(np.abs(hv).sum()) + float(np.abs(jv).sum())
    store = _LevelStore(num_levels, max_states, atol, scale)
    total = 1 << n

    mirrored = use_symmetry and n >= 1 and not np.any(hv)
    if mirrored:
        # Fix s_0 = -1: variable 0 then acts on the others as a field -J[0, j].
        core_h = -jd[0, 1:]
        core_j = jd[1:, 1:]
        core_n = n - 1
    else:
        core_h, core_j, core_n = hv, jd, n

    report: Callable[[int], None] | None = None
    if progress is not None:
        user_progress = progress
        factor = 2 if mirrored else 1

        def report(done: int) -> None:
            user_progress(done * factor, total)

    if auto_chunks:
        # Small problems: smaller chunks make the set-up cheaper.
        chunk_bits = min(chunk_bits, max(_LOW_BITS, core_n - 4))
    scan = _Scan(core_h, core_j, offset, chunk_bits)
    workers = min(_available_cpus(), _MAX_THREADS) if threads is None else threads
    _run_scan(scan, store, workers, prune, report)

    levels: list[Level] = []
    for group in store.groups():
        buckets = [store.buckets[k] for k in group]
        count = sum(bk.count for bk in buckets)
        ranks = np.sort(np.concatenate([np.zeros(0, np.int64)] + [bk.ranks for bk in buckets]))
        ranks = ranks[:max_states]
        best = min(buckets, key=lambda bk: (bk.min_value, bk.min_rank))
        spins = _rank_to_spins(np.array([best.min_rank], dtype=np.int64), core_n)
        if mirrored:
            count *= 2
            first = _rank_to_spins(ranks, core_n)
            spins = np.hstack([np.full((1, 1), -1, np.int8), spins])
            states = np.hstack([np.full((first.shape[0], 1), -1, np.int8), first])
            room = max_states - states.shape[0]
            if room > 0:
                # Mirrors have s_0 = +1, so they follow; the smallest come from the largest.
                mirrors = -states[::-1][:room]
                states = np.vstack([states, mirrors])
        else:
            states = _rank_to_spins(ranks, n)
        energy = ising_energy(spins[0], hv, rv, cv, jv, offset)
        levels.append(
            Level(energy=energy, count=count, states=states, truncated=count > states.shape[0])
        )
    return EnumerationResult(
        num_variables=n,
        levels=tuple(levels),
        states_examined=total,
        seconds=time.perf_counter() - t0,
    )
