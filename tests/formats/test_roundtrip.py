"""Round-trip properties: every format reads back exactly what its writer says it wrote."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qevo_ir.formats import (
    coo_text,
    dimod_json,
    qbsolv,
    qevo_json,
    read_document,
    read_hamiltonian,
    write_hamiltonian,
)
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.testing.strategies import all_assignments, hamiltonians
from qevo_ir.variables import Provenance
from qevo_ir.vartypes import BINARY, SPIN, Vartype

VARTYPES = [SPIN, BINARY]


@st.composite
def with_provenance(draw: st.DrawFn, ham_strategy: st.SearchStrategy[Hamiltonian]) -> Hamiltonian:
    """``ham`` with provenance attached half of the time."""
    ham = draw(ham_strategy)
    if not draw(st.booleans()):
        return ham
    n = ham.num_variables
    p = draw(st.integers(0, 3))
    parameter = draw(st.lists(st.integers(-1, p - 1), min_size=n, max_size=n))
    finite = st.floats(-1e6, 1e6, allow_nan=False)
    prov = Provenance.build(
        parameter=np.array(parameter, dtype=np.int64),
        weight=draw(st.lists(finite, min_size=n, max_size=n)),
        base=draw(st.lists(finite, min_size=p, max_size=p)),
        bit=draw(st.lists(st.integers(-1, 40), min_size=n, max_size=n)),
        block=draw(st.lists(st.integers(-1, 5), min_size=n, max_size=n)),
        parameter_names=draw(st.sampled_from([(), tuple(f"θ{k}" for k in range(p))])),
    )
    return ham.with_variables(ham.variables.with_provenance(prov))


def _same(read: Hamiltonian, expected: Hamiltonian) -> None:
    assert read == expected
    assert read.variables == expected.variables  # labels and provenance
    assert read.vartype is expected.vartype
    assert read.offset == expected.offset


@pytest.mark.parametrize("vartype", VARTYPES, ids=str)
@pytest.mark.parametrize("ext", ["json", "npz", "bqm.json"])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_labelled_formats_round_trip(ext: str, vartype: Vartype, data: st.DataObject) -> None:
    ham = data.draw(with_provenance(hamiltonians(vartype=vartype, max_variables=7, extreme=True)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"model.{ext}"
        stored = write_hamiltonian(ham, path)
        back = read_hamiltonian(path)
    _same(back, stored)
    assert back == ham  # terms and labels always survive
    if ext != "bqm.json":
        assert stored is ham  # the qevo formats keep provenance too


@pytest.mark.parametrize("vartype", VARTYPES, ids=str)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_coo_round_trip(vartype: Vartype, data: st.DataObject) -> None:
    ham = data.draw(hamiltonians(vartype=vartype, max_variables=7, extreme=True))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.coo"
        stored = write_hamiltonian(ham, path, drop_labels=True)
        back = read_hamiltonian(path)
    _same(back, stored)
    assert back.variables.is_range
    assert np.array_equal(back.linear, ham.linear)
    assert np.array_equal(back.quad, ham.quad)
    assert back.offset == ham.offset
    assert back.vartype is vartype


@pytest.mark.parametrize("vartype", VARTYPES, ids=str)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_qubo_round_trip_is_the_binary_form(vartype: Vartype, data: st.DataObject) -> None:
    ham = data.draw(hamiltonians(vartype=vartype, max_variables=6))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.qubo"
        stored = write_hamiltonian(ham, path, drop_labels=True)
        back = read_hamiltonian(path)
    _same(back, stored)
    assert back.vartype is BINARY
    assert back == ham.to_binary().with_variables(back.variables)
    # The energies are the original's on every assignment (exact algebra, float rounding).
    bits = all_assignments(ham.num_variables, BINARY)
    samples = bits if vartype is BINARY else (2 * bits - 1).astype(np.int8)
    scale = 1 + np.abs(ham.linear).sum() + np.abs(ham.quad).sum() + abs(ham.offset)
    assert np.allclose(back.energies(bits), ham.energies(samples), rtol=0, atol=1e-12 * scale)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_text_encodings_round_trip_in_memory(data: st.DataObject) -> None:
    ham = data.draw(with_provenance(hamiltonians(max_variables=6, extreme=True)))
    metadata = data.draw(st.dictionaries(st.text(max_size=4), st.text(max_size=8), max_size=2))
    doc = qevo_json.loads_document(qevo_json.dumps(ham, metadata))
    _same(doc.hamiltonian, ham)
    assert dict(doc.metadata) == metadata
    assert dimod_json.loads(dimod_json.dumps(ham)) == ham
    plain = ham.with_variables(type(ham.variables).range(ham.num_variables))
    assert coo_text.loads(coo_text.dumps(plain)) == plain
    assert qbsolv.loads(qbsolv.dumps(plain)) == plain.to_binary()


@pytest.mark.parametrize("ext", ["json", "npz"])
def test_metadata_round_trips(tmp_path: Path, ext: str) -> None:
    ham = Hamiltonian.from_ising({"a": 1.0}, {("a", "b"): -0.5}, 2.0)
    meta = {"source": "unit test", "θ": "ünïcode"}
    path = tmp_path / f"m.{ext}"
    write_hamiltonian(ham, path, metadata=meta)
    doc = read_document(path)
    assert dict(doc.metadata) == meta
    _same(doc.hamiltonian, ham)


def test_compressed_npz_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 200
    r, c = np.triu_indices(n, 1)
    ham = Hamiltonian(rng.normal(size=n), r, c, rng.normal(size=len(r)), 0.5, vartype=SPIN)
    path = tmp_path / "big.npz"
    write_hamiltonian(ham, path, compress=True)
    _same(read_hamiltonian(path), ham)
    stored = tmp_path / "stored.npz"
    write_hamiltonian(ham, stored)
    assert path.stat().st_size < stored.stat().st_size


def test_extreme_floats_are_exact_in_every_text_format(tmp_path: Path) -> None:
    values = np.array([5e-324, 1e-300, -1.2345678901234567e-7, 1e-5, 0.1, 1 / 3, 1e16, -3.3e20,
                       1.7976931348623157e308, -0.0])  # fmt: skip
    n = len(values)
    ham = Hamiltonian(values, np.arange(n - 1), np.arange(1, n), values[:-1], 1e-310,
                      vartype=SPIN, keep_zeros=True)  # fmt: skip
    for ext in ("json", "npz", "bqm.json", "coo"):
        path = tmp_path / f"x.{ext}"
        write_hamiltonian(ham, path)
        back = read_hamiltonian(path)
        assert back == ham, ext
        assert back.offset == 1e-310
    text = (tmp_path / "x.coo").read_text()
    assert "e" not in text.replace("vartype", "").replace("offset", "").replace("variables", "")


def test_large_qevo_json_is_written_a_slice_at_a_time_with_the_same_text(tmp_path: Path) -> None:
    # Arrays longer than the writer's slice (65,536 numbers) are encoded piece by piece (a
    # 5e7-variable qbsolv header used to take 2.7 GB to write as JSON); the text is unchanged.
    import json

    rng = np.random.default_rng(1)
    n = 70_000
    ham = Hamiltonian(
        rng.normal(size=n),
        np.arange(n - 1),
        np.arange(1, n),
        rng.normal(size=n - 1),
        0.25,
        vartype=SPIN,
    )
    path = tmp_path / "big.qevo.json"
    qevo_json.write(ham, path, metadata={"k": "v"})
    text = path.read_text()
    assert text == qevo_json.dumps(ham, {"k": "v"})
    assert json.loads(text) == json.loads(
        json.dumps(qevo_json.to_document(ham, {"k": "v"}), allow_nan=False)
    )
    assert read_hamiltonian(path) == ham
