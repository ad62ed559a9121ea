"""Lower bounds, gaps and roof duality: bound ≤ exact ground energy ≤ best sample, always."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qevo_ir
from qevo_exact import solve_exact
from qevo_ir import SPIN, Hamiltonian, PipelineError, write_hamiltonian
from qevo_ir.cli.main import main
from qevo_ir.passes import Pipeline
from qevo_ir.passes.fix import dominant_spins
from qevo_ir.solvers.bounds import (
    certificate,
    lower_bound,
    roof_duality,
    roof_duality_available,
    trivial_bound,
)
from qevo_ir.solvers.persistency import proved_fixings
from qevo_ir.testing import all_assignments, hamiltonians

needs_roof = pytest.mark.skipif(not roof_duality_available(), reason="needs extra 'roof'")


def _ground(ham: Hamiltonian) -> tuple[float, np.ndarray]:
    ys = all_assignments(ham.num_variables, ham.vartype)
    e = ham.energies(ys)
    tol = 1e-9 * max(1.0, ham.to_spin().l1_norm())  # the exact backend's tie tolerance
    return float(e.min()), ys[e <= e.min() + tol]


def _integer_problem(seed: int, n: int, density: float) -> Hamiltonian:
    rng = np.random.default_rng(seed)
    iu = np.triu_indices(n, 1)
    keep = rng.random(iu[0].size) < density
    J = rng.integers(-2, 3, size=int(keep.sum())).astype(float)
    h = rng.integers(-3, 4, size=n).astype(float)
    return Hamiltonian(h, iu[0][keep], iu[1][keep], J, vartype=SPIN)


def _mixed_problem(seed: int, n: int, density: float, gaussian: bool) -> Hamiltonian:
    """``_integer_problem``'s couplings, with Gaussian fields and couplings when ``gaussian``;
    BINARY for odd seeds."""
    ham = _integer_problem(seed, n, density)
    if gaussian:
        rng = np.random.default_rng(seed)
        ham = Hamiltonian(
            rng.normal(size=n), ham.row, ham.col, rng.normal(size=ham.quad.size), vartype=SPIN
        )
    return ham.to_binary() if seed % 2 else ham


@given(hamiltonians(max_variables=9))
def test_bounds_are_below_the_ground_energy(ham: Hamiltonian) -> None:
    ground, _ = _ground(ham)
    tol = 1e-9 * max(1.0, ham.l1_norm())
    assert trivial_bound(ham) <= ground + tol
    found = lower_bound(ham)
    assert found.value <= ground + tol
    assert found.value >= trivial_bound(ham)
    assert found.source == "roof_duality"  # the library's, or qevo's own without the extra
    assert lower_bound(ham, method="trivial").value == trivial_bound(ham)


@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.sampled_from([0.2, 0.5]))
def test_dominance_fixes_hold_in_every_ground_state(seed: int, n: int, density: float) -> None:
    ham = _integer_problem(seed, n, density)
    if seed % 2:
        ham = ham.to_binary()
    ground, states = _ground(ham)
    out = Pipeline.parse("fix").run(ham)
    details = out.records[0].details
    assert details["method"] == "dominance"
    dom, values, _ = dominant_spins(ham.to_spin())
    if ham.vartype is not SPIN:
        values = (values + 1) // 2
    for i, v in zip(dom.tolist(), values.tolist(), strict=True):
        assert np.all(states[:, i] == v)
    if out.ir.num_variables:
        assert solve_exact(out.ir).ground_energy == pytest.approx(ground)


@needs_roof
def test_roof_duality_fixings_are_certified_where_the_librarys_are_wrong() -> None:
    # dwave-preprocessing 0.6.11, strict=True, fixes s1 = 1, s2 = -1, s5 = 1 here, claiming every
    # ground state has them; of the 4 ground states, some do not. None of them is fixed here.
    ham = Hamiltonian(
        np.array([3.0, -1.0, 1.0, 2.0, 2.0, -2.0]),
        np.array([0, 0, 0, 1, 1, 2, 3]),
        np.array([1, 3, 4, 2, 5, 3, 4]),
        np.array([-1.0, -1.0, 2.0, 3.0, -2.0, 3.0, -2.0]),
        vartype=SPIN,
    )
    rd = roof_duality(ham)
    library = dict(zip(rd.indices.tolist(), rd.values.tolist(), strict=True))
    ground, states = _ground(ham)
    assert len(states) == 4
    wrong = [i for i, v in library.items() if not np.all(states[:, i] == v)]
    assert wrong  # the library's claim fails here
    out = Pipeline.parse("fix(method=roof_duality)").run(ham)
    details = out.records[0].details
    assert details["method"] == "roof_duality"
    proof = details["roof_duality_proof"]
    assert proof["certificate"] == "posiform"
    fixed = {label for label, _ in details["fixed"]}
    assert not fixed & set(wrong)
    for label, v in details["fixed"]:
        assert np.all(states[:, label] == v)
    assert details["lower_bound"] == pytest.approx(rd.lower_bound, abs=1e-9)
    assert details["lower_bound"] <= ground
    reduced = solve_exact(out.ir)
    assert reduced.ground_energy == pytest.approx(ground)
    assert reduced.degeneracy == 4
    assert Pipeline.parse("fix(roof=false, method=roof_duality)").run(ham).ir.num_variables == 6
    with pytest.raises(PipelineError, match="method must be one of"):
        Pipeline.parse("fix(method=lp)")
    with pytest.raises(PipelineError, match="needs method=roof_duality"):
        Pipeline.parse("fix(strict=false)")


def _sparse_problem(seed: int, n: int) -> Hamiltonian:
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, n, size=(2, int(1.5 * n)))
    keep = i != j
    pairs = np.unique(np.minimum(i, j)[keep] * n + np.maximum(i, j)[keep])
    row, col = pairs // n, pairs % n
    return Hamiltonian(rng.normal(size=n), row, col, rng.normal(size=row.size), vartype=SPIN)


@needs_roof
@pytest.mark.parametrize("engine", ["numba", "scipy"])
def test_roof_duality_fixes_what_the_library_fixes_on_a_sparse_problem(engine: str) -> None:
    # 400 spins, Gaussian fields and couplings: strong persistencies are the library's strict
    # fixings here (it errs on degenerate problems), and the bounds agree to the flow's precision.
    ham = _sparse_problem(3, 400)
    found = proved_fixings(ham, engine=engine)  # type: ignore[arg-type]
    rd = roof_duality(ham)
    assert len(rd.indices) > 100
    assert np.array_equal(found.indices, rd.indices)
    assert np.array_equal(found.values, rd.values)
    assert found.unproved == 0
    # the bound is C + F: 32-bit scipy capacities leave more of the flow's remainder unrouted
    assert rd.lower_bound - (1e-6 if engine == "numba" else 1e-3) <= found.lower_bound
    assert found.lower_bound <= rd.lower_bound + 1e-6


@given(st.integers(0, 2**32 - 1), st.integers(1, 11), st.sampled_from([0.2, 0.5]), st.booleans())
def test_certified_roof_duality_fixings_hold_in_every_ground_state(
    seed: int, n: int, density: float, gaussian: bool
) -> None:
    ham = _mixed_problem(seed, n, density, gaussian)
    ground, states = _ground(ham)
    out = Pipeline.parse("fix(method=roof_duality)").run(ham)
    details = out.records[0].details
    assert details["lower_bound"] <= ground + 1e-9 * max(1.0, ham.l1_norm())
    assert not details["fixed_truncated"]
    for label, v in details["fixed"]:
        assert np.all(states[:, label] == v)
    # every ground state survives, and nothing else becomes one
    if out.ir.num_variables:
        reduced = solve_exact(out.ir)
        assert reduced.ground_energy == pytest.approx(ground)
        assert reduced.degeneracy == len(states)
    else:
        assert len(states) == 1
    # both flow engines certify only what holds, and the same fixings on integer problems
    # (exact at both precisions; Gaussian ones may differ by a fixing at the 30-bit floor)
    a = proved_fixings(ham, engine="numba")
    b = proved_fixings(ham, engine="scipy")
    for found in (a, b):
        for i, v in zip(found.indices.tolist(), found.values.tolist(), strict=True):
            assert np.all(states[:, i] == v)
    if not gaussian:
        assert np.array_equal(a.indices, b.indices)
        assert np.array_equal(a.values, b.values)


@given(hamiltonians(max_variables=9))
def test_certified_fixings_hold_on_any_hamiltonian(ham: Hamiltonian) -> None:
    _, states = _ground(ham)
    found = proved_fixings(ham)
    assert found.lower_bound <= _ground(ham)[0] + 1e-9 * max(1.0, ham.l1_norm())
    for i, v in zip(found.indices.tolist(), found.values.tolist(), strict=True):
        assert np.all(states[:, i] == v)


@given(st.integers(0, 2**32 - 1), st.integers(1, 11), st.sampled_from([0.2, 0.5]), st.booleans())
def test_weak_persistencies_keep_a_ground_state(
    seed: int, n: int, density: float, gaussian: bool
) -> None:
    ham = _mixed_problem(seed, n, density, gaussian)
    ground, states = _ground(ham)
    strong = proved_fixings(ham)
    found = {}
    for engine in ("numba", "scipy"):
        weak = proved_fixings(ham, strict=False, engine=engine)  # type: ignore[arg-type]
        fixed = dict(zip(weak.indices.tolist(), weak.values.tolist(), strict=True))
        # weak extends strong, and some ground state has every fixing at once
        assert dict(zip(strong.indices.tolist(), strong.values.tolist(), strict=True)).items() <= (
            fixed.items()
        )
        idx = np.fromiter(fixed, dtype=np.int64, count=len(fixed))
        vals = np.fromiter(fixed.values(), dtype=np.int64, count=len(fixed))
        assert np.any(np.all(states[:, idx] == vals, axis=1))
        found[engine] = fixed
    if not gaussian:
        assert found["numba"] == found["scipy"]
    out = Pipeline.parse("fix(method=roof_duality, strict=false)").run(ham)
    details = out.records[0].details
    assert details["roof_duality_proof"]["weak"] == len(found["numba"]) - len(strong.indices)
    if out.ir.num_variables:
        assert solve_exact(out.ir).ground_energy == pytest.approx(ground)
    else:
        assert out.ir.offset == pytest.approx(ground)


def test_weak_persistencies_fix_a_free_spin_and_a_symmetric_pair() -> None:
    # s0 is free (no terms), s1 s2 prefer to align (both ground states are symmetric): no
    # strong persistency, but one ground state keeps weak fixings of every spin.
    ham = Hamiltonian.from_ising([0.0, 0.0, 0.0, 1.0], {(1, 2): -1.0})
    assert len(proved_fixings(ham).indices) == 1  # s3 = -1 only
    weak = proved_fixings(ham, strict=False)
    assert weak.indices.tolist() == [0, 1, 2, 3]
    assert weak.values[1] == weak.values[2]
    assert weak.values[3] == -1
    assert weak.weak == 3


@pytest.mark.parametrize("engine", ["numba", "scipy"])
def test_certified_fixings_at_the_edges_of_float64(engine: str) -> None:
    # found by review: each crashed, or gave a bound above the ground energy, or fixed a spin
    # whose other value the exact backend's float energies put within the tie tolerance
    cases = [
        Hamiltonian([1e-300, 1.0, 1.0], [1], [2], [1.0], vartype=SPIN),  # a tiny field
        Hamiltonian([1e-318], vartype=SPIN),  # every coefficient subnormal
        Hamiltonian.from_ising([0.0] * 4, {(i, j): 2e307 for i in range(4) for j in range(i)}),
        Hamiltonian.from_ising([-1.3], {}, offset=2490000000000000.5),
        Hamiltonian.from_ising([0.0005000000200501253], {}, offset=1e6),
    ]
    for ham in cases:
        ground, states = _ground(ham)
        for strict in (True, False):
            found = proved_fixings(ham, strict=strict, engine=engine)  # type: ignore[arg-type]
            assert found.lower_bound <= ground
            idx, vals = found.indices, found.values
            if strict:
                for i, v in zip(idx.tolist(), vals.tolist(), strict=True):
                    assert np.all(states[:, i] == v)
            elif len(idx):
                assert np.any(np.all(states[:, idx] == vals, axis=1))
        Pipeline.parse("fix(method=roof_duality)").run(ham)


def test_a_wrong_flow_is_refused_and_a_short_one_proves_nothing_false(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import qevo_ir.solvers.persistency as persistency

    ham = _integer_problem(11, 9, 0.4)
    _, states = _ground(ham)
    honest = persistency.max_flow

    def over(*args: Any, **kwargs: Any) -> tuple[np.ndarray, int]:
        flow, value = honest(*args, **kwargs)
        return flow + 1, value  # breaks conservation or a capacity

    monkeypatch.setattr(persistency, "max_flow", over)
    with pytest.raises(RuntimeError, match="infeasible flow"):
        proved_fixings(ham)

    def short(*args: Any, **kwargs: Any) -> tuple[np.ndarray, int]:
        flow, _ = honest(*args, **kwargs)
        return np.zeros_like(flow), 0  # feasible, not maximum

    monkeypatch.setattr(persistency, "max_flow", short)
    found = proved_fixings(ham)
    for i, v in zip(found.indices.tolist(), found.values.tolist(), strict=True):
        assert np.all(states[:, i] == v)


def test_dominance_and_the_roof_bound_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import qevo_ir.solvers.bounds as bounds

    monkeypatch.setattr(bounds, "roof_duality_available", lambda: False)
    ham = Hamiltonian.from_ising([3.0, -1.5, 0.5], {(0, 1): 1.0, (0, 2): 1.0, (1, 2): 1.0})
    res = Pipeline.parse("fix").run(ham)
    assert res.records[0].details["method"] == "dominance"
    assert res.records[0].details["fixed_by_roof"] == 3
    # without dwave-preprocessing the bound is still roof duality's, from qevo's own flow: here
    # tight (every spin is fixed), above the trivial bound
    found = bounds.lower_bound(ham)
    assert found.source == "roof_duality"
    ground, _ = _ground(ham)
    assert found.value == pytest.approx(ground, abs=1e-9)
    assert found.value <= ground
    assert found.value > 0.0 - 5.0 - 3.0
    assert bounds.lower_bound(ham, method="trivial").value == 0.0 - 5.0 - 3.0


@settings(max_examples=10)
@given(hamiltonians(min_variables=1, max_variables=8))
def test_every_solve_result_carries_bound_and_gap(ham: Hamiltonian) -> None:
    ground, _ = _ground(ham)
    tol = 1e-9 * max(1.0, ham.l1_norm())
    runs: tuple[tuple[str, dict[str, Any]], ...] = (
        ("exact", {}),
        ("sa", {"seed": 1, "num_reads": 5}),
    )
    for backend, opts in runs:
        res = qevo_ir.solve(ham, backend, **opts)
        info = res.info
        assert info["lower_bound"] <= ground + tol
        assert ground <= res.best_energy + tol
        assert info["gap"] == pytest.approx(max(0.0, res.best_energy - info["lower_bound"]))
        assert info["lower_bound_source"] in {"exact", "tree", "roof_duality", "trivial"}
    exact = qevo_ir.solve(ham, "exact")
    assert exact.info["gap"] == 0.0


def test_qaoa_result_carries_bound_and_gap() -> None:
    ham = _integer_problem(4, 6, 0.5)
    res = qevo_ir.solve(ham, "qaoa", seed=1, shots=64, restarts=1)
    ground, _ = _ground(ham)
    assert res.info["lower_bound"] <= ground + 1e-9
    assert res.info["gap"] == pytest.approx(res.best_energy - res.info["lower_bound"])


def test_after_a_pipeline_the_bound_is_about_the_source() -> None:
    ham = _integer_problem(2, 12, 0.3)
    res = qevo_ir.solve(ham, "exact", pipeline="scale(factor=4)")
    assert res.info["ir_lower_bound"] == pytest.approx(4 * res.best_energy)
    assert res.info["lower_bound"] <= res.best_energy + 1e-9
    assert res.info["lower_bound_source"] in {"roof_duality", "trivial"}


def test_certificate_edges() -> None:
    assert certificate(None, -1.0, "x")["gap"] == math.inf
    assert certificate(1.0, -math.inf, "none") == {
        "lower_bound": -math.inf,
        "gap": math.inf,
        "lower_bound_source": "none",
    }
    assert certificate(1.0, 1.0 + 1e-15, "x")["gap"] == 0.0


def test_cli_prints_and_carries_bound_and_gap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.json"
    write_hamiltonian(_integer_problem(3, 10, 0.4), path)
    assert main(["solve", str(path), "--backend", "sa", "--seed", "1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["lower_bound"] <= doc["best_energy"]
    assert doc["gap"] == pytest.approx(doc["best_energy"] - doc["lower_bound"])
    assert doc["lower_bound_source"] in {"roof_duality", "trivial"}
    assert main(["solve", str(path)]) == 0
    text = capsys.readouterr().out
    assert "lower bound" in text
    assert "(exact; gap 0)" in text
