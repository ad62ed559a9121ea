"""Findings of the fresh hostile campaign of 2026-12-04 (469 CLI runs, 125 API calls): each one
now a typed error (API) or one line and exit 2 (CLI)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import qevo_ir as q
from qevo_ir.blocks import LinearRounding, solve_block
from qevo_ir.errors import PipelineError, QevoError, ValidationError
from qevo_ir.passes import Pipeline

_H = q.Hamiltonian.from_ising([1.0, -1.0], {(0, 1): 0.5})


def _block() -> LinearRounding:
    return LinearRounding(np.ones((2, 3)), np.random.default_rng(0).normal(size=(6, 3)), 3)


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda: q.solve(_H, None), "backend must be a name"),
        (lambda: q.solve(_H, 5), "backend must be a name"),
        (lambda: q.solve(_H, "exact", bogus=1), "exact has no option 'bogus'"),
        (lambda: q.solve(_H, "sa", workers=0), "workers must be a positive integer"),
        (lambda: q.solve(_H, "sa", workers=1.5), "workers must be a positive integer"),
        (lambda: q.solve(_H, "qaoa", shots=10**20), "shots must be an integer in"),
        (lambda: q.solve(_H, "sa", num_reads=10**12), "num_reads must be in"),
        (lambda: q.solve_many(None), "problems must be a list"),
        (lambda: q.read_hamiltonian(5), "a file path is a str"),
        (lambda: q.Hamiltonian([0.0, 0.0], offset=1j, vartype="SPIN"), "offset must be a real"),
        (lambda: q.Hamiltonian([0.0, 0.0], offset="1e3", vartype="SPIN"), "offset must be a real"),
        (lambda: solve_block(_block(), "qaoa", shots=0), "shots must be >= 1"),
        (lambda: solve_block(_block(), "qaoa", p=-1), "p must be >= 1"),
        (
            lambda: LinearRounding(np.ones((2, 3)), np.ones((4, 3)) * 1e200, 3),
            "calibration inputs are too large",
        ),
        (lambda: LinearRounding(np.ones((2, 3)) + 1j, np.ones((4, 3)), 3), "complex"),
    ],
)
def test_api_refusals_are_typed(call: Callable[[], Any], needle: str) -> None:
    with pytest.raises(QevoError, match=needle):
        call()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("scale(factor=\u0661)", "unexpected character"),  # an Arabic-Indic one read as 1
        ("gauge(seed=" + "9" * 200 + ")", r"must be in \[0, 2\*\*63\)"),
        ("embed(topology=chimera, m=4, timeout=1e18)", "timeout"),
    ],
)
def test_pipeline_refusals(text: str, needle: str) -> None:
    with pytest.raises(PipelineError, match=needle):
        Pipeline.parse(text)


def test_offset_accepts_numpy_scalars() -> None:
    for off in (np.float32(2.0), np.int64(3), np.array(1.5)):
        assert q.Hamiltonian([0.0], offset=off, vartype="SPIN").offset == float(off)
    with pytest.raises(ValidationError):
        q.Hamiltonian([0.0], offset=True, vartype="SPIN")
