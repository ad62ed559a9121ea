"""Tests for the fast QAOA simulator in :mod:`qevo_ir.qaoa`."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st

from qevo_ir.qaoa import (
    MAX_QUBITS,
    cost_diagonal,
    numba_available,
    optimize_angles,
    qaoa_expectation,
    qaoa_expectation_and_gradient,
    qaoa_probabilities,
    qaoa_state,
    resolve_engine,
    sample_qaoa,
    statevector_memory_bytes,
)

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def random_ising(
    n: int, rng: np.random.Generator, density: float = 0.6
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    pairs = [p for p in itertools.combinations(range(n), 2) if rng.random() < density]
    row = np.array([p[0] for p in pairs], dtype=np.int64)
    col = np.array([p[1] for p in pairs], dtype=np.int64)
    return rng.normal(size=n), row, col, rng.normal(size=len(pairs)), float(rng.normal())


def brute_energy(h, row, col, J, offset) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Energy of every basis index by direct evaluation (s_i = +1 iff bit i set)."""
    n = len(h)
    out = np.empty(1 << n)
    for b in range(1 << n):
        s = [1.0 if (b >> i) & 1 else -1.0 for i in range(n)]
        e = offset + sum(h[i] * s[i] for i in range(n))
        e += sum(j * s[r] * s[c] for r, c, j in zip(row, col, J, strict=True))
        out[b] = e
    return out


def dense_reference(diag: np.ndarray, gammas, betas) -> np.ndarray:  # type: ignore[no-untyped-def]
    """exp(-iβ Σ X_j) from Kronecker products + scipy.linalg.expm; little-endian qubits."""
    n = diag.size.bit_length() - 1
    x = np.array([[0.0, 1.0], [1.0, 0.0]])
    mixer = np.zeros((1 << n, 1 << n))
    for j in range(n):
        term = np.ones((1, 1))
        for q in range(n - 1, -1, -1):  # kron(q_{n-1}, ..., q_0): qubit 0 is the lowest bit
            term = np.kron(term, x if q == j else np.eye(2))
        mixer += term
    psi = np.full(1 << n, 2.0 ** (-n / 2), dtype=complex)
    for g, b in zip(gammas, betas, strict=True):
        psi = np.exp(-1j * g * diag) * psi
        psi = scipy.linalg.expm(-1j * b * mixer) @ psi
    return psi


def assert_equal_up_to_phase(a: np.ndarray, b: np.ndarray, atol: float = 1e-10) -> None:
    overlap = np.vdot(a, b)
    phase = overlap / abs(overlap)
    np.testing.assert_allclose(a * phase, b, atol=atol)


# --------------------------------------------------------------------------------------------
# cost diagonal
# --------------------------------------------------------------------------------------------


@given(n=st.integers(0, 10), seed=st.integers(0, 2**32 - 1), density=st.floats(0.0, 1.0))
def test_cost_diagonal_matches_brute_force(n: int, seed: int, density: float) -> None:
    rng = np.random.default_rng(seed)
    h, row, col, J, offset = random_ising(n, rng, density)
    diag = cost_diagonal(h, row, col, J, offset)
    assert diag.shape == (1 << n,)
    assert diag.dtype == np.float64
    np.testing.assert_allclose(diag, brute_energy(h, row, col, J, offset), atol=1e-9)


def test_cost_diagonal_zero_variables_is_offset() -> None:
    diag = cost_diagonal([], [], [], [], 2.5)
    np.testing.assert_array_equal(diag, [2.5])


def test_cost_diagonal_little_endian_spin_convention() -> None:
    # E = s_0 - 3 s_1 + 0.5 s_0 s_2; index 0b001 has s_0 = +1, s_1 = s_2 = -1.
    diag = cost_diagonal([1.0, -3.0, 0.0], [0], [2], [0.5])
    assert diag[0b001] == pytest.approx(1.0 + 3.0 - 0.5)
    assert diag[0b010] == pytest.approx(-1.0 - 3.0 + 0.5)
    assert diag[0b101] == pytest.approx(1.0 + 3.0 + 0.5)


def test_cost_diagonal_duplicates_reversed_pairs_and_dtype() -> None:
    diag = cost_diagonal([0.0, 0.0], [0, 1], [1, 0], [1.0, 2.0], dtype=np.float32)
    assert diag.dtype == np.float32
    np.testing.assert_allclose(diag, [3.0, -3.0, -3.0, 3.0])


def test_cost_diagonal_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="different variables"):
        cost_diagonal([0.0, 0.0], [1], [1], [1.0])
    with pytest.raises(ValueError, match="lie in"):
        cost_diagonal([0.0, 0.0], [0], [2], [1.0])
    with pytest.raises(ValueError, match="equal lengths"):
        cost_diagonal([0.0, 0.0], [0], [1], [1.0, 2.0])
    with pytest.raises(ValueError, match="MAX_QUBITS"):
        cost_diagonal(np.zeros(MAX_QUBITS + 1), [], [], [])


def test_memory_limit_message_names_limit_and_memory() -> None:
    assert statevector_memory_bytes(3) == 128
    with pytest.raises(ValueError, match=r"MAX_QUBITS = 30.*32\.0 GiB"):
        cost_diagonal(np.zeros(31), [], [], [])


def test_large_fast_diagonal_dense_matches_small_blocks() -> None:
    rng = np.random.default_rng(7)
    h, row, col, J, offset = random_ising(16, rng, 1.0)
    diag = cost_diagonal(h, row, col, J, offset)
    idx = rng.integers(0, 1 << 16, size=50)
    spins = ((idx[:, None] >> np.arange(16)) & 1) * 2.0 - 1.0
    expect = offset + spins @ h + (spins[:, row] * spins[:, col]) @ J
    np.testing.assert_allclose(diag[idx], expect, atol=1e-9)


# --------------------------------------------------------------------------------------------
# statevector
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 3, 5])
def test_zero_betas_give_pure_cost_phases(n: int) -> None:
    rng = np.random.default_rng(n)
    h, row, col, J, offset = random_ising(n, rng)
    diag = cost_diagonal(h, row, col, J, offset)
    gammas = rng.normal(size=3)
    psi = qaoa_state(diag, gammas, np.zeros(3), engine="numpy")
    np.testing.assert_allclose(np.abs(psi) ** 2, np.full(1 << n, 2.0**-n), atol=1e-12)
    expected = np.exp(-1j * gammas.sum() * diag) * 2.0 ** (-n / 2)
    np.testing.assert_allclose(psi, expected, atol=1e-12)  # exact, global phase included


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_state_matches_dense_expm_reference(n: int) -> None:
    rng = np.random.default_rng(100 + n)
    h, row, col, J, offset = random_ising(n, rng)
    diag = cost_diagonal(h, row, col, J, offset)
    for p in (1, 2, 3):
        gammas, betas = rng.normal(size=p), rng.normal(size=p)
        psi = qaoa_state(diag, gammas, betas, engine="numpy")
        np.testing.assert_allclose(psi, dense_reference(diag, gammas, betas), atol=1e-11)


def test_p_zero_is_uniform_superposition() -> None:
    diag = np.arange(8.0)
    np.testing.assert_allclose(qaoa_state(diag, [], []), np.full(8, 8**-0.5))
    assert qaoa_expectation(diag, [], []) == pytest.approx(3.5)


@pytest.mark.parametrize("n", [2, 4, 6])
def test_state_matches_qiskit_circuit(n: int) -> None:
    pytest.importorskip("qiskit")
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Statevector

    rng = np.random.default_rng(200 + n)
    h, row, col, J, offset = random_ising(n, rng)
    diag = cost_diagonal(h, row, col, J, offset)
    p = 2
    gammas, betas = rng.normal(size=p), rng.normal(size=p)
    qc = QuantumCircuit(n)
    qc.h(range(n))
    for g, b in zip(gammas, betas, strict=True):
        # Sign conventions: RZ(θ) = exp(-iθZ/2), Z|0> = +|0>, but bit 1 is SPIN +1, so
        # s_i = -z_i and exp(-i gamma h_i s_i) = exp(+i gamma h_i Z_i) = RZ(-2 gamma h_i).
        # Couplings keep their sign because s_i s_j = z_i z_j:
        # exp(-i gamma J Z_i Z_j) = RZZ(2 gamma J). The offset only adds a global phase.
        # Mixer exp(-iβ X) = RX(2β).
        for i in range(n):
            qc.rz(-2.0 * g * h[i], i)
        for r, c, j in zip(row, col, J, strict=True):
            qc.rzz(2.0 * g * j, int(r), int(c))
        qc.rx(2.0 * b, range(n))
    reference = Statevector(qc).data  # little-endian, like ours
    assert_equal_up_to_phase(qaoa_state(diag, gammas, betas, engine="numpy"), reference)


# --------------------------------------------------------------------------------------------
# expectation, probabilities, sampling, gradient
# --------------------------------------------------------------------------------------------


def test_expectation_and_probabilities_consistent_with_state() -> None:
    rng = np.random.default_rng(3)
    diag = cost_diagonal(*random_ising(7, rng))
    gammas, betas = rng.normal(size=3), rng.normal(size=3)
    psi = qaoa_state(diag, gammas, betas)
    probs = qaoa_probabilities(diag, gammas, betas)
    np.testing.assert_allclose(probs, np.abs(psi) ** 2, atol=1e-14)
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    assert qaoa_expectation(diag, gammas, betas) == pytest.approx(
        float(np.sum(np.abs(psi) ** 2 * diag)), abs=1e-12
    )


def test_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(11)
    diag = cost_diagonal(*random_ising(6, rng))
    gammas, betas = rng.normal(size=3), rng.normal(size=3)
    energy, dg, db = qaoa_expectation_and_gradient(diag, gammas, betas, engine="numpy")
    assert energy == pytest.approx(qaoa_expectation(diag, gammas, betas), abs=1e-12)
    eps = 1e-6
    for k in range(3):
        step = np.zeros(3)
        step[k] = eps
        fd_g = (
            qaoa_expectation(diag, gammas + step, betas)
            - qaoa_expectation(diag, gammas - step, betas)
        ) / (2 * eps)
        fd_b = (
            qaoa_expectation(diag, gammas, betas + step)
            - qaoa_expectation(diag, gammas, betas - step)
        ) / (2 * eps)
        assert dg[k] == pytest.approx(fd_g, abs=1e-7)
        assert db[k] == pytest.approx(fd_b, abs=1e-7)


def test_sampling_reproducible_and_little_endian() -> None:
    rng = np.random.default_rng(5)
    diag = cost_diagonal(*random_ising(4, rng))
    gammas, betas = [0.4, 0.9], [0.3, 0.2]
    a = sample_qaoa(diag, gammas, betas, shots=4000, seed=123)
    b = sample_qaoa(diag, gammas, betas, shots=4000, seed=123)
    assert a.shape == (4000, 4)
    assert a.dtype == np.int8
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) <= {0, 1}
    probs = qaoa_probabilities(diag, gammas, betas)
    idx = (a.astype(np.int64) * (1 << np.arange(4))).sum(axis=1)
    freq = np.bincount(idx, minlength=16) / 4000
    np.testing.assert_allclose(freq, probs, atol=0.04)
    # Marginal of qubit i is the mass on indices with bit i set.
    for i in range(4):
        mask = ((np.arange(16) >> i) & 1).astype(bool)
        assert a[:, i].mean() == pytest.approx(probs[mask].sum(), abs=0.04)


def test_sampling_basis_state_bits() -> None:
    # E = s_1 on 3 qubits. Qubit 1: |+> --exp(-i(π/4) s_1)--> ∝ |0> - i|1> --exp(-i(π/4) X)-->
    # -i|1>, i.e. bit 1 = 1 (SPIN +1) with certainty; qubits 0 and 2 stay in |+> (uniform).
    diag = cost_diagonal([0.0, 1.0, 0.0], [], [], [])
    probs = qaoa_probabilities(diag, [np.pi / 4], [np.pi / 4])
    np.testing.assert_allclose(probs, [0, 0, 0.25, 0.25, 0, 0, 0.25, 0.25], atol=1e-12)
    bits = sample_qaoa(diag, [np.pi / 4], [np.pi / 4], shots=200, seed=0)
    assert np.all(bits[:, 1] == 1)
    assert 0 < bits[:, 0].mean() < 1
    assert sample_qaoa(diag, [0.1], [0.1], shots=0).shape == (0, 3)


def test_validation_errors() -> None:
    with pytest.raises(ValueError, match="power of two"):
        qaoa_expectation(np.zeros(3), [0.1], [0.1])
    with pytest.raises(ValueError, match="same length"):
        qaoa_expectation(np.zeros(4), [0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="finite"):
        qaoa_expectation(np.array([0.0, np.nan]), [0.1], [0.1])
    with pytest.raises(ValueError, match="shots"):
        sample_qaoa(np.zeros(4), [0.1], [0.1], shots=-1)
    with pytest.raises(ValueError, match="engine"):
        resolve_engine("gpu")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# engines
# --------------------------------------------------------------------------------------------


@pytest.mark.skipif(not numba_available(), reason="numba not installed (optional engine)")
@pytest.mark.parametrize("n", [10, 13, 16])
def test_numba_engine_matches_numpy(n: int) -> None:
    rng = np.random.default_rng(300 + n)
    diag = cost_diagonal(*random_ising(n, rng, 0.3))
    gammas, betas = rng.normal(size=3), rng.normal(size=3)
    a = qaoa_state(diag, gammas, betas, engine="numpy")
    b = qaoa_state(diag, gammas, betas, engine="numba")
    np.testing.assert_allclose(a, b, atol=1e-12)
    np.testing.assert_allclose(
        qaoa_probabilities(diag, gammas, betas, engine="numba"), np.abs(a) ** 2, atol=1e-14
    )
    ea, ga, ba = qaoa_expectation_and_gradient(diag, gammas, betas, engine="numpy")
    eb, gb, bb = qaoa_expectation_and_gradient(diag, gammas, betas, engine="numba")
    assert eb == pytest.approx(ea, abs=1e-10)
    assert qaoa_expectation(diag, gammas, betas, engine="numba") == pytest.approx(ea, abs=1e-10)
    np.testing.assert_allclose(gb, ga, atol=1e-9)
    np.testing.assert_allclose(bb, ba, atol=1e-9)


def test_engine_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QEVO_QAOA_ENGINE", raising=False)
    assert resolve_engine("numpy", 20) == "numpy"
    assert resolve_engine("auto", 3) == "numpy"  # tiny problems always use numpy
    if numba_available():
        assert resolve_engine("auto", 20) == "numba"
    else:
        assert resolve_engine("auto", 20) == "numpy"
        with pytest.raises(ImportError):
            resolve_engine("numba", 20)


# --------------------------------------------------------------------------------------------
# optimisation
# --------------------------------------------------------------------------------------------


def test_optimize_angles_improves_on_p0() -> None:
    rng = np.random.default_rng(9)
    diag = cost_diagonal(*random_ising(6, rng))
    res = optimize_angles(diag, 2, seed=1, restarts=2, engine="numpy")
    assert res.expectation <= float(np.mean(diag)) + 1e-12
    assert res.expectation < float(np.mean(diag)) - 1e-3
    assert res.gammas.shape == (2,)
    assert res.betas.shape == (2,)
    assert res.evaluations > 0
    assert res.seconds >= 0.0
    assert qaoa_expectation(diag, res.gammas, res.betas) == pytest.approx(res.expectation, abs=1e-9)
    again = optimize_angles(diag, 2, seed=1, restarts=2, engine="numpy")
    np.testing.assert_allclose(again.gammas, res.gammas)


def test_optimize_angles_on_huge_energies_is_scale_equivariant() -> None:
    """Energies whose squares overflow are optimised as D / 2**k: the angles found for D * 2**150
    and D * 2**160 are the same up to exactly that factor, and finite."""
    rng = np.random.default_rng(4)
    diag = cost_diagonal(*random_ising(5, rng))
    a = optimize_angles(diag * 2.0**150, 2, seed=3, restarts=2, engine="numpy")
    b = optimize_angles(diag * 2.0**160, 2, seed=3, restarts=2, engine="numpy")
    assert np.isfinite(a.gammas).all()
    assert np.isfinite(a.expectation)
    np.testing.assert_array_equal(a.gammas * 2.0**150, b.gammas * 2.0**160)
    np.testing.assert_array_equal(a.betas, b.betas)
    assert b.expectation == a.expectation * 2.0**10
    assert a.expectation < float(np.mean(diag * 2.0**150))
    with np.errstate(over="raise"):  # 1e300-sized energies: nothing squares them
        c = optimize_angles(diag * 1e300 / np.abs(diag).max(), 1, seed=3, restarts=1)
    assert np.isfinite(c.expectation)


def test_optimize_angles_p0_and_errors() -> None:
    diag = np.array([1.0, 2.0, 3.0, 4.0])
    res = optimize_angles(diag, 0)
    assert res.expectation == pytest.approx(2.5)
    assert res.gammas.size == 0
    with pytest.raises(ValueError):
        optimize_angles(diag, -1)
    with pytest.raises(ValueError):
        optimize_angles(diag, 1, restarts=0)
