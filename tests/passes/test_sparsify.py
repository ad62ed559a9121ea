"""The sparsify pass: which couplings go, and the certified bound (SPIN Σ|J|, BINARY tight)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qevo_ir import BINARY, SPIN, Hamiltonian, PipelineError
from qevo_ir.passes import Pipeline
from qevo_ir.passes.sparsify import Sparsify, drop_bound, topk_mask
from qevo_ir.testing import all_assignments, hamiltonians


@settings(max_examples=80, deadline=None)
@given(
    ham=hamiltonians(max_variables=8),
    abs_=st.none() | st.floats(0, 5),
    rel=st.none() | st.floats(0, 1),
    topk=st.none() | st.integers(1, 4),
)
def test_stays_within_its_certified_bound(
    ham: Hamiltonian, abs_: float | None, rel: float | None, topk: int | None
) -> None:
    res = Pipeline([Sparsify(abs=abs_, rel=rel, topk=topk)]).run(ham)
    out, rec = res.ir, res.records[0]
    assert rec.energy_scale == 1.0
    assert rec.exact is False
    assert out.vartype is ham.vartype
    assert out.labels == ham.labels
    ys = all_assignments(ham.num_variables, ham.vartype)
    diff = np.abs(out.energies(ys) - ham.energies(res.decode(ys)))
    tol = 1e-9 * (1 + abs(ham.offset) + np.abs(ham.linear).sum() + np.abs(ham.quad).sum())
    assert diff.max(initial=0.0) <= rec.energy_bound + tol
    # What was dropped is exactly what the rules drop.
    kept = Sparsify(abs=abs_, rel=rel, topk=topk).keep_mask(ham)
    assert rec.details["kept"] == out.num_interactions == int(kept.sum())
    assert rec.details["dropped"] + out.num_interactions == ham.num_interactions
    np.testing.assert_array_equal(out.quad, ham.quad[kept])


def test_binary_bound_is_the_tight_one() -> None:
    # Dropped q = +1, +2, -2.5: the SPIN-style bound would be 5.5; the tight one max(3, 2.5) = 3.
    assert drop_bound(np.array([1.0, 2.0, -2.5]), vartype_is_spin=False) == 3.0
    assert drop_bound(np.array([1.0, 2.0, -2.5]), vartype_is_spin=True) == 5.5
    # Here the bound is attained: dropping +1 on (0,1) and +2 on (2,3) changes x = 1111 by 3.
    ham = Hamiltonian.from_qubo({(0, 1): 1.0, (2, 3): 2.0, (0, 2): 10.0})
    res = Pipeline.parse("sparsify(abs=5)").run(ham)
    assert res.records[0].energy_bound == 3.0
    ys = all_assignments(4, BINARY)
    assert np.abs(res.ir.energies(ys) - ham.energies(ys)).max() == 3.0


def test_rules() -> None:
    ham = Hamiltonian.from_ising(
        {}, {(0, 1): 4.0, (0, 2): -0.5, (0, 3): 0.1, (1, 2): 0.05, (2, 3): -2.0}
    )
    assert Sparsify().keep_mask(ham).all()
    np.testing.assert_array_equal(Sparsify(abs=0.1).keep_mask(ham), [True, True, True, False, True])
    np.testing.assert_array_equal(
        Sparsify(rel=0.1).keep_mask(ham), [True, True, False, False, True]
    )
    # Top-1 of each endpoint: 0 → (0,1), 1 → (0,1), 2 → (2,3), 3 → (2,3).
    np.testing.assert_array_equal(
        Sparsify(topk=1).keep_mask(ham), [True, False, False, False, True]
    )
    # Rules combine: kept only if every rule keeps it.
    np.testing.assert_array_equal(
        Sparsify(topk=2, rel=0.2).keep_mask(ham), [True, False, False, False, True]
    )
    res = Pipeline.parse("sparsify(rel=0.1)").run(ham)
    d = res.records[0].details
    assert d["dropped"] == 2
    assert d["kept"] == 3
    assert d["dropped_l1_share"] == pytest.approx(0.15 / 6.65)
    assert d["dropped_l2_share"] == pytest.approx(np.sqrt(0.0125) / np.sqrt(20.2625))
    assert res.records[0].energy_bound == pytest.approx(0.15)


def test_topk_ties_break_by_coupling_order() -> None:
    row = np.array([0, 0, 0])
    col = np.array([1, 2, 3])
    keep = topk_mask(4, row, col, np.array([1.0, -1.0, 1.0]), 1)
    # Variable 0 keeps its first coupling; 1, 2 and 3 each keep their only one.
    np.testing.assert_array_equal(keep, [True, True, True])
    keep = topk_mask(4, row, col, np.array([1.0, -1.0, 1.0]), 0)
    assert not keep.any()


def test_refusals() -> None:
    with pytest.raises(PipelineError, match=r"abs=-1\.0 must be"):
        Sparsify(abs=-1.0)
    with pytest.raises(PipelineError, match="rel=nan"):
        Sparsify(rel=float("nan"))
    with pytest.raises(PipelineError, match="topk=0"):
        Sparsify(topk=0)


def test_a_million_couplings() -> None:
    rng = np.random.default_rng(1)
    n, m = 100_000, 1_000_000
    row = rng.integers(0, n, size=m)
    col = rng.integers(0, n, size=m)
    ok = row != col
    ham = Hamiltonian(rng.normal(size=n), row[ok], col[ok], rng.normal(size=ok.sum()), vartype=SPIN)
    start = time.perf_counter()
    res = Pipeline.parse("sparsify(rel=0.05, topk=8)").run(ham)
    elapsed = time.perf_counter() - start
    assert elapsed < 20.0  # ~0.5 s measured
    assert res.ir.num_interactions < ham.num_interactions
    assert res.records[0].details["dropped"] == ham.num_interactions - res.ir.num_interactions
