"""LinearRounding: grid, clipping, exact energies, decoding, provenance and sizes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qevo_ir.blocks import LinearRounding, uniform_grid
from qevo_ir.errors import LimitExceeded, ValidationError
from qevo_ir.results import SampleResult
from qevo_ir.testing import all_assignments
from qevo_ir.vartypes import BINARY, SPIN, binary_to_spin


@st.composite
def layers(draw: st.DrawFn, max_vars: int = 10) -> LinearRounding:
    out = draw(st.integers(1, 3))
    d = draw(st.integers(1, 4))
    rows = draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    w = rng.normal(size=(out, d)) * draw(st.sampled_from([1e-3, 1.0, 50.0]))
    x = rng.normal(size=(rows, d))
    scheme = draw(st.sampled_from(["symmetric", "asymmetric"]))
    bits = draw(st.integers(2, 4))
    scale = None
    if draw(st.booleans()):
        # a deliberately small scale: many weights fall off the grid and are clipped
        scale = float(np.abs(w).max() / draw(st.sampled_from([0.5, 1.0, 3.0])) + 1e-12)
    return LinearRounding(w, x, bits, scale, scheme=scheme)


@settings(max_examples=40, deadline=None)
@given(layers())
def test_energy_equals_reconstruction_error_exhaustively(block: LinearRounding) -> None:
    ham = block.hamiltonian()
    n = ham.num_variables
    xs = all_assignments(n, BINARY)
    energies = ham.energies(xs)
    objectives = np.array([block.objective(block.decode(x)) for x in xs])
    scale = 1.0 + np.abs(objectives).max()
    np.testing.assert_allclose(energies, objectives, rtol=1e-9, atol=1e-9 * scale)
    # the factored batch agrees, channel by channel
    per_channel = block.bit_objectives(block.bits_from_sample(xs))
    np.testing.assert_allclose(per_channel.sum(axis=1), objectives, rtol=1e-9, atol=1e-9 * scale)


@settings(max_examples=30, deadline=None)
@given(layers())
def test_decoded_weights_lie_on_the_grid(block: LinearRounding) -> None:
    grid = block.grid
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=block.num_variables)
    w_hat = block.decode(x)
    assert w_hat.shape == block.weight.shape
    q = w_hat / grid.scale[:, None] + grid.zero_point[:, None]
    np.testing.assert_allclose(q, np.round(q), atol=1e-6)
    assert np.all(np.round(q) >= grid.qmin)
    assert np.all(np.round(q) <= grid.qmax)
    # each weight is one of its two neighbours (or the clipped end)
    t = grid.coordinates(block.weight)
    free = block.free
    assert np.all(np.abs(np.round(q) - np.floor(t))[free] <= 1)


@settings(max_examples=30, deadline=None)
@given(layers())
def test_provenance_decodes_like_the_block(block: LinearRounding) -> None:
    ham = block.hamiltonian()
    prov = ham.variables.provenance
    assert prov is not None
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, size=(3, ham.num_variables))
    np.testing.assert_allclose(
        prov.decode(x).reshape(3, *block.weight.shape), block.decode(x), rtol=0, atol=0
    )
    labels = ham.labels
    chan = np.array([lab[0] for lab in labels if isinstance(lab, tuple)])
    np.testing.assert_array_equal(prov.block, chan)


def test_default_symmetric_scale_and_grid() -> None:
    w = np.array([[0.5, -1.5, 3.0], [0.0, 0.0, 0.0]])
    grid = uniform_grid(w, 3)
    assert (grid.qmin, grid.qmax) == (-4, 3)
    np.testing.assert_allclose(grid.scale, [1.0, 1.0])  # 3 / (2**2 - 1); zero channel -> 1
    np.testing.assert_array_equal(grid.zero_point, [0, 0])
    agrid = uniform_grid(np.array([[0.2, 0.5, 1.7]]), 2, scheme="asymmetric")
    assert (agrid.qmin, agrid.qmax) == (0, 3)
    assert agrid.scale[0] == pytest.approx(1.7 / 3)
    assert agrid.zero_point[0] == 0  # zero is always representable


def test_clipped_weights_are_constants_and_nearest_rounds_half_up() -> None:
    w = np.array([[3.0, 2.5, 0.49, -3.0, -7.0]])
    x = np.eye(5)
    block = LinearRounding(w, x, 3, scale=1.0)  # grid -4..3
    # 3.0 sits on the top end (floor + 1 would be 4 > 3): constant; -7 is below -4: clipped
    np.testing.assert_array_equal(block.free, [[False, True, True, True, False]])
    near = block.nearest()
    np.testing.assert_allclose(near, [[3.0, 3.0, 0.0, -3.0, -4.0]])
    assert block.num_variables == 3
    # weight -3 is on the grid: x = 0 keeps it, x = 1 moves it up one step
    np.testing.assert_allclose(block.decode([0, 0, 1])[0, 3], -2.0)


def test_combined_hamiltonian_sums_the_channels() -> None:
    rng = np.random.default_rng(2)
    block = LinearRounding(rng.normal(size=(4, 6)), rng.normal(size=(30, 6)), 4)
    ham = block.hamiltonian()
    parts = [block.hamiltonian(c) for c in range(4)]
    assert sum(p.num_variables for p in parts) == ham.num_variables
    assert ham.offset == pytest.approx(sum(p.offset for p in parts))
    assert all(
        isinstance(lab, tuple) and lab[0] == c for c, p in enumerate(parts) for lab in p.labels
    )
    x = rng.integers(0, 2, size=ham.num_variables)
    split = np.split(x, np.cumsum([p.num_variables for p in parts])[:-1])
    assert ham.energy(x) == pytest.approx(
        sum(p.energy(s) for p, s in zip(parts, split, strict=True))
    )
    assert np.all(ham.row < ham.col)
    key = ham.row * ham.num_variables + ham.col
    assert np.all(np.diff(key) > 0)
    unlabelled = block.hamiltonian(labelled=False)
    assert unlabelled.variables.is_range
    np.testing.assert_array_equal(unlabelled.quad, ham.quad)


def test_decode_accepts_mapping_sampleresult_and_spins() -> None:
    rng = np.random.default_rng(4)
    block = LinearRounding(rng.normal(size=(3, 5)), rng.normal(size=(20, 5)), 3)
    ham = block.hamiltonian()
    x = rng.integers(0, 2, size=ham.num_variables).astype(np.int8)
    expected = block.decode(x)
    np.testing.assert_allclose(block.decode(binary_to_spin(x), vartype=SPIN), expected)
    result = SampleResult.from_samples(ham, x[None, :])
    np.testing.assert_allclose(block.decode(result), expected)
    bits = block.bits_from_sample(x)
    mapping = {c: bits[c, block.free[c]] for c in range(3)}
    np.testing.assert_allclose(block.decode(mapping), expected)
    # channels missing from a mapping keep round-to-nearest
    np.testing.assert_allclose(block.decode({0: mapping[0]})[1:], block.nearest()[1:])
    assert block.decode(np.stack([x, x])).shape == (2, 3, 5)


def test_from_gram_matches_inputs() -> None:
    rng = np.random.default_rng(5)
    w, x = rng.normal(size=(2, 4)), rng.normal(size=(10, 4))
    a = LinearRounding(w, x, 3)
    b = LinearRounding.from_gram(w, x.T @ x / 10, 3)
    assert a.hamiltonian().isclose(b.hamiltonian())


def test_from_gram_adopts_the_array_symmetrised_in_bands() -> None:
    # 1,100 inputs: the symmetry check and the symmetrisation run over several bands of rows
    rng = np.random.default_rng(6)
    d = 1100
    x = rng.normal(size=(40, d))
    g = x.T @ x / 40
    g += 1e-14 * rng.normal(size=(d, d))  # asymmetric below the tolerance
    expected = (g + g.T) / 2.0
    w = rng.normal(size=(2, d))
    copied = LinearRounding.from_gram(w, g, 3)
    assert g.flags.writeable  # copy=True leaves it alone
    assert not np.array_equal(g, g.T)
    adopted = LinearRounding.from_gram(w, g, 3, copy=False)
    assert adopted.gram is g
    assert not g.flags.writeable
    np.testing.assert_array_equal(g, g.T)
    np.testing.assert_allclose(g, expected, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(copied.gram, adopted.gram)


@pytest.mark.parametrize(
    ("gram", "match"),
    [
        (np.eye(3, dtype=np.float32), "float64"),
        (np.asfortranarray(np.arange(9.0).reshape(3, 3) + np.arange(9.0).reshape(3, 3).T), "C-ord"),
        (np.triu(np.ones((3, 3))), "symmetric"),
    ],
)
def test_from_gram_refusals_without_a_copy(gram: np.ndarray, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        LinearRounding.from_gram(np.ones((2, 3)), gram, 3, copy=False)


def test_asymmetric_gram_refused_in_a_later_band() -> None:
    d = 1100  # the asymmetric pair sits in the last band of rows
    g = np.eye(d)
    g[d - 1, 3] = 0.5
    with pytest.raises(ValidationError, match="symmetric"):
        LinearRounding.from_gram(np.ones((2, d)), g, 3)


@given(layers())
@settings(max_examples=25)
def test_dense_decode_equals_the_general_scatter(block: LinearRounding) -> None:
    from qevo_ir.blocks.base import GramBlock

    rng = np.random.default_rng(0)
    bits = (rng.random((3, *block.batch.free.shape)) < 0.5).astype(np.int8)
    for b in (bits, bits[0]):
        np.testing.assert_array_equal(block.decode_bits(b), GramBlock.decode_bits(block, b))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bits": 1}, "bits=1"),
        ({"bits": 17}, "bits=17"),
        ({"bits": 3, "scheme": "weird"}, "scheme"),
        ({"bits": 3, "scale": -1.0}, "scale"),
        ({"bits": 3, "scale": [1.0, 2.0, 3.0]}, "one value per channel"),
    ],
)
def test_bad_quantiser_options(kwargs: dict[str, object], match: str) -> None:
    w = np.ones((2, 3))
    with pytest.raises(ValidationError, match=match):
        LinearRounding(w, np.ones((4, 3)), **kwargs)  # type: ignore[arg-type]


def test_shape_errors_name_the_fix() -> None:
    with pytest.raises(ValidationError, match=r"\(N, 3\)"):
        LinearRounding(np.ones((2, 3)), np.ones((4, 2)), 3)
    block = LinearRounding(np.ones((2, 3)) * [1, 2, 3], np.eye(3), 3)
    with pytest.raises(ValidationError, match="values"):
        block.decode(np.zeros(block.num_variables + 1))
    with pytest.raises(ValidationError, match="out of range"):
        block.hamiltonian(5)
    with pytest.raises(ValidationError, match="entries"):
        block.objective(np.ones(4))


def test_too_many_couplings_is_a_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import qevo_ir.blocks.batch as batch_module

    monkeypatch.setattr(batch_module, "MAX_COUPLINGS", 5)
    rng = np.random.default_rng(6)
    block = LinearRounding(rng.normal(size=(2, 6)), rng.normal(size=(10, 6)), 4)
    with pytest.raises(LimitExceeded, match="hamiltonian\\(channel\\)"):
        block.hamiltonian()


def test_one_channel_carries_its_own_parameters_only() -> None:
    # A campaign finding: every channel's Hamiltonian carried the whole block's base, so
    # compile-block's output grew with channels² (5,000 channels > 60 s and gigabytes).
    rng = np.random.default_rng(4)
    small = LinearRounding(rng.normal(size=(3, 5)) / 4, rng.normal(size=(16, 5)), bits=3)
    big = LinearRounding(rng.normal(size=(300, 5)) / 4, rng.normal(size=(16, 5)), bits=3)
    for block in (small, big):
        for c in (0, block.num_channels - 1):
            ham = block.hamiltonian(c)
            prov = ham.variables.provenance
            assert prov is not None
            own = block.channel_parameters(c)
            np.testing.assert_array_equal(own, c * 5 + np.arange(5))
            assert prov.num_parameters == len(own) == 5
            x = rng.integers(0, 2, size=ham.num_variables)
            values = x if ham.vartype is BINARY else 2 * x - 1
            whole = block.decode_bits(block.bits_from_sample({c: values})).reshape(-1)
            np.testing.assert_array_equal(prov.decode(x), whole[own])
