"""The quantize pass and its encodings: exact substitution, grids, provenance, one-hot penalties."""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from qevo_ir import (
    BINARY,
    SPIN,
    Hamiltonian,
    LimitExceeded,
    ParameterModel,
    PipelineError,
    ValidationError,
)
from qevo_ir.passes import Pipeline
from qevo_ir.passes.encodings import ENCODINGS, encode
from qevo_ir.passes.quantize import Quantize, quantize
from qevo_ir.testing import all_assignments, parameter_models
from qevo_ir.vartypes import spin_to_binary


def _binary(samples: np.ndarray, vartype: object) -> np.ndarray:
    return spin_to_binary(samples) if vartype is SPIN else samples


@pytest.mark.parametrize("encoding", ENCODINGS)
@settings(max_examples=30, deadline=None)
@given(
    model=parameter_models(max_parameters=3),
    bits=st.integers(1, 3),
    levels=st.integers(2, 4),
)
@example(
    # The test always failed when commented parts were varied together.
    model=ParameterModel(
        Q=np.array([[0.0]]),
        g=np.array([2.14074255e-167]),
        c=1.0,
        lower=np.array([0.0]),
        upper=np.array([1.0]),
        integer=np.array([False]),
        names=(),
        block=np.array([0]),
    ),
    bits=1,  # or any other generated value
    levels=2,  # or any other generated value
).via("discovered failure")
def test_every_encoding_is_exact_on_every_assignment(
    model: ParameterModel, encoding: str, bits: int, levels: int
) -> None:
    enc = encode(model, encoding, bits=bits, levels=levels)
    if enc.num_bits > 12:
        bits = 1
        enc = encode(model, encoding, bits=1, levels=2)
    if enc.num_bits > 12:
        return  # wide integer ranges under one_hot: covered by the explicit tests below
    event("checked")
    res = Pipeline([Quantize(encoding=encoding, bits=bits, levels=levels)]).run(model)
    ham = res.ir
    xs = all_assignments(ham.num_variables, ham.vartype)
    bits_ = _binary(xs, ham.vartype)
    thetas = _decode(ham, xs)
    feasible = enc.feasible(bits_)
    energies = ham.energies(xs)
    objective = model.objectives(thetas)
    scale = 1.0 + np.abs(objective).max(initial=0.0)
    np.testing.assert_allclose(energies[feasible], objective[feasible], rtol=0, atol=1e-9 * scale)
    # Decoded parameters stay in bounds, integers stay integral, feasible ones are untouched.
    t = thetas[feasible]
    assert np.all(t >= model.lower - 1e-9)
    assert np.all(t <= model.upper + 1e-9)
    ints = np.asarray(model.integer)
    np.testing.assert_allclose(t[:, ints], np.round(t[:, ints]), atol=1e-9)
    # The pass's own decoder is the provenance decoder (after one-hot repair).
    np.testing.assert_allclose(res.decode(xs)[feasible], t)
    if encoding != "one_hot":
        assert feasible.all()
    else:
        assert res.records[0].details["one_hot_penalty"] > 0
        # With the automatic penalty every infeasible assignment costs more than every feasible.
        if (~feasible).any():
            # A > R >= max F - min F, so every infeasible energy exceeds every feasible one.
            assert energies[~feasible].min() > energies[feasible].max()


def test_uniform_grid_definition() -> None:
    model = ParameterModel.create(np.zeros((1, 1)), lower=0.0, upper=3.0)
    enc = encode(model, "uniform", bits=2)
    np.testing.assert_array_equal(enc.weight, [1.0, 2.0])
    np.testing.assert_array_equal(enc.base, [0.0])
    levels = enc.base[0] + all_assignments(2, BINARY) @ enc.weight
    np.testing.assert_array_equal(np.sort(levels), [0, 1, 2, 3])


def test_twos_complement_definition() -> None:
    model = ParameterModel.create(np.zeros((1, 1)), lower=-1.5, upper=1.5)
    enc = encode(model, "twos_complement", bits=2)
    # Δ = 1, x = 0 maps to the centre-ish level lower + Δ·2^(k-1) = 0.5; the top bit weighs -2Δ.
    np.testing.assert_array_equal(enc.weight, [1.0, -2.0])
    np.testing.assert_array_equal(enc.base, [0.5])
    levels = enc.base[0] + all_assignments(2, BINARY) @ enc.weight
    np.testing.assert_array_equal(np.sort(levels), [-1.5, -0.5, 0.5, 1.5])


def test_spin_levels_definition_and_vartype() -> None:
    model = ParameterModel.create(np.eye(1), lower=-3.0, upper=3.0)
    ham, _, _ = quantize(model, "spin_levels", bits=2)
    assert ham.vartype is SPIN
    # θ = centre + Δ Σ 2^j s_j with Δ = (upper - lower) / (2 (2^k - 1)) = 1: levels ±1, ±3.
    spins = all_assignments(2, SPIN)
    theta = 0.0 + 1.0 * (spins @ np.array([1.0, 2.0]))
    np.testing.assert_array_equal(np.sort(theta), [-3, -1, 1, 3])
    decoded = _decode(ham, spins)[:, 0]
    np.testing.assert_allclose(decoded, theta)
    np.testing.assert_allclose(ham.energies(spins), theta**2)
    assert quantize(model, "spin_levels", bits=2, vartype="BINARY")[0].vartype is BINARY
    assert quantize(model, "uniform", bits=2, vartype="spin")[0].vartype is SPIN


def test_rounding_picks_lower_or_upper() -> None:
    model = ParameterModel.create(
        np.zeros((2, 2)), lower=[0.25, -2.0], upper=[1.25, 5.0], integer=[False, True]
    )
    enc = encode(model, "rounding")
    np.testing.assert_array_equal(enc.counts(), [1, 1])
    np.testing.assert_array_equal(enc.base, [0.25, -2.0])
    np.testing.assert_array_equal(enc.weight, [1.0, 7.0])


@pytest.mark.parametrize("span", [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 100])
def test_integer_parameters_cover_exactly_their_range(span: int) -> None:
    model = ParameterModel.create(np.zeros((1, 1)), lower=-2.0, upper=-2.0 + span, integer=True)
    for encoding in ("uniform", "twos_complement", "spin_levels"):
        enc = encode(model, encoding, bits=2)  # bits do not apply to integers
        assert enc.num_bits == int(np.ceil(np.log2(span + 1)))
        values = enc.base[0] + all_assignments(enc.num_bits, BINARY) @ enc.weight
        np.testing.assert_array_equal(np.unique(values), np.arange(-2, -2 + span + 1))


def test_integer_bounds_are_rounded_inwards() -> None:
    model = ParameterModel.create(np.zeros((1, 1)), lower=0.5, upper=3.7, integer=True)
    enc = encode(model, "uniform")
    values = enc.base[0] + all_assignments(enc.num_bits, BINARY) @ enc.weight
    np.testing.assert_array_equal(np.unique(values), [1, 2, 3])
    with pytest.raises(ValidationError, match="no integer in"):
        encode(ParameterModel.create(np.zeros((1, 1)), lower=0.2, upper=0.8, integer=True))


def test_constant_parameters_get_no_bits() -> None:
    model = ParameterModel.create(np.ones((2, 2)), [1.0, 1.0], lower=[2.0, 0.0], upper=[2.0, 1.0])
    for encoding in ENCODINGS:
        ham, enc, _ = quantize(model, encoding, bits=1, levels=2)
        assert enc.counts()[0] == 0
        xs = all_assignments(ham.num_variables, ham.vartype)
        thetas = _decode(ham, xs)
        assert np.all(thetas[:, 0] == 2.0)


def _decode(ham: Hamiltonian, xs: np.ndarray) -> np.ndarray:
    prov = ham.variables.provenance
    assert prov is not None
    return prov.decode(_binary(xs, ham.vartype))


def test_one_hot_levels_and_repair() -> None:
    model = ParameterModel.create(
        np.diag([1.0, 1.0]), lower=[0.0, -1.0], upper=[1.0, 1.0], integer=[False, True]
    )
    ham, enc, A = quantize(model, "one_hot", levels=3)
    np.testing.assert_allclose(enc.weight, [0.0, 0.5, 1.0, -1.0, 0.0, 1.0])
    assert A > 0
    x = np.array(
        [
            [0, 1, 0, 0, 0, 1],  # feasible
            [1, 1, 0, 0, 0, 0],  # two set in group 0; none in group 1
            [0, 0, 0, 1, 1, 1],  # none in group 0; all set in group 1
        ]
    )
    np.testing.assert_array_equal(enc.feasible(x), [True, False, False])
    fixed = enc.repair(x)
    np.testing.assert_array_equal(
        fixed, [[0, 1, 0, 0, 0, 1], [1, 0, 0, 1, 0, 0], [1, 0, 0, 1, 0, 0]]
    )
    res = Pipeline.parse("quantize(encoding=one_hot, levels=3)").run(model)
    np.testing.assert_allclose(res.decode(x), [[0.5, 1.0], [0.0, -1.0], [0.0, -1.0]])
    # Energy equals objective + A (Σx - 1)² per group.
    thetas = enc.provenance().decode(x)
    penalty = A * ((x[:, :3].sum(1) - 1) ** 2 + (x[:, 3:].sum(1) - 1) ** 2)
    np.testing.assert_allclose(ham.energies(x), model.objectives(thetas) + penalty)
    explicit = Pipeline.parse("quantize(encoding=one_hot, levels=3, penalty=0.5)").run(model)
    assert explicit.records[0].details["one_hot_penalty"] == 0.5
    assert explicit.records[0].details["penalty_is_safe"] is False


def test_labels_and_provenance() -> None:
    model = ParameterModel.create(
        np.eye(2), lower=[0, 0], upper=[1, 3], names=["w0", "w1"], block=[4, 7]
    )
    ham, _, _ = quantize(model, "uniform", bits=2)
    assert ham.labels == (("w0", 0), ("w0", 1), ("w1", 0), ("w1", 1))
    prov = ham.variables.provenance
    assert prov is not None
    np.testing.assert_array_equal(prov.block, [4, 4, 7, 7])
    np.testing.assert_array_equal(prov.parameter, [0, 0, 1, 1])
    np.testing.assert_array_equal(prov.bit, [0, 1, 0, 1])
    assert prov.parameter_names == ("w0", "w1")
    unnamed, _, _ = quantize(ParameterModel.create(np.eye(1)), "uniform", bits=2)
    assert unnamed.labels == (("theta", 0, 0), ("theta", 0, 1))


def test_refusals() -> None:
    with pytest.raises(PipelineError, match="unknown encoding 'gray'; choose one of uniform"):
        Quantize(encoding="gray")
    with pytest.raises(PipelineError, match=r"bits=0 must be in \[1, 52\]"):
        Quantize(bits=0)
    with pytest.raises(PipelineError, match="levels=1"):
        Quantize(levels=1)
    with pytest.raises(PipelineError, match="penalty"):
        Quantize(penalty=-1.0)
    with pytest.raises(PipelineError, match="vartype"):
        Quantize(vartype="trit")
    huge = ParameterModel.create(np.eye(1), lower=0, upper=1e12, integer=True)
    with pytest.raises(LimitExceeded, match="one-hot encoding needs"):
        encode(huge, "one_hot")
    with pytest.raises(ValidationError, match="wider than 2\\*\\*52"):
        encode(ParameterModel.create(np.eye(1), lower=0, upper=1e17, integer=True))
    with pytest.raises(ValidationError, match="takes a ParameterModel"):
        quantize("model")  # type: ignore[arg-type]


def test_large_sparse_model_is_vectorised() -> None:
    rng = np.random.default_rng(7)
    P = 20_000
    rows = rng.integers(0, P, size=60_000)
    cols = rng.integers(0, P, size=60_000)
    q = sp.csr_matrix((rng.normal(size=60_000), (rows, cols)), shape=(P, P))
    model = ParameterModel.create(q, rng.normal(size=P), lower=-1.0, upper=1.0)
    start = time.perf_counter()
    ham, enc, _ = quantize(model, "uniform", bits=4)
    elapsed = time.perf_counter() - start
    assert ham.num_variables == 4 * P
    assert elapsed < 20.0  # ~1 s measured; a per-term Python loop would take minutes
    xs = rng.integers(0, 2, size=(5, ham.num_variables)).astype(np.int8)
    thetas = enc.provenance().decode(xs)
    np.testing.assert_allclose(ham.energies(xs), model.objectives(thetas), rtol=1e-9, atol=1e-7)
