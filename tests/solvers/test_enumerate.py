"""The exhaustive Ising kernel (``qevo_ir.solvers.enumerate``) against naive enumeration.

The kernel is core code (numpy only); the ``exact`` plugin and the precision pass both call it.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qevo_ir.solvers.enumerate as K

enumerate_ising = K.enumerate_ising
index_to_spins = K.index_to_spins

Problem = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]


# ---------------------------------------------------------------------------------------------
# Naive reference: itertools.product + a plain Python energy function.
# ---------------------------------------------------------------------------------------------


def _energy(
    s: tuple[int, ...], h: list[float], cpl: list[tuple[int, int, float]], off: float
) -> float:
    e = off
    for i, hi in enumerate(h):
        e += hi * s[i]
    for r, c, j in cpl:
        e += j * s[r] * s[c]
    return e


def _reference(
    problem: Problem, num_levels: int, atol: float
) -> list[tuple[float, list[tuple[int, ...]]]]:
    """Lowest levels, greedy from the lowest energy with width atol: (energy, states in order)."""
    h, row, col, J, off = problem
    n = len(h)
    hl = [float(x) for x in h]
    cpl = [(int(r), int(c), float(j)) for r, c, j in zip(row, col, J, strict=True)]
    states = list(itertools.product((-1, 1), repeat=n))  # lexicographic, -1 first
    energies = [_energy(s, hl, cpl, off) for s in states]
    levels: list[tuple[float, list[tuple[int, ...]]]] = []
    remaining = sorted(set(energies))
    while remaining and len(levels) < num_levels:
        start = remaining[0]
        members = [s for s, e in zip(states, energies, strict=True) if start <= e <= start + atol]
        levels.append((start, members))
        remaining = [e for e in remaining if e > start + atol]
    return levels


def _default_atol(problem: Problem) -> float:
    h, _, _, J, off = problem
    return 1e-9 * max(1.0, abs(off) + float(np.abs(h).sum()) + float(np.abs(J).sum()))


def _random_problem(rng: np.random.Generator, n: int, density: float = 1.0) -> Problem:
    row, col = np.triu_indices(n, 1)
    keep = rng.random(row.size) < density
    row, col = row[keep], col[keep]
    return rng.standard_normal(n), row, col, rng.standard_normal(row.size), float(rng.normal())


def _as_tuples(states: np.ndarray) -> list[tuple[int, ...]]:
    return [tuple(int(x) for x in s) for s in states]


def _assert_matches(
    result: Any, ref: list[tuple[float, list[tuple[int, ...]]]], max_states: int
) -> None:
    assert len(result.levels) == len(ref)
    for level, (energy, members) in zip(result.levels, ref, strict=True):
        assert math.isclose(level.energy, energy, rel_tol=1e-12, abs_tol=1e-9)
        assert level.count == len(members)
        assert level.states.dtype == np.int8
        assert level.states.shape == (min(len(members), max_states), result.num_variables)
        assert _as_tuples(level.states) == members[:max_states]
        assert level.truncated == (len(members) > max_states)


# ---------------------------------------------------------------------------------------------
# Property test
# ---------------------------------------------------------------------------------------------

# Integers make many exact ties; 3-decimal floats keep distinct energies >= 1e-3 apart while
# equal ones differ only by float rounding (what atol is for).
_coef = st.one_of(
    st.integers(-2, 2).map(float),
    st.sampled_from([0.5, -0.25, 1.5, -1.0, 0.0]),
    st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False).map(lambda x: round(x, 3)),
)


@st.composite
def _problems(draw: st.DrawFn) -> Problem:
    n = draw(st.integers(0, 10))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    kind = draw(st.sampled_from(["dense", "sparse", "none"]))
    if kind == "dense":
        chosen = pairs
    elif kind == "sparse":
        chosen = [p for p in pairs if draw(st.booleans())] if len(pairs) <= 20 else pairs[::3]
    else:
        chosen = []
    zero_field = draw(st.booleans())
    h = np.array([0.0 if zero_field else draw(_coef) for _ in range(n)], dtype=np.float64)
    J = np.array([draw(_coef) for _ in chosen], dtype=np.float64)
    row = np.array([p[0] for p in chosen], dtype=np.int64)
    col = np.array([p[1] for p in chosen], dtype=np.int64)
    off = draw(_coef)
    return h, row, col, J, off


@settings(max_examples=100, derandomize=True, deadline=None)
@given(
    problem=_problems(),
    num_levels=st.integers(1, 3),
    max_states=st.sampled_from([1, 3, 1000]),
    chunk_bits=st.sampled_from([None, 0, 3, 6]),
)
def test_matches_naive_enumeration(
    problem: Problem, num_levels: int, max_states: int, chunk_bits: int | None
) -> None:
    h, row, col, J, off = problem
    ref = _reference(problem, num_levels, _default_atol(problem))
    result = enumerate_ising(
        h, row, col, J, off, num_levels=num_levels, max_states=max_states, chunk_bits=chunk_bits
    )
    assert result.num_variables == len(h)
    assert result.states_examined == 2 ** len(h)
    assert result.seconds >= 0.0
    _assert_matches(result, ref, max_states)


def test_all_zero_problems() -> None:
    for n in range(5):
        result = enumerate_ising(np.zeros(n), [], [], [], 1.25, num_levels=3)
        assert len(result.levels) == 1
        (level,) = result.levels
        assert level.energy == 1.25
        assert level.count == 2**n
        assert _as_tuples(level.states) == list(itertools.product((-1, 1), repeat=n))


def test_empty_and_single_variable() -> None:
    result = enumerate_ising(np.zeros(0), [], [], [], -3.5)
    assert result.states_examined == 1
    (level,) = result.levels
    assert (level.energy, level.count, level.states.shape, level.truncated) == (
        -3.5,
        1,
        (1, 0),
        False,
    )

    result = enumerate_ising(np.array([0.75]), [], [], [], 0.0, num_levels=5)
    assert [(lv.energy, lv.count) for lv in result.levels] == [(-0.75, 1), (0.75, 1)]
    assert result.levels[0].states.tolist() == [[-1]]
    assert result.levels[1].states.tolist() == [[1]]


# ---------------------------------------------------------------------------------------------
# Limits, truncation, conventions
# ---------------------------------------------------------------------------------------------


def test_size_limit_raises_before_work() -> None:
    with pytest.raises(
        ValueError, match=r"limited to 34 variables \(2\*\*34 states\); this problem has 40"
    ):
        enumerate_ising(np.zeros(40), [], [], [])
    with pytest.raises(ValueError, match="limited to 5 variables"):
        enumerate_ising(np.zeros(6), [], [], [], max_variables=5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_levels": 0}, "num_levels"),
        ({"max_states": -1}, "max_states"),
        ({"atol": -1.0}, "atol"),
        ({"chunk_bits": 99}, "chunk_bits"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        enumerate_ising(np.zeros(3), [0], [1], [1.0], **kwargs)


def test_bad_couplings() -> None:
    with pytest.raises(ValueError, match="self-loop"):
        enumerate_ising(np.zeros(3), [1], [1], [1.0])
    with pytest.raises(ValueError, match="out of range"):
        enumerate_ising(np.zeros(3), [0], [3], [1.0])
    with pytest.raises(ValueError, match="differ in length"):
        enumerate_ising(np.zeros(3), [0, 1], [1, 2], [1.0])
    with pytest.raises(ValueError, match="non-finite"):
        enumerate_ising(np.array([0.0, np.nan]), [], [], [])


def test_reversed_and_duplicate_pairs_are_summed() -> None:
    h = np.array([0.1, -0.2, 0.3])
    a = enumerate_ising(h, [1, 0, 2], [0, 1, 1], [1.0, 0.5, -2.0], num_levels=8)
    b = enumerate_ising(h, [0, 1], [1, 2], [1.5, -2.0], num_levels=8)
    assert [(lv.energy, lv.count) for lv in a.levels] == [(lv.energy, lv.count) for lv in b.levels]


def test_max_states_truncation_keeps_exact_count() -> None:
    result = enumerate_ising(np.zeros(12), [], [], [], max_states=10)
    (level,) = result.levels
    assert level.count == 4096
    assert level.states.shape == (10, 12)
    assert level.truncated
    expected = list(itertools.islice(itertools.product((-1, 1), repeat=12), 10))
    assert _as_tuples(level.states) == expected

    none = enumerate_ising(np.zeros(4), [], [], [], max_states=0)
    assert none.levels[0].count == 16
    assert none.levels[0].states.shape == (0, 4)
    assert none.levels[0].truncated


def test_truncation_with_mirror_symmetry() -> None:
    # h == 0 enumerates half the states and mirrors the rest; truncation must still give the
    # lexicographically first states of the whole level.
    n = 6
    row, col = np.triu_indices(n, 1)
    J = np.ones(row.size)  # antiferromagnet: ground states have three +1 and three -1
    ref = _reference((np.zeros(n), row, col, J, 0.0), 1, 1e-9)
    for max_states in (1, 7, 10, 19, 20, 21, 100):
        result = enumerate_ising(np.zeros(n), row, col, J, max_states=max_states)
        _assert_matches(result, ref, max_states)


def test_index_to_spins_convention() -> None:
    spins = index_to_spins(np.array([0, 1, 2, 5, 7]), 3)
    assert spins.dtype == np.int8
    assert spins.tolist() == [[-1, -1, -1], [1, -1, -1], [-1, 1, -1], [1, -1, 1], [1, 1, 1]]
    x = (spins.astype(np.int64) + 1) // 2
    assert (x @ (1 << np.arange(3))).tolist() == [0, 1, 2, 5, 7]
    with pytest.raises(ValueError):
        index_to_spins(np.array([8]), 3)


def test_level_energy_is_exact_energy_of_a_member() -> None:
    rng = np.random.default_rng(11)
    h, row, col, J, off = _random_problem(rng, 9)
    result = enumerate_ising(h, row, col, J, off, num_levels=4)
    for level in result.levels:
        exact = [K.ising_energy(s, h, row, col, J, off) for s in level.states]
        assert level.energy == min(exact)


def test_atol_zero_and_custom_atol() -> None:
    h = np.array([1.0, 1.0 + 1e-7, 0.0])
    strict = enumerate_ising(h, [], [], [], atol=0.0, num_levels=2)
    assert [lv.count for lv in strict.levels] == [2, 2]
    loose = enumerate_ising(h, [], [], [], atol=1e-6, num_levels=2)
    assert [lv.count for lv in loose.levels] == [2, 4]  # -1e-7 and +1e-7 are one level
    assert loose.levels[1].energy == pytest.approx(-1e-7, abs=1e-12)


def test_fewer_levels_than_requested() -> None:
    result = enumerate_ising(np.array([1.0, 1.0]), [], [], [], num_levels=10)
    assert [(lv.energy, lv.count) for lv in result.levels] == [(-2.0, 1), (0.0, 2), (2.0, 1)]


# ---------------------------------------------------------------------------------------------
# Larger problems: internal paths agree (pruning, threads, symmetry, chunking), vs vectorised
# brute force.
# ---------------------------------------------------------------------------------------------


def _brute(problem: Problem, num_levels: int) -> list[tuple[float, int]]:
    h, row, col, J, off = problem
    n = len(h)
    upper = np.zeros((n, n))
    np.add.at(upper, (row, col), J)
    parts = []
    for first in range(0, 2**n, 1 << 14):
        spins = index_to_spins(np.arange(first, min(2**n, first + (1 << 14))), n).astype(float)
        parts.append(off + spins @ h + ((spins @ upper) * spins).sum(axis=1))
    energies = np.concatenate(parts)
    atol = _default_atol(problem)
    out: list[tuple[float, int]] = []
    values = np.unique(energies)
    while values.size and len(out) < num_levels:
        start = float(values[0])
        out.append((start, int(np.count_nonzero((energies >= start) & (energies <= start + atol)))))
        values = values[values > start + atol]
    return out


@pytest.mark.parametrize("kind", ["gauss", "integer", "zero_field"])
def test_internal_paths_agree(kind: str) -> None:
    rng = np.random.default_rng(5)
    n = 16
    h, row, col, J, off = _random_problem(rng, n, density=0.6)
    if kind == "integer":
        h = rng.integers(-1, 2, n).astype(np.float64)
        J = rng.integers(-1, 2, row.size).astype(np.float64)
    elif kind == "zero_field":
        h = np.zeros(n)
        J = rng.choice([-1.0, 1.0], row.size)
    problem = (h, row, col, J, off)
    expected = _brute(problem, 3)
    results = []
    for prune, threads, symmetry, chunk_bits in [
        (True, 1, True, None),
        (True, 3, True, 8),
        (False, 2, True, 10),
        (True, 2, False, 12),
        (False, 1, False, 4),
    ]:
        res = K._enumerate(
            h,
            row,
            col,
            J,
            off,
            num_levels=3,
            max_states=50,
            prune=prune,
            threads=threads,
            use_symmetry=symmetry,
            chunk_bits=chunk_bits,
        )
        got = [(lv.energy, lv.count) for lv in res.levels]
        assert [c for _, c in got] == [c for _, c in expected]
        for (e, _), (e_ref, _) in zip(got, expected, strict=True):
            assert e == pytest.approx(e_ref, rel=1e-12, abs=1e-9)
        results.append(res)
    first = results[0]
    for res in results[1:]:
        for a, b in zip(first.levels, res.levels, strict=True):
            np.testing.assert_array_equal(a.states, b.states)


def test_many_distinct_keys_within_a_level() -> None:
    # Fields of the order of atol: levels hold many distinct energies (the bucket fallback).
    rng = np.random.default_rng(2)
    n = 14
    h = rng.standard_normal(n) * 3e-10
    atol = 1e-9
    result = enumerate_ising(h, [], [], [], atol=atol, num_levels=3, chunk_bits=8, max_states=4)
    spins = index_to_spins(np.arange(2**n), n).astype(np.float64)
    keys = np.rint(spins @ h * (16 / atol))  # the documented bucketing
    counts: list[int] = []
    values = np.unique(keys)
    while values.size and len(counts) < 3:
        start = values[0]
        counts.append(int(np.count_nonzero((keys >= start) & (keys <= start + 16))))
        values = values[values > start + 16]
    assert [lv.count for lv in result.levels] == counts


def test_progress_reports_every_unit_in_order() -> None:
    calls: list[tuple[int, int]] = []
    rng = np.random.default_rng(3)
    h, row, col, J, off = _random_problem(rng, 26)  # 4 units of 2**24 states
    enumerate_ising(h, row, col, J, off, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(k * 2**24, 2**26) for k in (1, 2, 3, 4)]

    calls.clear()
    enumerate_ising(np.zeros(3), [], [], [], progress=lambda d, t: calls.append((d, t)))
    assert calls == [(8, 8)]


def test_progress_exception_propagates() -> None:
    def boom(done: int, total: int) -> None:
        raise KeyboardInterrupt

    rng = np.random.default_rng(4)
    h, row, col, J, off = _random_problem(rng, 26)
    with pytest.raises(KeyboardInterrupt):
        enumerate_ising(h, row, col, J, off, progress=boom)


def test_dense_n18_against_vectorised_brute_force() -> None:
    rng = np.random.default_rng(20)
    problem = _random_problem(rng, 18)
    result = enumerate_ising(*problem[:4], problem[4], num_levels=2)
    h, row, col, J, off = problem
    expected = _brute(problem, 2)
    assert [lv.count for lv in result.levels] == [c for _, c in expected]
    assert result.levels[0].energy == pytest.approx(expected[0][0], rel=1e-12)
    assert (
        K.ising_energy(result.levels[0].states[0], h, row, col, J, off) == result.levels[0].energy
    )


# ---------------------------------------------------------------------------------------------
# dimod
# ---------------------------------------------------------------------------------------------


def test_agrees_with_dimod_exact_solver() -> None:
    dimod = pytest.importorskip("dimod")
    rng = np.random.default_rng(12)
    n = 12
    h, row, col, J, off = _random_problem(rng, n, density=0.5)
    h = np.round(h, 1)
    J = np.round(J, 1)  # coarse values: genuine degeneracy is likely
    bqm = dimod.BinaryQuadraticModel.from_ising(
        {i: float(h[i]) for i in range(n)},
        {(int(r), int(c)): float(j) for r, c, j in zip(row, col, J, strict=True)},
        off,
    )
    sampleset = dimod.ExactSolver().sample(bqm)
    energies = sampleset.record.energy
    ground = float(energies.min())
    atol = _default_atol((h, row, col, J, off))
    degeneracy = int(np.count_nonzero(energies <= ground + atol))
    result = enumerate_ising(h, row, col, J, off)
    assert result.levels[0].energy == pytest.approx(ground, rel=1e-12, abs=1e-9)
    assert result.levels[0].count == degeneracy


def test_a_subnormal_atol_still_finds_the_ground_level() -> None:
    # atol = 1e-309: the bucket pitch's inverse overflowed to inf and no level came back
    # (found by the per-commit Hypothesis seed through the embed tests' brute force).
    empty = np.zeros(0, dtype=np.int64)
    res = K.enumerate_ising(np.array([1e-300]), empty, empty, np.zeros(0), 0.0, atol=1e-309)
    assert [(lv.energy, lv.count) for lv in res.levels] == [(-1e-300, 1)]
    res = K.enumerate_ising(
        np.array([5e-310, 1e-309]), empty, empty, np.zeros(0), 0.0, max_states=4, atol=1e-309
    )
    assert [(lv.energy, lv.count) for lv in res.levels] == [(-1.5e-309, 2)]
