"""GPTQ on a block's grid: equal to a plain transcription of the paper's Algorithm 1."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import numpy.typing as npt
import pytest

import qevo_ir
from qevo_ir.blocks import (
    METHODS,
    Conv2dRounding,
    FeatureSelect,
    LinearRounding,
    PruneMask,
    compare_methods,
    solve_block,
)
from qevo_ir.errors import CapabilityError, ValidationError

FloatArray = npt.NDArray[np.float64]


def reference_gptq(
    block: LinearRounding, damp: float, block_size: int, act_order: bool
) -> FloatArray:
    """The reference implementation's loop (IST-DASLab/gptq ``gptq.py``), in numpy."""
    g = block.grid
    w = block.weight.reshape(block.num_channels, -1).copy()
    h = np.array(block.gram)
    cols = w.shape[1]
    dead = np.diag(h) == 0
    h[dead, dead] = 1
    w[:, dead] = 0
    perm = np.argsort(-np.diag(h), kind="stable") if act_order else np.arange(cols)
    w, h = w[:, perm], h[perm][:, perm]
    h[np.diag_indices(cols)] += damp * np.mean(np.diag(h))
    hinv = np.linalg.inv(h)
    hinv = np.linalg.cholesky(hinv).T  # upper
    q_all = np.zeros_like(w)
    s, z = g.scale[:, None], g.zero_point[:, None]
    for i1 in range(0, cols, block_size):
        i2 = min(i1 + block_size, cols)
        w1 = w[:, i1:i2].copy()
        err1 = np.zeros_like(w1)
        h1 = hinv[i1:i2, i1:i2]
        for i in range(i2 - i1):
            col = w1[:, i : i + 1]
            q = s * (np.clip(np.floor(col / s + z + 0.5), g.qmin, g.qmax) - z)
            q_all[:, i1 + i] = q[:, 0]
            e = (col - q) / h1[i, i]
            w1[:, i:] -= e @ h1[i : i + 1, i:]
            err1[:, i] = e[:, 0]
        w[:, i2:] -= err1 @ hinv[i1:i2, i2:]
    out = np.empty_like(q_all)
    out[:, perm] = q_all
    return out


def _layer(seed: int, out: int = 6, d: int = 20, scheme: str = "symmetric") -> LinearRounding:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(80, d)) @ rng.normal(size=(d, d))
    x[:, 2] = 0.0  # a dead input
    return LinearRounding(rng.normal(size=(out, d)), x, 3, scheme=scheme)


@pytest.mark.parametrize("scheme", ["symmetric", "asymmetric"])
@pytest.mark.parametrize("act_order", [False, True])
def test_gptq_matches_the_reference_loop(scheme: str, act_order: bool) -> None:
    block = _layer(1, scheme=scheme)
    for block_size in (1, 7, 128):
        sol = solve_block(block, "gptq", act_order=act_order, block_size=block_size)
        ref = reference_gptq(block, 0.01, block_size, act_order)
        np.testing.assert_allclose(sol.weights, ref, rtol=0, atol=1e-12)
        assert sol.objective == pytest.approx(block.objective(ref))
    codes = block.codes(sol.weights)
    assert codes.min() >= block.grid.qmin
    assert codes.max() <= block.grid.qmax
    assert sol.info["gptq"]["dead_inputs"] == 1
    np.testing.assert_array_equal(sol.weights[:, 2], 0.0)  # dead input: weight 0, as the paper
    np.testing.assert_array_equal(sol.winner, "gptq")
    assert sol.bits.shape == block.free.shape


def test_gptq_beats_nearest_on_correlated_inputs_and_conv_works() -> None:
    block = _layer(2, out=8, d=24)
    assert solve_block(block, "gptq").objective < solve_block(block, "nearest").objective
    rng = np.random.default_rng(3)
    conv = Conv2dRounding(rng.normal(size=(4, 2, 3, 3)), rng.normal(size=(3, 2, 6, 6)), 3)
    sol = solve_block(conv, "gptq", act_order=True)
    assert sol.weights.shape == (4, 2, 3, 3)
    assert sol.objective == pytest.approx(conv.objective(sol.weights))
    np.testing.assert_allclose(
        sol.weights.reshape(4, -1), reference_gptq(conv, 0.01, 128, True), atol=1e-12
    )


def test_gptq_bad_input_is_typed() -> None:
    rng = np.random.default_rng(4)
    w = rng.normal(size=(3, 10))
    singular = LinearRounding(w, rng.normal(size=(4, 10)), 3)  # rank 4 < 10
    with pytest.raises(ValidationError, match="not positive definite"):
        solve_block(singular, "gptq", damp=0.0)
    assert np.isfinite(solve_block(singular, "gptq").objective)  # damping fixes it
    with pytest.raises(ValidationError, match="damp must be finite"):
        solve_block(singular, "gptq", damp=-1.0)
    with pytest.raises(ValidationError, match="act_order"):
        solve_block(singular, "gptq", act_order="yes")
    with pytest.raises(ValidationError, match="block_size"):
        solve_block(singular, "gptq", block_size=0)
    with pytest.raises(ValidationError, match="does not take option"):
        solve_block(singular, "gptq", init="nearest")  # gptq does not search
    bad = w.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValidationError, match="non-finite"):
        LinearRounding(bad, rng.normal(size=(20, 10)), 3)
    calib = rng.normal(size=(20, 10))
    calib[1, 1] = np.inf
    with pytest.raises(ValidationError, match="non-finite"):
        LinearRounding(w, calib, 3)
    with pytest.raises(ValidationError, match="shape"):
        LinearRounding(w, rng.normal(size=(20, 9)), 3)
    prune = PruneMask(w, rng.normal(size=(20, 10)), keep=4)
    for method in ("gptq", "gptq-block", "adaround"):
        with pytest.raises(CapabilityError, match="LinearRounding"):
            solve_block(prune, method)
    select = FeatureSelect(rng.normal(size=(30, 5)), rng.integers(0, 2, 30), k=2)
    with pytest.raises(CapabilityError):
        solve_block(select, "gptq")


def test_registry_and_top_level_export() -> None:
    for name in ("nearest", "greedy", "sa", "exact", "qaoa", "gptq", "adaround", "gptq-block"):
        assert name in METHODS
    assert qevo_ir.solve_block is solve_block


def test_compare_methods_with_the_new_methods() -> None:
    block = _layer(5, out=4, d=12)
    rows = compare_methods(
        block,
        ["gptq", "adaround", "gptq-block", "sa"],
        options={"sa": {"init": "gptq", "seed": 1, "num_reads": 4}, "adaround": {"iters": 100}},
        exact=False,
    )
    by = {r["method"]: r for r in rows}
    assert list(by) == ["nearest", "greedy", "gptq", "adaround", "gptq-block", "sa"]
    for r in rows:
        assert r["status"] == "ok"
        assert r["seconds"] >= 0
    assert by["sa"]["objective"] <= by["gptq"]["objective"] + 1e-12
    assert "init_wins" in by["sa"]
    rng = np.random.default_rng(6)
    prune = PruneMask(rng.normal(size=(2, 6)), rng.normal(size=(20, 6)), keep=2)
    rows = compare_methods(prune, ["gptq"], exact=False)
    assert rows[2]["status"].startswith("skipped: method 'gptq'")


def test_blocks_import_no_sdk() -> None:
    code = (
        "import sys, qevo_ir, qevo_ir.blocks; "
        "print(sorted(m for m in ('torch', 'dimod', 'qiskit', 'cirq') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert out == "[]"
