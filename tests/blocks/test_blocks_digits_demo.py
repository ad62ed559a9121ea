"""The digits demo (quick mode): it runs, and its baselines are ordered as promised."""

from __future__ import annotations

import pytest

from qevo_ir.blocks.digits_demo import run_digits_demo


def test_quick_demo_rows_and_ordering() -> None:
    pytest.importorskip("sklearn")
    lines: list[str] = []
    # QAOA is covered in test_blocks_solve; here it would only add minutes of statevector work
    rows = run_digits_demo(print_fn=lines.append, quick=True, include_qaoa=False)
    assert any("test acc" in line for line in lines)
    groups: dict[tuple[str, int], dict[str, dict[str, object]]] = {}
    for r in rows:
        groups.setdefault((r["model"], r["bits"]), {})[r["method"]] = r
    assert ("mlp-64-32-10", 2) in groups
    assert ("tiny-16-10", 2) in groups
    for by in groups.values():
        near, greedy = by["nearest"]["total_error"], by["greedy"]["total_error"]
        assert greedy <= near + 1e-9  # type: ignore[operator]
        # SA starts from GPTQ on the same (float) calibration: never worse, layer by layer
        for sa_err, gptq_err in zip(
            by["sa"]["layer_errors"],  # type: ignore[call-overload]
            by["gptq"]["layer_errors"],  # type: ignore[call-overload]
            strict=True,
        ):
            assert sa_err <= gptq_err * (1 + 1e-12) + 1e-12
        if "exact" in by:
            assert by["exact"]["total_error"] <= greedy + 1e-9  # type: ignore[operator]
        for r in by.values():
            assert 0.0 <= r["test_accuracy"] <= 1.0  # type: ignore[operator]
    assert rows[0]["float_accuracy"] > 0.9
    # every solver verdict names the strongest classical baseline of the run
    verdicts = [line for line in lines if " sa: error " in line]
    assert verdicts
    assert all("best classical (" in line for line in verdicts)
