"""The ``quadratize`` pass: a :class:`PolynomialHamiltonian` → a quadratic :class:`Hamiltonian`.

Pairs of variables in terms of degree 3 or more are replaced by product variables until every
term is quadratic. Binary products ``y = x_i x_j`` are enforced by Rosenberg's
``M_k (x_i x_j − 2 x_i y − 2 x_j y + 3 y)``; a SPIN source with long terms may instead get spin
products ``y = s_i s_j``, enforced by dimod's spin-product gadget with one helper spin each.
Pairs are chosen greedily by how many high-degree terms share them (most first, as dimod's
``make_quadratic`` does, in vectorised rounds, plus other candidates on small inputs); the
count is certified no larger than dimod's rule in any term order component by component
(:mod:`qevo_ir.passes.pair_cover`), or else dimod's rule is replayed on the input's own order.
Each strength ``M_k`` is the bound the proofs in ``specs/passes.md`` certify, so the ground
states project exactly onto the source's.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.errors import LimitExceeded, ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.passes.base import CompilerPass, PassOutput, register_pass
from qevo_ir.passes.pair_cover import certify_components, index_pairs, pair_keys_base
from qevo_ir.polynomial import (
    IDEMPOTENT,
    INVOLUTIVE,
    MAX_EXPANDED_DEGREE,
    PolynomialHamiltonian,
    canonical_terms,
)
from qevo_ir.variables import VariableTable
from qevo_ir.vartypes import BINARY, SPIN, binary_to_spin

__all__ = ["Quadratize", "quadratize"]

#: A reduction: the reduced term rows, the products' ``(K, 2)`` pairs (products ``n, n+1, …``)
#: and the sizes of the rounds they were made in.
Reduction = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[int]]

_SENT = -1
_BIG = np.iinfo(np.int64).max
# strength = the proof's bound × (1 + margin) + margin × max|c|: strictly above the bound.
_MARGIN = 1e-6


@register_pass
@dataclass(frozen=True)
class Quadratize(CompilerPass):
    """Reduce k-local terms to quadratic with certified auxiliary product variables.

    A polynomial of degree <= 2 passes through unchanged (exactly). Higher degrees get binary
    products (a SPIN source converted exactly to BINARY) or, for SPIN sources where that needs
    fewer auxiliaries, spin products. Option ``match_dimod`` (default true): where the count is
    not certified against every run of ``dimod.make_quadratic``, replay dimod's rule on the input's
    own term order and keep it when it needs fewer (then never above dimod on that order; costs
    about what dimod's reduction does). ``false`` skips the replay.
    """

    name = "quadratize"
    input_type = "PolynomialHamiltonian"
    output_type = "Hamiltonian"
    exact = True

    match_dimod: bool = True

    def apply(self, ir: Any) -> PassOutput:
        if not isinstance(ir, PolynomialHamiltonian):
            raise ValidationError(f"quadratize takes a PolynomialHamiltonian, got {type(ir)}")
        return quadratize(ir, match_dimod=self.match_dimod)


def _reduce(
    mat: npt.NDArray[np.int64],
    n: int,
    damage_first: bool = True,
    index: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None,
) -> Reduction:
    """Greedy pair substitution on a ``(T, D)`` matrix of ascending variables padded with −1 at
    the end. Returns the reduced matrix (every row ≤ 2 entries), the ``(K, 2)`` pairs of the
    auxiliaries ``n, n+1, …`` and the round (batch) sizes.

    Pairs are indexed (sorted, grouped) once and again only after a round that left some term of
    degree > 2: a cubic term leaves when reduced, so the cubic terms that stay keep their pairs'
    indices, and all-cubic inputs are indexed once."""
    mat = mat.copy()
    pairs: list[npt.NDArray[np.int64]] = []
    rounds: list[int] = []
    nxt = n
    big = pair_keys_base(mat, n)
    high = np.flatnonzero((mat != _SENT).sum(axis=1) > 2)
    uniq, inv2 = index_pairs(mat[high], big) if index is None else index
    live = np.arange(len(high))
    while len(live):
        L = len(uniq)
        here = inv2[live]
        counts_ext = np.bincount(here.reshape(-1), minlength=L + 1)
        counts_ext[L] = 0
        mx = counts_ext.max()
        # Tie-break among the most shared pairs: least damage first (damage = the occurrences of
        # the other pairs in its terms, which taking it strands), then smallest key.
        cnt = counts_ext[here]
        valid = cnt > 0
        load = np.broadcast_to(cnt.sum(axis=1, keepdims=True) - cnt, cnt.shape)
        damage = np.bincount(here[valid], weights=load[valid], minlength=L)
        if not damage_first:
            damage[:] = 0.0
        top = np.flatnonzero(counts_ext[:L] == mx)  # only the most shared pairs are ranked
        prio = np.full(L + 1, L, dtype=np.int64)
        prio[top[np.lexsort((top, damage[top]))]] = np.arange(len(top))
        rank = np.where(cnt == mx, prio[here], L)
        best = rank.argmin(axis=1)
        choice = np.where(rank.min(axis=1) < L, here[np.arange(len(here)), best], L)
        has = choice < L
        usage = np.bincount(choice[has], minlength=L)
        accepted = np.flatnonzero(usage == mx)
        newid = np.full(L, -1, dtype=np.int64)
        newid[accepted] = nxt + np.arange(len(accepted))
        nxt += len(accepted)
        pairs.append(np.stack([uniq[accepted] // big, uniq[accepted] % big], axis=1))
        rounds.append(len(accepted))
        rows = np.flatnonzero(has)
        rows = rows[newid[choice[rows]] >= 0]
        aux = newid[choice[rows]]
        pa, pb = uniq[choice[rows]] // big, uniq[choice[rows]] % big
        where = high[live[rows]]
        r = mat[where]
        r = np.where((r == pa[:, None]) | (r == pb[:, None]) | (r == _SENT), _BIG, r)
        r.sort(axis=1)
        # the auxiliary is larger than every variable present: it goes right after them
        r[np.arange(len(r)), (r != _BIG).sum(axis=1)] = aux
        r[r == _BIG] = _SENT
        mat[where] = r
        if ((r != _SENT).sum(axis=1) > 2).any():  # new pairs (with the products): index again
            high = np.flatnonzero((mat != _SENT).sum(axis=1) > 2)
            uniq, inv2 = index_pairs(mat[high], big)
            live = np.arange(len(high))
        else:  # the reduced rows left; the others keep their pairs' indices
            done = np.zeros(len(live), dtype=bool)
            done[rows] = True
            live = live[~done]
    pair_arr = np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)
    return mat, pair_arr, rounds


#: Inputs with at most this many terms of degree >= 3 also try the one-pair-at-a-time greedy.
_SEQUENTIAL_MAX_TERMS = 4000
#: Tie orders tried on inputs of at most a quarter of that (two above it).
_SEQUENTIAL_TIES = 16
#: dimod's rule with integer product names ``offset + k`` (deterministic set orders; each offset
#: gives another order); the exact replay with dimod's string names runs separately.
_DIMOD_RULE_OFFSETS = (0, 7919, 104729)


def _reduce_sequential(mat: npt.NDArray[np.int64], n: int, tie: int) -> Reduction:
    """The one-pair-at-a-time greedy (the rule of ``dimod.make_quadratic``): substitute the
    pair shared by the most high-degree terms, update the counts, repeat. Ties go to the
    smallest pair (``tie=0``), the largest (``1``) or a fixed pseudo-random order keyed by
    ``tie`` (``>= 2``): deterministic. Same output as :func:`_reduce`, every auxiliary its own
    round. A Python loop over substitutions: used on small inputs only."""
    import heapq

    def rank(a: int, b: int) -> tuple[int, int]:
        if tie == 0:
            return a, b
        if tie == 1:
            return -a, -b
        mixed = (a * 0x9E3779B1 + b * 0x85EBCA77 + tie * 0xC2B2AE3D) & 0xFFFFFFFF
        return (mixed * 0x27D4EB2F) & 0xFFFFFFFF, a

    terms: list[set[int]] = [set(r[r != _SENT].tolist()) for r in mat]
    users: dict[tuple[int, int], set[int]] = {}
    for t, vs in enumerate(terms):
        if len(vs) > 2:
            for a, b in itertools.combinations(sorted(vs), 2):
                users.setdefault((a, b), set()).add(t)
    heap = [(-len(ts), *rank(a, b), a, b) for (a, b), ts in users.items()]
    heapq.heapify(heap)
    pairs: list[tuple[int, int]] = []
    nxt = n
    while heap:
        neg, _, _, a, b = heapq.heappop(heap)
        ts = users.get((a, b))
        if not ts or len(ts) != -neg:  # stale entry: the count changed since it was pushed
            if ts:
                heapq.heappush(heap, (-len(ts), *rank(a, b), a, b))
            continue
        y = nxt
        nxt += 1
        pairs.append((a, b))
        del users[(a, b)]
        touched: set[tuple[int, int]] = set()
        for t in sorted(ts):
            vs = terms[t]
            rest = vs - {a, b}
            for w in rest:  # pairs of the old term that are gone
                for u in (a, b):
                    key = (min(u, w), max(u, w))
                    users[key].discard(t)
                    touched.add(key)
            vs.difference_update((a, b))
            vs.add(y)
            if len(vs) > 2:
                for w in rest:  # y is larger than every variable present
                    users.setdefault((w, y), set()).add(t)
                    touched.add((w, y))
            else:
                for w1, w2 in itertools.combinations(sorted(rest), 2):
                    users[(w1, w2)].discard(t)
                    touched.add((w1, w2))
        for key in touched:
            live = users.get(key)
            if live:
                heapq.heappush(heap, (-len(live), *rank(*key), *key))
            elif key in users:
                del users[key]
    red = np.full((len(terms), 2), _SENT, dtype=np.int64)
    for t, vs in enumerate(terms):
        if len(vs) > 2:
            raise AssertionError("sequential reduction left a term of degree > 2")
        red[t, : len(vs)] = sorted(vs)
    width = mat.shape[1]
    if width > 2:
        red = np.concatenate([red, np.full((len(terms), width - 2), _SENT, dtype=np.int64)], 1)
    pair_arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return red, pair_arr, [1] * len(pairs)


def _reduce_dimod_rule(
    mat: npt.NDArray[np.int64],
    n: int,
    labels: Sequence[Any] | None = None,
    int_names: int | None = None,
) -> Reduction:
    """The pair choices of ``dimod.reduce_binary_polynomial`` (``make_quadratic``) replayed step
    for step: the same frozensets of the same labels built in the same order (the rows of ``mat``
    in order, each from its ascending tuple, as ``BinaryPolynomial(poly.to_terms())`` builds
    them), the same sets of pairs keyed by how many terms share them, popped the same way, and
    product variables named ``"u*v"`` against the same set of used labels. With the polynomial's
    ``labels`` it makes exactly dimod's choices on ``poly.to_terms()`` in the same process: they
    follow Python's set order, which depends on string hashing, so they differ between processes.
    ``int_names=offset`` instead labels the variables ``0..n-1`` and names the products
    ``n + offset + k``: the same rule with integer hashes only, so deterministic (each offset
    gives another, equally valid set order). A Python loop over substitutions, as dimod's."""
    from collections import defaultdict

    names: Sequence[Any] = range(n) if labels is None or int_names is not None else labels
    terms = [frozenset(tuple(names[i] for i in r[r != _SENT].tolist())) for r in mat]
    variables: set[Any] = set().union(*terms)
    where = {lab: i for i, lab in enumerate(names)}
    idx: defaultdict[frozenset[Any], dict[frozenset[Any], int]] = defaultdict(dict)
    pair: frozenset[Any]
    final: dict[int, frozenset[Any]] = {}
    for t, term in enumerate(terms):
        if len(term) > 2:
            for two in itertools.combinations(term, 2):
                idx[frozenset(two)][term] = t
    que: defaultdict[int, set[frozenset[Any]]] = defaultdict(set)
    for pair, users in idx.items():
        que[len(users)].add(pair)
    created: dict[Any, int] = {}
    pairs: list[tuple[int, int]] = []

    def index(label: Any) -> int:
        product = int_names is not None or isinstance(label, str)
        got = created.get(label) if product else None
        return where[label] if got is None else got

    while idx:
        new_pairs = set()
        most = max(que)
        que_most = que[most]
        pair = que_most.pop()
        if not que_most:
            del que[most]
        users = idx.pop(pair)
        u, v = pair
        prod: Any
        if int_names is None:
            prod = f"{u}*{v}"
            while prod in variables:
                prod = "_" + prod
        else:
            prod = n + int_names + len(pairs)
        variables.add(prod)
        created[prod] = n + len(pairs)
        a, b = sorted((index(u), index(v)))
        pairs.append((a, b))
        prod_set = {prod}
        for old_term, t in users.items():
            common = old_term - pair
            new_term = common | prod_set
            for old_pair in map(frozenset, itertools.product(pair, common)):
                count = len(idx[old_pair])
                bucket = que[count]
                bucket.remove(old_pair)
                if not bucket:
                    del que[count]
                if count > 1:
                    que[count - 1].add(old_pair)
                _drop(idx, old_term, old_pair)
            for common_pair in map(frozenset, itertools.combinations(common, 2)):
                idx[common_pair][new_term] = t
                _drop(idx, old_term, common_pair)
            if len(new_term) > 2:
                for new_pair in (frozenset((prod, w)) for w in common):
                    idx[new_pair][new_term] = t
                    new_pairs.add(new_pair)
            else:
                final[t] = new_term
        for new_pair in new_pairs:
            que[len(idx[new_pair])].add(new_pair)
    red = np.full_like(mat, _SENT)
    for t, term in enumerate(terms):
        got = sorted(index(x) for x in final.get(t, term))
        if len(got) > 2:
            raise AssertionError("the dimod rule left a term of degree > 2")
        red[t, : len(got)] = got
    pair_arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return red, pair_arr, [1] * len(pairs)


def _drop(idx: dict[frozenset[Any], dict[frozenset[Any], int]], term: Any, pair: Any) -> None:
    users = idx[pair]
    del users[term]
    if not users:
        del idx[pair]


def _prune(
    mat: npt.NDArray[np.int64],
    red: npt.NDArray[np.int64],
    pairs: npt.NDArray[np.int64],
    rounds: list[int],
    n: int,
) -> Reduction:
    """Reverse delete: drop an auxiliary whose every term is a cubic term that contains another
    kept auxiliary's pair (that term then uses the other one). Greedy choices can leave such
    auxiliaries behind; dropping them never changes the reduced function."""
    K = len(pairs)
    if not K:
        return red, pairs, rounds
    cubic = np.flatnonzero((mat != _SENT).sum(axis=1) == 3)
    if not len(cubic):
        return red, pairs, rounds
    # auxiliaries used anywhere but a cubic term's reduction (nested pairs, longer terms) stay
    pinned = np.zeros(K, dtype=bool)
    nested = pairs[pairs >= n] - n
    pinned[nested] = True
    other = np.ones(len(mat), dtype=bool)
    other[cubic] = False
    used_other = red[other]
    pinned[used_other[used_other >= n] - n] = True
    tri = mat[cubic, :3]
    uses = red[cubic]
    aux = np.where(uses >= n, uses, -1).max(axis=1) - n  # each reduced cubic term holds one
    big = np.int64(n + 1)
    base = pairs[:, 0] < n
    base &= pairs[:, 1] < n
    keys = np.where(base, pairs[:, 0] * big + pairs[:, 1], -1)
    order = np.argsort(keys)
    sk = keys[order]
    alts = np.full((len(cubic), 3), -1, dtype=np.int64)
    for j, (p, q) in enumerate(((0, 1), (0, 2), (1, 2))):
        k = tri[:, p] * big + tri[:, q]
        pos = np.minimum(np.searchsorted(sk, k), len(sk) - 1)
        hit = sk[pos] == k
        alts[:, j] = np.where(hit, order[pos], -1)
    has_alt = ((alts >= 0) & (alts != aux[:, None])).any(axis=1)
    usage = np.bincount(aux, minlength=K)
    blocked = np.bincount(aux[~has_alt], minlength=K) > 0
    cands = np.flatnonzero(~pinned & ~blocked & (usage > 0))
    if not len(cands):
        return red, pairs, rounds
    rows_of: dict[int, list[int]] = {int(a): [] for a in cands}
    for row in np.flatnonzero(np.isin(aux, cands)).tolist():
        rows_of[int(aux[row])].append(row)
    live = np.ones(K, dtype=bool)
    assign = aux.copy()
    for a in sorted(rows_of, key=lambda a: len(rows_of[a])):
        moves = []
        for r in rows_of[a]:
            alt = [int(x) for x in alts[r] if x >= 0 and x != a and live[x]]
            if not alt:
                break
            moves.append((r, alt[0]))
        else:
            live[a] = False
            for r, b in moves:
                assign[r] = b
                rows_of.setdefault(b, []).append(r)
            rows_of[a] = []
    if live.all():
        return red, pairs, rounds
    newid = np.cumsum(live) - 1 + n
    moved = np.flatnonzero(assign != aux)
    red = red.copy()
    t = tri[moved]
    pa, pb = pairs[assign[moved], 0], pairs[assign[moved], 1]
    rest = np.where((t != pa[:, None]) & (t != pb[:, None]), t, -1).max(axis=1)
    red[cubic[moved], :2] = np.stack([rest, np.full(len(moved), -1)], axis=1)
    red[cubic[moved], 1] = assign[moved] + n  # remapped below with everything else
    remap = np.concatenate([np.arange(n), newid])
    valid = red != _SENT
    red[valid] = remap[red[valid]]
    red[cubic[moved], 2:] = _SENT
    p2 = pairs[live]
    p2 = np.where(p2 >= n, remap[p2], p2)
    ends = np.cumsum(rounds)
    live_per_round = [int(live[e - r : e].sum()) for r, e in zip(rounds, ends, strict=True)]
    return red, p2, [r for r in live_per_round if r]


def _with_auxiliaries(variables: VariableTable, k: int) -> VariableTable:
    """The source's labels then the auxiliaries': ``n, …, n+k-1`` when the source's are
    ``0..n-1``, else ``(tag, 0..k-1)`` with ``tag`` the first of ``"aux"``, ``"aux_"``,
    ``"aux__"``, … that no source label (a tuple) starts with, so they never clash."""
    n = len(variables)
    if variables.is_range:
        return VariableTable.range(n + k)
    labels = variables.labels
    taken = {x[0] for x in labels if isinstance(x, tuple) and x and isinstance(x[0], str)}
    tag = "aux"
    while tag in taken:
        tag += "_"
    return VariableTable.trusted([*labels, *[(tag, j) for j in range(k)]])


_BOUND_TEXT = {"any": "any term order", "own": "this term order", "none": "not checked"}
#: SPIN sources above this degree get spin products only: a degree-d term has 2^d BINARY terms,
#: and from degree 6 on spin products need no more auxiliaries (a lone term: 2(d−2) against ≥ 8).
_MAX_BINARY_DEGREE = 6
#: The quadratized energy's coefficients may exceed the source's smallest one by at most this
#: many bits (float64's mantissa), unless the source itself already does.
MAX_RANGE_BITS = 52.0
#: A SPIN source whose BINARY form would have more terms than this is reduced in SPIN only.
_MAX_BINARY_EXPANSION = 1_000_000


@dataclass(frozen=True)
class _Choice:
    """A pair substitution of one polynomial: reduced rows, products' pairs, rounds, and which
    bound against dimod's rule it meets (``"any"`` term order, the polynomial's ``"own"``, or
    ``"none"`` checked), and whether the products are dimod's own choice in this process."""

    red: npt.NDArray[np.int64]
    pairs: npt.NDArray[np.int64]
    rounds: list[int]
    bound: str
    improved: int
    from_replay: bool


def _term_matrix(poly: PolynomialHamiltonian) -> npt.NDArray[np.int64]:
    """The ``(T, D)`` matrix of the terms' ascending variables, −1 padded."""
    ptr, idx = poly.term_ptr, poly.term_vars
    deg = np.diff(ptr)
    mat = np.full((len(deg), int(deg.max(initial=0))), _SENT, dtype=np.int64)
    rows = np.repeat(np.arange(len(deg)), deg)
    cols = np.arange(len(idx)) - np.repeat(ptr[:-1], deg)
    mat[rows, cols] = idx
    return mat


def _choose_pairs(
    mat: npt.NDArray[np.int64], n: int, labels: Sequence[Any], match_dimod: bool = True
) -> _Choice:
    """The fewest products among the candidate rules, certified against dimod's rule per
    component (``pair_cover``); where a component is not, dimod's rule itself is replayed on
    these terms in this order and kept when it needs fewer."""
    high_rows = np.flatnonzero((mat != _SENT).sum(axis=1) > 2)
    index = index_pairs(mat[high_rows], pair_keys_base(mat, n))  # shared by the calls below
    red, pairs, rounds = _prune(mat, *_reduce(mat, n, index=index), n)

    def keep(other: Reduction) -> None:
        nonlocal red, pairs, rounds
        if len(other[1]) < len(pairs):
            red, pairs, rounds = other

    if mat.shape[1] > 3:  # longer terms: the plain greedy order sometimes needs fewer
        keep(_prune(mat, *_reduce(mat, n, damage_first=False, index=index), n))
    high = len(high_rows)
    if high <= _SEQUENTIAL_MAX_TERMS:
        # small inputs: the one-pair-at-a-time greedy under several fixed tie orders (the most
        # shared pair is often a tie), and dimod's rule under deterministic set orders
        for tie in range(_SEQUENTIAL_TIES if high <= _SEQUENTIAL_MAX_TERMS // 4 else 2):
            keep(_prune(mat, *_reduce_sequential(mat, n, tie), n))
        for off in _DIMOD_RULE_OFFSETS if high <= _SEQUENTIAL_MAX_TERMS // 4 else (0,):
            keep(_prune(mat, *_reduce_dimod_rule(mat, n, int_names=off), n))
    cert = certify_components(mat, n, red, pairs, rounds, index)
    red, pairs, rounds = cert.red, cert.pairs, cert.rounds
    if cert.certified:
        return _Choice(red, pairs, rounds, "any", cert.improved, False)
    if not match_dimod:
        return _Choice(red, pairs, rounds, "none", cert.improved, False)
    # dimod's own choices on these terms in this order, in this process: kept only when fewer
    # (the one candidate that depends on Python's string hashing)
    before = len(pairs)
    keep(_prune(mat, *_reduce_dimod_rule(mat, n, labels), n))
    won = len(pairs) < before  # then its products replace the exact covers too
    return _Choice(red, pairs, rounds, "own", 0 if won else cert.improved, won)


def _strengths(
    fp: npt.NDArray[np.int64],
    fi: npt.NDArray[np.int64],
    fc: npt.NDArray[np.float64],
    pairs: npt.NDArray[np.int64],
    n: int,
    flip: float,
    later: float,
) -> npt.NDArray[np.float64]:
    """Per-product strengths ``M_k = (flip·C_k + later·Σ_{l∈N_k} M_l)(1 + m) + m·max|c|``
    (``C_k`` = Σ|c| over the reduced terms holding product ``k``; ``N_k`` the products whose pair
    holds ``y_k``), level by level: a product's level is one more than the highest of its users'
    (0 when unused by others), so each level needs only the levels below it (linear in ``K`` per
    level; the levels are at most the degree − 2)."""
    K = len(pairs)
    fdeg = np.diff(fp)
    absc = np.repeat(np.abs(fc), fdeg)
    C = np.bincount(fi, weights=absc, minlength=n + K)[n:]
    peak = float(np.abs(fc).max(initial=0.0))
    users = np.repeat(np.arange(K), 2)  # edge: product ``used`` is in the pair of ``users``
    used = pairs.reshape(-1) - n
    nested = used >= 0
    users, used = users[nested], used[nested]
    level = np.zeros(K, dtype=np.int64)
    while len(used):  # longest path to a product nobody uses; users are later, so it ends
        nxt = level.copy()
        np.maximum.at(nxt, used, level[users] + 1)
        if np.array_equal(nxt, level):
            break
        level = nxt
    M = np.zeros(K)
    for lv in range(int(level.max(initial=-1)) + 1):  # users (lower levels) first
        here = level == lv
        dep = np.bincount(used, weights=M[users], minlength=K)
        M[here] = (flip * C[here] + later * dep[here]) * (1.0 + _MARGIN) + _MARGIN * peak
    return M


def _reduced(
    red: npt.NDArray[np.int64], coef: npt.NDArray[np.float64], ntot: int, rule: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], float]:
    """``F'``: the reduced terms, canonical (equal reduced terms merge: a tighter bound)."""
    valid = red != _SENT
    rp = np.zeros(len(red) + 1, dtype=np.int64)
    np.cumsum(valid.sum(axis=1), out=rp[1:])
    return canonical_terms(rp, red[valid], coef.copy(), np.full(ntot, rule, dtype=np.int8))


def _low_terms(
    fp: npt.NDArray[np.int64], fi: npt.NDArray[np.int64], fc: npt.NDArray[np.float64], ntot: int
) -> tuple[npt.NDArray[np.float64], tuple[npt.NDArray[np.int64], ...]]:
    """The linear vector and the ``(rows, cols, values)`` of ``F'``'s quadratic terms."""
    fdeg = np.diff(fp)
    lin = np.zeros(ntot)
    one = fdeg == 1
    np.add.at(lin, fi[fp[:-1][one]], fc[one])
    two = fdeg == 2
    return lin, (fi[fp[:-1][two]], fi[fp[:-1][two] + 1], fc[two])


def _assemble_binary(
    b: PolynomialHamiltonian, choice: _Choice
) -> tuple[Hamiltonian, npt.NDArray[np.float64]]:
    """``G = F' + Σ M_k (a b − 2 a y − 2 b y + 3 y)`` over BINARY variables."""
    n, pairs = b.num_variables, choice.pairs
    K = len(pairs)
    ntot = n + K
    fp, fi, fc, const = _reduced(choice.red, b.coeffs, ntot, IDEMPOTENT)
    M = _strengths(fp, fi, fc, pairs, n, flip=1.0, later=2.0)
    lin, (r2, c2, v2) = _low_terms(fp, fi, fc, ntot)
    y = np.arange(n, ntot)
    pa, pb = pairs[:, 0], pairs[:, 1]
    lin += np.bincount(y, weights=3.0 * M, minlength=ntot)
    rows_q = np.concatenate([r2, pa, pa, pb])
    cols_q = np.concatenate([c2, pb, y, y])
    vals_q = np.concatenate([v2, M, -2.0 * M, -2.0 * M])
    table = _with_auxiliaries(b.variables, K)
    ham = Hamiltonian(
        lin, rows_q, cols_q, vals_q, b.offset + const, vartype=BINARY, variables=table
    )
    return ham, M


def _assemble_spin(
    p: PolynomialHamiltonian, choice: _Choice
) -> tuple[Hamiltonian, npt.NDArray[np.float64]]:
    """``G = F' + Σ M_k Q(a, b, y, h)`` over SPIN variables, ``Q`` dimod's spin-product gadget
    (0 when ``y = ab`` for the best helper ``h``, else at least 1)."""
    n, pairs = p.num_variables, choice.pairs
    K = len(pairs)
    ntot = n + 2 * K
    fp, fi, fc, const = _reduced(choice.red, p.coeffs, n + K, INVOLUTIVE)
    M = _strengths(fp, fi, fc, pairs, n, flip=2.0, later=1.0)
    lin, (r2, c2, v2) = _low_terms(fp, fi, fc, ntot)
    y = np.arange(n, n + K)
    h = y + K
    a, b = pairs[:, 0], pairs[:, 1]
    for v, w in ((a, -0.5), (b, -0.5), (y, -0.5), (h, -1.0)):
        lin += np.bincount(v, weights=w * M, minlength=ntot)
    rows_q = np.concatenate([r2, a, a, a, b, b, y])
    cols_q = np.concatenate([c2, b, y, h, y, h, h])
    half, full = 0.5 * M, M
    vals_q = np.concatenate([v2, half, half, full, half, full, full])
    table = _with_auxiliaries(p.variables, 2 * K)
    offset = p.offset + const + 2.0 * float(M.sum())
    ham = Hamiltonian(lin, rows_q, cols_q, vals_q, offset, vartype=SPIN, variables=table)
    return ham, M


def _binary_size(poly: PolynomialHamiltonian) -> int:
    """Terms of the SPIN → BINARY expansion (``2^d`` per degree-``d`` term, before merging)."""
    deg = np.diff(poly.term_ptr)
    if int(deg.max(initial=0)) > MAX_EXPANDED_DEGREE:
        return _MAX_BINARY_EXPANSION + 1
    return int(np.sum(np.left_shift(1, deg)))


def _check_precision(poly: PolynomialHamiltonian, ham: Hamiltonian) -> None:
    """Refuse (``LimitExceeded``) when the strengths leave float64 no resolution for the source's
    smallest coefficient: ``log2(Σ|G coefficients| / min|c|) > 52`` while the source's own
    ``log2(Σ|c| / min|c|)`` is within it."""
    c = np.abs(poly.coeffs)
    c = c[c > 0]
    if not len(c):
        return
    small = float(c.min())
    with np.errstate(over="ignore"):
        l1_g = float(np.abs(ham.linear).sum() + np.abs(ham.quad).sum())
        l1_f = float(c.sum())
    bits_g = float(np.log2(l1_g / small)) if np.isfinite(l1_g) else np.inf
    bits_f = float(np.log2(l1_f / small)) if np.isfinite(l1_f) else np.inf
    if bits_g > MAX_RANGE_BITS and bits_f <= MAX_RANGE_BITS:
        raise LimitExceeded(
            f"quadratize: with its product strengths the coefficients sum to {l1_g:.3g}, "
            f"{bits_g:.1f} bits above the smallest source coefficient {small:.3g}; float64 "
            f"resolves {MAX_RANGE_BITS:g}, so ground states would be lost to rounding. Rescale "
            "or drop the smallest terms"
        )


def _details(
    poly: PolynomialHamiltonian,
    choice: _Choice,
    encoding: str,
    aux: int,
    M: npt.NDArray[np.float64],
    converted: bool,
) -> dict[str, Any]:
    """The report entry (``specs/passes.md``: quadratize)."""
    return {
        "auxiliary_variables": int(aux),
        "products": len(choice.pairs),
        "encoding": encoding,
        "rounds": len(choice.rounds),
        "source_degree": poly.degree,
        "source_terms": poly.num_terms,
        "strength_min": float(M.min()) if len(M) else 0.0,
        "strength_max": float(M.max(initial=0.0)),
        "strength_total": float(M.sum()),
        "converted_from_spin": converted,
        "no_more_than_dimod": _BOUND_TEXT[choice.bound],
        "exact_covers": choice.improved,
        "from_dimod_replay": choice.from_replay,
        "proof": (
            "M_k > 2 C_k + sum of M_l over later pairs using y_k (specs/passes.md)"
            if encoding == "spin products"
            else "M_k > C_k + 2 * sum of M_l over later pairs using y_k (specs/passes.md)"
        ),
    }


def quadratize(poly: PolynomialHamiltonian, *, match_dimod: bool = True) -> PassOutput:
    """The quadratize pass as a function (see :class:`Quadratize`)."""
    if poly.degree <= 2:
        none = _Choice(np.zeros((0, 0), np.int64), np.zeros((0, 2), np.int64), [], "any", 0, False)
        details = _details(poly, none, "none", 0, np.zeros(0), False)
        details["proof"] = "already quadratic: passed through exactly"
        return PassOutput(ir=poly.to_hamiltonian(), details=details)
    src_vartype = poly.vartype
    n = poly.num_variables
    spin = src_vartype is SPIN
    binary: tuple[PolynomialHamiltonian, _Choice] | None = None
    small = poly.degree <= _MAX_BINARY_DEGREE and _binary_size(poly) <= _MAX_BINARY_EXPANSION
    if not spin or small:
        # a SPIN source's bound against dimod comes from the spin products (dimod reduces it
        # in SPIN): its BINARY form needs no replay of dimod's rule
        b = poly.to_binary()
        replay = match_dimod and not spin
        binary = (b, _choose_pairs(_term_matrix(b), n, b.labels, replay))
    products: _Choice | None = None
    if spin and (binary is None or poly.degree > 3 or binary[1].bound != "any"):
        # SPIN products (two variables each, as dimod's SPIN reduction): fewer for long terms,
        # whose BINARY form has 2^d terms
        products = _choose_pairs(_term_matrix(poly), n, poly.labels, match_dimod)
    use_spin = products is not None and (
        binary is None or 2 * len(products.pairs) < len(binary[1].pairs)
    )
    if use_spin:
        assert products is not None
        choice = products
        ham, M = _assemble_spin(poly, choice)
        aux = 2 * len(choice.pairs)
    else:
        assert binary is not None
        choice = binary[1]
        ham, M = _assemble_binary(binary[0], choice)
        aux = len(choice.pairs)
    _check_precision(poly, ham)

    def decode(samples: npt.NDArray[Any]) -> npt.NDArray[Any]:
        x = np.atleast_2d(np.asarray(samples))[:, :n]
        return binary_to_spin(x) if spin and not use_spin else x

    encoding = "spin products" if use_spin else "binary products"
    details = _details(poly, choice, encoding, aux, M, spin and not use_spin)
    # the bound against dimod's rule: for a SPIN source it is dimod's SPIN reduction (two
    # variables per product), met through the SPIN products whenever they were chosen
    details["no_more_than_dimod"] = _BOUND_TEXT[(choice if products is None else products).bound]
    return PassOutput(ir=ham, decode=decode, details=details)
