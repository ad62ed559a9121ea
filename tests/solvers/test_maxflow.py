"""The max-flow engines behind roof duality: both give a maximum flow that respects every
capacity and is conserved, and they agree on its value."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qevo_ir.solvers import maxflow
from qevo_ir.solvers.maxflow import max_flow, reachable, resolve_engine


def _graph(seed: int, nodes: int, density: float) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    iu = np.triu_indices(nodes, 1)
    keep = rng.random(iu[0].size) < density
    tail, head = iu[0][keep], iu[1][keep]
    flip = rng.random(tail.size) < 0.5
    tail, head = np.where(flip, head, tail), np.where(flip, tail, head)
    cap_f = rng.integers(0, 50, tail.size)
    cap_b = np.where(rng.random(tail.size) < 0.3, rng.integers(0, 50, tail.size), 0)
    return tail, head, cap_f, cap_b


@given(st.integers(0, 2**32 - 1), st.integers(2, 30), st.sampled_from([0.1, 0.3, 0.8]))
def test_engines_find_the_same_maximum_flow(seed: int, nodes: int, density: float) -> None:
    tail, head, cap_f, cap_b = _graph(seed, nodes, density)
    values = []
    default = maxflow._BK_MAX_DEGREE
    # numba: Boykov-Kolmogorov and Dinic forced in turn; then scipy's Dinic
    for engine, bk_max_degree in (("numba", 10**9), ("numba", 0), ("scipy", 0)):
        maxflow._BK_MAX_DEGREE = bk_max_degree
        try:
            flow, value = max_flow(nodes, tail, head, cap_f, cap_b, 0, nodes - 1, engine=engine)
        finally:
            maxflow._BK_MAX_DEGREE = default
        assert np.all(flow <= cap_f)
        assert np.all(-flow <= cap_b)
        out = np.bincount(tail, flow, nodes) - np.bincount(head, flow, nodes)
        assert out[0] == value
        assert out[nodes - 1] == -value
        assert not out[1 : nodes - 1].any()
        # maximum: the sink is not reachable along residual arcs
        res_f, res_b = cap_f - flow, cap_b + flow
        src = np.concatenate([tail[res_f > 0], head[res_b > 0]])
        dst = np.concatenate([head[res_f > 0], tail[res_b > 0]])
        assert not reachable(nodes, src, dst, 0, engine=engine)[nodes - 1]
        values.append(value)
    assert values[0] == values[1] == values[2]


def test_empty_and_disconnected_networks() -> None:
    empty = np.zeros(0, np.int64)
    for engine in ("numba", "scipy"):
        assert max_flow(3, empty, empty, empty, empty, 0, 2, engine=engine)[1] == 0
        seen = reachable(3, empty, empty, 1, engine=engine)
        assert seen.tolist() == [False, True, False]
        flow, value = max_flow(
            4, np.array([0, 2]), np.array([1, 3]), np.array([5, 7]), np.array([0, 0]), 0, 3,
            engine=engine,
        )  # fmt: skip
        assert value == 0
        assert not flow.any()


def test_engine_names() -> None:
    assert resolve_engine("scipy") == "scipy"
    assert resolve_engine("auto") in {"numba", "scipy"}
    with pytest.raises(ValueError, match="must be auto, numba or scipy"):
        resolve_engine("glpk")  # type: ignore[arg-type]


def test_scipy_capacities_leave_room_for_a_backward_flow() -> None:
    # found by review: at 2**30, a backward capacity plus a forward flow overflowed scipy's
    # 32-bit residuals and the flow came back short by one
    big = maxflow.CAPACITY_LIMIT["scipy"]
    arcs = [(0, 1, big, 0), (1, 2, big, big), (2, 3, big, 0), (0, 4, 1, 0), (4, 5, 1, 0)]
    arcs += [(5, 6, 1, 0), (6, 2, 1, 0), (1, 7, 1, 0), (7, 8, 1, 0), (8, 9, 1, 0), (9, 3, 1, 0)]
    tail, head, cap_f, cap_b = (np.array(x, dtype=np.int64) for x in zip(*arcs, strict=True))
    values = {max_flow(10, tail, head, cap_f, cap_b, 0, 3, engine=e)[1] for e in ("numba", "scipy")}
    assert values == {big + 1}


def test_a_hub_runs_dinic() -> None:
    # a star: Boykov-Kolmogorov would rescan the hub's adjacency after every augmentation
    n = 2000
    tail = np.concatenate([np.zeros(n, np.int64), np.arange(1, n + 1)])
    head = np.concatenate([np.arange(1, n + 1), np.full(n, n + 1)])
    cap = np.ones(2 * n, np.int64)
    calls: list[str] = []
    maxflow._load_numba()
    kernels = dict(maxflow._NUMBA)
    try:
        for name in ("bk", "dinic"):
            maxflow._NUMBA[name] = lambda *a, _n=name, **k: calls.append(_n) or kernels[_n](*a, **k)
        hub = np.concatenate([tail, np.ones(n - 1, np.int64)])
        spoke = np.concatenate([head, np.arange(2, n + 1)])
        both = np.concatenate([cap, np.ones(n - 1, np.int64)])
        value = max_flow(n + 2, hub, spoke, both, np.zeros_like(both), 0, n + 1, engine="numba")[1]
        assert value == n
        assert calls == ["dinic"]
        assert (
            max_flow(n + 2, tail, head, cap, np.zeros_like(cap), 0, n + 1, engine="numba")[1] == n
        )
        assert calls == ["dinic", "bk"]
    finally:
        maxflow._NUMBA.update(kernels)
