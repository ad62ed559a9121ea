"""``compile(poly, target="qiskit,cirq")`` keeps a polynomial k-local (no auxiliaries): the
folder holds the polynomial as its IR (qevo-poly JSON) and ``qevo verify`` checks the circuits'
phases against it; any other target still quadratizes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import qevo_ir
from qevo_ir.errors import FormatError
from qevo_ir.formats import qevo_poly
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.polynomial import PolynomialHamiltonian
from qevo_ir.verify import verify_directory

pytest.importorskip("qiskit")
pytest.importorskip("cirq")


def _poly() -> PolynomialHamiltonian:
    terms = {("a", "b", "c"): 1.5, ("a",): -0.5, ("b", "d"): 2.0, ("a", "b", "c", "d"): -1.0}
    return PolynomialHamiltonian.from_terms(terms, 0.25, vartype="SPIN")


def test_circuit_targets_keep_the_polynomial_and_verify(tmp_path: Path) -> None:
    p = _poly()
    compiled = qevo_ir.compile(p, target="qiskit,cirq")
    assert isinstance(compiled.ir, PolynomialHamiltonian)
    assert compiled.ir == p  # no auxiliaries, nothing rewritten
    out = tmp_path / "out"
    compiled.write(out)
    assert qevo_poly.read(out / "compiled.qevo.json") == p
    results = verify_directory(out)
    assert all(r.ok for r in results), results
    assert {r.check for r in results} >= {"sha256", "qaoa"}
    # the IR edited (hashes updated): the circuits' phases no longer match it
    doc = json.loads((out / "compiled.qevo.json").read_text())
    doc["terms"]["coeff"][0] += 1.0
    text = json.dumps(doc)
    (out / "compiled.qevo.json").write_text(text)
    report = json.loads((out / "report.json").read_text())
    entry = report["artifacts"]["compiled.qevo.json"]
    entry["sha256"] = hashlib.sha256(text.encode()).hexdigest()
    entry["bytes"] = len(text.encode())
    (out / "report.json").write_text(json.dumps(report))
    failed = [r for r in verify_directory(out) if not r.ok]
    assert failed
    assert {r.check for r in failed} == {"qaoa"}


def test_other_targets_and_given_pipelines_still_quadratize() -> None:
    p = _poly()
    for target, pipeline in (("all", None), ("exact,qiskit", None), ("qiskit", "quadratize")):
        compiled = qevo_ir.compile(p, pipeline, target=target)
        assert isinstance(compiled.ir, Hamiltonian), (target, pipeline)
        assert compiled.ir.num_variables > p.num_variables


def test_qevo_poly_files_round_trip_and_refuse_damage(tmp_path: Path) -> None:
    p = _poly()
    path = tmp_path / "p.json"
    qevo_poly.write(p, path)
    back = qevo_poly.read(path)
    assert back == p
    assert back.content_hash() == p.content_hash()
    good = json.loads(path.read_text())
    damaged = {
        "version": dict(good, version=2),
        "keys": dict(good, extra=1),
        "terms": dict(good, terms={"ptr": [0], "vars": []}),
        "ptr": dict(good, terms=dict(good["terms"], ptr=[0, 3, 1, 6])),
        "vars": dict(good, terms=dict(good["terms"], vars=[0, 1, 9, 0, 1, 2])),
        "coeff": dict(good, terms=dict(good["terms"], coeff=[1.0])),
        "vartype": dict(good, vartype="QUBIT"),
    }
    for doc in damaged.values():  # each damage: refused, the file named
        path.write_text(json.dumps(doc))
        with pytest.raises(FormatError, match=r"p\.json"):
            qevo_poly.read(path)
    path.write_text(json.dumps(good).replace("1.5", "NaN"))
    with pytest.raises(FormatError):
        qevo_poly.read(path)
