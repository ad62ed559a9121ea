"""Proper edge colourings of coupling graphs, used to pack ZZ gates into Cirq moments (and a
first-fit colouring of the k-local terms' qubit sets, which packs their Z-string ladders).

Two colourings are tried: the round-robin (tournament) colouring of the complete graph,
fully vectorised and optimal for dense problems, and first-fit greedy in edge order, kept when
the round-robin one uses more than ``Δ + 1`` colours (sparse problems). Both are proper: no two
edges of one colour share a vertex, so each colour class is one moment. Pure numpy, no SDK.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qevo_ir.errors import ValidationError

__all__ = [
    "edge_colouring",
    "first_fit_colouring",
    "hyperedge_colouring",
    "round_robin_colouring",
]

IndexArray = npt.NDArray[np.int64]


def _check_edges(row: npt.ArrayLike, col: npt.ArrayLike, n: int) -> tuple[IndexArray, IndexArray]:
    r = np.asarray(row, dtype=np.int64).reshape(-1)
    c = np.asarray(col, dtype=np.int64).reshape(-1)
    if r.shape != c.shape:
        raise ValidationError(f"row and col differ in length: {r.size} and {c.size}")
    if r.size and (min(r.min(), c.min()) < 0 or max(r.max(), c.max()) >= n or np.any(r == c)):
        raise ValidationError(f"edges must join two different vertices in [0, {n})")
    return r, c


def round_robin_colouring(row: npt.ArrayLike, col: npt.ArrayLike, n: int) -> IndexArray:
    """The tournament colouring of ``K_n`` restricted to the given edges (vectorised).

    For odd ``n`` edge ``{i, j}`` gets ``(i + j) mod n``. For even ``n``, with ``m = n - 1``:
    ``(i + j) mod m`` when both ends are below ``m``, and ``2i mod m`` for ``{i, m}``. At a
    vertex the colours of its edges are distinct (``j ↦ i + j`` is injective mod ``m``, and the
    one residue it misses, ``2i``, is the edge to vertex ``m``; ``i ↦ 2i`` is injective mod odd
    ``m``), so this is proper with at most ``n`` (odd) or ``n - 1`` (even) colours.

    Parameters
    ----------
    row, col : array_like of int
        Edge endpoints (``row_k != col_k``, both in ``[0, n)``).
    n : int
        Number of vertices.

    Returns
    -------
    numpy.ndarray of int64
        A colour per edge (not compacted).
    """
    r, c = _check_edges(row, col, n)
    if n % 2:
        return (r + c) % n
    m = n - 1
    lo, hi = np.minimum(r, c), np.maximum(r, c)
    return np.where(hi == m, (2 * lo) % max(m, 1), (lo + hi) % max(m, 1))


def first_fit_colouring(row: npt.ArrayLike, col: npt.ArrayLike, n: int) -> IndexArray:
    """Greedy colouring in edge order: each edge takes the smallest colour free at both ends.

    Uses at most ``2Δ - 1`` colours. One pass over the edges with a bitmask of used colours per
    vertex (constant work per edge; this is the one sequential step of the lowering).

    Parameters
    ----------
    row, col : array_like of int
        Edge endpoints.
    n : int
        Number of vertices.

    Returns
    -------
    numpy.ndarray of int64
        A colour per edge.
    """
    r, c = _check_edges(row, col, n)
    used = [0] * n
    colours = [0] * r.size
    for k, (i, j) in enumerate(zip(r.tolist(), c.tolist(), strict=True)):
        busy = used[i] | used[j]
        free = ~busy & (busy + 1)  # lowest clear bit
        used[i] |= free
        used[j] |= free
        colours[k] = free.bit_length() - 1
    return np.asarray(colours, dtype=np.int64)


def edge_colouring(row: npt.ArrayLike, col: npt.ArrayLike, n: int) -> tuple[IndexArray, int]:
    """A proper edge colouring with colours ``0..C-1``, and ``C``.

    The round-robin colouring is kept when it needs at most ``Δ + 1`` colours (Vizing's bound,
    the best a greedy can promise); otherwise the first-fit colouring is computed and the one
    with fewer colours is returned.

    Parameters
    ----------
    row, col : array_like of int
        Edge endpoints (``row_k != col_k``, both in ``[0, n)``).
    n : int
        Number of vertices.

    Returns
    -------
    tuple
        ``(colours, C)``: int64 colour per edge, compacted to ``0..C-1`` in order of first use.
    """
    r, c = _check_edges(row, col, n)
    if r.size == 0:
        return np.zeros(0, dtype=np.int64), 0
    max_degree = int(np.bincount(np.concatenate((r, c)), minlength=n).max())
    best = _compact(round_robin_colouring(r, c, n))
    if best[1] > max_degree + 1:
        greedy = _compact(first_fit_colouring(r, c, n))
        if greedy[1] < best[1]:
            best = greedy
    return best


def _compact(colours: IndexArray) -> tuple[IndexArray, int]:
    _, first, inverse = np.unique(colours, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size, dtype=np.int64)
    return rank[inverse.reshape(-1)], int(first.size)


def hyperedge_colouring(terms: list[list[int]]) -> tuple[IndexArray, int]:
    """First-fit colouring of qubit sets: no two sets of one colour share a qubit.

    Term ``t`` takes the smallest colour none of whose sets meets it (one bitmask per colour), so
    terms of one colour act on disjoint qubits and their gates can share moments. At most
    ``1 + Σ_{q ∈ t} (deg(q) - 1)`` colours are used for a term ``t``; not optimal in general.

    Returns
    -------
    tuple
        ``(colours, number of colours)``, colours ``0..C-1`` in order of first use.
    """
    used: list[int] = []
    colours = np.empty(len(terms), dtype=np.int64)
    for t, qubits in enumerate(terms):
        mask = 0
        for q in qubits:
            mask |= 1 << q
        for c, taken in enumerate(used):
            if not taken & mask:
                used[c] = taken | mask
                colours[t] = c
                break
        else:
            colours[t] = len(used)
            used.append(mask)
    return colours, len(used)
