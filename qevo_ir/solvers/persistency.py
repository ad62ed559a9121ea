"""Roof duality's strong persistencies from one maximum flow, each certified by a posiform.

``dwave-preprocessing``'s persistencies cannot be taken on trust (on small random integer
problems its ``strict=True`` fixings sometimes fail in some ground state; ``specs/passes.md``,
``fix``), so the fixings are computed here, from the implication network of Boros, Hammer and
Tavares, and every one is checked by an argument that does not depend on the flow being right.

**Network.** The BINARY form ``f(x) = c₀ + Σ aᵢxᵢ + Σ bᵢⱼxᵢxⱼ`` is written as a posiform
``f = C + Σ_arcs c_a·[tail true ∧ head false]`` over literal nodes ``xᵢ``, ``x̄ᵢ``, a source ``s``
(always true) and a sink ``t = s̄``: ``bᵢⱼ > 0`` gives arcs ``xᵢ → x̄ⱼ`` and ``xⱼ → x̄ᵢ``;
``bᵢⱼ < 0`` gives ``xᵢ → xⱼ`` and ``x̄ⱼ → x̄ᵢ`` (with ``aᵢ += bᵢⱼ``); ``aᵢ > 0`` gives ``s → x̄ᵢ``,
``xᵢ → t``; ``aᵢ < 0`` gives ``s → xᵢ``, ``x̄ᵢ → t`` (with ``C += aᵢ``); each arc carries half the
term, and arc ``a``'s mirror (``v̄ → ū`` for ``u → v``) carries the other half.

**Identity.** For any flow ``φ`` of value ``F`` that respects the capacities and is conserved,
``f(x) = C + F + Σ_arcs r_a·[tail ∧ ¬head]`` over the residual arcs (forward ``c − φ``, backward
``φ``), all ``r ≥ 0``: ``C + F`` is a lower bound, and the roof-duality bound when ``φ`` is maximum.

**Certificate.** Let ``S`` be the literals reached from ``s`` along residual arcs and their
mirrors. If ``S`` holds no literal with its complement (and not ``t``), set every literal of ``S``
true in any assignment ``x``, giving ``x'``. A residual term can rise only if it joins ``S`` to a
literal outside it — such terms have no residual arc in the graph, and their residuals sum to
the *leak* ``λ``. If ``x`` has a literal ``ℓ ∈ S`` false, follow a path ``s → … → ℓ`` whose arcs
all carry more than ``λ + 2ε + τ + ρ``: its first arc into a false literal is a term equal to 1
in ``x`` and 0 in ``x'``, so ``f(x) ≥ f(x') + (path's arc − λ − 2ε) > f(x')``: ``x`` is not a
ground state.
Every literal so reached holds in every ground state (strong persistency). ``ε`` bounds the float
rounding of the identity. The arcs must also clear ``τ``, the exact backend's tie tolerance
(``1e-9·max(1, |offset| + Σ|h| + Σ|J|)`` of the SPIN form), so that every assignment with the
opposite value lies more than ``τ`` above the ground energy: a fixing holds in every state the
exact backend counts as a ground state, not only in the exact minimisers; ``ρ`` bounds the
float64 rounding of two evaluated energies, so the exact backend's computed energies agree.

**Flow.** Capacities are scaled by ``2ᵏ`` and floored to the engine's integers
(:mod:`qevo_ir.solvers.maxflow`); the engine's flow is checked (capacities, conservation),
symmetrised with its mirror and subtracted in float64. The integer residual graph of a maximum
integer flow gives a consistent ``S``; the floor's remainders are the leak. With 64-bit
capacities one round usually leaves ``λ`` at the float64 rounding level; with scipy's 32-bit
capacities a second round on the residual network (at the scale of what can still cross the
cut) refines it. A literal of ``S`` still not certified after :data:`_MAX_ROUNDS` rounds is left
free and counted in ``unproved``.

**Weak persistencies** (``strict=False``): literals ``W`` outside ``S`` that, set true with it,
keep the set closed and consistent (:func:`qevo_ir.solvers.maxflow.autarky`). Then
``f(x') ≤ f(x) + λ' + 2ε`` for every ``x`` (``λ'`` the leak of ``S ∪ W``); when that is at most
``τ``, some state within ``τ`` of the ground energy has all of ``S ∪ W``, and they are returned.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.solvers.maxflow import (
    CAPACITY_LIMIT,
    Engine,
    FlowEngine,
    autarky,
    max_flow,
    reachable,
    resolve_engine,
)
from qevo_ir.vartypes import SPIN

__all__ = ["ProvedFixings", "proved_fixings"]

#: Unit roundoff, doubled: ``ε`` counts every float64 operation of the identity at this rate.
_U = 2.0**-52
#: Flow rounds before giving up on certifying what is left of ``S``.
_MAX_ROUNDS = 4
#: Energies within this fraction of ``max(1, |offset| + Σ|h| + Σ|J|)`` (SPIN form) of the ground
#: energy are ground states to the exact backend; a certified fixing holds in all of them.
_TIE = 1e-9


@dataclass(frozen=True)
class ProvedFixings:
    """Variables that take the same value in every ground state, each certified.

    ``indices``/``values``: the fixings (values in the Hamiltonian's vartype); ``lower_bound``:
    roof duality's bound ``C + F − ε`` (a lower bound on the ground energy); ``unproved``:
    literals the flow reached that the leak left uncertified (left free); ``weak``: fixings
    that are weak persistencies only (``strict=False``); ``flow_rounds``,
    ``engine``: how the flow was computed; ``leak``: ``λ`` of the last round (source units).
    """

    indices: npt.NDArray[np.int64]
    values: npt.NDArray[np.int8]
    lower_bound: float
    unproved: int
    weak: int
    flow_rounds: int
    engine: str
    leak: float
    seconds: float


@dataclass(frozen=True)
class _Network:
    tail: npt.NDArray[np.int64]
    head: npt.NDArray[np.int64]
    cap: npt.NDArray[np.float64]
    mirror: npt.NDArray[np.int64]
    const: float
    n: int

    @property
    def nodes(self) -> int:
        return 2 * self.n + 2


def _network(
    lin: npt.NDArray[np.float64],
    row: npt.NDArray[np.int64],
    col: npt.NDArray[np.int64],
    quad: npt.NDArray[np.float64],
) -> _Network:
    """The implication network of ``Σ lin·x + Σ quad·xᵢxⱼ`` (module docstring); arcs come in two
    halves, arc ``a`` of the first half mirrored by arc ``a + M`` of the second."""
    n = lin.size
    s, t = 2 * n, 2 * n + 1
    pos = quad > 0
    neg = quad < 0
    a = lin + np.bincount(row[neg], quad[neg], n)
    up = np.flatnonzero(a > 0)
    down = np.flatnonzero(a < 0)
    rp, cp, rn, cn = row[pos], col[pos], row[neg], col[neg]
    tail = np.concatenate([rp, rn, np.full(up.size + down.size, s)])
    head = np.concatenate([n + cp, cn, n + up, down])
    tail2 = np.concatenate([cp, n + cn, up, n + down])
    head2 = np.concatenate([n + rp, n + rn, np.full(up.size + down.size, t)])
    half = 0.5 * np.concatenate([quad[pos], -quad[neg], a[up], -a[down]])
    m = half.size
    mirror = np.concatenate([np.arange(m, 2 * m), np.arange(m)])
    return _Network(
        np.concatenate([tail, tail2]).astype(np.int64),
        np.concatenate([head, head2]).astype(np.int64),
        np.concatenate([half, half]),
        mirror,
        math.fsum(a[down].tolist()),
        n,
    )


def _edges(
    net: _Network, fwd: npt.NDArray[np.bool_], bwd: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The arcs marked ``fwd`` (tail → head) and ``bwd`` (head → tail), as sources and heads."""
    return (
        np.concatenate([net.tail[fwd], net.head[bwd]]),
        np.concatenate([net.head[fwd], net.tail[bwd]]),
    )


def _reach(
    net: _Network, fwd: npt.NDArray[np.bool_], bwd: npt.NDArray[np.bool_], engine: Engine
) -> npt.NDArray[np.bool_]:
    """Nodes reached from ``s`` along the arcs marked ``fwd`` and ``bwd`` (:func:`_edges`)."""
    return reachable(net.nodes, *_edges(net, fwd, bwd), 2 * net.n, engine=engine)


def _complements(net: _Network, true: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """The nodes that are false when every node of ``true`` is: ``x̄ᵢ`` for ``xᵢ``, and the sink
    ``t = s̄`` for the source."""
    n = net.n
    comp = np.concatenate([np.arange(n, 2 * n), np.arange(n), [2 * n + 1, 2 * n]])
    false = np.zeros(net.nodes, dtype=bool)
    false[comp[true]] = True
    return false


def _leak(
    net: _Network, inside: npt.NDArray[np.bool_], fwd: npt.NDArray[np.float64],
    bwd: npt.NDArray[np.float64],
) -> float:  # fmt: skip
    """Residual of the terms that can rise when every literal of ``inside`` is set true: a term
    ``[u ∧ ¬v]`` with ``u`` or ``v̄`` inside and neither ``v`` nor ``ū`` inside."""
    false = _complements(net, inside)

    def rises(u: npt.NDArray[np.int64], v: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        return (inside[u] | false[v]) & ~inside[v] & ~false[u]

    total = float(fwd[rises(net.tail, net.head)].sum() + bwd[rises(net.head, net.tail)].sum())
    # numpy's pairwise sum of non-negative terms is within log2(m)·u of the sum: round up
    return total * (1.0 + _U * (math.log2(fwd.size + 2) + 2))


def _checked(
    net: _Network,
    flow: npt.NDArray[np.int64],
    value: int,
    cap_fwd: npt.NDArray[np.int64],
    cap_bwd: npt.NDArray[np.int64],
) -> bool:
    """Whether the engine's flow respects every capacity and is conserved with this value."""
    if flow.shape != net.tail.shape or np.any(flow > cap_fwd) or np.any(-flow > cap_bwd):
        return False
    # net outflow per node, exact: flows are below 2⁵³, summed in three 22-bit limbs (each
    # limb's sums stay below 2⁵³); nodes of degree ≥ 2¹⁰, whose total could pass 2⁶³, again
    # in Python integers
    limbs = (flow & 0x3FFFFF, (flow >> 22) & 0x3FFFFF, flow >> 44)
    balance = np.zeros(net.nodes, dtype=np.int64)
    for shift, limb in zip((0, 22, 44), limbs, strict=True):
        w = limb.astype(np.float64)
        part = np.bincount(net.tail, w, net.nodes) - np.bincount(net.head, w, net.nodes)
        balance += part.astype(np.int64) << shift
    s = 2 * net.n
    want = np.zeros(net.nodes, dtype=np.int64)
    want[s], want[s + 1] = value, -value
    degree = np.bincount(net.tail, minlength=net.nodes) + np.bincount(net.head, minlength=net.nodes)
    for v in np.flatnonzero(degree >= 1 << 10).tolist():
        out = sum(flow[net.tail == v].tolist()) - sum(flow[net.head == v].tolist())
        if out != want[v]:
            return False
        balance[v] = out
    return bool(np.array_equal(balance, want))


def _weak_literals(
    net: _Network,
    inside: npt.NDArray[np.bool_],
    graph_f: npt.NDArray[np.bool_],
    graph_b: npt.NDArray[np.bool_],
    engine: Engine,
) -> npt.NDArray[np.bool_]:
    """Literals outside the strong set ``inside`` that can be set true with it and keep the set
    closed in the residual graph (``maxflow.autarky``); node mask over the whole network."""
    n = net.n
    size = 2 * n
    src, dst = _edges(net, graph_f, graph_b)
    false = _complements(net, inside)  # the sink included: ``inside`` holds the source
    live = np.zeros(net.nodes, dtype=bool)
    live[:size] = ~(inside[:size] | false[:size])
    keep = live[src]
    src, dst = src[keep], dst[keep]
    blocked = np.zeros(size, dtype=bool)
    blocked[src[false[dst]]] = True  # an edge into a false literal: never true
    inner = live[dst]
    found = autarky(n, src[inner], dst[inner], live[:size], blocked, engine=engine)
    out = np.zeros(net.nodes, dtype=bool)
    out[:size] = found
    return out


def proved_fixings(
    ham: Hamiltonian, *, engine: FlowEngine = "auto", strict: bool = True
) -> ProvedFixings:
    """Roof duality's strong persistencies of ``ham``, each certified (module docstring); with
    ``strict=False`` also weak persistencies (some ground state, within the tie tolerance, has
    all of them)."""
    start = time.perf_counter()
    eng = resolve_engine(engine)
    binary = ham.to_binary()
    n = binary.num_variables
    top = max(
        float(np.abs(binary.linear).max(initial=0.0)), float(np.abs(binary.quad).max(initial=0.0))
    )
    shift = -math.frexp(top)[1] if top > 0 else 0  # exact scaling to a largest |coefficient| ~ 1
    lin = np.ldexp(binary.linear, shift)
    quad = np.ldexp(binary.quad, shift)
    net = _network(lin, binary.row, binary.col, quad)
    s, t = 2 * n, 2 * n + 1
    deg = np.bincount(np.concatenate([binary.row, binary.col]), minlength=n).max(initial=0)
    l1 = float(np.abs(lin).sum() + np.abs(quad).sum())
    # ε: the coefficients' sums, the halves, C and the scaling (subnormals) ...
    eps = _U * (int(deg) + 4) * l1 + 2 * (n + quad.size) * 2.0**-1074
    # τ: the exact backend's tie tolerance, and ρ: the float64 rounding of its energies (of the
    # SPIN form: each within (n + m + 1)·u·(|offset| + l1) of the true value). Certified literals
    # clear τ + ρ, so the opposite value sits above τ in the evaluated energies too.
    spin_l1 = ham.to_spin().l1_norm()
    rho = _U * (n + quad.size + 2) * spin_l1
    with np.errstate(over="ignore"):
        tie = float(np.ldexp(_TIE * max(1.0, spin_l1), shift))
        rho = float(np.ldexp(rho, shift))
    fwd = net.cap.copy()
    bwd = np.zeros_like(fwd)
    limit = CAPACITY_LIMIT[eng]
    flows: list[float] = []
    room = float(fwd[net.tail == s].sum())  # the most flow that can still cross (for the scale)
    proved = np.zeros(net.nodes, dtype=bool)
    inside = proved
    graph_f = graph_b = np.zeros(net.tail.size, dtype=bool)
    consistent = False
    reached = 0
    leak = 0.0
    rounds = 0
    while rounds < _MAX_ROUNDS:
        rounds += 1
        widest = max(room, float(fwd.max(initial=0.0)) if room <= 0 else 0.0)
        k = 0
        if widest > 0:
            k = int(np.clip(math.floor(math.log2(limit) - math.log2(widest)), -1000, 1000))
        with np.errstate(over="ignore"):
            cap_f = np.minimum(np.floor(np.ldexp(fwd, k)), limit).astype(np.int64)
            cap_b = np.minimum(np.floor(np.ldexp(bwd, k)), limit).astype(np.int64)
        flow, value = max_flow(net.nodes, net.tail, net.head, cap_f, cap_b, s, t, engine=eng)
        if not _checked(net, flow, value, cap_f, cap_b):
            raise RuntimeError(f"the {eng} max-flow engine returned an infeasible flow")
        sym = np.ldexp((flow + flow[net.mirror]).astype(np.float64), -k - 1)
        fwd = fwd - sym
        bwd = bwd + sym
        # ... and each round's float64 subtraction
        eps += _U * (float(np.abs(fwd).sum()) + float(np.abs(bwd).sum()))
        flows.append(math.ldexp(float(value), -k))
        res_f = cap_f - flow
        res_b = cap_b + flow
        graph_f = res_f + res_f[net.mirror] > 0
        graph_b = res_b + res_b[net.mirror] > 0
        reach = _reach(net, graph_f, graph_b, eng)
        lits = reach[: 2 * n].reshape(2, n)
        if reach[t] or np.any(lits[0] & lits[1]):
            # not a maximum flow of the integer network: nothing more is certified from it
            # (an earlier round's certificate stands on its own: its flow was checked)
            break
        inside, consistent = reach, True
        reached = int(lits.sum())
        leak = _leak(net, inside, fwd, bwd)
        bar = leak + 2.0 * eps + tie + rho
        w_f = fwd + fwd[net.mirror]
        w_b = bwd + bwd[net.mirror]
        proved = _reach(net, graph_f & (w_f > bar), graph_b & (w_b > bar), eng)
        crossing = inside[net.tail] & ~inside[net.head]
        room = float(fwd[crossing].sum() + bwd[inside[net.head] & ~inside[net.tail]].sum())
        if int(proved[: 2 * n].sum()) == reached or room <= 0 or leak <= tie:
            break
    certified = int(proved[: 2 * n].sum())
    weak = 0
    if not strict and consistent:
        extended = inside | _weak_literals(net, inside, graph_f, graph_b, eng)
        weak_leak = _leak(net, extended, fwd, bwd)
        # some state within τ − ρ of E₀ has every one of them
        if weak_leak + 2.0 * eps + rho <= tie:
            weak = int(extended[: 2 * n].sum()) - certified
            proved, leak = extended, weak_leak
    lits = proved[: 2 * n].reshape(2, n)  # xᵢ true, x̄ᵢ true (never both)
    idx = np.flatnonzero(lits[0] | lits[1]).astype(np.int64)
    bits = lits[0][idx].astype(np.int8)
    values = (2 * bits - 1).astype(np.int8) if ham.vartype is SPIN else bits
    # C + F − ε, scaled back; then the SPIN → BINARY conversion's rounding (offset included)
    with np.errstate(over="ignore"):
        bound = float(np.ldexp(net.const + math.fsum(flows) - eps, -shift)) + binary.offset
        bound -= _U * (n + quad.size + 4) * (spin_l1 + binary.l1_norm())
    if math.isnan(bound):
        bound = -math.inf
    return ProvedFixings(
        indices=idx,
        values=values,
        lower_bound=float(bound),
        unproved=max(0, reached - certified - weak),
        weak=weak,
        flow_rounds=rounds,
        engine=eng,
        leak=float(np.ldexp(leak, -shift)),
        seconds=time.perf_counter() - start,
    )
