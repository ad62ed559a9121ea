"""gptq-block: the block energies add up to the layer objective; inner solvers; limits."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qevo_ir import BINARY, Capabilities, Hamiltonian, SampleResult
from qevo_ir.blocks import Conv2dRounding, LinearRounding, solve_block
from qevo_ir.errors import LimitExceeded, ValidationError
from qevo_ir.plugins import register_backend, unregister_backend


@st.composite
def layers(draw: st.DrawFn) -> LinearRounding:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    out, d = draw(st.integers(1, 4)), draw(st.integers(1, 10))
    x = rng.normal(size=(d + draw(st.integers(1, 12)), d))  # more rows than inputs: G regular
    if draw(st.booleans()):
        x = x @ rng.normal(size=(d, d))
    scheme = draw(st.sampled_from(["symmetric", "asymmetric"]))
    return LinearRounding(rng.normal(size=(out, d)), x, draw(st.integers(2, 4)), scheme=scheme)


@settings(max_examples=25, deadline=None)
@given(layers(), st.integers(1, 5), st.booleans())
def test_block_energies_sum_to_the_objective(
    block: LinearRounding, block_size: int, act_order: bool
) -> None:
    sol = solve_block(
        block, "gptq-block", inner="exact", block_size=block_size, damp=0.0, act_order=act_order
    )
    energies = sol.info["gptq_block"]["block_energies"]
    assert energies.shape[1] == -(-block.weight.shape[1] // block_size)
    per_channel = block.channel_objectives(sol.weights)
    tol = 1e-9 * (1.0 + np.abs(per_channel))
    assert np.all(np.abs(energies.sum(axis=1) - per_channel) <= tol)
    assert sol.objective == pytest.approx(float(per_channel.sum()), rel=1e-9, abs=1e-12)
    codes = block.codes(sol.weights)  # on the grid, in range
    assert codes.min() >= block.grid.qmin
    assert codes.max() <= block.grid.qmax


def test_block_of_one_column_is_gptq_and_damping_adds_its_term() -> None:
    rng = np.random.default_rng(7)
    block = LinearRounding(rng.normal(size=(4, 9)), rng.normal(size=(40, 9)), 3)
    one = solve_block(block, "gptq-block", inner="exact", block_size=1, damp=0.0)
    gptq = solve_block(block, "gptq", damp=0.0)
    # one column at a time, the QUBO picks the nearer of floor/ceil: GPTQ's own rounding
    np.testing.assert_allclose(one.weights, gptq.weights, atol=1e-12)
    damped = solve_block(block, "gptq-block", inner="exact", block_size=3, damp=0.1)
    lam = damped.info["gptq_block"]["damping"]
    extra = lam * np.sum((block.weight - damped.weights) ** 2, axis=1)
    np.testing.assert_allclose(
        damped.info["gptq_block"]["block_energies"].sum(axis=1),
        block.channel_objectives(damped.weights) + extra,
        rtol=1e-9,
    )


@pytest.mark.parametrize("inner", ["sa", "tabu", "qaoa"])
def test_inner_solvers_through_the_compiler(inner: str) -> None:
    rng = np.random.default_rng(8)
    x = rng.normal(size=(60, 9)) @ rng.normal(size=(9, 9))
    block = LinearRounding(rng.normal(size=(2, 9)), x, 3)
    # qaoa: fixed angles (the route is under test here, not the angle optimiser)
    fixed = {"shots": 64, "gammas": [0.4], "betas": [0.3]}
    options = {"inner_options": fixed} if inner == "qaoa" else {}
    sol = solve_block(block, "gptq-block", inner=inner, block_size=3, seed=3, damp=0.0, **options)
    assert sol.info["gptq_block"]["inner"] == inner
    assert sol.objective == pytest.approx(block.objective(sol.weights))
    # the identity holds for whatever bits the inner solver returns
    np.testing.assert_allclose(
        sol.info["gptq_block"]["block_energies"].sum(axis=1),
        block.channel_objectives(sol.weights),
        rtol=1e-9,
    )
    again = solve_block(block, "gptq-block", inner=inner, block_size=3, seed=3, damp=0.0, **options)
    np.testing.assert_array_equal(sol.weights, again.weights)  # seeded: reproducible


def test_limits_and_bad_options() -> None:
    rng = np.random.default_rng(9)
    block = LinearRounding(rng.normal(size=(2, 30)), rng.normal(size=(50, 30)), 3)
    with pytest.raises(LimitExceeded, match="block_size=25"):
        solve_block(block, "gptq-block", inner="exact", block_size=25)
    with pytest.raises(LimitExceeded, match="block_size=17"):
        solve_block(block, "gptq-block", inner="qaoa", block_size=17)
    with pytest.raises(ValidationError, match="inner"):
        solve_block(block, "gptq-block", inner=3)
    with pytest.raises(ValidationError, match="inner_options"):
        solve_block(block, "gptq-block", inner_options=[1])
    singular = LinearRounding(rng.normal(size=(2, 8)), rng.normal(size=(3, 8)), 3)
    with pytest.raises(ValidationError, match="not positive definite"):
        solve_block(singular, "gptq-block", damp=0.0, block_size=4)


def test_conv_block_through_gptq_block_and_adaround() -> None:
    rng = np.random.default_rng(10)
    conv = Conv2dRounding(rng.normal(size=(3, 2, 2, 2)) / 3, rng.normal(size=(4, 2, 5, 5)), 3)
    for method, options in (
        ("gptq-block", {"block_size": 4, "damp": 0.0}),
        ("adaround", {"iters": 200}),
    ):
        sol = solve_block(conv, method, **options)
        assert sol.weights.shape == (3, 2, 2, 2)
        assert sol.objective == pytest.approx(conv.objective(sol.weights))
    np.testing.assert_allclose(sol.weights, conv.decode_bits(sol.bits))  # floor/ceil only
    blk = solve_block(conv, "gptq-block", block_size=4, damp=0.0)
    np.testing.assert_allclose(
        blk.info["gptq_block"]["block_energies"].sum(axis=1),
        conv.channel_objectives(blk.weights),
        rtol=1e-9,
    )


class _BruteForce:
    """A loopback backend plugin: enumerates every BINARY assignment (at most 12 variables)."""

    name = "blocks-brute"
    capabilities = Capabilities(max_variables=12, exact=True)

    def lower(self, hamiltonian: Hamiltonian, **options: Any) -> Hamiltonian:
        return hamiltonian

    def write(self, native: Any, directory: Any, **options: Any) -> list[Any]:
        return []

    def solve(self, hamiltonian: Hamiltonian, **options: Any) -> SampleResult:
        binary = hamiltonian.to_binary()
        n = binary.num_variables
        states = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
        best = states[int(np.argmin(binary.energies(states)))]
        return SampleResult.from_samples(binary, best[None, :], vartype=BINARY)


def test_any_plugin_backend_as_inner() -> None:
    rng = np.random.default_rng(13)
    x = rng.normal(size=(50, 10)) @ rng.normal(size=(10, 10))
    block = LinearRounding(rng.normal(size=(3, 10)), x, 3)
    register_backend("blocks-brute", _BruteForce)
    try:
        plugin = solve_block(block, "gptq-block", inner="blocks-brute", block_size=5)
    finally:
        unregister_backend("blocks-brute")
    exact = solve_block(block, "gptq-block", inner="exact", block_size=5)
    np.testing.assert_allclose(plugin.weights, exact.weights)  # both solve each block exactly
