"""PolynomialHamiltonian: canonical form, energies against a direct evaluation, vartype changes,
hashing, and the quadratize pass (ground states kept, dimod issue 1385, no more auxiliaries than
dimod.make_quadratic)."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from qevo_ir.errors import ValidationError
from qevo_ir.passes import Pipeline
from qevo_ir.passes.quadratize import quadratize
from qevo_ir.polynomial import PolynomialHamiltonian
from qevo_ir.vartypes import BINARY, SPIN


def _all(n: int, values: tuple[int, int]) -> np.ndarray:
    return np.array(list(itertools.product(values, repeat=n)), dtype=np.int8).reshape(-1, n)


def _direct(terms: dict[tuple[int, ...], float], offset: float, x: np.ndarray) -> np.ndarray:
    out = np.full(len(x), offset)
    for t, c in terms.items():
        out += c * np.prod(x[:, list(t)], axis=1) if t else c
    return out


@st.composite
def polynomials(draw: st.DrawFn, max_n: int = 12, max_degree: int = 4) -> PolynomialHamiltonian:
    n = draw(st.integers(1, max_n))
    vt = draw(st.sampled_from([SPIN, BINARY]))
    k = draw(st.integers(0, 12))
    terms: dict[tuple[int, ...], float] = {}
    for _ in range(k):
        d = draw(st.integers(1, min(max_degree, n)))
        t = tuple(draw(st.lists(st.integers(0, n - 1), min_size=d, max_size=d)))
        terms[t] = terms.get(t, 0.0) + draw(st.integers(-4, 4)) / 2
    return PolynomialHamiltonian.from_terms(terms, 0.5, vartype=vt, variables=range(n))


def test_canonical_form_reduces_powers_and_merges() -> None:
    b = PolynomialHamiltonian.from_terms(
        {("a", "b", "a"): 1.0, ("b", "a"): 2.0, ("c",): 0.0, (): 3.0}, vartype=BINARY
    )
    assert b.to_terms() == {("a", "b"): 3.0}
    assert b.offset == 3.0
    s = PolynomialHamiltonian.from_terms({("a", "b", "a"): 1.0, ("a", "a"): 2.0}, vartype=SPIN)
    assert s.to_terms() == {("b",): 1.0}
    assert s.offset == 2.0
    assert s.term_ptr.flags.writeable is False
    with pytest.raises(ValidationError):
        PolynomialHamiltonian([0, 2], [0, 5], [1.0], num_variables=3, vartype=BINARY)


@given(polynomials())
def test_energies_match_a_direct_evaluation_and_vartype_changes_are_exact(
    p: PolynomialHamiltonian,
) -> None:
    x = _all(p.num_variables, p.vartype.values)
    terms = {tuple(p.variables.index(v) for v in t): c for t, c in p.to_terms().items()}
    np.testing.assert_allclose(p.energies(x), _direct(terms, p.offset, x), atol=1e-9)
    other = p.to_spin() if p.vartype is BINARY else p.to_binary()
    y = (x + 1) // 2 if p.vartype is SPIN else 2 * x - 1
    np.testing.assert_allclose(other.energies(y), p.energies(x), atol=1e-9)
    back = other.change_vartype(p.vartype)
    np.testing.assert_allclose(back.energies(x), p.energies(x), atol=1e-9)


def test_hash_and_equality_follow_the_canonical_form() -> None:
    a = PolynomialHamiltonian.from_terms({(0, 1, 2): 1.0, (2, 1): -1.0}, vartype=BINARY)
    b = PolynomialHamiltonian.from_terms(
        {(1, 2): -1.0, (2, 0, 1): 0.5, (0, 2, 1): 0.5}, vartype=BINARY, variables=[0, 1, 2]
    )
    assert a == b
    assert a.content_hash() == b.content_hash()
    assert a != a.scaled(2.0)


@given(polynomials())
def test_quadratized_ground_states_project_onto_the_sources(p: PolynomialHamiltonian) -> None:
    out = quadratize(p)
    ham = out.ir
    assume(ham.num_variables <= 20)  # enumeration stays quick
    x = _all(ham.num_variables, ham.vartype.values)
    e = ham.energies(x)
    ground = e <= e.min() + 1e-9 * (1 + np.abs(e).max())
    src = _all(p.num_variables, p.vartype.values)
    f = p.energies(src)
    assert e.min() == pytest.approx(f.min(), abs=1e-9 * (1 + np.abs(f).max()))
    want = {tuple(r) for r in src[f <= f.min() + 1e-9 * (1 + np.abs(f).max())]}
    got = {tuple(r) for r in out.decode(x[ground])}
    assert got == want
    # and every assignment with correct products has exactly the source's energy
    assert out.details["auxiliary_variables"] == ham.num_variables - p.num_variables


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("negate", [False, True])
def test_dimod_issue_1385_example(seed: int, negate: bool) -> None:
    # dimod#1385: a random 3-spin PUSO with every term up to the cubic one; make_quadratic with a
    # positive strength gave wrong ground states. The user minimised -poly (negate=True).
    rng = np.random.default_rng(seed)
    c = rng.random(7) * 2 - 1
    terms = {
        ("0",): c[0], ("1",): c[1], ("2",): c[2],
        ("0", "1"): c[3], ("0", "2"): c[4], ("1", "2"): c[5], ("0", "1", "2"): c[6],
    }  # fmt: skip
    sign = -1.0 if negate else 1.0
    p = PolynomialHamiltonian.from_terms(
        {k: sign * v for k, v in terms.items()}, vartype=SPIN, variables=["0", "1", "2"]
    )
    result = Pipeline.parse("quadratize").run(p)
    ham = result.ir
    x = _all(ham.num_variables, (0, 1))
    e = ham.energies(x)
    src = _all(3, (-1, 1))
    f = p.energies(src)
    assert e.min() == pytest.approx(f.min(), abs=1e-9)
    assert {tuple(r) for r in result.decode(x[e <= e.min() + 1e-9])} == {
        tuple(r) for r in src[f <= f.min() + 1e-9]
    }


def _dimod_auxiliaries(terms: dict[tuple[object, ...], float], vartype: str) -> int:
    dimod = pytest.importorskip("dimod")
    used = set().union(*map(set, terms))
    return int(dimod.make_quadratic(terms, 5.0, vartype).num_variables) - len(used)


@st.composite
def labelled_polynomials(draw: st.DrawFn) -> PolynomialHamiltonian:
    n = draw(st.integers(3, 10))
    labels: list[object] = draw(
        st.sampled_from([list(range(n)), [f"v{i}" for i in range(n)], [(i, "x") for i in range(n)]])
    )
    terms: dict[tuple[object, ...], float] = {}
    for _ in range(draw(st.integers(1, 25))):
        d = draw(st.integers(1, min(5, n)))
        t = draw(st.lists(st.integers(0, n - 1), min_size=d, max_size=d, unique=True))
        terms[tuple(labels[i] for i in t)] = draw(st.sampled_from([-2.0, -1.0, 0.5, 1.0, 3.0]))
    vt = draw(st.sampled_from(["BINARY", "SPIN"]))
    return PolynomialHamiltonian.from_terms(terms, vartype=vt, variables=labels)


@given(labelled_polynomials(), st.randoms(use_true_random=False))
def test_never_more_auxiliaries_than_dimod_make_quadratic(
    p: PolynomialHamiltonian, rnd: random.Random
) -> None:
    # dimod's count follows its term order and Python's string hashing (set.pop order). Ours is
    # never above dimod's on the polynomial's own terms in this process (its rule is replayed
    # exactly), and never above it in any order where the details say so (certified).
    assume(p.degree > 2)
    details = quadratize(p).details
    ours = details["auxiliary_variables"]
    assert ours <= _dimod_auxiliaries(p.to_terms(), p.vartype.name)
    if details["no_more_than_dimod"] == "any term order":
        items = [(tuple(reversed(t)), c) for t, c in p.to_terms().items()]
        rnd.shuffle(items)
        assert ours <= _dimod_auxiliaries(dict(items), p.vartype.name)


def test_large_sparse_cubic_inputs_are_certified_for_any_term_order() -> None:
    rng = np.random.default_rng(3)
    n, t = 600, 8000
    idx = np.sort(np.stack([rng.choice(n, 3, replace=False) for _ in range(t)]), axis=1)
    coef = rng.normal(size=t)
    terms = {tuple(int(v) for v in row): float(c) for row, c in zip(idx, coef, strict=True)}
    p = PolynomialHamiltonian.from_terms(terms, vartype=BINARY, variables=range(n))
    details = quadratize(p).details
    assert details["no_more_than_dimod"] == "any term order"
    shuffled = list(terms.items())
    rng.shuffle(shuffled)
    for order in (terms, dict(shuffled)):
        assert details["auxiliary_variables"] <= _dimod_auxiliaries(order, "BINARY")


@pytest.mark.parametrize("degree", [3, 6, 10, 20])
def test_long_spin_terms_use_spin_products(degree: int) -> None:
    # a SPIN term of degree d has 2^d BINARY terms: reduced in SPIN (two variables per product,
    # as dimod's SPIN reduction) when that needs fewer; degree 20 is past the BINARY expansion
    terms: dict[tuple[int, ...], float] = {tuple(range(degree)): 1.0, (0, 1, 2): -0.5, (1,): 0.3}
    p = PolynomialHamiltonian.from_terms(terms, vartype=SPIN, variables=range(degree))
    out = quadratize(p)
    assert out.details["auxiliary_variables"] <= _dimod_auxiliaries(p.to_terms(), "SPIN")
    assert out.details["encoding"] == ("binary products" if degree == 3 else "spin products")
    if out.ir.num_variables <= 18:
        x = _all(out.ir.num_variables, out.ir.vartype.values)
        e = out.ir.energies(x)
        src = _all(degree, (-1, 1))
        f = p.energies(src)
        assert e.min() == pytest.approx(f.min(), abs=1e-9)
        got = {tuple(r) for r in out.decode(x[e <= e.min() + 1e-9])}
        assert got == {tuple(r) for r in src[f <= f.min() + 1e-9]}


def _min_cover_brute(trips: list[tuple[int, int, int]]) -> int:
    ids = sorted(set().union(*map(set, trips)))
    for k in range(1, len(ids) + 1):
        for pick in itertools.combinations(ids, k):
            if all(set(t) & set(pick) for t in trips):
                return k
    raise AssertionError("no cover")


@given(st.lists(st.tuples(*[st.integers(0, 9)] * 3), min_size=1, max_size=9))
def test_min_pair_cover_is_a_minimum_cover(trips: list[tuple[int, int, int]]) -> None:
    from qevo_ir.passes.pair_cover import min_pair_cover

    trips = [t for t in trips if len(set(t)) == 3]
    assume(trips)
    choice = min_pair_cover(trips)
    assert choice is not None
    assert all(c in t for c, t in zip(choice, trips, strict=True))
    assert len(set(choice)) == _min_cover_brute(trips)


def test_exact_cover_replaces_a_greedy_one_and_keeps_the_ground_states() -> None:
    # the greedy candidates need 5 products here; the exact search finds 4
    terms = [(0, 2, 7), (0, 3, 6), (0, 3, 7), (0, 6, 7), (1, 2, 7), (2, 3, 5), (2, 5, 6), (4, 6, 7)]
    coeffs = [1.0, -2.0, 1.5, -1.0, 0.5, 2.0, -1.5, 1.0]
    p = PolynomialHamiltonian.from_terms(
        dict(zip(terms, coeffs, strict=True)), vartype=BINARY, variables=range(8)
    )
    out = quadratize(p)
    assert out.details["exact_covers"] == 1
    assert out.details["auxiliary_variables"] == 4
    assert out.details["no_more_than_dimod"] == "any term order"
    x = _all(out.ir.num_variables, (0, 1))
    e = out.ir.energies(x)
    src = _all(8, (0, 1))
    f = p.energies(src)
    assert e.min() == pytest.approx(f.min(), abs=1e-9)
    got = {tuple(r) for r in out.decode(x[e <= e.min() + 1e-9])}
    assert got == {tuple(r) for r in src[f <= f.min() + 1e-9]}


def test_match_dimod_false_skips_the_replay_and_says_so() -> None:
    # a dense quartic input is one component with long terms: not certified for any order
    rng = np.random.default_rng(5)
    terms = {tuple(sorted(rng.choice(9, 4, replace=False).tolist())): 1.0 for _ in range(40)}
    p = PolynomialHamiltonian.from_terms(terms, vartype=BINARY, variables=range(9))
    checked = Pipeline.parse("quadratize").run(p)
    unchecked = Pipeline.parse("quadratize(match_dimod=false)").run(p)
    assert checked.ir.num_variables - 9 <= _dimod_auxiliaries(p.to_terms(), "BINARY")
    assert checked.records[-1].details["no_more_than_dimod"] == "this term order"
    assert unchecked.records[-1].details["no_more_than_dimod"] == "not checked"
    assert unchecked.records[-1].details["from_dimod_replay"] is False


_HASH_SCRIPT = """
import sys
from qevo_ir.passes.quadratize import quadratize
from qevo_ir.polynomial import PolynomialHamiltonian
terms = {("a", "b", "c"): 1.0, ("b", "c", "d"): -2.0, ("d", "e", "f"): 1.5,
         ("a", "e", "f"): 0.5, ("g", "h", "i", "j"): -1.0, ("c", "e"): 0.25}
dense = {tuple(f"v{i}" for i in sorted({(7 * k) % 9, (5 * k + 1) % 9, (3 * k + 2) % 9, k % 9}))
         : 1.0 + k for k in range(40)}
for t, match in ((terms, True), (dense, False)):
    p = PolynomialHamiltonian.from_terms(t, vartype="BINARY")
    out = quadratize(p, match_dimod=match)
    print(out.details["no_more_than_dimod"], out.details["from_dimod_replay"],
          out.ir.content_hash())
"""


def test_output_does_not_depend_on_string_hashing() -> None:
    # only dimod's own choices depend on Python's string hashing; they are used only when the
    # report says from_dimod_replay, so certified and unchecked outputs are the same everywhere
    import os
    import subprocess
    import sys

    runs = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _HASH_SCRIPT], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        runs.append(done.stdout)
    assert runs[0] == runs[1] == runs[2]
    lines = runs[0].splitlines()
    assert lines[0].startswith("any term order False")
    assert lines[1].startswith("not checked False")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("vartype", ["BINARY", "SPIN"])
def test_nested_products_keep_every_energy(seed: int, vartype: str) -> None:
    # terms of degree 5-6 need products of products: for every source assignment, the minimum
    # over the auxiliaries is the source's energy, and wrong products cost strictly more
    rng = np.random.default_rng(seed)
    n = 7
    terms = {
        tuple(sorted(rng.choice(n, int(rng.integers(5, 7)), replace=False).tolist())): float(
            rng.normal() * 3
        )
        for _ in range(3)
    }
    terms.update({(i,): float(rng.normal()) for i in range(n)})
    p = PolynomialHamiltonian.from_terms(terms, vartype=vartype, variables=range(n))
    out = quadratize(p)
    ham = out.ir
    k = ham.num_variables - n
    assert k <= 11  # enumeration stays quick
    x = _all(ham.num_variables, ham.vartype.values)
    e = ham.energies(x).reshape(2**n, 2**k)  # rows: the source's part (leading columns)
    src = out.decode(x[:: 2**k])
    np.testing.assert_allclose(e.min(axis=1), p.energies(src), atol=1e-9)
    assert out.details["products"] >= 2


def test_auxiliary_labels_never_clash_with_the_sources() -> None:
    p = PolynomialHamiltonian.from_terms(
        {(("aux", 0), 1, 2): 1.0, (("aux_", 3), 1, 2, 4): -1.0}, vartype=BINARY
    )
    out = quadratize(p)
    new = out.ir.labels[p.num_variables :]
    assert new
    assert all(isinstance(x, tuple) and x[0] == "aux__" for x in new)


def test_strengths_beyond_float_resolution_are_refused() -> None:
    from qevo_ir.errors import LimitExceeded

    def poly(scale: float) -> PolynomialHamiltonian:
        big = {(1, 4, 5): -3, (2, 4, 0, 1, 6): 3, (5, 0, 7): 2, (0, 2, 4): -2, (4, 2, 0, 3, 5): -3}
        terms = {t: c * scale for t, c in big.items()}
        return PolynomialHamiltonian.from_terms({**terms, (0,): -1.0, (7,): 1.0}, vartype=SPIN)

    with pytest.raises(LimitExceeded, match="float64 resolves 52"):
        quadratize(poly(1e13))
    assert quadratize(poly(1e6)).details["auxiliary_variables"] > 0  # far within float64


def test_quadratic_input_reports_the_same_keys_and_decode_takes_one_sample() -> None:
    p = PolynomialHamiltonian.from_terms({(0, 1): 1.0}, vartype=SPIN)
    cubic = PolynomialHamiltonian.from_terms({(0, 1, 2): 1.0}, vartype=SPIN)
    assert set(quadratize(p).details) == set(quadratize(cubic).details)
    assert quadratize(p).details["encoding"] == "none"
    out = quadratize(cubic)
    assert out.decode(np.zeros(out.ir.num_variables, dtype=np.int8)).shape == (1, 3)


def test_degree_two_passes_through_exactly() -> None:
    p = PolynomialHamiltonian.from_terms({(0, 1): 2.0, (1,): -1.0}, vartype=SPIN)
    out = quadratize(p)
    assert out.ir.vartype is SPIN
    assert out.details["auxiliary_variables"] == 0
    assert PolynomialHamiltonian.from_hamiltonian(out.ir) == p
