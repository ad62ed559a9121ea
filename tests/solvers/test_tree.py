"""The tree-decomposition solver (``qevo_ir.solvers.tree``) against enumeration, and its limits."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qevo_exact import ExactBackend, solve_exact
from qevo_ir import SPIN, Hamiltonian, LimitExceeded, ValidationError
from qevo_ir.solvers.enumerate import enumerate_ising
from qevo_ir.solvers.tree import EliminationPlan, Heuristic, plan_elimination, solve_tree
from qevo_ir.testing import hamiltonians


def _lattice(side: int) -> tuple[np.ndarray, np.ndarray]:
    v = np.arange(side * side).reshape(side, side)
    row = np.concatenate([v[:-1, :].ravel(), v[:, :-1].ravel()])
    col = np.concatenate([v[1:, :].ravel(), v[:, 1:].ravel()])
    return row, col


@st.composite
def _problems(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Random Ising problems up to 20 spins, sparse or dense, integer (degenerate) or real."""
    n = draw(st.integers(0, 20))
    density = draw(st.sampled_from([0.1, 0.25, 0.6])) if n <= 14 else 0.12
    seed = draw(st.integers(0, 2**32 - 1))
    integer = draw(st.booleans())
    rng = np.random.default_rng(seed)
    iu = np.triu_indices(n, 1)
    keep = rng.random(iu[0].size) < density
    row, col = iu[0][keep], iu[1][keep]
    if integer:
        J = rng.integers(-2, 3, size=row.size).astype(float)
        h = rng.integers(-1, 2, size=n).astype(float) * float(draw(st.booleans()))
    else:
        J = rng.normal(size=row.size)
        h = rng.normal(size=n)
    return h, row, col, J, draw(st.sampled_from([0.0, -2.5]))


@given(_problems())
def test_tree_matches_enumeration(
    problem: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float],
) -> None:
    h, row, col, J, offset = problem
    ref = enumerate_ising(h, row, col, J, offset, max_states=1 << 20).levels[0]
    got = solve_tree(h, row, col, J, offset, max_states=1 << 20).ground
    assert got.energy == pytest.approx(ref.energy, abs=1e-9)
    assert got.count == ref.count
    np.testing.assert_array_equal(got.states, ref.states)  # all of them, same order
    assert not got.truncated


@given(hamiltonians(max_variables=10))
def test_exact_backend_tree_method_matches_enumeration(ham: Hamiltonian) -> None:
    a = solve_exact(ham, method="enumerate", max_states=1 << 10)
    b = solve_exact(ham, method="tree", max_states=1 << 10)
    assert b.method == "tree"
    assert a.method == "enumerate"
    assert b.ground_energy == pytest.approx(a.ground_energy, rel=1e-9, abs=1e-9)
    assert b.degeneracy == a.degeneracy
    np.testing.assert_array_equal(b.ground_states, a.ground_states)


def test_truncated_states_are_ground_states_and_count_is_a_python_int() -> None:
    n = 100  # free spins and a field on a few: 2**97 ground states
    h = np.zeros(n)
    h[:3] = [1.0, -2.0, 0.5]
    res = solve_tree(h, [], [], [], 1.0, max_states=50)
    assert res.ground.count == 2**97
    assert res.ground.truncated
    assert res.ground.states.shape == (50, n)
    assert res.ground.energy == pytest.approx(1.0 - 3.5)
    np.testing.assert_array_equal(res.ground.states[:, :3], np.tile([-1, 1, -1], (50, 1)))
    assert len({r.tobytes() for r in res.ground.states}) == 50


def test_large_degeneracy_through_couplings_stays_exact() -> None:
    # A chain of 70 spins with zero couplings on half of its bonds and unit ones on the others.
    n = 70
    row = np.arange(n - 1)
    col = row + 1
    J = np.where(row % 2 == 0, -1.0, 0.0)
    res = solve_tree(np.zeros(n), row, col, J)
    assert res.ground.count == 2**35
    assert isinstance(res.ground.count, int)
    ham = Hamiltonian(np.zeros(n), row, col, J, vartype=SPIN)
    assert ham.energies(res.ground.states).max() == pytest.approx(res.ground.energy)


def test_counts_past_int64_become_python_ints() -> None:
    # A chain of explicit zero couplings but one: every message count doubles, past 2**62.
    for n in (63, 64, 100):
        row = np.arange(n - 1)
        J = np.zeros(n - 1)
        J[0] = -1.0
        res = solve_tree(np.zeros(n), row, row + 1, J, heuristic="natural", max_states=8)
        assert res.ground.count == 2 ** (n - 1)
        assert res.ground.energy == -1.0
        assert np.all(res.ground.states[:, 0] == res.ground.states[:, 1])


def test_lattice_of_144_spins_is_certified_by_the_backend() -> None:
    row, col = _lattice(12)
    rng = np.random.default_rng(3)
    J = rng.choice([-1.0, 1.0], size=row.size)
    ham = Hamiltonian(rng.normal(size=144) * 0.1, row, col, J, vartype=SPIN)
    plan = plan_elimination(144, row, col)
    assert plan.width <= 13
    res = ExactBackend().solve(ham, max_states=4)
    info = res.info
    assert info["method"] == "tree"
    assert info["width"] == plan.width
    assert info["lower_bound"] == info["ground_energy"] == res.best_energy
    assert info["gap"] == 0.0
    assert info["optimal"] is True
    assert info["degeneracy"] >= 1


def test_plan_reports_width_and_memory() -> None:
    row, col = _lattice(6)
    plan = plan_elimination(36, row, col)
    assert isinstance(plan, EliminationPlan)
    assert plan.width == max(len(s) for s in plan.separators)
    assert sorted(plan.order) == list(range(36))
    assert 6 <= plan.width <= 8
    assert plan.table_bytes > 16 << plan.width
    names: tuple[Heuristic, ...] = ("min-fill", "min-degree", "rcm", "natural")
    for name in names:
        assert plan_elimination(36, row, col, heuristic=name).heuristic == name
    with pytest.raises(ValueError, match="heuristic"):
        plan_elimination(36, row, col, heuristic="best")  # type: ignore[arg-type]


def test_a_given_order_is_used() -> None:
    from benchmarks.workloads.certified import chimera_edges

    n, row, col = chimera_edges(2)
    # Vertical shores of each column of cells, then its horizontal shores: width 4m = 8.
    cells = np.arange(n).reshape(2, 2, 2, 4)  # (cell row, cell column, shore, k)
    order = np.concatenate([cells[:, j, u].ravel() for j in range(2) for u in (0, 1)])
    plan = plan_elimination(n, row, col, order=order)
    assert plan.heuristic == "given"
    assert plan.width == 8
    J = np.random.default_rng(2).choice([-1.0, 1.0], size=row.size)
    ham = Hamiltonian(np.zeros(n), row, col, J, vartype=SPIN)
    a = solve_exact(ham, method="tree", order=order)
    b = solve_exact(ham, method="enumerate")
    assert a.width == 8
    assert (a.ground_energy, a.degeneracy) == (b.ground_energy, b.degeneracy)
    with pytest.raises(ValidationError, match="permutation"):
        solve_exact(ham, method="tree", order=[0, 0, 1])


def test_coordinate_labels_give_the_column_sweep() -> None:
    from benchmarks.workloads.certified import chimera_edges

    def coordinates(m: int, n: int) -> np.ndarray:
        return np.array(np.unravel_index(np.arange(n), (m, m, 2, 4))).T  # (i, j, u, k)

    n, row, col = chimera_edges(4)
    assert plan_elimination(n, row, col).width == 23  # the greedy rules miss the treewidth 16
    plan = plan_elimination(n, row, col, coordinates=coordinates(4, n))
    assert (plan.heuristic, plan.width) == ("sweep(1,2,0,3)", 16)
    with pytest.raises(ValueError, match="coordinates"):
        plan_elimination(n, row, col, coordinates=coordinates(4, n)[:-1])
    # the exact backend takes the sweep from (i, j, u, k) labels; same answer either way
    n, row, col = chimera_edges(3)
    J = np.random.default_rng(5).choice([-1.0, 1.0], size=row.size)
    labels = [tuple(int(x) for x in c) for c in coordinates(3, n)]
    plain = Hamiltonian(np.zeros(n), row, col, J, vartype=SPIN)
    labelled = Hamiltonian(np.zeros(n), row, col, J, vartype=SPIN, variables=labels)
    a, b = solve_exact(plain, method="tree"), solve_exact(labelled, method="tree")
    assert (a.ground_energy, a.degeneracy) == (b.ground_energy, b.degeneracy)
    assert a.width == b.width  # the same plan: the sweep is among the candidates either way
    # integer labels in dwave_networkx's linear Chimera numbering are recognised too
    from qevo_exact import _label_coordinates

    n, row, col = chimera_edges(4)
    J = np.random.default_rng(6).choice([-1.0, 1.0], size=row.size)
    assert solve_exact(Hamiltonian(np.zeros(n), row, col, J, vartype=SPIN)).width == 16
    shuffled = np.random.default_rng(0).permutation(n)  # no longer Chimera-numbered
    other = Hamiltonian(np.zeros(n), shuffled[row], shuffled[col], J, vartype=SPIN)
    assert _label_coordinates(other) is None
    mixed = Hamiltonian(np.zeros(3), [0], [1], [1.0], vartype=SPIN, variables=[(0, 1), (1, 2), "x"])
    assert solve_exact(mixed, method="tree").ground_energy == -1.0  # no sweep; still solved


def test_an_abandoned_plan_has_a_memory_bound_and_is_refused() -> None:
    # table_bytes walked the separators of an abandoned plan and looked up variables it never
    # reached (KeyError); found by the C(6) benchmark.
    from benchmarks.workloads.certified import chimera_edges
    from qevo_ir.solvers.tree import check_plan

    n, row, col = chimera_edges(4)
    plan = plan_elimination(n, row, col, max_width=12)
    assert not plan.complete
    assert plan.separators
    assert plan.table_bytes >= 24 << (plan.width + 1)
    with pytest.raises(MemoryError, match="width at least"):
        check_plan(plan, 1 << 40)


def test_peak_memory_estimate_bounds_the_tables() -> None:
    # The plan's table_bytes is the peak of live messages + tie bits + one bucket; check that it
    # bounds numpy's own peak over a solve (tracemalloc sees numpy's allocations).
    import tracemalloc

    row, col = _lattice(9)
    J = np.random.default_rng(1).choice([-1.0, 1.0], size=row.size)
    plan = plan_elimination(81, row, col)
    tracemalloc.start()
    try:
        solve_tree(np.zeros(81), row, col, J, plan=plan)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert plan.table_bytes >= (1 << (plan.width + 1)) * 16
    assert peak <= plan.table_bytes + (1 << 20), (peak, plan.table_bytes)


def test_memory_refusal_names_width_and_bytes() -> None:
    n = 40
    rows, cols = np.triu_indices(n, 1)
    with pytest.raises(MemoryError, match=r"width at least 39 .*bytes"):
        solve_tree(np.ones(n), rows, cols, np.ones(rows.size))
    dense = Hamiltonian(np.ones(n), rows, cols, np.ones(rows.size), vartype=SPIN)
    with pytest.raises(LimitExceeded, match=r"width at least 39.*about \d+ bytes.*memory limit"):
        solve_exact(dense, method="tree")
    with pytest.raises(LimitExceeded, match="at most 34 variables"):
        solve_exact(dense)
    chain = Hamiltonian(np.ones(30), np.arange(29), np.arange(1, 30), np.ones(29), vartype=SPIN)
    with pytest.raises(LimitExceeded, match=r"width at least 1 .*coupling count"):
        solve_exact(chain, method="tree", memory_limit=10)


def test_dense_problems_are_refused_without_a_long_plan() -> None:
    rng = np.random.default_rng(0)
    n, m = 3000, 120_000  # 40 couplings per variable: width > 24 for certain
    row, col = rng.integers(0, n, size=(2, m))
    keep = row != col
    ham = Hamiltonian(np.zeros(n), row[keep], col[keep], np.ones(int(keep.sum())), vartype=SPIN)
    start = time.perf_counter()
    with pytest.raises(LimitExceeded, match="bound from the coupling count"):
        solve_exact(ham)
    assert time.perf_counter() - start < 5.0
    plan = plan_elimination(n, ham.row, ham.col, max_width=24)
    assert not plan.complete
    assert plan.width >= 25


def test_method_choice_and_option_refusals() -> None:
    chain = Hamiltonian(np.ones(60), np.arange(59), np.arange(1, 60), -np.ones(59), vartype=SPIN)
    sol = solve_exact(chain)
    assert (sol.method, sol.width, sol.degeneracy) == ("tree", 1, 1)
    assert sol.ground_energy == pytest.approx(-60.0 - 59.0)
    small = Hamiltonian(np.ones(5), [0], [1], [1.0], vartype=SPIN)
    assert solve_exact(small).method == "enumerate"
    assert solve_exact(small, method="tree").width == 1
    assert solve_exact(small, method="tree").to_dict()["method"] == "tree"
    with pytest.raises(ValidationError, match="ground level only"):
        solve_exact(small, method="tree", num_levels=2)
    with pytest.raises(ValidationError, match="method must be one of"):
        solve_exact(small, method="dp")
    with pytest.raises(LimitExceeded, match="method='tree'"):
        solve_exact(chain, method="enumerate")
    with pytest.raises(LimitExceeded, match="num_levels > 1 needs enumeration"):
        solve_exact(chain, num_levels=2)


def test_binary_problem_comes_back_in_its_vartype() -> None:
    ham = Hamiltonian.from_qubo({(0, 0): -1.0, (1, 1): -1.0, (0, 1): 2.0, (2, 3): -1.0})
    a = solve_exact(ham, method="enumerate")
    b = solve_exact(ham, method="tree")
    assert b.degeneracy == a.degeneracy == 2
    np.testing.assert_array_equal(a.ground_states, b.ground_states)
    assert set(np.unique(b.ground_states).tolist()) <= {0, 1}


def test_exact_artifact_lists_a_bounded_number_of_states(monkeypatch: pytest.MonkeyPatch) -> None:
    # A fresh campaign (2026-12-04): 2048 spins with 61,440 ground states made `compile -t exact`
    # grow past 24 GB writing them all as JSON. The listing is now capped; the count stays exact.
    import qevo_exact

    monkeypatch.setattr(qevo_exact, "ARTIFACT_STATE_ENTRIES", 8)
    ham = Hamiltonian(np.zeros(4), np.array([0]), np.array([1]), np.array([0.0]), vartype=SPIN)
    doc = solve_exact(ham).to_dict()
    assert doc["degeneracy"] == 16
    assert len(doc["ground_states"]) == 2  # 8 values of 4 variables
    assert doc["ground_states_truncated"] is True
    assert doc["levels"][0]["count"] == 16
    assert len(doc["levels"][0]["states"]) == 2
    assert doc["levels"][0]["truncated"] is True
    monkeypatch.setattr(qevo_exact, "ARTIFACT_STATE_ENTRIES", 2_000_000)
    full = solve_exact(ham).to_dict()
    assert len(full["ground_states"]) == 16
    assert full["ground_states_truncated"] is False
