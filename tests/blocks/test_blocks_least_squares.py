"""BinaryLeastSquares: the QUBO's energy is the mean squared residual, exactly, for every x."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qevo_ir.blocks import BinaryLeastSquares
from qevo_ir.errors import ValidationError
from qevo_ir.testing import all_assignments
from qevo_ir.vartypes import BINARY


@st.composite
def problems(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    rows = draw(st.integers(1, 12))
    n = draw(st.integers(0, 7))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    a = rng.normal(size=(rows, n)) * scale
    if draw(st.booleans()) and n:
        a[:, 0] = 0.0  # a zero column: zero couplings are dropped
    return a, rng.normal(size=rows) * scale


@settings(max_examples=40, deadline=None)
@given(problems())
def test_energy_equals_objective_exhaustively(problem: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = problem
    ls = BinaryLeastSquares(a, b)
    ham = ls.hamiltonian()
    assert ham.vartype is BINARY
    assert ham.num_variables == a.shape[1]
    xs = all_assignments(a.shape[1], BINARY)
    direct = np.sum((b[None, :] - xs @ a.T) ** 2, axis=1) / a.shape[0]
    scale = 1.0 + np.abs(direct).max()
    np.testing.assert_allclose(ham.energies(xs), direct, rtol=1e-10, atol=1e-10 * scale)
    np.testing.assert_allclose(ls.objective(xs), direct, rtol=1e-12, atol=1e-12 * scale)
    np.testing.assert_allclose(
        ls.batch.energies(xs[:, None, :])[:, 0], direct, rtol=1e-10, atol=1e-10 * scale
    )


def test_coefficients_match_the_stated_formulas() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=(9, 4))
    b = rng.normal(size=9)
    ham = BinaryLeastSquares(a, b).hamiltonian()
    g = a.T @ a / 9
    np.testing.assert_allclose(ham.linear, np.diag(g) - 2 * a.T @ b / 9)
    iu = np.triu_indices(4, 1)
    np.testing.assert_array_equal(ham.row, iu[0])
    np.testing.assert_array_equal(ham.col, iu[1])
    np.testing.assert_allclose(ham.quad, 2 * g[iu])
    assert ham.offset == pytest.approx(b @ b / 9)


def test_single_objective_is_a_float() -> None:
    ls = BinaryLeastSquares([[1.0, 2.0]], [3.0])
    assert ls.objective([1, 1]) == pytest.approx(0.0)
    assert isinstance(ls.objective([1, 0]), float)


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        (np.ones(3), np.ones(3), "2-D"),
        (np.ones((3, 2)), np.ones(2), "shape"),
        (np.ones((0, 2)), np.ones(0), "no rows"),
        (np.array([[np.nan, 1.0]]), np.ones(1), "finite"),
    ],
)
def test_invalid_input_is_refused(a: np.ndarray, b: np.ndarray, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        BinaryLeastSquares(a, b)
