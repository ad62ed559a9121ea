"""Size and time limits: refused at once with a message naming the limit (before anything of
size 2**n is allocated), ``--timeout`` stops a long solve within about a second of the limit, and
Ctrl-C stops it cleanly; nothing partial is written either way."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qevo_ir import Hamiltonian, write_hamiltonian


@pytest.fixture(scope="module")
def dense40(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(40)
    n = 40
    row, col = np.triu_indices(n, 1)
    path = tmp_path_factory.mktemp("limits") / "dense40.npz"
    write_hamiltonian(Hamiltonian(rng.normal(size=n), row, col, rng.normal(size=len(row)), 0.0,
                                  vartype="SPIN"), path)  # fmt: skip
    return path


@pytest.fixture(scope="module")
def zero34(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """34 variables, no terms: every one of 2**34 states is a ground state, so enumeration
    (``--option method=enumerate``; the tree method would finish at once) must visit them all
    (no pruning helps); it runs about a minute on two cores."""
    path = tmp_path_factory.mktemp("limits") / "zero34.coo"
    path.write_text("# vartype=SPIN\n# num_variables=34\n")
    return path


def test_exact_solver_limit_is_immediate(
    dense40: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    for argv in (
        ["solve", dense40, "--backend", "exact", "-o", tmp_path / "r.json"],
        ["compile", dense40, "--target", "exact", "-o", tmp_path / "o"],
    ):
        res = cli(*argv)
        res.assert_one_line_error("at most 34 variables", "40")
        assert res.seconds < 1.0
    assert list(tmp_path.iterdir()) == []


def test_fast_qaoa_limit_names_qubits_and_memory(dense40: Path, cli: Callable[..., Any]) -> None:
    res = cli("solve", dense40, "--backend", "qaoa")
    res.assert_one_line_error("40 qubits", "statevector limit", "16.0 TiB")
    assert res.seconds < 1.0


@pytest.mark.parametrize(("backend", "module"), [("qaoa-qiskit", "qiskit"), ("qaoa-cirq", "cirq")])
def test_sdk_qaoa_limits(backend: str, module: str, dense40: Path, cli: Callable[..., Any]) -> None:
    pytest.importorskip(module)
    res = cli("solve", dense40, "--backend", backend)
    res.assert_one_line_error("at most 26 variables", "40")
    assert res.seconds < 2.0


def test_timeout_stops_a_long_exact_solve(
    zero34: Path, tmp_path: Path, qevo_proc: Callable[..., Any]
) -> None:
    out = tmp_path / "result.json"
    started = time.monotonic()
    res = qevo_proc("--timeout", "1", "solve", zero34, "--backend", "exact",
                    "--option", "method=enumerate", "-o", out, timeout=60)  # fmt: skip
    elapsed = time.monotonic() - started
    res.assert_one_line_error("--timeout", "nothing was written")
    # Interpreter start-up (~1-2 s) + the 1 s limit + a little: far from the minute it needs.
    assert elapsed < 8.0, elapsed
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "1e300"])
def test_timeout_values_are_checked(value: str, cli: Callable[..., Any], corpus: Path) -> None:
    res = cli("--timeout", value, "inspect", corpus / "valid_n1.json")
    res.assert_one_line_error("--timeout")


def test_tiny_timeout_is_a_clean_error(cli: Callable[..., Any], corpus: Path) -> None:
    res = cli("--timeout", "1e-9", "solve", corpus / "valid_n1.json")
    res.assert_one_line_error("--timeout")


def test_ctrl_c_stops_a_long_exact_solve(
    zero34: Path, tmp_path: Path, interrupt: Callable[..., tuple[int, str]]
) -> None:
    """SIGINT half a second into an enumeration of 2**34 states (about a minute on two cores,
    seconds on many): exit 130 within seconds, one line, nothing written."""
    out = tmp_path / "result.json"
    started = time.monotonic()
    code, err = interrupt(
        "solve",
        signal.SIGINT,
        "solve",
        zero34,
        "--option",
        "method=enumerate",
        "-o",
        out,
        delay=0.5,
    )
    assert code == 130, err
    assert err.strip().splitlines() == ["qevo: interrupted; nothing partial was written"]
    assert time.monotonic() - started < 15.0
    assert list(tmp_path.iterdir()) == []
