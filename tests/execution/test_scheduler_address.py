"""``--scheduler`` refuses an address nobody listens on at once (Dask's own client retries a
refused connection for its whole 10 s timeout), and a malformed one before connecting."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from qevo_ir.cli.main import main
from qevo_ir.formats import write_hamiltonian
from qevo_ir.testing.conformance import random_hamiltonian

pytest.importorskip("distributed")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def problem(tmp_path: Path) -> str:
    path = tmp_path / "p.qevo.json"
    write_hamiltonian(random_hamiltonian(5, "SPIN", seed=1), path)
    return str(path)


@pytest.mark.parametrize("scheme", ["tcp://", ""])
def test_a_refused_connection_is_refused_at_once(
    problem: str, scheme: str, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"{scheme}127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    assert main(["solve", problem, "--scheduler", address]) == 2
    elapsed = time.monotonic() - start
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"--scheduler {address}: cannot connect" in err
    assert elapsed < 8.0, elapsed  # a refusal, not a 10 s retry loop


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("inproc://x", "the scheme must be one of tcp, tls, ws, wss"),
        ("tcp://a:b:c", "give HOST:PORT"),
        ("", "give HOST:PORT"),
        ("tcp://127.0.0.1:0", "port 0 is not 1..65535"),
        ("tcp://127.0.0.1:99999", "port 99999 is not 1..65535"),
    ],
)
def test_malformed_addresses_are_refused_before_connecting(
    problem: str, address: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["solve", problem, "--scheduler", address]) == 2
    err = capsys.readouterr().err
    assert says in err
    assert err.startswith("qevo: error:")
    assert err.count("\n") == 1
