"""GramBatch: factored energies equal materialised terms; local search and repair contracts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qevo_ir.blocks import Cardinality, GramBatch
from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.testing import all_assignments
from qevo_ir.vartypes import BINARY


@st.composite
def batches(draw: st.DrawFn, penalised: bool | None = None) -> GramBatch:
    c = draw(st.integers(1, 3))
    k = draw(st.integers(1, 4))
    reps = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a = rng.normal(size=(k + 2, k))
    gram = a.T @ a / (k + 2)
    index = np.repeat(np.arange(k), reps)
    m = len(index)
    scale = rng.normal(size=(c, m))
    if draw(st.booleans()):
        scale[:] = scale[:, :1]  # constant scale per channel (the fast path)
    free = rng.random((c, m)) < 0.8
    batch = GramBatch.create(gram, index, scale, rng.normal(size=(c, m)), rng.normal(size=c), free)
    use_penalty = draw(st.booleans()) if penalised is None else penalised
    if use_penalty:
        target = rng.integers(0, m + 1, size=c)
        batch = batch.with_penalty(rng.uniform(0.1, 3.0, size=c), target)
    return batch


def _materialised(batch: GramBatch) -> Hamiltonian:
    t = batch.terms()
    return Hamiltonian(t.linear, t.row, t.col, t.quad, t.offset, vartype=BINARY)


@settings(max_examples=40, deadline=None)
@given(batches())
def test_terms_equal_factored_energies(batch: GramBatch) -> None:
    ham = _materialised(batch)
    t = batch.terms()
    xs = all_assignments(ham.num_variables, BINARY)
    bits = np.zeros((len(xs), *batch.free.shape), dtype=np.int8)
    bits[:, t.channel, t.slot] = xs
    expected = batch.energies(bits).sum(axis=1)
    np.testing.assert_allclose(ham.energies(xs), expected, rtol=1e-9, atol=1e-9)
    assert np.all(t.row < t.col)
    assert np.all(np.diff(t.row * max(len(t.linear), 1) + t.col) > 0)
    assert np.all(t.quad != 0)


@settings(max_examples=40, deadline=None)
@given(batches())
def test_descend_never_rises_and_ends_in_a_local_minimum(batch: GramBatch) -> None:
    rng = np.random.default_rng(0)
    start = (rng.random(batch.free.shape) < 0.5) & batch.free
    end = batch.descend(start)
    before, after = batch.energies(start), batch.energies(end)
    assert np.all(after <= before + 1e-12)
    assert np.all(end[~batch.free] == 0)
    # no single flip lowers any channel any further
    for c in range(batch.num_channels):
        for a in np.flatnonzero(batch.free[c]):
            flipped = end.copy()
            flipped[c, a] ^= 1
            assert batch.energies(flipped)[c] >= after[c] - 1e-9 * (1 + abs(after[c]))


@settings(max_examples=40, deadline=None)
@given(batches(penalised=True))
def test_repair_and_swap_descent_keep_cardinality(batch: GramBatch) -> None:
    rng = np.random.default_rng(1)
    start = ((rng.random(batch.free.shape) < 0.5) & batch.free).astype(np.int8)
    fixed = batch.repair(start)
    target = np.clip(batch.target, 0, batch.num_free())
    np.testing.assert_array_equal(fixed.sum(axis=1), target)
    feasible_unchanged = start.sum(axis=1) == target
    np.testing.assert_array_equal(fixed[feasible_unchanged], start[feasible_unchanged])
    swapped = batch.swap_descend(fixed)
    np.testing.assert_array_equal(swapped.sum(axis=1), target)
    assert np.all(
        batch.energies(swapped, penalty=False) <= batch.energies(fixed, penalty=False) + 1e-12
    )


def test_repair_drops_the_cheapest_items() -> None:
    gram = np.eye(3)
    batch = GramBatch.create(gram, np.arange(3), np.ones((1, 3)), [[-3.0, -1.0, -2.0]], [0.0])
    batch = batch.with_penalty(1.0, 1)
    np.testing.assert_array_equal(batch.repair([[1, 1, 1]]), [[1, 0, 0]])
    np.testing.assert_array_equal(batch.repair([[0, 0, 0]]), [[1, 0, 0]])


def test_flip_bound_bounds_every_flip() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(size=(5, 4))
    batch = GramBatch.create(
        a.T @ a, np.arange(4), rng.normal(size=(2, 4)), rng.normal(size=(2, 4)), np.zeros(2)
    )
    bound = batch.flip_bound()
    xs = all_assignments(4, BINARY)
    for x in xs:
        base = batch.energies(np.stack([x, x]))
        for i in range(4):
            y = x.copy()
            y[i] ^= 1
            assert np.all(np.abs(batch.energies(np.stack([y, y])) - base) <= bound + 1e-9)


def test_cardinality_checks() -> None:
    card = Cardinality.create(2, 3)
    bits = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 1]])
    np.testing.assert_array_equal(card.violation(bits), [0, -1, 0])
    assert not card.satisfied(bits)
    with pytest.raises(ValidationError):
        Cardinality.create(-1, 2)


def test_bits_are_validated() -> None:
    batch = GramBatch.create(np.eye(2), np.arange(2), np.ones((1, 2)), np.zeros((1, 2)), [0.0])
    with pytest.raises(ValidationError, match="shape"):
        batch.energies(np.zeros((2, 2)))
    with pytest.raises(ValidationError, match="0 or 1"):
        batch.energies([[2, 0]])
    with pytest.raises(ValidationError, match="penalty"):
        batch.with_penalty(-1.0, 1)
