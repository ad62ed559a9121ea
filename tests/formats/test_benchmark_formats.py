"""The benchmark files people have: G-set / rudy / BiqMac, 1-based COO, qbsolv upper case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import qevo_ir as q
from qevo_ir.formats import detect_format, gset

# The 5-cycle: max cut 4 (an odd cycle cannot be fully cut).
C5 = "5 5\n1 2 1\n2 3 1\n3 4 1\n4 5 1\n1 5 1\n"


def test_gset_detected_and_read_as_maxcut(tmp_path: Path) -> None:
    path = tmp_path / "c5.txt"  # no telling extension: the header decides
    path.write_text(C5)
    assert detect_format(path) == "gset"
    ham = q.read_hamiltonian(path)
    assert ham.vartype is q.SPIN
    assert ham.num_variables == 5
    assert ham.num_interactions == 5
    assert ham.offset == -2.5
    assert np.all(ham.quad == 0.5)
    res = q.solve(ham, "exact")
    assert res.info["ground_energy"] == -4.0  # minus the maximum cut
    # energy = -cut for every assignment
    s = np.array([[1, -1, 1, -1, 1], [1, 1, 1, 1, 1]], dtype=np.int8)
    assert ham.energies(s).tolist() == [-4.0, 0.0]


def test_gset_with_comments_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "g.rudy"
    path.write_bytes(b"# from rudy\r\n3 2\r\n1 2 -1\r\n2 3 2.5\r\n")
    assert detect_format(path) == "gset"
    ham = q.read_hamiltonian(path)
    assert ham.num_variables == 3
    assert ham.offset == -0.75


def test_gset_qubo_meaning(tmp_path: Path) -> None:
    path = tmp_path / "b.gset"
    path.write_text("3 4\n1 1 -1\n1 2 2\n2 3 -3\n3 3 1\n")
    ham = q.read_hamiltonian(path, gset_meaning="qubo")
    assert ham.vartype is q.BINARY
    assert ham.linear.tolist() == [-1.0, 0.0, 1.0]
    assert ham.energy(np.array([1, 1, 1])) == -1.0 + 2 - 3 + 1
    with pytest.raises(q.FormatError, match="self-loop has no max-cut meaning"):
        q.read_hamiltonian(path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("3 2\n1 2 1\n", "declares 2 edges, the file has 1"),
        ("3 1\n0 2 1\n", "vertex 0 in a 1-based file"),
        ("3 1\n1 4 1\n", "vertex 4 is over n = 3"),
        ("3 2\n1 2 1\n2 1 1\n", "repeats the pair"),
        ("3 1\n1 2 x\n", "line 2: cannot parse"),
    ],
)
def test_gset_malformed(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.gset"
    path.write_text(text)
    with pytest.raises(q.FormatError, match=match):
        q.read_hamiltonian(path)


@given(
    st.integers(2, 8).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=12),
            st.lists(st.integers(-5, 5), min_size=12, max_size=12),
        )
    )
)
def test_gset_round_trip(case: tuple[int, set[tuple[int, int]], list[int]]) -> None:
    n, pairs, weights = case
    edges = sorted({(min(a, b), max(a, b)) for a, b in pairs if a != b})
    lines = [f"{n} {len(edges)}"] + [
        f"{a + 1} {b + 1} {w}" for (a, b), w in zip(edges, weights, strict=False)
    ]
    ham = gset.loads("\n".join(lines) + "\n")
    again = gset.loads(gset.dumps(ham))
    assert again == ham
    binary = gset.loads("\n".join(lines) + "\n", meaning="qubo")
    assert gset.loads(gset.dumps(binary), meaning="qubo") == binary


def test_gset_writer_refuses_what_it_cannot_mean(tmp_path: Path) -> None:
    ham = q.Hamiltonian.from_ising({0: 1.0}, {(0, 1): 1.0})
    with pytest.raises(q.FormatError, match="no fields"):
        q.write_hamiltonian(ham, tmp_path / "x.gset")
    ham = q.Hamiltonian([0.0, 0.0], [0], [1], [0.5], 0.0, vartype="SPIN")
    with pytest.raises(q.FormatError, match="offset"):
        q.write_hamiltonian(ham, tmp_path / "x.gset")


def test_gset_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from qevo_ir.cli.main import main

    path = tmp_path / "c5.dat"
    path.write_text(C5)
    assert main(["solve", str(path), "--json"]) == 0
    assert '"ground_energy": -4.0' in capsys.readouterr().out
    assert main(["solve", str(path), "--format", "gset", "--gset-meaning", "qubo"]) == 0
    capsys.readouterr()
    out = tmp_path / "p.gset"
    assert main(["example", "petersen", "-o", str(out)]) == 0
    assert q.solve(q.read_hamiltonian(out), "exact").info["ground_energy"] == -12.0


# ----------------------------------------------------------------- 1-based COO
TNAC = "# vartype=SPIN\n1 1 0.5\n1 2 -1\n2 3 1\n3 3 -0.25\n"


def test_one_based_coo_is_refused_without_index_base(tmp_path: Path) -> None:
    path = tmp_path / "inst.coo"
    path.write_text(TNAC)
    with pytest.raises(q.FormatError, match=r"no line uses index 0.*index_base=1"):
        q.read_hamiltonian(path)
    ham = q.read_hamiltonian(path, index_base=1)
    assert ham.num_variables == 3  # no phantom variable 0
    assert ham.linear.tolist() == [0.5, 0.0, -0.25]
    assert (ham.row.tolist(), ham.col.tolist(), ham.quad.tolist()) == ([0, 1], [1, 2], [-1, 1])
    zero = q.read_hamiltonian(path, index_base=0)  # on purpose: variable 0 unused
    assert zero.num_variables == 4
    # 1-based data written back is 0-based and reads without the flag
    q.write_hamiltonian(ham, tmp_path / "back.coo")
    assert q.read_hamiltonian(tmp_path / "back.coo") == ham


def test_index_base_one_refuses_index_zero(tmp_path: Path) -> None:
    path = tmp_path / "z.coo"
    path.write_text("# vartype=SPIN\n0 1 1\n")
    with pytest.raises(q.FormatError, match="index 0 in a file read with index base 1"):
        q.read_hamiltonian(path, index_base=1)


def test_index_base_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from qevo_ir.cli.main import main

    path = tmp_path / "inst.coo"
    path.write_text(TNAC)
    assert main(["inspect", str(path)]) == 2
    assert "--index-base 1" in capsys.readouterr().err
    assert main(["inspect", str(path), "--index-base", "1", "--json"]) == 0
    assert '"num_variables": 3' in capsys.readouterr().out


# ----------------------------------------------------------------- qbsolv upper case
def test_qbsolv_upper_case_lines(tmp_path: Path) -> None:
    path = tmp_path / "u.qubo"
    path.write_text("C upper-case comment\nP QUBO 0 3 2 1\n0 0 -1\n2 2 3\n0 2 2\nC offset 0.5\n")
    assert detect_format(path) == "qubo"
    ham = q.read_hamiltonian(path)
    assert ham.linear.tolist() == [-1.0, 0.0, 3.0]
    assert ham.offset == 0.5
    q.write_hamiltonian(ham, tmp_path / "again.qubo")
    assert q.read_hamiltonian(tmp_path / "again.qubo") == ham
