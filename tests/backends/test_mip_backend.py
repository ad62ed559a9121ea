"""The ``mip`` backend (SCIP on the linearised BINARY form): proofs, bounds, time limits."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qevo_ir
from qevo_ir import (
    BINARY,
    SPIN,
    BackendUnavailable,
    Hamiltonian,
    ValidationError,
    write_hamiltonian,
)
from qevo_ir.cli.main import main
from qevo_ir.plugins import available_backends, register_backend, unregister_backend
from qevo_ir.testing.conformance import ground_energy
from qevo_mip import MipBackend, linearize


@pytest.fixture
def mip() -> Iterator[str]:
    """``mip`` through the plugin registry (registered here until the entry point is installed)."""
    if "mip" in available_backends():
        yield "mip"
        return
    register_backend("mip", MipBackend)
    try:
        yield "mip"
    finally:
        unregister_backend("mip")


def _beasley(n: int, seed: int, density: float = 0.1) -> Hamiltonian:
    """Beasley-type QUBO: integer coefficients in [-100, 100] at the given density."""
    rng = np.random.default_rng(seed)
    iu = np.triu_indices(n)
    keep = rng.random(iu[0].size) < density
    i, j = iu[0][keep], iu[1][keep]
    q = rng.integers(-100, 101, size=i.size).astype(float)
    return Hamiltonian.from_qubo(
        {(int(a), int(b)): float(v) for a, b, v in zip(i, j, q, strict=True)}
    )


@settings(max_examples=15)
@given(st.integers(0, 2**32 - 1), st.integers(0, 12), st.booleans(), st.booleans())
def test_proves_the_enumerated_optimum(seed: int, n: int, integer: bool, spin: bool) -> None:
    rng = np.random.default_rng(seed)
    iu = np.triu_indices(n, 1)
    keep = rng.random(iu[0].size) < 0.4
    if integer:
        J = rng.integers(-3, 4, size=int(keep.sum())).astype(float)
        h = rng.integers(-2, 3, size=n).astype(float)
    else:
        J, h = rng.normal(size=int(keep.sum())), rng.normal(size=n)
    ham = Hamiltonian(h, iu[0][keep], iu[1][keep], J, offset=0.5, vartype=SPIN if spin else BINARY)
    res = MipBackend().solve(ham, time_limit=30)
    ground, _ = ground_energy(ham)
    tol = 1e-9 * max(1.0, ham.l1_norm())
    assert res.info["optimal"] is True
    assert res.best_energy == pytest.approx(ground, abs=tol)
    assert res.info["lower_bound"] <= ground + tol
    assert res.vartype is ham.vartype


def test_through_solve_with_bound_gap_and_warm_start(mip: str) -> None:
    ham = _beasley(40, 1)
    res = qevo_ir.solve(ham, mip, time_limit=30)
    assert res.info["optimal"] is True
    assert res.info["lower_bound_source"] == "mip"
    assert res.info["gap"] == 0.0  # integral problem: the bound is rounded up to the optimum
    exact = qevo_ir.solve(ham, "exact")
    assert res.best_energy == pytest.approx(exact.best_energy)
    warm = qevo_ir.solve(ham, mip, time_limit=30, warm_start=res.samples[0], seed=3)
    assert warm.best_energy == pytest.approx(res.best_energy)


def test_cut_short_reports_best_bound_and_gap(mip: str) -> None:
    ham = _beasley(250, 2)
    start = qevo_ir.solve(ham, "sa", seed=1, num_reads=4)
    res = qevo_ir.solve(ham, mip, time_limit=1.0, warm_start=start.samples[0])
    info = res.info
    assert info["optimal"] is False
    assert info["status"] in {"timelimit", "userinterrupt"}
    assert info["lower_bound"] < res.best_energy <= start.best_energy
    assert info["gap"] == pytest.approx(res.best_energy - info["lower_bound"])
    assert info["seconds"] < 30


def test_linearisation_needs_one_side_per_sign() -> None:
    ham = Hamiltonian.from_qubo({(0, 1): -2.0, (1, 2): 3.0, (0, 2): 0.0, (0, 0): 1.0})
    model = linearize(ham)
    assert model.q.tolist() == [-2.0, 3.0]
    assert model.num_constraints == 3
    assert MipBackend().lower(ham).num_variables == 3
    assert MipBackend().write(model, Path(".")) == []


def test_option_and_input_refusals() -> None:
    ham = Hamiltonian.from_ising([1.0, -1.0], {(0, 1): 0.5})
    with pytest.raises(ValidationError, match="unknown option"):
        MipBackend().solve(ham, num_reads=3)
    with pytest.raises(ValidationError, match="time_limit"):
        MipBackend().solve(ham, time_limit=-1)
    with pytest.raises(ValidationError, match="warm_start"):
        MipBackend().solve(ham, warm_start=[0, 1])  # BINARY values for a SPIN problem
    empty = MipBackend().solve(Hamiltonian.from_ising([], {}, offset=2.0))
    assert empty.best_energy == 2.0
    assert empty.info["optimal"] is True


def test_missing_solver_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], mip: str
) -> None:
    monkeypatch.setitem(sys.modules, "pyscipopt", None)
    ham = Hamiltonian.from_ising([1.0, -1.0], {(0, 1): 0.5})
    with pytest.raises(BackendUnavailable, match=r"pip install 'qevo-ir\[mip\]'"):
        MipBackend().solve(ham)
    path = tmp_path / "p.json"
    write_hamiltonian(ham, path)
    assert main(["solve", str(path), "--backend", mip]) == 2
    err = capsys.readouterr().err
    assert "qevo-ir[mip]" in err
    assert len(err.strip().splitlines()) == 1
