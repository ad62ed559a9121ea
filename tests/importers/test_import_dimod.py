"""from_dimod_bqm: round trips through dimod keep energies, vartype and labels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

from qevo_ir.errors import LabelError, ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.importers import from_dimod_bqm
from qevo_ir.testing import all_assignments, hamiltonians

dimod = pytest.importorskip("dimod")


def _to_bqm(ham: Hamiltonian) -> Any:
    """The way back, built directly from the IR's arrays (what the dimod backend does)."""
    return dimod.BinaryQuadraticModel.from_numpy_vectors(
        ham.linear,
        (ham.row, ham.col, ham.quad),
        ham.offset,
        ham.vartype.value,
        variable_order=None if ham.variables.is_range else list(ham.labels),
    )


@settings(max_examples=40, deadline=None)
@given(hamiltonians(max_variables=7))
def test_round_trip_keeps_energies_and_labels(ham: Hamiltonian) -> None:
    bqm = _to_bqm(ham)
    back = from_dimod_bqm(bqm)
    assert back.vartype is ham.vartype
    assert back.labels == ham.labels
    xs = all_assignments(ham.num_variables, ham.vartype)
    scale = 1.0 + np.abs(ham.linear).sum() + np.abs(ham.quad).sum() + abs(ham.offset)
    np.testing.assert_allclose(back.energies(xs), ham.energies(xs), rtol=1e-12, atol=1e-12 * scale)
    # and dimod agrees with the imported Hamiltonian on every assignment
    if ham.num_variables:
        dimod_energies = bqm.energies((xs, list(bqm.variables)))
        np.testing.assert_allclose(
            dimod_energies, back.energies(xs), rtol=1e-12, atol=1e-12 * scale
        )


def test_labels_order_and_zero_interactions() -> None:
    bqm = dimod.BQM(
        {"b": 1.0, ("t", 2): -1.0}, {("b", "c"): 0.0, ("c", ("t", 2)): 2.5}, 0.5, "BINARY"
    )
    ham = from_dimod_bqm(bqm)
    assert ham.labels == tuple(bqm.variables)  # dimod's own order, kept
    assert set(ham.labels) == {"b", ("t", 2), "c"}
    assert ham.num_interactions == 1
    assert from_dimod_bqm(bqm, keep_zeros=True).num_interactions == 2
    assert ham.energy({"b": 1, ("t", 2): 1, "c": 1}) == pytest.approx(
        bqm.energy({"b": 1, ("t", 2): 1, "c": 1})
    )


def test_refuses_colliding_labels_and_other_models() -> None:
    with pytest.raises(LabelError, match="float"):
        from_dimod_bqm(dimod.BQM({1.5: 1.0}, {}, 0.0, "SPIN"))
    with pytest.raises(ValidationError, match="BinaryQuadraticModel"):
        from_dimod_bqm({"a": 1})
