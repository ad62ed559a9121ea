"""Numeric robustness: overflow and underflow when passes scale coefficients, coefficients that
round to zero are reported, all-zero problems, n = 0 and n = 1 through every verb, disconnected
graphs, and the energy-magnitude limit of ``compile``/``solve``."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qevo_ir import Hamiltonian, write_hamiltonian
from qevo_ir.compiler import ENERGY_BOUND_LIMIT, check_energy_bound, solve
from qevo_ir.errors import LimitExceeded, QevoError, ValidationError
from qevo_ir.formats import read_hamiltonian
from qevo_ir.passes import parse_pipeline
from qevo_ir.vartypes import SPIN


def _chain(values: list[float], h: float = 0.0, offset: float = 0.0) -> Hamiltonian:
    n = len(values) + 1
    return Hamiltonian(np.full(n, h), np.arange(n - 1), np.arange(1, n), np.asarray(values),
                       offset, vartype=SPIN)  # fmt: skip


def _spins(n: int) -> np.ndarray[Any, np.dtype[np.int8]]:
    """All ``2**n`` spin assignments (one empty row when ``n = 0``)."""
    return np.array(list(itertools.product((-1, 1), repeat=n)), dtype=np.int8).reshape(2**n, n)


def _precision(ham: Hamiltonian, options: str = "bits=8") -> tuple[Hamiltonian, dict[str, Any]]:
    result = parse_pipeline(f"precision({options})").run(ham)
    record = result.report().to_dict()["passes"][0]
    out: Hamiltonian = result.ir
    return out, record


def _finite(ham: Hamiltonian) -> bool:
    return bool(
        np.isfinite(ham.linear).all() and np.isfinite(ham.quad).all() and np.isfinite(ham.offset)
    )


# ----------------------------------------------------------------------------- precision
def test_precision_with_a_coupling_of_1e300() -> None:
    """max|J| = 1e300 scales by α = 1e-300; the small couplings underflow to zero and are
    counted, and the certified bound holds (to the float resolution of energies near 1e300)."""
    ham = _chain([1e300, 1.0, 1e-300])
    out, rec = _precision(ham)
    details = rec["details"]
    assert _finite(out)
    assert details["alpha"] == pytest.approx(1e-300)
    assert details["rounded_to_zero"] == {"h": 0, "J": 2}
    assert any("rounded to zero" in w for w in details["warnings"])
    assert out.num_interactions == 1
    s = _spins(ham.num_variables)
    gap = np.abs(out.energies(s) / details["alpha"] - ham.energies(s))
    resolution = 1e-15 * np.abs(ham.energies(s)).max()
    assert np.all(gap <= rec["energy_bound"] + resolution)


def test_precision_with_couplings_of_1e_minus_300() -> None:
    """max|J| = 1e-300 scales by α = 1e300 into the device range without overflow; an offset
    that α would push past DBL_MAX is a clear error, not an infinite offset."""
    ham = _chain([1e-300, -5e-301])
    out, rec = _precision(ham)
    assert _finite(out)
    assert rec["details"]["alpha"] == pytest.approx(1e300)
    assert np.allclose(out.quad, [1.0, -0.5], atol=1 / 127)
    with pytest.raises(ValidationError, match="overflows"):
        _precision(_chain([1e-300, -5e-301], offset=1e10))


def test_precision_with_only_subnormal_coefficients_scales_by_a_power_of_two() -> None:
    """``room/|J|`` overflows for ``J = 5e-324``: α is 2**1000 (exact), not a refusal (issue 15)."""
    out, rec = _precision(_chain([5e-324]))
    assert rec["details"]["alpha"] == 2.0**1000
    assert _finite(out)


def test_precision_without_rounding_reports_underflow() -> None:
    """``bits=none`` only scales; a coefficient whose scaled value underflows to 0.0 is still
    reported as rounded to zero, never silently dropped."""
    out, rec = _precision(_chain([1e300, 1e-300]), "bits=none")
    assert rec["details"]["rounded_to_zero"]["J"] == 1
    assert out.num_interactions == 1
    assert any("rounded to zero" in w for w in rec["details"]["warnings"])


def test_precision_bound_holds_when_coefficients_round_to_zero() -> None:
    ham = Hamiltonian(np.array([0.5, 0.0, 1e-4, 0.0]), np.array([0, 1, 0]), np.array([1, 2, 3]),
                      np.array([1.0, 2e-4, -3e-3]), 0.25, vartype=SPIN)  # fmt: skip
    out, rec = _precision(ham, "bits=4")
    zeroed = rec["details"]["rounded_to_zero"]
    assert zeroed["h"] + zeroed["J"] == 3
    s = _spins(4)
    alpha = rec["details"]["alpha"]
    assert np.all(np.abs(out.energies(s) / alpha - ham.energies(s)) <= rec["energy_bound"] + 1e-12)


def test_cli_reports_coefficients_rounded_to_zero(tmp_path: Path, cli: Callable[..., Any]) -> None:
    src = tmp_path / "p.json"
    write_hamiltonian(_chain([1.0, 0.01, -0.002]), src)
    res = cli("compile", src, "--pipeline", "precision(bits=4)", "-o", tmp_path / "o")
    assert res.code == 0, res.err
    assert "qevo: warning: precision: 2 nonzero coefficients were rounded to zero" in res.err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    details = report["passes"][0]["details"]
    assert details["rounded_to_zero"] == {"h": 0, "J": 2}
    assert report["passes"][0]["energy_bound"] > 0


# ----------------------------------------------------------------------------- magnitude limit
def test_energy_bound_limit() -> None:
    check_energy_bound(_chain([ENERGY_BOUND_LIMIT / 2, ENERGY_BOUND_LIMIT / 4]))
    with pytest.raises(LimitExceeded, match="too large"):
        check_energy_bound(_chain([ENERGY_BOUND_LIMIT, ENERGY_BOUND_LIMIT / 4]))
    with pytest.raises(LimitExceeded, match="overflows float64"):
        check_energy_bound(_chain([1.7976931348623157e308, 1.7976931348623157e308]))
    with pytest.raises(LimitExceeded):
        solve(_chain([1e308, 1e308]), "exact")


def test_scale_passes_that_overflow_are_refused(
    tmp_path: Path, cli: Callable[..., Any], corpus: Path
) -> None:
    src = corpus / "huge_1e299_ok.json"
    res = cli("compile", src, "--pipeline", "scale(factor=1e10)", "-o", tmp_path / "a")
    res.assert_one_line_error("overflows")
    res = cli("compile", src, "--pipeline", "scale(factor=100)", "-o", tmp_path / "b")
    res.assert_one_line_error("after the pipeline", "too large")
    res = cli("compile", src, "--pipeline", "normalize", "-o", tmp_path / "c")
    assert res.code == 0, res.err
    assert not (tmp_path / "a").exists()
    assert not (tmp_path / "b").exists()


# ----------------------------------------------------------------------------- small and zero
def test_all_zero_hamiltonian(corpus: Path, tmp_path: Path, cli: Callable[..., Any]) -> None:
    src = corpus / "valid_all_zero.json"
    res = cli("solve", src, "--json")
    assert res.code == 0, res.err
    out = json.loads(res.out)
    assert out["ground_energy"] == 0.0
    assert out["degeneracy"] == 2**3
    pipeline = "precision(bits=4) | normalize | sparsify(rel=0.5) | gauge(seed=1) | scale(factor=3)"
    res = cli("compile", src, "--pipeline", pipeline, "--target", "exact,dimod", "-o", tmp_path)
    assert res.code == 0, res.err
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["total_energy_bound"] == 0.0


@pytest.mark.parametrize("name", ["valid_n0.json", "valid_n1.json", "qubo_one_variable.qubo",
                                  "coo_zero_variables.coo"])  # fmt: skip
def test_tiny_problems_through_every_verb(
    name: str, corpus: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    src = corpus / name
    ham = read_hamiltonian(src)
    assert cli("inspect", src, "--json").code == 0
    solvers = ["exact", "qaoa"]
    for extra in ("dimod",):
        try:
            __import__(extra)
            solvers += ["sa", "steepest"]
        except ImportError:
            pass
    brute = ham.energies(_spins(ham.num_variables) if ham.vartype is SPIN
                         else (_spins(ham.num_variables) + 1) // 2).min()  # fmt: skip
    for backend in solvers:
        res = cli("solve", src, "--backend", backend, "--seed", "1", "--json")
        assert res.code == 0, (backend, res.err)
        assert json.loads(res.out)["best_energy"] == pytest.approx(brute), backend
    for ext in ("json", "npz", "bqm.json", "coo", "qubo"):
        out = tmp_path / f"c.{ext}"
        assert cli("convert", src, out).code == 0, ext
        back = read_hamiltonian(out).change_vartype(ham.vartype)
        assert back.num_variables == ham.num_variables
        states = _spins(ham.num_variables)
        if ham.vartype is not SPIN:
            states = (states + 1) // 2
        assert np.allclose(back.energies(states), ham.energies(states)), ext
    res = cli("compile", src, "--target", "all", "-o", tmp_path / "all")
    assert res.code == 0, res.err


def test_zero_variables_verify_every_target(
    corpus: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """n = 0: zero-qubit circuits, an empty BQM and an exact.json with one empty ground state
    are all written and all verify."""
    res = cli("compile", corpus / "valid_n0.json", "--target", "all", "-o", tmp_path)
    assert res.code == 0, res.err
    res = cli("verify", tmp_path)
    assert res.code == 0, res.out
    assert "verified: every check passed" in res.out


def test_disconnected_graph(corpus: Path, tmp_path: Path, cli: Callable[..., Any]) -> None:
    """A triangle, an edge, a field and two isolated variables: the ground energy is the sum of
    the parts' and the degeneracy their product (6 * 2 * 1 * 2 * 2 = 48), as brute force says."""
    src = corpus / "valid_disconnected.coo"
    ham = read_hamiltonian(src)
    e = ham.energies(_spins(8))
    res = cli("solve", src, "--json")
    out = json.loads(res.out)
    assert out["ground_energy"] == e.min() == -2.5
    assert out["degeneracy"] == int(np.count_nonzero(e == e.min())) == 48
    result = parse_pipeline("components").run(ham)
    assert result.report().to_dict()["passes"][0]["details"]["component_sizes"] == [3, 2, 1, 1, 1]
    res = cli("compile", src, "--pipeline", "components | fix", "--target", "exact",
              "-o", tmp_path)  # fmt: skip
    assert res.code == 0, res.err
    assert cli("verify", tmp_path).code == 0


# ----------------------------------------------------------------------------- known bugs
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_precision_pass_on_dbl_max_coefficients_raises_a_typed_error() -> None:
    ham = Hamiltonian.from_ising({0: 1e308, 1: 1e308}, {(0, 1): 1e308})
    with contextlib.suppress(QevoError):
        _precision(ham)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_fast_qaoa_on_large_coefficients(corpus: Path) -> None:
    ham = read_hamiltonian(corpus / "huge_1e299_ok.json")
    try:
        result = solve(ham, "qaoa", seed=1, shots=64)
    except QevoError:
        return
    assert np.isfinite(result.best_energy)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_vartype_conversion_never_returns_inf() -> None:
    ham = Hamiltonian.from_ising({0: 1e308, 1: -1e308}, {})
    try:
        out = ham.to_binary()
    except QevoError:
        return
    assert _finite(out)
