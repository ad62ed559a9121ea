"""Exact minimisation of a sparse Ising energy by variable elimination over a tree decomposition.

Energy convention (SPIN, ``s_i ∈ {-1, +1}``), minimised, as in :mod:`qevo_ir.solvers.enumerate`::

    E(s) = offset + Σ_i h_i s_i + Σ_k J_k s_{row_k} s_{col_k}

Public API: :func:`plan_elimination` (an :class:`EliminationPlan`: order, separators, width
and the bytes the tables need), :func:`check_plan`, :func:`solve_tree` (a :class:`TreeResult`),
:data:`DEFAULT_MEMORY_LIMIT`.

Algorithm
---------
*Order.* An elimination order on the interaction graph: the greedy min-fill and min-degree
rules and two sweeps (reverse Cuthill-McKee, and the variables' own numbering) are computed and
the one with the fewest table entries is kept. Eliminating variable ``x`` joins
its remaining neighbours into a clique; they are ``x``'s *separator*, and the width is the
largest separator (the treewidth of the decomposition the order induces, ``bag - 1``).

*Tables.* Every factor is a numpy array with one axis of length 2 per variable (index 0 is
``s = -1``), axes ordered by elimination position. A variable's bucket holds its own terms (its
field and the couplings to later variables) and the messages of earlier buckets whose first
variable it is. The bucket's table over ``(x, separator)`` is their broadcast sum; eliminating
``x`` takes the minimum over axis 0 and counts the assignments that reach it.

*Ties and counts.* An entry ties the minimum when it is within ``atol`` of it (default
``1e-9 · max(1, |offset| + Σ|h| + Σ|J|)``, the tolerance of the enumeration kernel); the count
of a message entry is the sum of the counts of its tied entries, each the product of the counts
of the messages it was built from. Counts are int64 while a product cannot overflow and Python
ints (object arrays) beyond, so the degeneracy is exact however large. When distinct energies
differ by more than ``n · atol`` (always for integer coefficients) the ground level is exactly
the enumeration kernel's.

*States.* The ground states are read back by walking the order in reverse: a batch of partial
assignments, each extended by every value of the next variable that ties its bucket's minimum
(the tie decisions the elimination made and counted, kept as two bits per separator entry).
Every partial assignment extends to at least one ground state, so the batch is cut at
``max_states`` rows as it goes.

*Memory.* A message lives from the bucket that makes it to the bucket that consumes it
(``16 · 2**|separator|`` bytes); the read-back keeps only each bucket's tie decisions, two bits
per separator entry. :attr:`EliminationPlan.table_bytes` is the peak: the messages alive at a
step, the tie bits so far, and that step's bucket table with its temporaries
(``24 · 2**(|separator| + 1)`` bytes). :func:`solve_tree` refuses a
plan above ``memory_limit`` before allocating anything, naming the width and the bytes.
Depends on numpy only.
"""

from __future__ import annotations

import concurrent.futures
import heapq
import itertools
import math
import os
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from qevo_ir.solvers.enumerate import (
    Level,
    _as_float_vector,
    _as_index_vector,
    _default_atol,
    ising_energy,
)

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "MAX_WIDTH",
    "EliminationPlan",
    "TreeResult",
    "affordable_width",
    "check_plan",
    "plan_elimination",
    "solve_tree",
]

DEFAULT_MEMORY_LIMIT = 2 * 1024**3
"""Default ceiling on the bytes the tables of one :func:`solve_tree` call may take (2 GiB)."""

MAX_WIDTH = 40
"""No plan of larger width is attempted whatever the memory limit (numpy axes, 2**41 entries)."""

_INT_SAFE = 1 << 62
"""Counts stay int64 while the product of the factors' largest counts stays below this."""

_PARALLEL_MIN_ENTRIES = 1 << 16
"""Bucket tables of at least this many entries per half are built on two threads."""

_MESSAGE_BYTES = 16  # float64 value + int64 count per message entry
# Per bucket-table entry (both halves): value and count (16), the minimum over the separator (4),
# the two tie masks (1), with headroom. The finishing works in place (see _bucket_ties).
_BUCKET_BYTES = 24


def _tie_bytes(sep: int) -> int:
    """Bytes of a bucket's tie bits (x = -1 and x = +1 over its separator), packed."""
    return 2 * max(1, (1 << sep) // 8)


FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
SpinArray = npt.NDArray[np.int8]
Heuristic = Literal["auto", "min-fill", "min-degree", "rcm", "natural"]
HEURISTICS: tuple[str, ...] = ("min-fill", "min-degree", "rcm", "natural")


@dataclass(frozen=True)
class EliminationPlan:
    """An elimination order and what it costs.

    ``order[k]`` is the ``k``-th variable eliminated; ``separators[k]`` its neighbours still
    present at that moment, ascending by elimination position. ``width`` is the largest
    separator size. ``table_bytes`` is the memory :func:`solve_tree` needs with this plan.
    """

    num_variables: int
    order: tuple[int, ...]
    separators: tuple[tuple[int, ...], ...]
    width: int
    heuristic: str
    complete: bool = True

    @property
    def table_entries(self) -> int:
        """Entries of every bucket table, summed (the work)."""
        return sum(1 << (len(s) + 1) for s in self.separators) + (
            0 if self.complete else 1 << (self.width + 1)
        )

    @property
    def table_bytes(self) -> int:
        """The peak memory of :func:`solve_tree` with this plan: the messages alive at a step (from
        the bucket that makes one to the bucket that consumes it), the tie bits kept for the
        read-back so far, and that step's bucket table with its temporaries.

        For an incomplete plan (abandoned past ``max_width``) a lower bound.
        """
        steps = len(self.separators)
        largest = _BUCKET_BYTES << (self.width + 1) if self.separators or self.width else 0
        if steps == 0:
            return largest
        pos = {v: k for k, v in enumerate(self.order)}
        delta = [0] * (steps + 1)
        peak = ties = 0
        for k, sep in enumerate(self.separators):
            if sep:  # alive from step k to the step of its first variable, inclusive
                delta[k] += _MESSAGE_BYTES << len(sep)
                # (an abandoned plan's later variables have no step: alive to the end)
                delta[min(pos.get(sep[0], steps), steps - 1) + 1] -= _MESSAGE_BYTES << len(sep)
        live = 0
        for k, sep in enumerate(self.separators):
            live += delta[k]
            ties += _tie_bytes(len(sep))
            peak = max(peak, live + ties + (_BUCKET_BYTES << (len(sep) + 1)))
        return max(peak, largest if not self.complete else 0)


@dataclass(frozen=True)
class TreeResult:
    """The ground level found by :func:`solve_tree` and the plan it used."""

    num_variables: int
    ground: Level
    plan: EliminationPlan
    seconds: float

    @property
    def levels(self) -> tuple[Level, ...]:
        return (self.ground,)

    @property
    def width(self) -> int:
        return self.plan.width


def _adjacency(n: int, row: IntArray, col: IntArray) -> list[set[int]]:
    adj: list[set[int]] = [set() for _ in range(n)]
    for i, j in zip(row.tolist(), col.tolist(), strict=True):
        if i != j:
            adj[i].add(j)
            adj[j].add(i)
    return adj


def _fill(adj: list[set[int]], v: int) -> int:
    """Edges missing among ``v``'s neighbours (the fill-in its elimination adds)."""
    nb = adj[v]
    d = len(nb)
    present = sum(len(adj[a] & nb) for a in nb) // 2
    return d * (d - 1) // 2 - present


def _greedy_order(
    n: int, graph: list[set[int]], heuristic: str, cap: int
) -> tuple[list[int], list[set[int]], int | None]:
    """Greedy elimination (lazy heap): the order, each variable's separator set, and ``None``, or
    the separator size that passed ``cap`` (the order is then abandoned there)."""
    adj = [set(a) for a in graph]
    use_fill = heuristic == "min-fill"

    def score(v: int) -> tuple[int, int]:
        d = len(adj[v])
        # Past the cap the fill is not computed (quadratic in the degree): its upper bound.
        fill = _fill(adj, v) if d <= cap else d * (d - 1) // 2
        return (fill, d) if use_fill else (d, fill)

    version = [0] * n
    heap = [(*score(v), v, 0) for v in range(n)]
    heapq.heapify(heap)
    done = [False] * n
    order: list[int] = []
    seps: list[set[int]] = []
    while heap:
        _, _, v, ver = heapq.heappop(heap)
        if done[v] or ver != version[v]:
            continue
        done[v] = True
        nb = adj[v]
        if len(nb) > cap:
            return order, seps, len(nb)
        order.append(v)
        seps.append(set(nb))
        touched: set[int] = set(nb)
        for a in nb:
            adj[a].discard(v)
            new = nb - adj[a]
            new.discard(a)
            if new:
                adj[a] |= new
                if use_fill:
                    touched |= adj[a]
        adj[v] = set()
        for u in touched:
            if not done[u]:
                version[u] += 1
                heapq.heappush(heap, (*score(u), u, version[u]))
    return order, seps, None


def _game(
    graph: list[set[int]], order: list[int], cap: int
) -> tuple[list[int], list[set[int]], int | None]:
    """The elimination game for a fixed order, abandoned when a separator passes ``cap``."""
    adj = [set(a) for a in graph]
    seps: list[set[int]] = []
    for k, v in enumerate(order):
        nb = adj[v]
        if len(nb) > cap:
            return order[:k], seps, len(nb)
        seps.append(set(nb))
        for a in nb:
            adj[a].discard(v)
            adj[a] |= nb
            adj[a].discard(a)
        adj[v] = set()
    return order, seps, None


def _coordinate_sweeps(coordinates: npt.ArrayLike | None, n: int) -> dict[str, list[int]]:
    """Lexicographic sweeps of the variables' coordinates, one per order of the axes."""
    if coordinates is None:
        return {}
    c = np.asarray(coordinates)
    if c.ndim != 2 or c.shape[0] != n or c.dtype.kind not in "iu":
        raise ValueError(f"coordinates must be an (n, d) integer array with n = {n}")
    if not 2 <= c.shape[1] <= 4:
        return {}
    out: dict[str, list[int]] = {}
    for axes in itertools.permutations(range(c.shape[1])):
        keys = tuple(c[:, a] for a in reversed(axes))  # lexsort: the last key is the primary
        out[f"sweep({','.join(map(str, axes))})"] = [int(v) for v in np.lexsort(keys)]
    return out


def _rcm_order(n: int, row: IntArray, col: IntArray) -> list[int]:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    if row.size == 0:
        return list(range(n))
    ones = np.ones(row.size, dtype=np.int8)
    a = coo_matrix((ones, (row, col)), shape=(n, n)).tocsr()
    a = (a + a.T).tocsr()
    return [int(v) for v in reverse_cuthill_mckee(a, symmetric_mode=True)]


def plan_elimination(
    n: int,
    row: npt.ArrayLike,
    col: npt.ArrayLike,
    *,
    heuristic: Heuristic = "auto",
    max_width: int = MAX_WIDTH,
    order: npt.ArrayLike | None = None,
    coordinates: npt.ArrayLike | None = None,
) -> EliminationPlan:
    """An elimination order for the interaction graph of ``n`` variables and couplings
    ``(row, col)``.

    An order whose separator passes ``max_width`` is abandoned there (planning stays cheap on
    dense graphs); when every order is, the plan is incomplete (``complete=False``, ``width`` the
    smallest separator size that passed) and :func:`check_plan` refuses it. A graph with more than
    ``n · max_width`` couplings is refused at once (every width-``w`` graph has at most ``n·w``
    edges).

    ``min-fill`` and ``min-degree`` are the greedy rules; ``rcm`` is the reverse Cuthill-McKee
    order (a sweep: its width is at most the bandwidth, good on lattices); ``natural`` is
    ``0 .. n-1`` (a sweep when the variables are numbered along the problem's geometry, as in
    Chimera cells). ``auto`` tries all four and keeps the one with the fewest table entries.
    ``order`` (a permutation of ``0 .. n-1``, e.g. ``dwave_networkx.chimera_elimination_order``
    mapped to variable indices) is used as given instead (heuristic ``given``).

    ``coordinates`` (an ``(n, d)`` integer array, ``2 ≤ d ≤ 4``: variables labelled by lattice,
    Chimera ``(i, j, u, k)`` or Pegasus coordinates) adds, under ``auto``, one sweep per order of
    the axes: the variables sorted lexicographically by the axes in that order (heuristic
    ``sweep(1,2,0,3)`` names the axes, most significant first). On Chimera C(m) the sweep
    ``(j, u, i, k)`` is a column sweep of width 4m, which the greedy rules miss (width 23 at m = 4,
    35 at m = 6, against 16 and 24).
    """
    if heuristic != "auto" and heuristic not in HEURISTICS:
        raise ValueError(
            f"heuristic must be auto or one of {', '.join(HEURISTICS)}, got {heuristic!r}"
        )
    rv = _as_index_vector(row, n, "row")
    cv = _as_index_vector(col, n, "col")
    pairs = np.unique(np.minimum(rv, cv) * max(n, 1) + np.maximum(rv, cv)).size if n else 0
    if pairs > n * max_width:
        return EliminationPlan(
            n, (), (), -(-pairs // max(n, 1)), "bound from the coupling count", False
        )
    given: list[int] | None = None
    if order is not None:
        arr = np.asarray(order)
        if (
            arr.ndim != 1
            or arr.size != n
            or arr.dtype.kind not in "iu"
            or not np.array_equal(np.sort(arr), np.arange(n))
        ):
            raise ValueError(f"order must be a permutation of 0 .. {n - 1}")
        given = [int(v) for v in arr]
    graph = _adjacency(n, rv, cv)
    names: tuple[str, ...] = (
        ("given",) if given is not None else HEURISTICS if heuristic == "auto" else (heuristic,)
    )
    sweeps = _coordinate_sweeps(coordinates, n) if given is None and heuristic == "auto" else {}
    names += tuple(sweeps)
    best: EliminationPlan | None = None
    for name in names:
        if name in ("min-fill", "min-degree"):
            found, sep_sets, passed = _greedy_order(n, graph, name, max_width)
        else:
            if name == "given":
                assert given is not None
                full = given
            elif name in sweeps:
                full = sweeps[name]
            else:
                full = _rcm_order(n, rv, cv) if name == "rcm" else list(range(n))
            found, sep_sets, passed = _game(graph, full, max_width)
        pos = np.full(n, n, dtype=np.int64)
        pos[np.asarray(found, dtype=np.int64)] = np.arange(len(found))
        separators = tuple(tuple(sorted(s, key=lambda u: int(pos[u]))) for s in sep_sets)
        plan = EliminationPlan(
            num_variables=n,
            order=tuple(found),
            separators=separators,
            width=max((len(s) for s in separators), default=0) if passed is None else passed,
            heuristic=name,
            complete=passed is None,
        )
        key = (not plan.complete, plan.width if not plan.complete else 0, plan.table_entries)
        if best is None or key < (
            not best.complete,
            best.width if not best.complete else 0,
            best.table_entries,
        ):
            best = plan
    assert best is not None
    return best


@dataclass(frozen=True)
class _Ties:
    """A bucket's tie decisions: over its separator (flat index, first variable most
    significant), whether ``x = -1`` (``lo``) and ``x = +1`` (``hi``) reach the bucket's minimum,
    packed 8 per byte. Two bits per entry instead of the 16 bytes of a kept message."""

    scope: tuple[int, ...]
    lo: npt.NDArray[np.uint8]
    hi: npt.NDArray[np.uint8]


_NO_TIES = _Ties((), np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.uint8))


@dataclass
class _Message:
    scope: tuple[int, ...]  # variables, ascending by elimination position
    values: FloatArray  # shape (2,) * len(scope)
    counts: npt.NDArray[Any]  # int64 or object, same shape
    max_count: int


def _canonical_couplings(
    n: int, row: IntArray, col: IntArray, J: FloatArray
) -> tuple[IntArray, IntArray, FloatArray]:
    lo = np.minimum(row, col)
    hi = np.maximum(row, col)
    key = lo * n + hi
    uniq, inv = np.unique(key, return_inverse=True)
    summed = np.bincount(inv.reshape(-1), weights=J, minlength=uniq.size).astype(np.float64)
    first: IntArray = (uniq // n).astype(np.int64)
    second: IntArray = (uniq % n).astype(np.int64)
    return first, second, summed


def solve_tree(
    h: npt.ArrayLike,
    row: npt.ArrayLike,
    col: npt.ArrayLike,
    J: npt.ArrayLike,
    offset: float = 0.0,
    *,
    max_states: int = 65536,
    atol: float | None = None,
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
    heuristic: Heuristic = "auto",
    plan: EliminationPlan | None = None,
) -> TreeResult:
    """Exactly minimise ``offset + Σ h_i s_i + Σ_k J_k s_{row_k} s_{col_k}`` over ``±1``.

    Returns the ground level (energy, exact count, up to ``max_states`` ground states sorted
    lexicographically with ``-1 < +1`` and variable 0 first, ``truncated`` when the count is
    larger) and the plan. ``atol`` is the tie tolerance (module docstring). A plan whose
    ``table_bytes`` exceed ``memory_limit``, or whose width exceeds :data:`MAX_WIDTH`, raises
    :class:`MemoryError` before any table is allocated, naming the width and the bytes.
    Input errors raise :class:`ValueError`, as in
    :func:`~qevo_ir.solvers.enumerate.enumerate_ising`.
    """
    t0 = time.perf_counter()
    hv = _as_float_vector(h, "h")
    n = int(hv.size)
    jv = _as_float_vector(J, "J")
    rv = _as_index_vector(row, n, "row")
    cv = _as_index_vector(col, n, "col")
    if not rv.size == cv.size == jv.size:
        raise ValueError(f"row, col and J differ in length: {rv.size}, {cv.size}, {jv.size}")
    if np.any(rv == cv):
        raise ValueError("self-loop coupling (row == col)")
    offset = float(offset)
    if not math.isfinite(offset):
        raise ValueError("offset must be finite")
    if max_states < 1:
        raise ValueError(f"max_states must be >= 1, got {max_states}")
    tol = _default_atol(hv, jv, offset) if atol is None else float(atol)
    if not (tol >= 0.0 and math.isfinite(tol)):
        raise ValueError(f"atol must be a finite number >= 0, got {atol}")
    rv, cv, jv = _canonical_couplings(n, rv, cv, jv)
    if plan is None:
        plan = plan_elimination(
            n, rv, cv, heuristic=heuristic, max_width=affordable_width(memory_limit)
        )
    elif plan.num_variables != n:
        raise ValueError(f"the plan is for {plan.num_variables} variables, not {n}")
    check_plan(plan, memory_limit)

    order = np.asarray(plan.order, dtype=np.int64)
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    # Each coupling belongs to the bucket of its first-eliminated end.
    first_is_row = pos[rv] < pos[cv]
    owner = np.where(first_is_row, rv, cv)
    other = np.where(first_is_row, cv, rv)
    by_owner = np.argsort(owner, kind="stable")
    starts = np.searchsorted(owner[by_owner], np.arange(n + 1))
    own_other = [other[by_owner[starts[v] : starts[v + 1]]] for v in range(n)]
    own_j = [jv[by_owner[starts[v] : starts[v + 1]]] for v in range(n)]

    incoming: list[list[_Message]] = [[] for _ in range(n)]
    ties: list[_Ties] = [_NO_TIES] * n  # each bucket's tie decisions, for the read-back
    roots: list[_Message] = []
    # Large buckets use a second thread (numpy's loops release the GIL): the two halves of the
    # table are built side by side, the tie decisions split in two chunks.
    pool = (
        concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="qevo-tree")
        if (os.cpu_count() or 1) > 1 and (2 << plan.width) >= _PARALLEL_MIN_ENTRIES
        else None
    )
    try:
        for k in range(n):
            x = int(order[k])
            msgs = incoming[x]
            incoming[x] = []  # consumed here: freed once this bucket is done
            scope_set = set(own_other[x].tolist())
            for m in msgs:
                scope_set.update(m.scope)
            scope_set.discard(x)
            sep = tuple(sorted(scope_set, key=lambda u: int(pos[u])))
            axis = {u: a for a, u in enumerate(sep)}
            size = 1 << len(sep)
            field_scope = tuple(sorted(set(own_other[x].tolist()), key=lambda u: int(pos[u])))
            field = _field(hv[x], own_other[x], own_j[x], field_scope)
            field_view, field_shape = _grouping(field_scope, axis, len(sep))
            views = [_grouping(m.scope[1:], axis, len(sep)) for m in msgs]
            bound = 1
            for m in msgs:
                bound *= m.max_count
            big = bound * 2 >= _INT_SAFE

            own = (field_view, field.reshape(field_shape))
            terms = [(m, view, shape) for m, (view, shape) in zip(msgs, views, strict=True)]
            split = pool is not None and size >= _PARALLEL_MIN_ENTRIES
            if split:
                assert pool is not None
                # the halves are independent; numpy's loops release the GIL
                later = pool.submit(_bucket_half, 1, size, own, terms, big)
                v0, c0 = _bucket_half(0, size, own, terms, big)
                v1, c1 = later.result()
            else:
                v0, c0 = _bucket_half(0, size, own, terms, big)
                v1, c1 = _bucket_half(1, size, own, terms, big)
            low = np.empty(size)
            t0_ = np.empty(size, dtype=bool)
            t1_ = np.empty(size, dtype=bool)
            arrays = (v0, v1, c0, c1, low, t0_, t1_)
            if split:
                assert pool is not None
                mid = size // 2
                later_part = pool.submit(_bucket_ties, slice(mid, size), tol, *arrays)
                _bucket_ties(slice(0, mid), tol, *arrays)
                later_part.result()
            else:
                _bucket_ties(slice(0, size), tol, *arrays)
            ties[x] = _Ties(sep, np.packbits(t0_), np.packbits(t1_))
            if c0 is None or c1 is None:
                counts: npt.NDArray[Any] = t0_.astype(np.int64)
                counts += t1_
            else:
                counts = c0
            del v0, v1, c1, arrays
            shape_sep = (2,) * len(sep)
            low = low.reshape(shape_sep)
            counts = counts.reshape(shape_sep)
            max_count = int(counts.max()) if counts.size else 1
            msg = _Message(sep, low, counts, max_count)
            if sep:
                incoming[sep[0]].append(msg)
            else:
                roots.append(msg)

    finally:
        if pool is not None:
            pool.shutdown()

    degeneracy = 1
    for m in roots:
        degeneracy *= int(m.counts.reshape(-1)[0])
    states = _read_back(n, order, ties, max_states)
    states = states[np.lexsort(states.T[::-1])] if states.shape[0] > 1 else states
    energy = ising_energy(states[0], hv, rv, cv, jv, offset) if n else offset
    ground = Level(
        energy=energy, count=degeneracy, states=states, truncated=degeneracy > states.shape[0]
    )
    return TreeResult(n, ground, plan, time.perf_counter() - t0)


def _bucket_half(
    xv: int,
    size: int,
    own: tuple[tuple[int, ...], FloatArray],
    terms: list[tuple[_Message, tuple[int, ...], tuple[int, ...]]],
    big: bool,
) -> tuple[FloatArray, npt.NDArray[Any] | None]:
    """The bucket's table at ``x = -1`` (``xv = 0``) or ``+1`` over the separator (flat, in the
    read-back's order) and its counts. Each operand is broadcast over runs of adjacent axes merged
    into one (few, long axes: numpy's broadcasting loops are slow over many length-2 axes).
    ``own`` is the variable's field ``(view, field)``; the half takes ``±field``.
    """
    v = np.empty(size)
    field_view, field = own
    v.reshape(field_view)[...] = (2.0 * xv - 1.0) * field
    c: npt.NDArray[Any] | None = None
    for m, view, shape in terms:
        v.reshape(view)[...] += m.values[xv, ...].reshape(shape)
        e = m.counts[xv, ...].reshape(shape)
        if big:
            e = e.astype(object)
        if c is None:
            c = np.empty(size, dtype=e.dtype)
            c.reshape(view)[...] = e
        else:
            c.reshape(view)[...] *= e
    return v, c


def _bucket_ties(
    part: slice,
    tol: float,
    v0: FloatArray,
    v1: FloatArray,
    c0: npt.NDArray[Any] | None,
    c1: npt.NDArray[Any] | None,
    low: FloatArray,
    t0: npt.NDArray[np.bool_],
    t1: npt.NDArray[np.bool_],
) -> None:
    """On ``part`` of the flat table: the minimum of the halves into ``low``, which half ties it
    (within ``tol``) into ``t0``/``t1``, and the tied counts summed into ``c0`` (in place)."""
    np.minimum(v0[part], v1[part], out=low[part])
    np.subtract(v0[part], low[part], out=v0[part])
    np.less_equal(v0[part], tol, out=t0[part])
    np.subtract(v1[part], low[part], out=v1[part])
    np.less_equal(v1[part], tol, out=t1[part])
    if c0 is not None and c1 is not None:
        c0[part] *= t0[part]
        c1[part] *= t1[part]
        c0[part] += c1[part]


def check_plan(plan: EliminationPlan, memory_limit: int) -> None:
    """Raise :class:`MemoryError` naming the width and bytes when ``plan`` does not fit."""
    need = plan.table_bytes
    if not plan.complete or plan.width > MAX_WIDTH or need > memory_limit:
        least = "" if plan.complete else "at least "
        how = (
            f"{plan.heuristic} order"
            if plan.complete
            else f"every order tried passed the affordable width; {plan.heuristic}"
        )
        raise MemoryError(
            f"the tree-decomposition solver needs width {least}{plan.width} ({how}; bucket "
            f"tables of 2**{plan.width + 1} entries), {least}about {need} bytes, over the memory "
            f"limit of {memory_limit} bytes"
            + (f" or the largest width {MAX_WIDTH}" if plan.width > MAX_WIDTH else "")
        )


def affordable_width(memory_limit: int) -> int:
    """The largest width whose bucket table alone fits ``memory_limit`` (capped at MAX_WIDTH)."""
    w = 0
    while w < MAX_WIDTH and _BUCKET_BYTES << (w + 2) <= memory_limit:
        w += 1
    return w


def _field(hx: float, others: IntArray, js: FloatArray, scope: tuple[int, ...]) -> FloatArray:
    """``h_x + Σ_j J_xj s_j`` as a table over ``scope`` (summed in ``others`` order)."""
    ndim = len(scope)
    where = {u: a for a, u in enumerate(scope)}
    field: FloatArray = np.full((1,) * ndim, float(hx))
    for j, w in zip(others.tolist(), js.tolist(), strict=True):
        shape = [1] * ndim
        shape[where[j]] = 2
        field = field + w * np.array([-1.0, 1.0]).reshape(shape)
    return np.broadcast_to(field, (2,) * ndim)


def _grouping(
    scope: tuple[int, ...], axis: dict[int, int], ndim: int
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Shapes to broadcast a table over ``scope`` into one over ``ndim`` separator axes.

    Runs of adjacent separator axes that are all in, or all out of, ``scope`` merge into one
    axis: ``(separator view, operand shape)`` with ``2**run`` / ``1`` per merged axis.
    """
    inside = [False] * ndim
    for u in scope:
        inside[axis[u]] = True
    view: list[int] = []
    shape: list[int] = []
    for a in range(ndim):
        if a and inside[a] == inside[a - 1]:
            view[-1] *= 2
            if inside[a]:
                shape[-1] *= 2
        else:
            view.append(2)
            shape.append(2 if inside[a] else 1)
    return tuple(view), tuple(shape)


def _read_back(n: int, order: IntArray, ties: list[_Ties], max_states: int) -> SpinArray:
    """Ground states (at most ``max_states``), by the tie decisions of the elimination: walking
    the order in reverse, each partial assignment takes every value of the next variable that
    tied its bucket's minimum at the assignment's separator values."""
    cols = np.zeros((n, 1), dtype=np.int8)  # column-major: cols[u] is variable u over the rows
    for k in range(n - 1, -1, -1):
        x = int(order[k])
        t = ties[x]
        idx = _row_indices(cols, t.scope)
        byte, shift = idx >> 3, (7 - (idx & 7)).astype(np.uint8)
        take_lo = ((t.lo[byte] >> shift) & 1).astype(bool)
        take_hi = ((t.hi[byte] >> shift) & 1).astype(bool)
        both = take_lo & take_hi
        if not both.any():
            cols[x] = np.where(take_hi, 1, -1)
            continue
        lo_part = cols[:, take_lo]
        lo_part[x] = -1
        hi_part = cols[:, take_hi]
        hi_part[x] = 1
        cols = np.concatenate([lo_part, hi_part], axis=1)[:, :max_states]
    rows: SpinArray = np.ascontiguousarray(cols.T)
    return rows


def _row_indices(cols: SpinArray, scope: tuple[int, ...]) -> IntArray:
    """Each row's flat index into a table over ``scope`` (first variable most significant)."""
    m = cols.shape[1]
    if not scope:
        return np.zeros(m, dtype=np.int64)
    packed = np.packbits(cols[np.asarray(scope, dtype=np.int64)] > 0, axis=0)
    idx = np.zeros(m, dtype=np.int64)
    for byte in packed:
        idx = (idx << 8) | byte
    pad = 8 * packed.shape[0] - len(scope)
    out: IntArray = idx >> pad
    return out
