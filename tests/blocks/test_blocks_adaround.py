"""AdaRound: the relaxation's gradient, determinism, and decoding to floor/ceil bits."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from qevo_ir.blocks import LinearRounding, solve_block
from qevo_ir.blocks.methods.adaround import relaxed_loss
from qevo_ir.errors import BackendUnavailable, ValidationError


def _layer(seed: int) -> LinearRounding:
    rng = np.random.default_rng(seed)
    d = 16
    x = rng.normal(size=(64, d)) @ (np.eye(d) + 0.3 * rng.normal(size=(d, d)) / np.sqrt(d))
    return LinearRounding(rng.normal(size=(6, d)) / np.sqrt(d), x, 3)


@pytest.mark.parametrize("beta", [None, 2.0, 7.5])
def test_gradient_matches_finite_differences(beta: float | None) -> None:
    rng = np.random.default_rng(0)
    d = 5
    a = rng.normal(size=(d, d))
    gram = a @ a.T
    residual = rng.normal(size=(3, d))
    u = np.full((3, d), 0.7)
    free = np.ones((3, d), dtype=bool)
    free[0, 1] = False
    u[0, 1] = 0.0
    v = rng.uniform(-1.5, 1.5, size=(3, d))  # inside the unclipped range of h
    _, _, grad = relaxed_loss(v, gram, residual, u, free, 0.3, beta)
    eps = 1e-6
    for idx in np.ndindex(v.shape):
        hi, lo = v.copy(), v.copy()
        hi[idx] += eps
        lo[idx] -= eps
        f_hi = sum(relaxed_loss(hi, gram, residual, u, free, 0.3, beta)[:2])
        f_lo = sum(relaxed_loss(lo, gram, residual, u, free, 0.3, beta)[:2])
        want = 0.0 if not free[idx] else (f_hi - f_lo) / (2 * eps)
        assert grad[idx] == pytest.approx(want, rel=1e-5, abs=1e-6)


def test_adaround_decodes_to_bits_deterministically() -> None:
    block = _layer(1)
    sol = solve_block(block, "adaround", iters=1000, seed=4)
    again = solve_block(block, "adaround", iters=1000, seed=5)
    np.testing.assert_array_equal(sol.bits, again.bits)  # the numpy path draws no randomness
    np.testing.assert_allclose(sol.weights, block.decode_bits(sol.bits))  # floor/ceil only
    assert sol.objective == pytest.approx(block.objective(sol.weights))
    record = sol.info["adaround"]
    assert record["mean_distance_to_binary"] < 0.05  # the annealed regulariser binarised h
    assert record["seed"] == 4
    assert sol.objective <= solve_block(block, "nearest").objective


def test_adaround_bad_options() -> None:
    block = _layer(2)
    with pytest.raises(ValidationError, match="warmup"):
        solve_block(block, "adaround", warmup=1.0)
    with pytest.raises(ValidationError, match="beta"):
        solve_block(block, "adaround", beta=(20, 0.5))
    with pytest.raises(ValidationError, match="iters"):
        solve_block(block, "adaround", iters=0)
    with pytest.raises(ValidationError, match="lr"):
        solve_block(block, "adaround", lr=float("nan"))


def test_torch_engine_agrees_with_numpy() -> None:
    block = _layer(3)
    ours = solve_block(block, "adaround", iters=400)
    torch_sol = solve_block(block, "adaround", iters=400, engine="torch")
    np.testing.assert_array_equal(ours.bits, torch_sol.bits)
    assert torch_sol.info["adaround"]["engine"] == "torch"
    assert torch_sol.info["adaround"]["relaxed_objective"] == pytest.approx(
        ours.info["adaround"]["relaxed_objective"], rel=1e-3
    )  # Adam divides by sqrt(v): rounding noise in near-zero gradients grows, bits agree
    with pytest.raises(ValidationError, match="engine"):
        solve_block(block, "adaround", engine="jax")


def test_torch_engine_without_torch_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes "import torch" fail
    with pytest.raises(BackendUnavailable, match=r"qevo-ir\[torch\]"):
        solve_block(_layer(4), "adaround", iters=5, engine="torch")
