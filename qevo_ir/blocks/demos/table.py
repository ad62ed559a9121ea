"""Quantize a demo model with every method at several bit widths, and tabulate it honestly.

Each (bits, method) pair is one :func:`~qevo_ir.blocks.quantize_model` run on the whole model,
sequential as GPTQ does, so every method's later layers see the inputs its own earlier layers
produce. A row holds each layer's objective ``‖X Wᵀ − X Ŵᵀ‖²_F / N``, their sum, the test
accuracy or perplexity of the rounded model, and the seconds spent in ``solve_block``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from qevo_ir.atomic import atomic_write_text
from qevo_ir.blocks.quantize_model import quantize_model
from qevo_ir.blocks.solve import METHODS
from qevo_ir.errors import ValidationError

__all__ = ["DEMO_MODELS", "QUBO_METHODS", "demo_methods", "run_model_demo"]

DEMO_MODELS = ("mlp", "cnn", "transformer")
QUBO_METHODS = ("sa", "exact", "qaoa", "gptq-block")
"""Methods that solve a QUBO (the rest are classical baselines)."""

_WANTED = ("nearest", "greedy", "gptq", "adaround", "sa", "gptq-block")


def demo_methods() -> tuple[list[str], dict[str, dict[str, Any]]]:
    """The table's methods that this build has, and their options: ``sa`` warm-started from
    GPTQ (8 reads of 200 sweeps), the block method with exact enumeration per block."""
    methods = [m for m in _WANTED if m in METHODS]
    options: dict[str, dict[str, Any]] = {}
    if "sa" in methods:
        options["sa"] = {"num_reads": 8, "num_sweeps": 200}
        if "gptq" in METHODS:
            options["sa"]["init"] = "gptq"
    if "gptq-block" in methods:
        options["gptq-block"] = {"inner": "exact"}
    return methods, options


def _load(name: str, seed: int) -> Any:
    from qevo_ir.blocks.demos import models

    loaders: dict[str, Callable[[int], Any]] = {
        "mlp": models.mlp_model,
        "cnn": models.cnn_model,
        "transformer": models.transformer_model,
    }
    if name not in loaders:
        raise ValidationError(f"unknown demo model {name!r}; choose from {', '.join(DEMO_MODELS)}")
    return loaders[name](seed)


def run_model_demo(
    name: str,
    bits: Sequence[int] = (2, 3, 4),
    methods: Sequence[str] | None = None,
    *,
    seed: int = 0,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    print_fn: Callable[[str], Any] = print,
    json_path: str | os.PathLike[str] | None = None,
) -> list[dict[str, Any]]:
    """Quantize demo model ``name`` (``"mlp"``, ``"cnn"`` or ``"transformer"``) and report.

    ``methods`` default to :func:`demo_methods` (the methods missing from this build are named
    in the output). One row per (bits, method): ``model``, ``bits``, ``method``,
    ``layer_objectives`` (name to objective), ``total_objective``, ``metric``
    (``"accuracy"`` or ``"perplexity"``), ``score``, ``float_score``, ``seconds`` (in
    ``solve_block``, summed over layers), ``wall_seconds`` (the whole ``quantize_model``,
    calibration passes included). ``json_path``: also write the rows there as JSON
    (atomically). Runs with one torch thread and one BLAS thread.
    """
    from qevo_ir.blocks.demos.models import single_threaded

    default_methods, default_options = demo_methods()
    chosen = list(methods) if methods is not None else default_methods
    opts = {**default_options, **{k: dict(v) for k, v in (options or {}).items()}}
    missing = [m for m in _WANTED if m not in METHODS]
    rows: list[dict[str, Any]] = []
    with single_threaded():
        demo = _load(name, seed)
        trained = f"trained in {demo.train_seconds:.1f} s" if demo.train_seconds else "cached"
        print_fn(f"{demo.description}; weights {trained}")
        print_fn(f"float model: test {demo.metric} {demo.float_score:.4f}")
        if methods is None and missing:
            print_fn(f"methods not in this build, left out: {', '.join(missing)}")
        for b in bits:
            for m in chosen:
                start = time.perf_counter()
                result = quantize_model(
                    demo.model,
                    demo.calibration,
                    b,
                    m,
                    seed=seed,
                    options={m: opts[m]} if m in opts else None,
                )
                wall = time.perf_counter() - start
                report = result.report
                layer_obj = {n: r.objectives[m] for n, r in report.items()}
                rows.append(
                    {
                        "model": name,
                        "bits": b,
                        "method": m,
                        "options": opts.get(m, {}),
                        "layer_objectives": layer_obj,
                        "total_objective": float(sum(layer_obj.values())),
                        "metric": demo.metric,
                        "score": demo.evaluate(result.model),
                        "float_score": demo.float_score,
                        "seconds": float(sum(r.seconds[m] for r in report.values())),
                        "wall_seconds": wall,
                        "skipped_layers": dict(report.skipped),
                    }
                )
    _print(rows, print_fn)
    for line in verdicts(rows):
        print_fn(line)
    if json_path is not None:
        atomic_write_text(json_path, json.dumps(rows, indent=1, default=str) + "\n")
    return rows


def _print(rows: list[dict[str, Any]], print_fn: Callable[[str], Any]) -> None:
    if not rows:
        return
    metric = rows[0]["metric"]
    names = list(rows[0]["layer_objectives"])
    print_fn("")
    print_fn(f"layers (in order): {', '.join(names)}")
    header = f"{'bits':>4}  {'method':<11}{'total obj.':>12}{metric:>12}{'solve s':>9}  per-layer"
    print_fn(header)
    print_fn("-" * (len(header) + 20))
    for r in rows:
        per = " ".join(f"{v:.3g}" for v in r["layer_objectives"].values())
        print_fn(
            f"{r['bits']:>4}  {r['method']:<11}{r['total_objective']:>12.4g}{r['score']:>12.4f}"
            f"{r['seconds']:>9.2f}  {per}"
        )
    print_fn("")


def verdicts(rows: list[dict[str, Any]]) -> list[str]:
    """One line per (bits, QUBO method): its objective and score against GPTQ (or, without
    GPTQ in the rows, greedy), layer by layer, and its time."""
    by: dict[int, dict[str, dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(r["bits"], {})[r["method"]] = r
    lines = []
    for b, group in by.items():
        ref_name = "gptq" if "gptq" in group else "greedy" if "greedy" in group else None
        if ref_name is None:
            continue
        ref = group[ref_name]
        for m, r in group.items():
            if m not in QUBO_METHODS:
                continue
            better = worse = 0
            for layer, obj in r["layer_objectives"].items():
                other = ref["layer_objectives"][layer]
                tol = 1e-9 * max(1.0, abs(other))
                better += obj < other - tol
                worse += obj > other + tol
            total = len(r["layer_objectives"])
            d = r["total_objective"] - ref["total_objective"]
            word = "lower" if d < 0 else "higher" if d > 0 else "equal"
            classical = [c for n, c in group.items() if n not in QUBO_METHODS]
            best = min(classical, key=lambda c: c["total_objective"])
            beats = r["total_objective"] < best["total_objective"]
            lines.append(
                f"{b}-bit {m} vs {ref_name}: total objective {r['total_objective']:.4g} vs "
                f"{ref['total_objective']:.4g} ({word}); lower on {better} of {total} layers, "
                f"higher on {worse}; {r['metric']} {r['score']:.4f} vs {ref['score']:.4f}; "
                f"{r['seconds']:.2f} s vs {ref['seconds']:.2f} s; best classical "
                f"{best['method']} {best['total_objective']:.4g}"
                f" ({'beaten' if beats else 'NOT beaten'})"
            )
    return lines
