"""Certificates that a pair substitution needs no more products than dimod's rule in any order.

``quadratize`` substitutes pairs of variables by products; ``dimod.make_quadratic`` does too, by
its own greedy rule (the most shared pair first, ties in the order of its Python sets, which
depends on the order of the terms and on string hashing). This module proves, one connected
component at a time, that a reduction needs no more products than *every* run of that rule, or
improves it until it does (``specs/passes.md``, quadratize):

- terms of degree >= 3 that share a pair are in one component, and substitutions never join two
  components (a product's pair lies in one component, and so do the pairs it forms later), so a
  run of any rule restricted to a component is a run on that component alone;
- a component with a single term of degree ``d`` needs exactly ``d − 2`` products in every run;
- a component of cubic terms needs at least ``⌈T / m⌉`` products (``T`` terms, ``m`` the most
  terms one pair lies in): when ours has that many, it is minimal;
- otherwise a cubic component of at most :data:`EXACT_MAX_TERMS` terms gets its minimum cover
  (each term needs one of its three pairs) by an exact search, which replaces ours when smaller.

Components that none of these settles (several terms of degree >= 4, large dense cubic ones) are
reported uncertified; ``quadratize`` then replays dimod's rule exactly on the input's own term
order (a weaker bound, for that order only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "EXACT_MAX_TERMS",
    "CoverCertificate",
    "certify_components",
    "index_pairs",
    "min_pair_cover",
    "pair_keys_base",
]

_SENT = -1
_BIG = np.iinfo(np.int64).max
#: Cubic components up to this many terms get an exact minimum cover when the bound is not met.
EXACT_MAX_TERMS = 24
#: States the exact search may visit per component before giving up (then: uncertified).
_EXACT_MAX_STATES = 20_000


@dataclass(frozen=True)
class CoverCertificate:
    """A reduction ``(red, pairs, rounds)`` and whether every component is certified."""

    red: npt.NDArray[np.int64]
    pairs: npt.NDArray[np.int64]
    rounds: list[int]
    certified: bool
    improved: int


def min_pair_cover(
    term_pairs: list[tuple[int, int, int]], budget: int = _EXACT_MAX_STATES
) -> list[int] | None:
    """The fewest pairs (ids) such that every term's triple of pair ids holds one of them, and
    for each term, which one (``None`` when the search exceeds ``budget`` states).

    Exact: a state is the set of uncovered terms; its first uncovered term needs one of its three
    pairs, so branching on those three and memoising on the state is a complete search."""
    T = len(term_pairs)
    cover: dict[int, int] = {}
    for t, trip in enumerate(term_pairs):
        for p in trip:
            cover[p] = cover.get(p, 0) | (1 << t)
    memo: dict[int, tuple[int, int]] = {0: (0, -1)}  # mask -> (products, first pair chosen)
    stack = [(1 << T) - 1]
    while stack:
        mask = stack[-1]
        if mask in memo:
            stack.pop()
            continue
        low = (mask & -mask).bit_length() - 1
        children = [mask & ~cover[p] for p in term_pairs[low]]
        todo = [c for c in children if c not in memo]
        if todo:
            if len(memo) + len(todo) > budget:
                return None
            stack.extend(todo)
            continue
        stack.pop()
        best = min(range(3), key=lambda j: memo[children[j]][0])
        memo[mask] = (memo[children[best]][0] + 1, term_pairs[low][best])
    chosen: list[int] = []
    mask = (1 << T) - 1
    while mask:
        p = memo[mask][1]
        chosen.append(p)
        mask &= ~cover[p]
    # each term takes the first chosen pair it holds
    taken = set(chosen)
    return [next(p for p in trip if p in taken) for trip in term_pairs]


def pair_keys_base(mat: npt.NDArray[np.int64], n: int) -> np.int64:
    """The base of pair keys ``a·base + b`` for ``mat``: above every variable and product."""
    return np.int64(n + mat.shape[0] * mat.shape[1] + 2)


def index_pairs(
    sub: npt.NDArray[np.int64], big: np.int64
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The sorted distinct pair keys ``a·big + b`` (``a < b``) of the rows ``sub`` (ascending,
    −1 padded) and each row's pairs, in ``np.triu_indices`` order, as indices into them
    (``len(uniq)`` where a position holds no pair)."""
    pos_p, pos_q = np.triu_indices(sub.shape[1], k=1)
    a, b = sub[:, pos_p], sub[:, pos_q]
    valid = (a != _SENT) & (b != _SENT)
    keys = np.where(valid, a * big + b, _BIG)  # (T, P): invalid pairs sort last
    flat = keys.reshape(-1)
    order = np.argsort(flat)
    srt = flat[order]
    first = np.ones(len(srt), dtype=bool)
    first[1:] = srt[1:] != srt[:-1]
    group = np.cumsum(first) - 1
    inv = np.empty(len(flat), dtype=np.int64)
    inv[order] = group
    nvalid = int(np.searchsorted(srt, _BIG))
    uniq = srt[np.flatnonzero(first[:nvalid])]
    return uniq, np.minimum(inv, len(uniq)).reshape(keys.shape)


def certify_components(
    mat: npt.NDArray[np.int64],
    n: int,
    red: npt.NDArray[np.int64],
    pairs: npt.NDArray[np.int64],
    rounds: list[int],
    index: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None,
) -> CoverCertificate:
    """Certify (and, on small cubic components, improve) the reduction ``(red, pairs, rounds)`` of
    the ``(T, D)`` term matrix ``mat`` (ascending variables, −1 padded; auxiliaries ``n, n+1,
    …``): see the module doc. ``index``: :func:`index_pairs` of ``mat``'s rows of degree > 2 with
    :func:`pair_keys_base`, when the caller has it."""
    deg = (mat != _SENT).sum(axis=1)
    high = np.flatnonzero(deg > 2)
    if not len(high):
        return CoverCertificate(red, pairs, rounds, True, 0)
    sub = mat[high]
    big = pair_keys_base(mat, n)
    uniq, inv2 = index_pairs(sub, big) if index is None else index
    H, P = len(high), len(uniq)
    ok = inv2 < P
    term_of = np.broadcast_to(np.arange(H)[:, None], inv2.shape)[ok]
    inv = inv2[ok]
    graph = coo_matrix((np.ones(len(inv), np.int8), (term_of, H + inv)), shape=(H + P, H + P))
    ncomp, label = connected_components(graph, directed=False)
    comp_of_term = label[:H]
    comp_of_pair = label[H:]
    terms_in = np.bincount(comp_of_term, minlength=ncomp)
    max_deg = np.zeros(ncomp, np.int64)
    np.maximum.at(max_deg, comp_of_term, deg[high])
    users = np.bincount(inv, minlength=P)
    most = np.zeros(ncomp, np.int64)
    np.maximum.at(most, comp_of_pair, users)
    aux_comp = _product_components(pairs, n, big, uniq, comp_of_pair)
    ours = np.bincount(aux_comp[aux_comp >= 0], minlength=ncomp)
    single = terms_in == 1  # d − 2 products in every run, ours included
    cubic = max_deg == 3
    bound = -(-terms_in // np.maximum(most, 1))
    settled = single | (cubic & (ours <= bound))
    todo = np.flatnonzero(~settled & cubic & (terms_in <= EXACT_MAX_TERMS))
    improved = 0
    if len(todo):
        red, pairs, rounds, done, improved = _exact_components(
            todo, comp_of_term, high, sub, uniq, inv2, big, ours, n, red, pairs, rounds, aux_comp
        )
        settled[done] = True
        aux_comp = _product_components(pairs, n, big, uniq, comp_of_pair)
        ours = np.bincount(aux_comp[aux_comp >= 0], minlength=ncomp)
    # the products must all be accounted for: ours per cubic component, d − 2 per lone long term
    accounted = int(np.where(cubic, ours, np.maximum(max_deg - 2, 0) * single).sum())
    certified = bool(settled.all()) and len(pairs) <= accounted
    return CoverCertificate(red, pairs, rounds, certified, improved)


def _product_components(
    pairs: npt.NDArray[np.int64],
    n: int,
    big: np.int64,
    uniq: npt.NDArray[np.int64],
    comp_of_pair: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Each product's component when its pair is a pair of originals inside some term, else −1
    (products of products: only in components with longer terms)."""
    orig = (pairs[:, 0] < n) & (pairs[:, 1] < n)
    pk = pairs[:, 0] * big + pairs[:, 1]
    where = np.minimum(np.searchsorted(uniq, pk), len(uniq) - 1)
    found = orig & (uniq[where] == pk)
    return np.where(found, comp_of_pair[where], -1)


def _exact_components(
    todo: npt.NDArray[np.int64],
    comp_of_term: npt.NDArray[np.int64],
    high: npt.NDArray[np.int64],
    sub: npt.NDArray[np.int64],
    uniq: npt.NDArray[np.int64],
    inv2: npt.NDArray[np.int64],
    big: np.int64,
    ours: npt.NDArray[np.int64],
    n: int,
    red: npt.NDArray[np.int64],
    pairs: npt.NDArray[np.int64],
    rounds: list[int],
    aux_comp: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[int], list[int], int]:
    """Exact minimum covers of the cubic components ``todo``; components where it is smaller
    than ours get it (their products replaced, appended as one last round)."""
    pair_ids = np.where(inv2 < len(uniq), inv2, -1)
    pos_p, pos_q = np.triu_indices(sub.shape[1], k=1)
    at = {(int(i), int(j)): c for c, (i, j) in enumerate(zip(pos_p, pos_q, strict=True))}
    cols = [at[0, 1], at[0, 2], at[1, 2]]
    trip = pair_ids[:, cols]  # a cubic row's three pairs
    order = np.argsort(comp_of_term, kind="stable")
    starts = np.searchsorted(comp_of_term[order], todo)
    ends = np.searchsorted(comp_of_term[order], todo, side="right")
    done: list[int] = []
    replace: list[tuple[int, npt.NDArray[np.int64], list[int]]] = []
    for c, s, e in zip(todo.tolist(), starts.tolist(), ends.tolist(), strict=True):
        rows = order[s:e]
        local = [(int(x), int(y), int(z)) for x, y, z in trip[rows].tolist()]
        choice = min_pair_cover(local)
        if choice is None:
            continue
        done.append(c)
        if len(set(choice)) < ours[c]:
            replace.append((c, rows, choice))
    if not replace:
        return red, pairs, rounds, done, 0
    gone = np.isin(aux_comp, [c for c, _, _ in replace])
    keep = ~gone
    K = len(pairs)
    remap = np.concatenate([np.arange(n), np.cumsum(keep) - 1 + n])
    red = red.copy()
    valid = red != _SENT
    red[valid] = remap[red[valid]]
    kept = pairs[keep]
    kept = np.where(kept >= n, remap[kept], kept)
    ends_r = np.cumsum(rounds)
    rounds = [int(keep[e - r : e].sum()) for r, e in zip(rounds, ends_r, strict=True)]
    rounds = [r for r in rounds if r]
    nxt = n + int(keep.sum())
    new_pairs: list[tuple[int, int]] = []
    for _, rows, choice in replace:
        ids = {p: nxt + j for j, p in enumerate(dict.fromkeys(choice))}
        nxt += len(ids)
        for p in ids:
            key = int(uniq[p])
            new_pairs.append((key // int(big), key % int(big)))
        for r, p in zip(rows.tolist(), choice, strict=True):
            key = int(uniq[p])
            u, v = key // int(big), key % int(big)
            term = sub[r, :3]
            w = int(term[(term != u) & (term != v)][0])
            row = high[r]
            red[row, :] = _SENT
            red[row, 0], red[row, 1] = w, ids[p]
    pairs = np.concatenate([kept, np.array(new_pairs, np.int64).reshape(-1, 2)])
    rounds = [*rounds, len(new_pairs)]
    if len(pairs) != nxt - n or len(pairs) > K:
        raise AssertionError("exact covers renumbered wrongly")
    return red, pairs, rounds, done, len(replace)
