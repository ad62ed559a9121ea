"""PruneMask: exact objective, symbolic cardinality, certified default penalty, repair."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qevo_ir.blocks import PruneMask, solve_block
from qevo_ir.errors import ValidationError
from qevo_ir.testing import all_assignments
from qevo_ir.vartypes import BINARY


@st.composite
def prune_blocks(draw: st.DrawFn) -> PruneMask:
    out = draw(st.integers(1, 2))
    d = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    w = rng.normal(size=(out, d))
    x = rng.normal(size=(draw(st.integers(1, 8)), d)) + draw(st.floats(-1, 1))
    return PruneMask(w, x, draw(st.integers(0, d)))


@settings(max_examples=40, deadline=None)
@given(prune_blocks())
def test_energy_is_objective_plus_penalty(block: PruneMask) -> None:
    ham = block.hamiltonian()
    xs = all_assignments(ham.num_variables, BINARY)
    bits = block.bits_from_sample(xs)
    objective = np.array([block.objective_mask(b) for b in bits])
    np.testing.assert_allclose(
        np.array([block.objective(block.decode(x)) for x in xs]), objective, rtol=1e-12
    )
    assert block.cardinality is not None
    viol = block.cardinality.violation(bits)
    penalty = (block.default_penalty() * viol.astype(float) ** 2).sum(axis=1)
    scale = 1.0 + np.abs(objective).max()
    np.testing.assert_allclose(ham.energies(xs), objective + penalty, rtol=1e-9, atol=1e-9 * scale)
    # the objective alone (penalty 0) is the unconstrained reconstruction error
    plain = block.hamiltonian(penalty=0.0)
    np.testing.assert_allclose(plain.energies(xs), objective, rtol=1e-9, atol=1e-9 * scale)


@settings(max_examples=40, deadline=None)
@given(prune_blocks())
def test_default_penalty_has_a_feasible_ground_state(block: PruneMask) -> None:
    for c in range(block.num_channels):
        ham = block.hamiltonian(c)
        xs = all_assignments(ham.num_variables, BINARY)
        e = ham.energies(xs)
        feasible = xs.sum(axis=1) == block.keep
        tol = 1e-9 * (1 + np.abs(e).max())
        assert e[feasible].min() <= e.min() + tol


@settings(max_examples=30, deadline=None)
@given(prune_blocks())
def test_repair_is_feasible_and_greedy_beats_magnitude(block: PruneMask) -> None:
    rng = np.random.default_rng(0)
    mask = rng.integers(0, 2, size=block.weight.shape)
    fixed = block.repair(mask)
    np.testing.assert_array_equal(fixed.sum(axis=1), block.keep)
    near = solve_block(block, "nearest")
    greedy = solve_block(block, "greedy")
    exact = solve_block(block, "exact")
    for sol in (near, greedy, exact):
        assert block.feasible(sol.bits)
        np.testing.assert_allclose(sol.weights, sol.bits * block.weight)
    tol = 1e-9 * (1 + near.objective)
    assert exact.objective <= greedy.objective + tol
    assert greedy.objective <= near.objective + tol


def test_magnitude_baseline_and_mask() -> None:
    w = np.array([[0.1, -3.0, 2.0, 0.5]])
    block = PruneMask(w, np.eye(4), 2)
    np.testing.assert_array_equal(block.baseline_bits(), [[0, 1, 1, 0]])
    np.testing.assert_array_equal(block.mask(np.array([1, 0, 0, 1])), [[True, False, False, True]])
    # with identity inputs the error is the squared norm of the pruned weights
    assert block.objective_mask([[0, 1, 1, 0]]) == pytest.approx((0.1**2 + 0.5**2) / 4)


def test_a_large_penalty_compresses_the_objective() -> None:
    rng = np.random.default_rng(1)
    block = PruneMask(rng.normal(size=(1, 6)), rng.normal(size=(20, 6)), 3)
    plain = block.hamiltonian(penalty=0.0)
    default = block.hamiltonian()
    huge = block.hamiltonian(penalty=1e6)
    spread = np.abs(plain.quad).max() - np.abs(plain.quad).min()
    # the objective's spread is the same in every lowering; its share of the range shrinks
    assert spread / np.abs(huge.quad).max() < 1e-4 < spread / np.abs(default.quad).max()


def test_constructor_penalty_is_used() -> None:
    block = PruneMask(np.ones((2, 3)), np.eye(3), 1, penalty=5.0)
    np.testing.assert_allclose(block.default_penalty(), [5.0, 5.0])
    with pytest.raises(ValidationError, match="keep"):
        PruneMask(np.ones((2, 3)), np.eye(3), 4)
    with pytest.raises(ValidationError, match="penalty"):
        PruneMask(np.ones((2, 3)), np.eye(3), 1, penalty=-1.0)
