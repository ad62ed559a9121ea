"""IntegerWeights: every encoding is exact, covers the grid, and agrees with the quantize pass."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qevo_ir.blocks import INTEGER_ENCODINGS, IntegerWeights
from qevo_ir.errors import ValidationError
from qevo_ir.passes.quantize import quantize
from qevo_ir.testing import all_assignments
from qevo_ir.vartypes import BINARY, SPIN


@st.composite
def blocks(draw: st.DrawFn) -> IntegerWeights:
    out = draw(st.integers(1, 2))
    d = draw(st.integers(1, 3))
    bits = draw(st.integers(2, 3))
    if out * d * bits > 12:
        d = 1
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    w = rng.normal(size=(out, d))
    x = rng.normal(size=(draw(st.integers(1, 6)), d))
    return IntegerWeights(
        w,
        x,
        bits,
        draw(st.sampled_from(INTEGER_ENCODINGS)),
        scheme=draw(st.sampled_from(["symmetric", "asymmetric"])),
    )


@settings(max_examples=40, deadline=None)
@given(blocks())
def test_energy_equals_objective_for_every_assignment(block: IntegerWeights) -> None:
    ham = block.hamiltonian()
    assert ham.vartype is (SPIN if block.encoding == "spin_levels" else BINARY)
    xs = all_assignments(ham.num_variables, ham.vartype)
    objectives = np.array([block.objective(block.decode(x)) for x in xs])
    scale = 1.0 + np.abs(objectives).max()
    np.testing.assert_allclose(ham.energies(xs), objectives, rtol=1e-9, atol=1e-9 * scale)


@pytest.mark.parametrize("encoding", INTEGER_ENCODINGS)
@pytest.mark.parametrize("scheme", ["symmetric", "asymmetric"])
def test_each_weight_reaches_exactly_its_grid(encoding: str, scheme: str) -> None:
    w = np.array([[0.3, -0.9]])
    block = IntegerWeights(w, np.eye(2), 3, encoding, scheme=scheme)
    grid = block.grid
    levels = set()
    for q in itertools.product(range(grid.qmin, grid.qmax + 1), repeat=2):
        bits = block.encode(np.array([q], dtype=float))
        levels.add(tuple(np.round(block.decode_bits(bits)[0] / grid.scale[0]).astype(int)))
    expected = {
        (a - grid.zero_point[0], b - grid.zero_point[0])
        for a, b in itertools.product(range(grid.qmin, grid.qmax + 1), repeat=2)
    }
    assert levels == expected


def test_baseline_is_round_to_nearest() -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 4))
    for encoding in INTEGER_ENCODINGS:
        block = IntegerWeights(w, rng.normal(size=(10, 4)), 3, encoding)
        grid = block.grid
        np.testing.assert_allclose(block.nearest(), grid.value(grid.nearest(w)))


@pytest.mark.parametrize("encoding", ["uniform", "twos_complement", "spin_levels"])
def test_agrees_with_the_quantize_pass(encoding: str) -> None:
    rng = np.random.default_rng(1)
    block = IntegerWeights(rng.normal(size=(2, 3)), rng.normal(size=(8, 3)), 3, encoding)
    ours = block.hamiltonian()
    theirs, _, _ = quantize(block.parameter_model(), encoding, bits=3)
    assert theirs.num_variables == ours.num_variables
    xs = np.random.default_rng(2).choice(ours.vartype.values, size=(64, ours.num_variables))
    np.testing.assert_allclose(theirs.energies(xs), ours.energies(xs), rtol=1e-9, atol=1e-9)
    prov = theirs.variables.provenance
    assert prov is not None
    bits = xs if ours.vartype is BINARY else (xs + 1) // 2
    np.testing.assert_allclose(
        prov.decode(bits).reshape(64, 2, 3), block.decode(xs), rtol=1e-12, atol=1e-12
    )


def test_parameter_model_objective_is_the_reconstruction_error() -> None:
    rng = np.random.default_rng(3)
    block = IntegerWeights(rng.normal(size=(2, 3)), rng.normal(size=(8, 3)), 2)
    theta = rng.normal(size=(2, 3))
    assert block.parameter_model().objective(theta.ravel()) == pytest.approx(block.objective(theta))


def test_labels_name_channel_input_and_bit() -> None:
    block = IntegerWeights(np.ones((2, 2)) * [[1, 2]], np.eye(2), 2)
    assert block.hamiltonian().labels[:3] == ((0, 0, 0), (0, 0, 1), (0, 1, 0))


def test_bad_arguments() -> None:
    with pytest.raises(ValidationError, match="encoding"):
        IntegerWeights(np.ones((1, 2)), np.eye(2), 2, "one_hot")
    block = IntegerWeights(np.ones((1, 2)), np.eye(2), 2)
    with pytest.raises(ValidationError, match="integers in"):
        block.encode(np.array([[5.0, 0.0]]))
