"""``qevo demo``: one small Hamiltonian through every backend, verified, results side by side;
then the model-block example (AdaRound-style rounding of a digits MLP) against its baselines.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any

from qevo_ir.cli.output import table


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="a tour: every backend on one problem, verified; then a model block",
        description="Build a small frustrated Ising problem, solve it with every installed "
        "backend beside the exact answer, compile it to every artifact and verify them; then "
        "quantise a small MLP trained on scikit-learn's digits, comparing QUBO rounding with "
        "round-to-nearest and greedy baselines. Fully local.",
    )
    p.add_argument("--quick", action="store_true", help="smaller model part (seconds)")
    p.add_argument("--no-model", action="store_true", help="skip the model-block part")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 7; 0 with --model)")
    p.add_argument(
        "--model",
        choices=("mlp", "cnn", "transformer"),
        help="instead of the tour: quantize this locally trained model (digits MLP, digits "
        "CNN, or a character transformer on stdlib source) at --bits with every rounding "
        "method; weights are cached under $QEVO_CACHE_DIR (default ~/.cache/qevo)",
    )
    p.add_argument(
        "--bits", default="2,3,4", help="with --model: comma-separated bit widths (default 2,3,4)"
    )
    p.add_argument("--json", metavar="PATH", help="with --model: also write the rows as JSON")
    p.add_argument("--force", action="store_true", help="overwrite the --json file")
    p.set_defaults(run=run)


def demo_hamiltonian(seed: int = 7) -> Any:
    """A 10-spin frustrated ring with next-nearest couplings and small fields, labelled."""
    import numpy as np

    from qevo_ir.hamiltonian import Hamiltonian

    rng = np.random.default_rng(seed)
    n = 10
    labels = [f"s{i}" for i in range(n)]
    h = {labels[i]: float(np.round(rng.uniform(-0.5, 0.5), 2)) for i in range(n)}
    J: dict[tuple[str, str], float] = {}
    for i in range(n):
        J[(labels[i], labels[(i + 1) % n])] = 1.0
        J[(labels[i], labels[(i + 2) % n])] = float(np.round(rng.uniform(-1, 1), 2))
    return Hamiltonian.from_ising(h, J)


def run_model(args: argparse.Namespace) -> int:
    """``qevo demo --model NAME``: the whole-model quantization table for one demo model."""
    from qevo_ir.atomic import check_new
    from qevo_ir.blocks.demos import run_model_demo
    from qevo_ir.errors import ValidationError

    try:
        bits = [int(b) for b in str(args.bits).split(",") if b.strip()]
    except ValueError:
        raise ValidationError(
            f"--bits: expected comma-separated integers, got {args.bits!r}"
        ) from None
    if not bits:
        raise ValidationError("--bits: give at least one bit width")
    seed = 0 if args.seed is None else args.seed
    if args.json:
        check_new(args.json, args.force)
    print(f"qevo demo --model {args.model}: quantize_model with every method at bits {bits}")
    run_model_demo(args.model, bits, seed=seed, json_path=args.json)
    return 0


def run(args: argparse.Namespace) -> int:
    if getattr(args, "model", None):
        return run_model(args)
    if args.seed is None:
        args.seed = 7
    from qevo_ir.compiler import compile as compile_ir
    from qevo_ir.compiler import solve
    from qevo_ir.errors import QevoError
    from qevo_ir.plugins import available_backends
    from qevo_ir.verify import verify_directory

    ham = demo_hamiltonian(args.seed)
    print("qevo demo — part 1: one Hamiltonian, every backend")
    print(
        f"  a frustrated 10-spin ring: {ham.num_variables} variables, "
        f"{ham.num_interactions} couplings, SPIN, labels s0..s9\n"
    )
    exact = solve(ham, "exact")
    ground = exact.info["ground_energy"]
    rows: list[tuple[Any, ...]] = [
        (
            "exact",
            "exhaustive enumeration",
            ground,
            0.0,
            "1 (exact)",
            f"{exact.info['seconds_total'] * 1e3:.1f} ms",
        )
    ]
    installed = set(available_backends())
    runs: list[tuple[str, str | None, str, dict[str, Any]]] = [
        ("sa", "dimod", "simulated annealing (dwave-samplers)", {"num_reads": 100}),
        ("steepest", "dimod", "steepest descent (dwave-samplers)", {"num_reads": 100}),
        ("qaoa", None, "QAOA p=2, numpy fast path", {"layers": 2, "shots": 1000}),
        ("qaoa-qiskit", "qiskit", "QAOA p=2, Qiskit circuit", {"layers": 2, "shots": 1000}),
        ("qaoa-cirq", "cirq", "QAOA p=2, Cirq circuit", {"layers": 2, "shots": 1000}),
    ]
    for name, plugin, what, opts in runs:
        if plugin is not None and plugin not in installed:
            rows.append((name, what, "-", "-", "-", "not installed"))
            continue
        try:
            start = time.perf_counter()
            res = solve(ham, name, seed=args.seed, **opts)
            secs = time.perf_counter() - start
        except QevoError as exc:
            rows.append((name, what, "-", "-", "-", f"unavailable: {exc}"))
            continue
        hits = res.num_occurrences[res.energies <= ground + 1e-9].sum()
        share = f"{hits / res.num_occurrences.sum():.3f}"
        rows.append(
            (name, what, res.best_energy, res.best_energy - ground, share, f"{secs * 1e3:.1f} ms")
        )
    print(table(rows, ["solver", "method", "best energy", "gap", "P(ground)", "time"]))
    print(
        "\n  The exact answer is the reference; no solver above is faster than enumeration at "
        "this size.\n  QAOA's P(ground) is the share of shots landing on a ground state."
    )

    print("\npart 2: compile to every artifact, then verify each against the IR")
    with tempfile.TemporaryDirectory(prefix="qevo-demo-") as out:
        compiled = compile_ir(ham, "gauge(seed=3) | scale", "all", layers=2)
        paths = compiled.write(out)
        print(f"  pipeline: {compiled.report['pipeline']}; targets: {', '.join(compiled.natives)}")
        for name, why in compiled.skipped.items():
            print(f"  skipped {name}: {why}")
        print(f"  wrote {', '.join(p.name for p in paths)}")
        results = verify_directory(out)
        semantic = [r for r in results if r.check != "sha256"]
        for r in semantic:
            print(f"  {'ok  ' if r.ok else 'FAIL'} {r.artifact:<16} {r.detail}")
        if not all(r.ok for r in results):
            print("  verification FAILED")
            return 1
    if args.no_model:
        return 0
    print("\npart 3: a model block — rounding an MLP's weights (Nagel et al. 2020, AdaRound)")
    try:
        from qevo_ir.blocks.digits_demo import run_digits_demo
    except ImportError as exc:
        print(f"  skipped: {exc}")
        return 0
    try:
        run_digits_demo(print_fn=print, quick=args.quick)
    except QevoError as exc:  # e.g. scikit-learn missing: the rest of the tour still stands
        print(f"  skipped: {exc}")
    return 0
