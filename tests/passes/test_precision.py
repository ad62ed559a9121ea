"""The precision pass: scaling into device ranges, k-bit rounding, certified bound, diagnostics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from qevo_ir import BINARY, SPIN, Hamiltonian, LimitExceeded, PipelineError, ValidationError
from qevo_ir.conventions import bits_to_basis_index
from qevo_ir.passes import Pipeline
from qevo_ir.passes.precision import (
    DEVICE_RANGES,
    Precision,
    ground_states,
    quantize_coefficients,
)
from qevo_ir.report import dynamic_range_bits
from qevo_ir.testing import all_assignments, hamiltonians
from qevo_ir.vartypes import spin_to_binary


def _scale_of(ham: Hamiltonian) -> float:
    return 1.0 + abs(ham.offset) + float(np.abs(ham.linear).sum() + np.abs(ham.quad).sum())


@st.composite
def _ranges(draw: st.DrawFn) -> tuple[float, float] | None:
    if draw(st.booleans()):
        return None
    lo = -draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 4.0]))
    hi = draw(st.sampled_from([0.5, 1.0, 3.0]))
    return (lo, hi)


@settings(max_examples=80, deadline=None)
@given(
    ham=hamiltonians(max_variables=7),
    bits=st.none() | st.integers(2, 8),
    device=st.sampled_from(sorted(DEVICE_RANGES)),
    h_range=_ranges(),
    j_range=_ranges(),
)
@example(  # found by the ci profile: the offset, scaled by 2**1000, tripped the ground check
    ham=Hamiltonian.from_ising([1e-310, -2e-310], {}, offset=1.0),
    bits=None,
    device="advantage",
    h_range=None,
    j_range=None,
)
def test_stays_within_its_certified_bound(
    ham: Hamiltonian,
    bits: int | None,
    device: str,
    h_range: tuple[float, float] | None,
    j_range: tuple[float, float] | None,
) -> None:
    p = Precision(bits=bits, device=device, h_range=h_range, j_range=j_range)
    spin = ham.to_spin()
    h_rng, j_rng = p.ranges()
    fits = all(
        not (np.any(v > 0) and hi <= 0) and not (np.any(v < 0) and lo >= 0)
        for v, (lo, hi) in ((spin.linear, h_rng), (spin.quad, j_rng))
    )
    if not fits:
        with pytest.raises(ValidationError, match=r"has no (positive|negative) side"):
            Pipeline([p]).run(ham)
        return
    res = Pipeline([p]).run(ham)
    out, rec = res.ir, res.records[0]
    assert out.vartype is SPIN
    assert rec.exact is False
    assert rec.energy_bound is not None
    assert rec.energy_bound >= 0
    alpha = rec.energy_scale
    assert alpha > 0
    assert np.isfinite(alpha)
    # Inside the ranges, and on the grid.
    assert np.all((out.linear >= h_rng[0]) & (out.linear <= h_rng[1]))
    assert np.all((out.quad >= j_rng[0]) & (out.quad <= j_rng[1]))
    if bits is not None:
        for values, (lo, hi) in ((out.linear, h_rng), (out.quad, j_rng)):
            step = max(abs(lo), abs(hi)) / (2 ** (bits - 1) - 1)
            np.testing.assert_allclose(values / step, np.rint(values / step), atol=1e-6)
    ys = all_assignments(out.num_variables, SPIN)
    xs = res.decode(ys)
    assert set(np.unique(xs)) <= set(ham.vartype.values)
    diff = np.abs(out.energies(ys) / alpha - ham.energies(xs))
    assert diff.max(initial=0.0) <= rec.energy_bound + 1e-9 * _scale_of(ham)
    assert res.total_energy_bound == pytest.approx(rec.energy_bound)


def test_grid_definition() -> None:
    # 3 bits over [-4, 4]: step 4/3, values m·step with |m| <= 3.
    got = quantize_coefficients(np.array([0.0, 0.6, 0.7, -4.0, 3.99, 2.1]), -4.0, 4.0, 3)
    np.testing.assert_allclose(got, np.array([0, 0, 1, -3, 3, 2]) * 4 / 3)
    # Asymmetric range [-2, 1], 3 bits: step 2/3, top level floor(1 / (2/3)) = 1 step.
    got = quantize_coefficients(np.array([1.0, -2.0]), -2.0, 1.0, 3)
    np.testing.assert_allclose(got, [2 / 3, -2.0])
    np.testing.assert_array_equal(quantize_coefficients(np.array([5.0]), -1, 1, None), [1.0])


def test_scale_factor_and_report_fields() -> None:
    ham = Hamiltonian.from_ising([2.0, -8.0, 0.0], {(0, 1): 0.5, (1, 2): -3.0}, offset=1.5)
    res = Pipeline.parse("precision(bits=none)").run(ham)
    rec = res.records[0]
    # α = min(4/8, 1/3): the couplings bind.
    assert rec.energy_scale == pytest.approx(1 / 3)
    d = rec.details
    assert d["h_range"] == [-4.0, 4.0]
    assert d["j_range"] == [-1.0, 1.0]
    assert d["dynamic_range_bits_before"] == pytest.approx(np.log2(8 / 0.5))
    assert d["ground_states"]["checked"] is True
    assert d["ground_states"]["all_survived"] is True
    assert res.ir.offset == pytest.approx(0.5)
    assert rec.energy_bound == pytest.approx(0.0, abs=1e-12)


def test_zero_hamiltonian_is_left_alone() -> None:
    ham = Hamiltonian.from_ising([0.0, 0.0], {}, offset=2.0)
    res = Pipeline.parse("precision(bits=4)").run(ham)
    assert res.records[0].energy_scale == 1.0
    assert res.records[0].energy_bound == 0.0
    assert res.ir == ham


def test_binary_input_comes_out_spin_and_decodes_back() -> None:
    ham = Hamiltonian.from_qubo({(0, 0): 1.0, (0, 1): -2.0, (1, 1): 0.5, (1, 2): 0.25})
    res = Pipeline.parse("precision(bits=6)").run(ham)
    assert res.ir.vartype is SPIN
    ys = all_assignments(3, SPIN)
    xs = res.decode(ys)
    np.testing.assert_array_equal(xs, (ys + 1) // 2)
    assert res.records[0].details["input_vartype"] == "BINARY"
    assert ham.vartype is BINARY


def test_noise_floor_and_rounded_to_zero_are_reported() -> None:
    # One large field and many weak couplings: after scaling most couplings are under 1% of the
    # J range and a 4-bit grid rounds them to zero.
    n = 12
    rows, cols = np.triu_indices(n, 1)
    J = np.full(len(rows), 0.002)
    J[0] = 1.0
    ham = Hamiltonian(np.zeros(n), rows, cols, J, vartype=SPIN)
    res = Pipeline.parse("precision(bits=4, check_ground_states=false)").run(ham)
    d = res.records[0].details
    assert d["below_noise"] == len(rows) - 1
    assert d["rounded_to_zero"] == {"h": 0, "J": len(rows) - 1}
    assert res.ir.num_interactions == 1
    assert any("below the noise floor" in w for w in d["warnings"])
    assert any("rounded to zero" in w for w in d["warnings"])
    assert d["ground_states"] == {"checked": False}
    assert res.records[0].energy_bound == pytest.approx(0.002 * (len(rows) - 1), rel=1e-9)


def test_lost_ground_states_are_detected() -> None:
    # Ground state (-1, +1) at -2.85. α = 1/0.95 binds on J; a 2-bit grid has steps 4 (h) and 1
    # (J), so both fields round to 0 and the result is E = s0 s1 with two ground states.
    ham = Hamiltonian.from_ising([1.0, -0.9], {(0, 1): 0.95})
    res = Pipeline.parse("precision(bits=2)").run(ham)
    d = res.records[0].details
    assert d["ground_states"] == {
        "checked": True,
        "input": 1,
        "output": 2,
        "all_survived": True,
        "spurious": 1,
    }
    assert d["rounded_to_zero"] == {"h": 2, "J": 0}
    assert any("ground states changed" in w for w in d["warnings"])
    _, before = ground_states(ham)
    _, after = ground_states(res.ir)
    np.testing.assert_array_equal(before, [2])  # s = (-1, +1): bits (0, 1), index 2
    np.testing.assert_array_equal(after, [1, 2])


def test_ground_states_agree_with_naive_enumeration() -> None:
    rng = np.random.default_rng(11)
    n = 9
    idx = np.arange(1 << n, dtype=np.int64)
    states = (2 * ((idx[:, None] >> (n - 1 - np.arange(n))) & 1) - 1).astype(np.int8)
    for _ in range(6):
        rows, cols = np.triu_indices(n, 1)
        J = rng.integers(-2, 3, size=len(rows)).astype(float)
        ham = Hamiltonian(rng.integers(-1, 2, size=n).astype(float), rows, cols, J, vartype=SPIN)
        energy, found = ground_states(ham)
        e = ham.energies(states)
        assert energy == pytest.approx(float(e.min()))
        expected = np.sort(bits_to_basis_index(spin_to_binary(states[e <= e.min() + 1e-9])))
        np.testing.assert_array_equal(found, expected)
    empty = Hamiltonian.from_ising([], {}, offset=3.0)
    assert ground_states(empty)[0] == 3.0


def test_refusals() -> None:
    with pytest.raises(PipelineError, match="unknown device 'dw2000q'; presets: advantage"):
        Precision(device="dw2000q")
    with pytest.raises(PipelineError, match=r"bits=1 must be in \[2, 52\]"):
        Precision(bits=1)
    with pytest.raises(PipelineError, match="h_range"):
        Precision(h_range=(1.0, 2.0))
    with pytest.raises(PipelineError, match="noise"):
        Precision(noise=1.5)
    # Only subnormal coefficients (room/|h| overflows): scaled by 2**1000, exactly (issue 15;
    # this used to be refused with "not a finite positive number").
    tiny = Pipeline.parse("precision").run(Hamiltonian.from_ising([1e-310]))
    assert tiny.records[0].details["alpha"] == 2.0**1000
    assert tiny.total_energy_bound == pytest.approx(1e-310)
    with pytest.raises(ValidationError, match="has no negative side"):
        Pipeline.parse("precision(h_range=[0, 1])").run(Hamiltonian.from_ising([-1.0]))
    big = Hamiltonian.from_ising(np.ones(30))
    with pytest.raises(LimitExceeded, match="set it to false"):
        Pipeline.parse("precision(check_ground_states=true)").run(big)
    res = Pipeline.parse("precision").run(big)  # auto: no enumeration above 20 variables
    assert res.records[0].details["ground_states"] == {"checked": False}


def test_dynamic_range_bits() -> None:
    assert dynamic_range_bits([], []) == 0.0
    assert dynamic_range_bits([0.0, 0.0], [0.0]) == 0.0
    assert dynamic_range_bits([1.0, -4.0], [0.5]) == pytest.approx(3.0)
