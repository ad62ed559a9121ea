"""Properties of the IR's central type: conversions, energies, canonical form, identity."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from qevo_ir import BINARY, SPIN, Hamiltonian, LabelError, ValidationError
from qevo_ir.testing import all_assignments, hamiltonians


def reference_energy(ham: Hamiltonian, sample: np.ndarray) -> float:
    """Plain-Python energy, term by term: the definition in specs/ir.md."""
    e = ham.offset
    for i, h in enumerate(ham.linear):
        e += float(h) * int(sample[i])
    for i, j, v in zip(ham.row, ham.col, ham.quad, strict=True):
        e += float(v) * int(sample[i]) * int(sample[j])
    return e


@given(hamiltonians(max_variables=7, extreme=True))
def test_vartype_conversion_preserves_every_energy(ham: Hamiltonian) -> None:
    other = ham.to_binary() if ham.vartype is SPIN else ham.to_spin()
    back = other.change_vartype(ham.vartype)
    xs = all_assignments(ham.num_variables, ham.vartype)
    ys = (xs + 1) // 2 if ham.vartype is SPIN else 2 * xs - 1
    e = ham.energies(xs)
    scale = 1 + np.abs(ham.linear).sum() + np.abs(ham.quad).sum() + abs(ham.offset)
    np.testing.assert_allclose(other.energies(ys.astype(np.int8)), e, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(back.energies(xs), e, rtol=0, atol=1e-12 * scale)
    assert other.labels == ham.labels


@given(hamiltonians(max_variables=7, extreme=True))
def test_vectorised_energies_match_plain_python(ham: Hamiltonian) -> None:
    xs = all_assignments(ham.num_variables, ham.vartype)
    expected = np.array([reference_energy(ham, x) for x in xs])
    scale = 1 + np.abs(ham.linear).sum() + np.abs(ham.quad).sum() + abs(ham.offset)
    np.testing.assert_allclose(ham.energies(xs), expected, rtol=0, atol=1e-12 * scale)


def test_energies_sparse_and_dense_paths_agree() -> None:
    rng = np.random.default_rng(0)
    n = 300
    J = sp.random(n, n, density=0.02, random_state=1, format="coo")
    sparse_ham = Hamiltonian.from_ising(rng.normal(size=n), J)
    dense_ham = Hamiltonian.from_ising(rng.normal(size=n), rng.normal(size=(n, n)))
    s = rng.choice(np.array([-1, 1], dtype=np.int8), size=(50, n))
    for ham in (sparse_ham, dense_ham):
        expected = np.array([reference_energy(ham, x) for x in s[:5]])
        np.testing.assert_allclose(ham.energies(s)[:5], expected, rtol=1e-12, atol=1e-9)


def test_constructor_forms_agree() -> None:
    dense = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, -2.0], [0.0, 0.0, 0.0]])
    h = [1.0, 0.0, -1.0]
    from_dense = Hamiltonian.from_ising(h, dense, 0.5)
    from_sparse = Hamiltonian.from_ising(h, sp.csr_matrix(dense), 0.5)
    from_triple = Hamiltonian.from_ising(h, ([0, 1, 1], [1, 0, 2], [1.0, 0.5, -2.0]), 0.5)
    from_dict = Hamiltonian.from_ising(
        {0: 1.0, 1: 0.0, 2: -1.0}, {(0, 1): 1.0, (1, 0): 0.5, (1, 2): -2.0}, 0.5
    )
    assert from_dense == from_sparse == from_triple == from_dict
    assert from_dense.num_interactions == 2
    np.testing.assert_array_equal(from_dense.quad, [1.5, -2.0])


def test_physics_convention_negates_once() -> None:
    phys = Hamiltonian.from_ising({"a": 1.0}, {("a", "b"): 2.0}, 3.0, convention="physics")
    energy = Hamiltonian.from_ising({"a": -1.0, "b": 0.0}, {("a", "b"): -2.0}, -3.0)
    assert phys == energy
    with pytest.raises(ValidationError, match="convention"):
        Hamiltonian.from_ising({}, {}, convention="sideways")


def test_qubo_diagonal_is_linear_and_ising_diagonal_is_offset() -> None:
    q = Hamiltonian.from_qubo(np.array([[2.0, 1.0], [0.0, -1.0]]))
    assert q.vartype is BINARY
    np.testing.assert_array_equal(q.linear, [2.0, -1.0])
    i = Hamiltonian.from_ising(None, np.array([[2.0, 1.0], [0.0, -1.0]]))
    assert i.offset == 1.0
    with pytest.raises(ValidationError, match="self-loop"):
        Hamiltonian.from_ising({}, {("a", "a"): 1.0})


def test_canonical_form_sums_duplicates_and_drops_zeros() -> None:
    ham = Hamiltonian(
        np.zeros(4), [3, 1, 2, 1, 0], [0, 2, 1, 3, 1], [1.0, 2.0, 3.0, 4.0, 0.0], vartype=SPIN
    )
    np.testing.assert_array_equal(ham.row, [0, 1, 1])
    np.testing.assert_array_equal(ham.col, [3, 2, 3])
    np.testing.assert_array_equal(ham.quad, [1.0, 5.0, 4.0])
    kept = Hamiltonian(np.zeros(2), [0], [1], [0.0], vartype=SPIN, keep_zeros=True)
    assert kept.num_interactions == 1
    with pytest.raises(ValidationError, match="out of range"):
        Hamiltonian(np.zeros(2), [0], [5], [1.0], vartype=SPIN)
    with pytest.raises(ValidationError, match="not finite"):
        Hamiltonian(np.array([np.nan]), vartype=SPIN)


def test_arrays_are_read_only() -> None:
    ham = Hamiltonian.from_ising([1.0, 2.0], {(0, 1): 1.0})
    with pytest.raises(ValueError, match="read-only"):
        ham.linear[0] = 5.0


@given(hamiltonians(max_variables=6), st.randoms(use_true_random=False))
def test_content_hash_ignores_term_order(ham: Hamiltonian, rnd) -> None:  # type: ignore[no-untyped-def]
    order = list(range(ham.num_interactions))
    rnd.shuffle(order)
    flipped = [rnd.random() < 0.5 for _ in order]
    row = np.array(
        [ham.col[k] if f else ham.row[k] for k, f in zip(order, flipped, strict=True)],
        dtype=np.int64,
    )
    col = np.array(
        [ham.row[k] if f else ham.col[k] for k, f in zip(order, flipped, strict=True)],
        dtype=np.int64,
    )
    again = Hamiltonian(
        ham.linear,
        row,
        col,
        ham.quad[order],
        ham.offset,
        vartype=ham.vartype,
        variables=ham.variables,
        keep_zeros=True,
    )
    assert again == ham
    assert again.content_hash() == ham.content_hash()


def test_labels_that_collide_are_refused() -> None:
    for bad in (True, 1.0, None, (1.5,)):
        with pytest.raises(LabelError):
            Hamiltonian.from_ising({bad: 1.0, 1: 2.0}, {})  # type: ignore[dict-item]
    ok = Hamiltonian.from_ising({1: 1.0, "1": 2.0, (1,): 3.0}, {})
    assert ok.labels == (1, "1", (1,))


@given(hamiltonians(min_variables=1, max_variables=6), st.data())
def test_fix_variables_substitutes_exactly(ham: Hamiltonian, data: st.DataObject) -> None:
    n = ham.num_variables
    fixed = data.draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n))
    lo, hi = ham.vartype.values
    vals = data.draw(st.lists(st.sampled_from([lo, hi]), min_size=len(fixed), max_size=len(fixed)))
    reduced = ham.fix_variables({ham.labels[i]: v for i, v in zip(fixed, vals, strict=True)})
    free = [i for i in range(n) if i not in fixed]
    assert reduced.labels == tuple(ham.labels[i] for i in free)
    for y in all_assignments(len(free), ham.vartype):
        full = np.zeros(n, dtype=np.int8)
        full[fixed] = vals
        full[free] = y
        assert reduced.energy(y) == pytest.approx(
            ham.energy(full), abs=1e-9 * (1 + abs(ham.energy(full)))
        )


def test_energy_of_mapping_and_relabel() -> None:
    ham = Hamiltonian.from_ising({"a": 1.0, "b": -1.0}, {("a", "b"): 0.5})
    assert ham.energy({"a": 1, "b": -1}) == 1.0 + 1.0 - 0.5
    renamed = ham.relabel({"a": ("x", 0)})
    assert renamed.labels == (("x", 0), "b")
    assert renamed.energy({("x", 0): 1, "b": -1}) == 1.5
    with pytest.raises(LabelError, match="unknown"):
        ham.relabel({"zzz": "q"})
    with pytest.raises(ValidationError, match="outside"):
        ham.energies([[0, 1]])


def test_empty_and_single_variable() -> None:
    empty = Hamiltonian.empty()
    assert empty.num_variables == 0
    np.testing.assert_array_equal(empty.energies(np.zeros((3, 0), np.int8)), [0.0, 0.0, 0.0])
    one = Hamiltonian.from_qubo({(0, 0): -2.0}, offset=1.0)
    assert one.energy([1]) == -1.0
