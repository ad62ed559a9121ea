"""Golden files, one per format version: the writers reproduce them byte for byte and the readers
read them back to the same Hamiltonian. Regenerate (after a deliberate format change, with a new
version) by running this file: ``python tests/formats/test_golden.py``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from qevo_ir.formats import read_document, read_hamiltonian, write_hamiltonian
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.variables import Provenance, VariableTable
from qevo_ir.vartypes import BINARY, SPIN

GOLDEN = Path(__file__).parent / "golden"
METADATA = {"source": "qevo-ir golden file", "note": "θ and ü are escaped"}


def labelled_spin() -> Hamiltonian:
    """SPIN, string and tuple labels, provenance, an explicit zero coupling, awkward floats."""
    labels = ["a", "b", ("w", 3), 7]
    prov = Provenance.build(
        parameter=[0, 0, 1, -1],
        weight=[1.0, 2.0, 0.5, 0.0],
        base=[-1.5, 0.1],
        bit=[0, 1, 0, -1],
        block=[0, 0, 1, -1],
        parameter_names=["θ0", "θ1"],
    )
    return Hamiltonian(
        np.array([0.1, -2.5, 1e-7, 0.0]),
        [0, 0, 1, 2],
        [1, 3, 2, 3],
        [1.0 / 3.0, -4.0, 0.0, 12345.678],
        0.25,
        vartype=SPIN,
        variables=VariableTable(labels, provenance=prov),
        keep_zeros=True,
    )


def dimod_style() -> Hamiltonian:
    """BINARY with sorted string labels, so dimod's own writer produces the same bytes."""
    return Hamiltonian(
        [1.5, -0.1, 0.0],
        [0, 1],
        [2, 2],
        [-2.0, 1e-9],
        -3.75,
        vartype=BINARY,
        variables=["p", "q", "r"],
    )


def plain_spin() -> Hamiltonian:
    return Hamiltonian(
        [0.5, 0.0, -1e-6, 3.0], [0, 0, 2], [1, 3, 3], [-1.0, 0.1, 2e20], 1.5, vartype=SPIN
    )


def plain_binary() -> Hamiltonian:
    return Hamiltonian(
        [-1.0, 0.0, 2.5, 0.125], [0, 1, 1], [2, 2, 3], [3.0, -0.7, 1e-5], -2.0, vartype=BINARY
    )


# golden file -> (Hamiltonian, write options, what reading it back gives)
CASES: dict[str, tuple[Callable[[], Hamiltonian], dict[str, object]]] = {
    "v1.qevo.json": (labelled_spin, {"format": "qevo-json", "metadata": METADATA}),
    "v1.qevo.npz": (labelled_spin, {"format": "qevo-npz", "metadata": METADATA}),
    "dimod_bqm_v3.json": (dimod_style, {"format": "dimod-json"}),
    "example.coo": (plain_spin, {"format": "coo"}),
    "example.qubo": (plain_binary, {"format": "qubo"}),
    "from_spin.qubo": (plain_spin, {"format": "qubo"}),
}


@pytest.mark.parametrize("golden", sorted(CASES))
def test_writer_reproduces_golden_bytes(golden: str, tmp_path: Path) -> None:
    make, options = CASES[golden]
    out = tmp_path / golden
    write_hamiltonian(make(), out, **options)  # type: ignore[arg-type]
    assert out.read_bytes() == (GOLDEN / golden).read_bytes()


@pytest.mark.parametrize("golden", sorted(CASES))
def test_reader_reads_golden(golden: str, tmp_path: Path) -> None:
    make, options = CASES[golden]
    expected = write_hamiltonian(make(), tmp_path / golden, **options)  # type: ignore[arg-type]
    doc = read_document(GOLDEN / golden)
    assert doc.hamiltonian == expected
    assert doc.hamiltonian.variables == expected.variables
    if "metadata" in options:
        assert dict(doc.metadata) == METADATA


def test_golden_json_is_the_documented_layout() -> None:
    doc = json.loads((GOLDEN / "v1.qevo.json").read_text())
    assert list(doc) == [
        "format", "version", "vartype", "num_variables", "labels", "linear", "quadratic",
        "offset", "provenance", "metadata",
    ]  # fmt: skip
    assert doc["format"] == "qevo-ir"
    assert doc["version"] == 1
    assert doc["labels"] == ["a", "b", ["w", 3], 7]
    assert doc["quadratic"] == {
        "row": [0, 0, 1, 2],
        "col": [1, 3, 2, 3],
        "bias": [1.0 / 3.0, -4.0, 0.0, 12345.678],
    }


def test_dimod_writes_the_same_golden_bytes() -> None:
    dimod = pytest.importorskip("dimod")
    ham = dimod_style()
    lin, quad, offset = ham.to_dicts()
    bqm = dimod.BinaryQuadraticModel(lin, quad, offset, dimod.BINARY)
    text = json.dumps(bqm.to_serializable()) + "\n"
    assert text.encode() == (GOLDEN / "dimod_bqm_v3.json").read_bytes()


def test_qubo_from_spin_says_so() -> None:
    text = (GOLDEN / "from_spin.qubo").read_text()
    assert "c converted exactly from SPIN" in text
    back = read_hamiltonian(GOLDEN / "from_spin.qubo")
    assert back == plain_spin().to_binary()


def _regenerate() -> None:  # pragma: no cover - run by hand only
    GOLDEN.mkdir(exist_ok=True)
    for golden, (make, options) in CASES.items():
        write_hamiltonian(make(), GOLDEN / golden, **options)  # type: ignore[arg-type]
        print("wrote", GOLDEN / golden)


if __name__ == "__main__":  # pragma: no cover
    if "--yes" not in sys.argv:
        sys.exit("this overwrites the golden files; run with --yes after a deliberate change")
    _regenerate()
