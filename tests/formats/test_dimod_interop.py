"""Interoperability with dimod itself: its serialisations read to the same energies, and what we
write, dimod loads to the same energies. Skipped where dimod is not installed."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qevo_ir.formats import coo_text, dimod_json, read_hamiltonian
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.testing.strategies import all_assignments, hamiltonians
from qevo_ir.variables import VariableTable

dimod = pytest.importorskip("dimod")
dimod_coo = pytest.importorskip("dimod.serialization.coo")


def random_bqm(draw: Callable[..., Any], vartype: Any) -> Any:
    n = draw(st.integers(0, 6))
    labels = draw(
        st.lists(
            st.one_of(st.integers(-5, 20), st.text(min_size=1, max_size=3)),
            min_size=n, max_size=n, unique=True,
        )
    )  # fmt: skip
    coef = st.floats(-10, 10, allow_nan=False)
    linear = {v: draw(coef) for v in labels}
    quadratic = {}
    for a in range(n):
        for b in range(a + 1, n):
            if draw(st.booleans()):
                quadratic[(labels[a], labels[b])] = draw(coef)
    return dimod.BinaryQuadraticModel(linear, quadratic, draw(coef), vartype)


def assert_same_energies(ham: Hamiltonian, bqm: Any) -> None:
    assert ham.num_variables == len(bqm.variables)
    samples = all_assignments(ham.num_variables, ham.vartype)
    expected = [bqm.energy(dict(zip(ham.labels, row.tolist(), strict=True))) for row in samples]
    # Two summation orders of the same terms differ by a few ulps of the largest partial sum, so
    # the tolerance scales with sum |coefficient| (extreme draws cancel 1e7-sized terms).
    scale = 1.0 + float(np.abs(ham.linear).sum() + np.abs(ham.quad).sum() + abs(ham.offset))
    np.testing.assert_allclose(ham.energies(samples), expected, rtol=0, atol=1e-12 * scale)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), use_bytes=st.booleans())
def test_dimod_to_serializable_reads_to_the_same_energies(
    data: st.DataObject, use_bytes: bool
) -> None:
    vartype = data.draw(st.sampled_from([dimod.SPIN, dimod.BINARY]))
    bqm = random_bqm(data.draw, vartype)
    doc = bqm.to_serializable(use_bytes=use_bytes)
    ham = dimod_json.from_document(doc, "<dimod>")
    assert_same_energies(ham, bqm)
    if not use_bytes:
        assert_same_energies(dimod_json.loads(json.dumps(doc)), bqm)


def test_use_bytes_as_base64_text() -> None:
    import base64

    bqm = dimod.BinaryQuadraticModel({"a": 1.0, "b": -2.0}, {("a", "b"): 0.5}, 3.0, "SPIN")
    doc = bqm.to_serializable(use_bytes=True, bytes_type=lambda b: base64.b64encode(b).decode())
    assert_same_energies(dimod_json.loads(json.dumps(doc)), bqm)


@settings(max_examples=30, deadline=None)
@given(ham=hamiltonians(max_variables=6, extreme=True))
def test_our_json_loads_in_dimod(ham: Hamiltonian) -> None:
    bqm = dimod.BinaryQuadraticModel.from_serializable(json.loads(dimod_json.dumps(ham)))
    assert bqm.vartype.name == ham.vartype.value
    assert_same_energies(ham, bqm)


@settings(max_examples=30, deadline=None)
@given(ham=hamiltonians(max_variables=6, extreme=True, labelled=False))
def test_our_coo_loads_in_dimod_at_full_precision(ham: Hamiltonian) -> None:
    text = coo_text.dumps(ham)
    bqm = dimod_coo.loads(text)
    # dimod's reader keeps only the variables that have a line; it drops none of ours.
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert len(lines) == int(np.count_nonzero(ham.linear)) + ham.num_interactions
    mentioned = sorted(set(bqm.variables))
    sub = ham.subproblem(mentioned)
    assert np.array_equal(sub.linear, [bqm.linear[v] for v in mentioned])
    assert np.array_equal(sub.quad, [bqm.quadratic[(int(a), int(b))] for a, b in
                                     zip(np.asarray(mentioned)[sub.row],
                                         np.asarray(mentioned)[sub.col], strict=True)])  # fmt: skip
    # The offset rides in a comment dimod ignores; ours restores it.
    assert coo_text.loads(text) == ham.with_variables(VariableTable.range(ham.num_variables))


def test_dimod_coo_reads_in_ours(tmp_path: Path) -> None:
    bqm = dimod.BinaryQuadraticModel({0: -1.0, 2: 0.5}, {(0, 1): 1.0, (1, 2): -4.5}, 0.0, "BINARY")
    buf = io.StringIO()
    dimod_coo.dump(bqm, buf, vartype_header=True)
    path = tmp_path / "dimod.coo"
    path.write_text(buf.getvalue())
    ham = read_hamiltonian(path)
    assert ham.vartype.value == "BINARY"
    assert_same_energies(ham, bqm)


def test_dimod_self_loops_and_repeats_follow_dimod() -> None:
    doc = {
        "type": "BinaryQuadraticModel", "version": {"bqm_schema": "3.0.0"}, "use_bytes": False,
        "variable_labels": [0, 1], "variable_type": "BINARY", "offset": 0.5,
        "linear_biases": [1.0, 2.0], "quadratic_head": [0, 0, 1], "quadratic_tail": [0, 1, 0],
        "quadratic_biases": [3.0, 1.0, 2.0],
    }  # fmt: skip
    ham = dimod_json.from_document(doc)
    bqm = dimod.BinaryQuadraticModel.from_serializable(doc)
    assert_same_energies(ham, bqm)
    spin = dict(doc, variable_type="SPIN")
    assert_same_energies(dimod_json.from_document(spin), dimod.BQM.from_serializable(spin))
