"""from_pyqubo: the (qubo, offset) form needs no SDK; compiled models need pyqubo."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.importers import from_pyqubo
from qevo_ir.testing import all_assignments, hamiltonians
from qevo_ir.vartypes import BINARY


def _to_qubo(ham: Hamiltonian) -> tuple[dict[tuple[object, object], float], float]:
    """The way back: a QUBO dict in PyQUBO's ``to_qubo()`` form."""
    lin, quad, offset = ham.to_binary().to_dicts()
    qubo: dict[tuple[object, object], float] = {(u, u): b for u, b in lin.items()}
    qubo.update(quad)
    return qubo, offset


@settings(max_examples=40, deadline=None)
@given(hamiltonians(max_variables=7))
def test_qubo_tuple_round_trip(ham: Hamiltonian) -> None:
    back = from_pyqubo(_to_qubo(ham))
    assert back.vartype is BINARY
    assert back.labels == ham.labels
    xs = all_assignments(ham.num_variables, BINARY)
    binary = ham.to_binary()
    scale = 1.0 + np.abs(binary.linear).sum() + np.abs(binary.quad).sum() + abs(binary.offset)
    np.testing.assert_allclose(
        back.energies(xs), binary.energies(xs), rtol=1e-12, atol=1e-9 * scale
    )


def test_reversed_pairs_add_and_bad_input_is_refused() -> None:
    ham = from_pyqubo(({("a", "b"): 1.0, ("b", "a"): 2.0, ("a", "a"): -1.0}, 0.5))
    assert ham.to_dicts() == ({"a": -1.0, "b": 0.0}, {("a", "b"): 3.0}, 0.5)
    with pytest.raises(ValidationError, match="pair"):
        from_pyqubo(({("a",): 1.0}, 0.0))
    with pytest.raises(ValidationError, match="finite"):
        from_pyqubo(({("a", "a"): float("nan")}, 0.0))
    with pytest.raises(ValidationError, match="compiled PyQUBO model"):
        from_pyqubo(object())


def test_compiled_model_energies() -> None:
    pyqubo = pytest.importorskip("pyqubo")
    x = pyqubo.Array.create("x", shape=3, vartype="BINARY")
    s = pyqubo.Spin("s")
    expr = (x[0] + 2 * x[1] - 1) ** 2 + 3 * s * x[2] + 0 * x[2]
    model = expr.compile()
    ham = from_pyqubo(model)
    assert set(ham.labels) == {"x[0]", "x[1]", "x[2]", "s"}
    for bits in all_assignments(4, BINARY):
        sample = dict(zip(ham.labels, bits.tolist(), strict=True))
        assert ham.energy(bits) == pytest.approx(model.energy(sample, vartype="BINARY"))
    with pytest.raises(ValidationError, match="uncompiled"):
        from_pyqubo(expr)
