"""Maximum flow on integer capacities, for roof duality's implication network.

Two engines, both untrusted by their caller (:mod:`qevo_ir.solvers.persistency` checks that the
flow they return respects every capacity and is conserved at every node, and proves nothing
from a flow that is not maximum):

- ``numba`` (optional extra ``fast``, used when numba imports): Boykov–Kolmogorov augmenting
  paths on sparse networks, Dinic on denser ones (:data:`_BK_MAX_DEGREE`), on 64-bit
  capacities (each at most :data:`CAPACITY_LIMIT` ``["numba"]`` = 2⁵²);
- ``scipy``: ``scipy.sparse.csgraph.maximum_flow`` (Dinic), whose capacities are 32-bit.

Arcs are given once each as ``tail → head`` with a forward capacity and a backward capacity
(``head → tail``); the result is the net flow ``tail → head`` of every arc (negative when it runs
backward) and the flow's value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "CAPACITY_LIMIT",
    "Engine",
    "FlowEngine",
    "autarky",
    "max_flow",
    "numba_available",
    "reachable",
    "resolve_engine",
]

FlowEngine = Literal["auto", "numba", "scipy"]
#: An engine once resolved (:func:`resolve_engine`).
Engine = Literal["numba", "scipy"]

#: The largest capacity (and flow value) each engine is given: scipy's flow is 32-bit; the numba
#: engine's is 64-bit, kept to 2⁵² so that every flow and every sum of two is exact in float64
#: (scipy's backward capacity plus a forward flow must stay below 2³¹).
CAPACITY_LIMIT = {"numba": 1 << 52, "scipy": (1 << 30) - 1}
#: The numba engine runs Boykov–Kolmogorov up to this mean number of arcs per node (in and out),
#: Dinic above. An implication network has about ``d + 2`` per node for a mean coupling degree
#: ``d``. Measured on random problems with 20,000 and 200,000 variables: ``d`` = 3–4, a 150×150
#: lattice and Chimera C(16), BK 2–5× faster; ``d`` = 5 even at 20,000 and Dinic 1.9× faster at
#: 200,000; ``d`` ≥ 6 and dense problems, Dinic 2–15× faster.
_BK_MAX_DEGREE = 6.5
#: ... and while no node has more than this many times the mean degree: Boykov–Kolmogorov rescans
#: a hub's whole adjacency after each augmentation (a star of 80,000 spins: 4.1 s against Dinic's
#: 6 ms).
_BK_MAX_HUB = 64

_NUMBA: dict[str, Any] = {}


def _build_py(
    nodes: int,
    tail: npt.NDArray[np.int64],
    head: npt.NDArray[np.int64],
    cap_fwd: npt.NDArray[np.int64],
    cap_bwd: npt.NDArray[np.int64],
) -> tuple[Any, Any, Any, Any, Any]:
    """Adjacency arrays: arc ``a`` is edge ``pos[2a]`` out of its tail and ``pos[2a+1]`` out of
    its head; ``rev`` pairs them; ``res`` holds residual capacities."""
    m = tail.size
    start = np.zeros(nodes + 1, np.int64)
    for a in range(m):
        start[tail[a] + 1] += 1
        start[head[a] + 1] += 1
    for v in range(nodes):
        start[v + 1] += start[v]
    fill = start[:-1].copy()
    to = np.empty(2 * m, np.int64)
    rev = np.empty(2 * m, np.int64)
    res = np.empty(2 * m, np.int64)
    pos = np.empty(2 * m, np.int64)
    for a in range(m):
        u = tail[a]
        v = head[a]
        i = fill[u]
        fill[u] += 1
        j = fill[v]
        fill[v] += 1
        to[i] = v
        res[i] = cap_fwd[a]
        to[j] = u
        res[j] = cap_bwd[a]
        rev[i] = j
        rev[j] = i
        pos[2 * a] = i
        pos[2 * a + 1] = j
    return start, to, rev, res, pos


def _depth_py(v: int, parent: Any, to: Any, s: int, t: int, stamp: Any, dist: Any, now: int) -> int:
    """Distance from ``v`` to its tree's terminal along parents, or ``-1`` when the chain ends
    at an orphan. Chains checked since the last augmentation (``stamp == now``) are trusted;
    the chain walked is stamped with its distances (Boykov–Kolmogorov's heuristic)."""
    d = 0
    u = v
    while True:
        if u in (s, t):
            break
        if stamp[u] == now:
            d += dist[u]
            break
        pe = parent[u]
        if pe < 0:
            return -1
        d += 1
        u = to[pe]
    u = v
    k = d
    while u != s and u != t and stamp[u] != now:
        stamp[u] = now
        dist[u] = k
        k -= 1
        u = to[parent[u]]
    return d


def _bk_py(nodes: int, start: Any, to: Any, rev: Any, res: Any, s: int, t: int) -> int:
    """Boykov–Kolmogorov maximum flow; ``res`` is updated in place. ``parent[v]`` is the edge
    (in ``v``'s adjacency) towards ``v``'s parent; tree 1 grows from ``s``, tree 2 from ``t``."""
    tree = np.zeros(nodes, np.int8)
    parent = -np.ones(nodes, np.int64)
    size = nodes + 1
    queue = np.empty(size, np.int64)
    queued = np.zeros(nodes, np.bool_)
    orphans = np.empty(nodes, np.int64)
    stamp = np.zeros(nodes, np.int64)
    dist = np.zeros(nodes, np.int64)
    tree[s] = 1
    tree[t] = 2
    queue[0] = s
    queue[1] = t
    queued[s] = True
    queued[t] = True
    first = 0
    count = 2
    now = 0
    total = 0
    while count > 0:
        p = queue[first]
        meet = -1
        if tree[p] != 0:
            for e in range(start[p], start[p + 1]):
                q = to[e]
                if (res[e] if tree[p] == 1 else res[rev[e]]) <= 0:
                    continue
                if tree[q] == 0:
                    tree[q] = tree[p]
                    parent[q] = rev[e]
                    stamp[q] = stamp[p]
                    dist[q] = dist[p] + 1
                    if not queued[q]:
                        queue[(first + count) % size] = q
                        count += 1
                        queued[q] = True
                elif tree[q] != tree[p]:
                    meet = e
                    break
        if meet < 0:
            queued[p] = False
            first = (first + 1) % size
            count -= 1
            continue
        mid = meet if tree[p] == 1 else rev[meet]  # runs from the source tree to the sink tree
        a = to[rev[mid]]
        b = to[mid]
        now += 1
        push = res[mid]
        u = a
        while u != s:
            pe = parent[u]
            push = min(push, res[rev[pe]])
            u = to[pe]
        u = b
        while u != t:
            pe = parent[u]
            push = min(push, res[pe])
            u = to[pe]
        res[mid] -= push
        res[rev[mid]] += push
        total += push
        orphan_count = 0
        u = a
        while u != s:
            pe = parent[u]
            res[rev[pe]] -= push
            res[pe] += push
            up = to[pe]
            if res[rev[pe]] == 0:
                parent[u] = -1
                orphans[orphan_count] = u
                orphan_count += 1
            u = up
        u = b
        while u != t:
            pe = parent[u]
            res[pe] -= push
            res[rev[pe]] += push
            up = to[pe]
            if res[pe] == 0:
                parent[u] = -1
                orphans[orphan_count] = u
                orphan_count += 1
            u = up
        while orphan_count > 0:
            orphan_count -= 1
            o = orphans[orphan_count]
            side = tree[o]
            found = -1
            nearest = nodes + 1
            for e in range(start[o], start[o + 1]):
                q = to[e]
                if tree[q] != side or (res[rev[e]] if side == 1 else res[e]) <= 0:
                    continue
                d = _depth(q, parent, to, s, t, stamp, dist, now)
                if 0 <= d < nearest:
                    nearest = d
                    found = e
            if found >= 0:
                parent[o] = found
                stamp[o] = now
                dist[o] = nearest + 1
                continue
            for e in range(start[o], start[o + 1]):
                q = to[e]
                if tree[q] != side:
                    continue
                if (res[rev[e]] if side == 1 else res[e]) > 0 and not queued[q]:
                    queue[(first + count) % size] = q
                    count += 1
                    queued[q] = True
                if q != s and q != t and parent[q] >= 0 and to[parent[q]] == o:
                    parent[q] = -1
                    orphans[orphan_count] = q
                    orphan_count += 1
            tree[o] = 0
    return int(total)


def _dinic_py(nodes: int, start: Any, to: Any, rev: Any, res: Any, s: int, t: int) -> int:
    """Dinic's maximum flow (level graphs, blocking flows by depth-first search with current-arc
    pointers); ``res`` is updated in place."""
    level = np.empty(nodes, np.int64)
    arc = np.empty(nodes, np.int64)
    queue = np.empty(nodes, np.int64)
    path = np.empty(nodes, np.int64)  # edges from s to the current node
    total = 0
    while True:
        level[:] = -1
        level[s] = 0
        queue[0] = s
        first = 0
        last = 1
        while first < last:
            u = queue[first]
            first += 1
            for e in range(start[u], start[u + 1]):
                if res[e] > 0 and level[to[e]] < 0:
                    level[to[e]] = level[u] + 1
                    queue[last] = to[e]
                    last += 1
        if level[t] < 0:
            break
        for v in range(nodes):
            arc[v] = start[v]
        depth = 0
        u = s
        while True:
            if u == t:
                push = res[path[0]]
                for d in range(1, depth):
                    push = min(push, res[path[d]])
                cut = depth
                for d in range(depth):
                    e = path[d]
                    res[e] -= push
                    res[rev[e]] += push
                    if res[e] == 0 and d < cut:
                        cut = d
                total += push
                depth = cut
                u = s if depth == 0 else to[path[depth - 1]]
                continue
            moved = False
            while arc[u] < start[u + 1]:
                e = arc[u]
                if res[e] > 0 and level[to[e]] == level[u] + 1:
                    path[depth] = e
                    depth += 1
                    u = to[e]
                    moved = True
                    break
                arc[u] += 1
            if not moved:
                if u == s:
                    break
                level[u] = -1  # a dead end for the rest of this phase
                depth -= 1
                u = s if depth == 0 else to[path[depth - 1]]
                arc[u] += 1
    return int(total)


def _adjacency_py(nodes: int, src: Any, dst: Any) -> tuple[Any, Any]:
    """Compressed adjacency of the edges ``src[e] → dst[e]``: node ``u``'s heads are
    ``to[start[u]:start[u + 1]]`` (a counting sort)."""
    start = np.zeros(nodes + 1, np.int64)
    for e in range(src.size):
        start[src[e] + 1] += 1
    for v in range(nodes):
        start[v + 1] += start[v]
    fill = start[:-1].copy()
    to = np.empty(src.size, np.int64)
    for e in range(src.size):
        to[fill[src[e]]] = dst[e]
        fill[src[e]] += 1
    return start, to


def _reach_py(nodes: int, src: Any, dst: Any, source: int) -> Any:
    """Nodes reached from ``source`` along the edges ``src[e] → dst[e]`` (breadth first)."""
    start, to = _adjacency(nodes, src, dst)
    seen = np.zeros(nodes, np.bool_)
    queue = np.empty(nodes, np.int64)
    seen[source] = True
    queue[0] = source
    first = 0
    last = 1
    while first < last:
        u = queue[first]
        first += 1
        for e in range(start[u], start[u + 1]):
            v = to[e]
            if not seen[v]:
                seen[v] = True
                queue[last] = v
                last += 1
    return seen


def _autarky_py(n: int, src: Any, dst: Any, live: Any, blocked: Any) -> Any:
    """A closed, consistent set of literals of the implication graph on literals ``0 .. 2n-1``
    (``ℓ̄ = ℓ ± n``; edges ``src → dst`` between live literals, mirror-symmetric): strongly
    connected components (iterative Tarjan, numbered sinks first), then, sinks first, a
    component is set true when it holds no literal with its complement, none ``blocked``, and
    every edge out of it enters a true component; its complement component is set false."""
    size = 2 * n
    start, to = _adjacency(size, src, dst)
    index = -np.ones(size, np.int64)
    low = np.zeros(size, np.int64)
    on_stack = np.zeros(size, np.bool_)
    comp = -np.ones(size, np.int64)
    stack = np.empty(size, np.int64)
    call_node = np.empty(size, np.int64)
    call_edge = np.empty(size, np.int64)
    top = 0
    counter = 0
    count = 0
    for root in range(size):
        if not live[root] or index[root] >= 0:
            continue
        index[root] = counter
        low[root] = counter
        counter += 1
        stack[top] = root
        top += 1
        on_stack[root] = True
        call_node[0] = root
        call_edge[0] = start[root]
        depth = 1
        while depth > 0:
            v = call_node[depth - 1]
            e = call_edge[depth - 1]
            if e < start[v + 1]:
                call_edge[depth - 1] = e + 1
                w = to[e]
                if index[w] < 0:
                    index[w] = counter
                    low[w] = counter
                    counter += 1
                    stack[top] = w
                    top += 1
                    on_stack[w] = True
                    call_node[depth] = w
                    call_edge[depth] = start[w]
                    depth += 1
                elif on_stack[w] and index[w] < low[v]:
                    low[v] = index[w]
                continue
            if low[v] == index[v]:
                while True:
                    top -= 1
                    w = stack[top]
                    on_stack[w] = False
                    comp[w] = count
                    if w == v:
                        break
                count += 1
            depth -= 1
            if depth > 0:
                u = call_node[depth - 1]
                if low[v] < low[u]:
                    low[u] = low[v]
    placed = np.nonzero(comp >= 0)[0]
    first, members = _adjacency(count, comp[placed], placed)  # each component's literals
    state = np.zeros(count, np.int8)  # 0 open, 1 true, 2 false, 3 cannot be true
    for c in range(count):
        if state[c] != 0:
            continue
        ok = True
        for k in range(first[c], first[c + 1]):
            v = members[k]
            if blocked[v] or comp[(v + n) % size] == c:
                ok = False
                break
            for e in range(start[v], start[v + 1]):
                d = comp[to[e]]
                if d != c and state[d] != 1:
                    ok = False
                    break
            if not ok:
                break
        if ok:
            state[c] = 1
            state[comp[(members[first[c]] + n) % size]] = 2
        else:
            state[c] = 3
    out = np.zeros(size, np.bool_)
    for v in range(size):
        if comp[v] >= 0 and state[comp[v]] == 1:
            out[v] = True
    return out


_depth: Callable[..., int] = _depth_py
_adjacency: Callable[..., tuple[Any, Any]] = _adjacency_py


def _load_numba() -> bool:
    """Import numba and JIT-compile the kernels once; ``False`` when numba is unavailable."""
    if "ok" in _NUMBA:
        return bool(_NUMBA["ok"])
    try:
        import numba
    except Exception:  # ImportError, or a numba/numpy version mismatch raising at import
        _NUMBA["ok"] = False
        return False
    global _depth, _adjacency
    _depth = numba.njit(cache=True)(_depth_py)
    _adjacency = numba.njit(cache=True)(_adjacency_py)
    _NUMBA["build"] = numba.njit(cache=True)(_build_py)
    _NUMBA["bk"] = numba.njit(cache=True)(_bk_py)
    _NUMBA["dinic"] = numba.njit(cache=True)(_dinic_py)
    _NUMBA["reach"] = numba.njit(cache=True)(_reach_py)
    _NUMBA["autarky"] = numba.njit(cache=True)(_autarky_py)
    _NUMBA["ok"] = True
    return True


def numba_available() -> bool:
    """Whether the numba engine can be used (imports numba on first call)."""
    return _load_numba()


def resolve_engine(engine: FlowEngine = "auto") -> Engine:
    """The engine ``engine`` means: ``auto`` is numba when it imports, else scipy."""
    if engine == "auto":
        return "numba" if _load_numba() else "scipy"
    if engine == "numba" and not _load_numba():
        raise ImportError("the numba max-flow engine needs numba (pip install 'qevo-ir[fast]')")
    if engine not in ("numba", "scipy"):
        raise ValueError(f"max-flow engine must be auto, numba or scipy, got {engine!r}")
    return engine


def max_flow(
    nodes: int,
    tail: npt.NDArray[np.int64],
    head: npt.NDArray[np.int64],
    cap_fwd: npt.NDArray[np.int64],
    cap_bwd: npt.NDArray[np.int64],
    source: int,
    sink: int,
    *,
    engine: Engine,
) -> tuple[npt.NDArray[np.int64], int]:
    """A maximum ``source → sink`` flow: the net flow ``tail → head`` of every arc and the value.

    At most one arc per unordered pair of nodes; capacities are non-negative and at most
    ``CAPACITY_LIMIT[engine]``.
    """
    tail = np.ascontiguousarray(tail, dtype=np.int64)
    head = np.ascontiguousarray(head, dtype=np.int64)
    cap_fwd = np.ascontiguousarray(cap_fwd, dtype=np.int64)
    cap_bwd = np.ascontiguousarray(cap_bwd, dtype=np.int64)
    if tail.size == 0:
        return np.zeros(0, np.int64), 0
    if engine == "numba":
        _load_numba()
        start, to, rev, res, pos = _NUMBA["build"](nodes, tail, head, cap_fwd, cap_bwd)
        mean = 2 * tail.size / nodes
        degree = np.bincount(tail, minlength=nodes) + np.bincount(head, minlength=nodes)
        degree[[source, sink]] = 0  # the terminals are hubs by nature; BK scans them once
        bk = mean <= _BK_MAX_DEGREE and degree.max() <= _BK_MAX_HUB * max(1.0, mean)
        kernel = "bk" if bk else "dinic"
        value = _NUMBA[kernel](nodes, start, to, rev, res, source, sink)
        return cap_fwd - res[pos[0::2]], int(value)
    import scipy.sparse as sp
    from scipy.sparse.csgraph import maximum_flow

    r = np.concatenate([tail, head])
    c = np.concatenate([head, tail])
    data = np.concatenate([cap_fwd, cap_bwd]).astype(np.int32)
    graph = sp.csr_array((data, (r, c)), shape=(nodes, nodes))
    found = maximum_flow(graph, source, sink, method="dinic")
    net = np.asarray(found.flow[tail, head], dtype=np.int64).ravel()
    return net, int(found.flow_value)


def reachable(
    nodes: int,
    src: npt.NDArray[np.int64],
    dst: npt.NDArray[np.int64],
    source: int,
    *,
    engine: Engine,
) -> npt.NDArray[np.bool_]:
    """Which nodes the edges ``src[e] → dst[e]`` reach from ``source``."""
    src = np.ascontiguousarray(src, dtype=np.int64)
    dst = np.ascontiguousarray(dst, dtype=np.int64)
    if engine == "numba":
        _load_numba()
        return np.asarray(_NUMBA["reach"](nodes, src, dst, source))
    import scipy.sparse as sp
    from scipy.sparse.csgraph import breadth_first_order

    graph = sp.csr_array((np.ones(src.size, np.int8), (src, dst)), shape=(nodes, nodes))
    order = breadth_first_order(graph, source, directed=True, return_predecessors=False)
    seen = np.zeros(nodes, dtype=bool)
    seen[order] = True
    return seen


def autarky(
    n: int,
    src: npt.NDArray[np.int64],
    dst: npt.NDArray[np.int64],
    live: npt.NDArray[np.bool_],
    blocked: npt.NDArray[np.bool_],
    *,
    engine: Engine,
) -> npt.NDArray[np.bool_]:
    """Literals set true by :func:`_autarky_py` (the scipy engine runs the same kernel in
    Python: linear time, slower)."""
    args = (
        n,
        np.ascontiguousarray(src, dtype=np.int64),
        np.ascontiguousarray(dst, dtype=np.int64),
        np.ascontiguousarray(live, dtype=np.bool_),
        np.ascontiguousarray(blocked, dtype=np.bool_),
    )
    if engine == "numba":
        _load_numba()
        return np.asarray(_NUMBA["autarky"](*args))
    return np.asarray(_autarky_py(*args))
