"""Detection and dispatch: content decides the format, the extension is a hint, writers pick the
format from the name or ``format=``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qevo_ir.atomic import OutputExists
from qevo_ir.errors import FormatError, QevoError
from qevo_ir.formats import (
    FORMATS,
    detect_format,
    format_for_path,
    formats_help,
    read_hamiltonian,
    write_hamiltonian,
)
from qevo_ir.hamiltonian import Hamiltonian

GOLDEN = Path(__file__).parent / "golden"
EXPECTED = {
    "v1.qevo.json": "qevo-json",
    "v1.qevo.npz": "qevo-npz",
    "dimod_bqm_v3.json": "dimod-json",
    "example.coo": "coo",
    "example.qubo": "qubo",
    "from_spin.qubo": "qubo",
}


@pytest.mark.parametrize("golden", sorted(EXPECTED))
def test_content_decides_whatever_the_extension(golden: str, tmp_path: Path) -> None:
    for ext in (".dat", ".json", ".coo", ".npz"):
        path = tmp_path / f"renamed{ext}"
        shutil.copy(GOLDEN / golden, path)
        assert detect_format(path) == EXPECTED[golden]
        assert read_hamiltonian(path) == read_hamiltonian(GOLDEN / golden)


def test_json_flavour_found_when_the_key_is_not_first(tmp_path: Path) -> None:
    doc = json.loads((GOLDEN / "dimod_bqm_v3.json").read_text())
    reordered = dict(reversed(list(doc.items())))
    path = tmp_path / "x.json"
    path.write_text(json.dumps(reordered))
    assert detect_format(path) == "dimod-json"
    assert read_hamiltonian(path) == read_hamiltonian(GOLDEN / "dimod_bqm_v3.json")


def test_extension_table() -> None:
    assert format_for_path("a/b/model.bqm.json") == "dimod-json"
    assert format_for_path("MODEL.JSON") == "qevo-json"
    assert format_for_path("m.npz") == "qevo-npz"
    assert format_for_path("m.coo") == "coo"
    assert format_for_path("m.qubo") == "qubo"
    assert format_for_path("m.txt") is None
    names = [f.name for f in FORMATS]
    assert names == ["qevo-json", "qevo-npz", "dimod-json", "coo", "qubo", "gset"]
    text = formats_help()
    assert all(name in text for name in names)


def test_explicit_format_overrides_detection(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    shutil.copy(GOLDEN / "v1.qevo.json", path)
    with pytest.raises(FormatError, match=rf"^{path}: line 1: cannot parse"):
        read_hamiltonian(path, format="coo", vartype="SPIN")
    with pytest.raises(FormatError, match=rf"^{path}: not a dimod BQM"):
        read_hamiltonian(path, format="dimod-json")
    with pytest.raises(FormatError, match=rf"^{path}: unknown format 'yaml'"):
        read_hamiltonian(path, format="yaml")


def _labelled() -> Hamiltonian:
    return Hamiltonian.from_ising({"a": 1.0}, {("a", "b"): -1.0}, 0.5)


def test_write_errors_name_the_path(tmp_path: Path) -> None:
    ham = _labelled()
    with pytest.raises(FormatError, match=r"m\.txt: cannot tell the format"):
        write_hamiltonian(ham, tmp_path / "m.txt")
    with pytest.raises(FormatError, match="stores variable indices only"):
        write_hamiltonian(ham, tmp_path / "m.coo")
    with pytest.raises(FormatError, match="stores variable indices only"):
        write_hamiltonian(ham, tmp_path / "m.qubo")
    with pytest.raises(FormatError, match="cannot store metadata"):
        write_hamiltonian(ham, tmp_path / "m.bqm.json", metadata={"a": "b"})
    with pytest.raises(FormatError, match="compress applies to qevo-npz only"):
        write_hamiltonian(ham, tmp_path / "m.json", compress=True)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_force_and_atomic_replacement(tmp_path: Path) -> None:
    ham = _labelled()
    path = tmp_path / "m.json"
    write_hamiltonian(ham, path)
    before = path.read_bytes()
    with pytest.raises(OutputExists):
        write_hamiltonian(ham.scaled(2.0), path, force=False)
    assert path.read_bytes() == before
    write_hamiltonian(ham.scaled(2.0), path)
    assert read_hamiltonian(path) == ham.scaled(2.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]  # no temporary left


def test_drop_labels_everywhere(tmp_path: Path) -> None:
    ham = _labelled()
    for ext in ("json", "npz", "bqm.json", "coo", "qubo"):
        stored = write_hamiltonian(ham, tmp_path / f"m.{ext}", drop_labels=True)
        back = read_hamiltonian(tmp_path / f"m.{ext}")
        assert back == stored
        assert back.variables.is_range


def test_format_name_wins_over_extension(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    write_hamiltonian(_labelled(), path, format="dimod-json")
    assert detect_format(path) == "dimod-json"
    assert read_hamiltonian(path) == _labelled()


def test_cr_only_gset_is_sniffed_as_gset(tmp_path: Path) -> None:
    # A fresh campaign (2026-12-04): with bare-CR line endings the whole file was one "first
    # line", so a G-set file was taken for COO and refused with a misleading message.
    lf = tmp_path / "lf.txt"
    cr = tmp_path / "cr.txt"
    lf.write_bytes(b"3 2\n1 2 1\n2 3 -1\n")
    cr.write_bytes(b"3 2\r1 2 1\r2 3 -1\r")
    assert read_hamiltonian(cr) == read_hamiltonian(lf)


@pytest.mark.parametrize(
    ("header", "says"),
    [
        (b"1000000000000 2", "1000000000000 vertices is over the limit"),
        (b"3 99999999999999999999999999999", "sizes are over the limit"),
        (b"3 999999999999", "999999999999 couplings"),
    ],
)
def test_a_gset_header_too_large_is_still_gset(tmp_path: Path, header: bytes, says: str) -> None:
    # A header with more digits than a real G-set file has was taken for COO ("no '# vartype'
    # header"); it is a G-set header, refused for its size.
    path = tmp_path / "big.txt"
    path.write_bytes(header + b"\n1 2 1\n2 3 -1\n")
    assert detect_format(path) == "gset"
    with pytest.raises(QevoError, match=says):
        read_hamiltonian(path)
