"""``qevo solve FILE --backend NAME``: best assignments and energies, beside the exact answer."""

from __future__ import annotations

import argparse
from typing import Any

from qevo_ir.cli.commands._common import add_input_options, json_label, read_input
from qevo_ir.cli.commands._execution import (
    add_execution_options,
    engine,
    output_phase,
    time_left,
)
from qevo_ir.cli.output import emit_json, number, table
from qevo_ir.errors import ValidationError


def add_parser(sub: Any) -> None:
    from qevo_ir.solver_catalogue import SOLVER_INFO

    p = sub.add_parser(
        "solve",
        help="solve or sample a Hamiltonian file",
        description=(
            "Solve a Hamiltonian with one backend and print the best assignments in the "
            "file's labels and vartype. Non-exact results are shown beside the exact ground "
            "energy when the problem has at most 20 variables.\n\nsolvers: "
            + ", ".join(SOLVER_INFO)
            + " (or any installed backend plugin name; case-insensitive). 'qevo backends' lists "
            "each solver's options for --option.\n\nJSON output (--json, -o): format "
            "'qevo-solve', version 1, schema in specs/cli.md; the best --show samples and the "
            "count of every energy seen, or every distinct sample with --all-samples."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE")
    add_input_options(p)
    p.add_argument("--backend", "-b", default="exact", help="solver (default: exact)")
    p.add_argument("--pipeline", default=None, help="passes to run first, e.g. 'fix(roof=true)'")
    p.add_argument("--num-reads", type=int, help="samples to draw (dimod samplers)")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--layers", type=int, help="QAOA depth p (QAOA solvers)")
    p.add_argument("--shots", type=int, help="QAOA shots")
    p.add_argument("--levels", type=int, default=1, help="exact: lowest K energy levels")
    p.add_argument("--max-states", type=int, help="exact: states kept per level")
    p.add_argument(
        "--maximize",
        action="store_true",
        help="maximise the file's energy (qbsolv -m); results are reported in that sense",
    )
    p.add_argument(
        "--repair", action="store_true", help="constrained sources: mend one-hot groups first"
    )
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a solver option, repeatable, e.g. --option num_sweeps=2000 --option "
        "beta_range=0.1,5 (checked against the solver's options: see 'qevo backends')",
    )
    p.add_argument(
        "--show",
        type=_count,
        default=5,
        help="best assignments to print or put in JSON (default 5; 0 for none)",
    )
    p.add_argument(
        "--all-samples",
        action="store_true",
        help="JSON: every distinct sample, not only the best --show",
    )
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.add_argument("-o", "--output", metavar="OUT", help="write the JSON result to OUT")
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    add_execution_options(p, "draw the reads (sa, steepest, tabu on large problems)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from qevo_ir.atomic import check_new
    from qevo_ir.compiler import (
        EXACT_BASELINE_MAX_VARIABLES,
        check_energy_bound,
        solve,
    )
    from qevo_ir.plugins import available_backends
    from qevo_ir.solver_catalogue import parse_option_values, resolve_solver

    if args.output:
        check_new(args.output, args.force)
    if args.maximize or is_constrained_file(args):
        return _run_constrained(args)
    name, plugin, _ = resolve_solver(args.backend, available_backends())
    extra = parse_option_values(name, args.option)
    ham = read_input(args)
    check_energy_bound(ham, args.file)
    opts: dict[str, Any] = {}
    if plugin == "exact":
        opts = {"num_levels": args.levels, "max_states": args.max_states}
    elif plugin == "dimod":
        opts = {"num_reads": args.num_reads, "seed": args.seed}
    else:
        opts = {"layers": args.layers, "shots": args.shots, "seed": args.seed}
    if plugin == "exact" and args.levels == 1 and "num_levels" in extra:
        del opts["num_levels"]  # the flag's default yields to an explicit --option
    for key, value in extra.items():
        if opts.get(key) is not None:
            flag = {"num_levels": "levels"}.get(key, key).replace("_", "-")
            raise ValidationError(f"--option {key}=... repeats a value given with --{flag}")
        opts[key] = value
    with engine(args) as (executor, workers):
        result = solve(
            ham,
            name,
            pipeline=args.pipeline,
            timeout=time_left(args),
            workers=workers,
            executor=executor,
            **opts,
        )
    output_phase(args)
    labels = [json_label(x) for x in ham.labels]
    out: dict[str, Any] = {
        "file": args.file,
        "backend": name,
        "num_variables": ham.num_variables,
        "vartype": ham.vartype.value,
        "labels": labels,
        "best_energy": result.best_energy if len(result) else None,
    }
    if plugin == "exact":
        ground = result.lowest(atol=_atol(ham))
        states = ground.samples if args.all_samples else ground.samples[: max(args.show, 0)]
        out.update(
            ground_energy=result.info["ground_energy"],
            degeneracy=result.info["degeneracy"],
            ground_states=[list(map(int, r)) for r in states],
            ground_states_truncated=bool(result.info["truncated"])
            or len(states) < len(ground.samples),
            levels=[{"energy": e, "count": c} for e, c in result.info["levels"]],
        )
    else:
        keep = len(result) if args.all_samples else max(args.show, 0)
        out["num_reads"] = int(result.num_occurrences.sum())
        out["num_distinct"] = len(result)
        out["energy_counts"] = _energy_counts(result)
        out["samples"] = [
            {"energy": float(e), "num_occurrences": int(c), "assignment": list(map(int, s))}
            for s, e, c in zip(
                result.samples[:keep], result.energies[:keep], result.num_occurrences[:keep],
                strict=True,
            )
        ]  # fmt: skip
        out["samples_truncated"] = keep < len(result)
        out["info"] = {k: v for k, v in result.info.items() if k != "progress"}
        if ham.num_variables <= EXACT_BASELINE_MAX_VARIABLES:
            exact = solve(ham, "exact")
            out["exact_ground_energy"] = exact.info["ground_energy"]
            out["gap_to_exact"] = out["best_energy"] - exact.info["ground_energy"]
    out["seconds"] = result.info.get("seconds_total")
    out.update(_certificate(result.info))
    if args.json or args.output:
        emit_json(out, args.output, force=args.force, kind="qevo-solve")
        if not args.json:
            print(f"wrote {args.output}")
        return 0
    _print_human(out, ham.labels, args.show)
    return 0


def _energy_counts(result: Any) -> list[dict[str, Any]]:
    """``[{"energy": e, "count": c}]``: how many reads landed on each distinct energy."""
    import numpy as np

    energies, inverse = np.unique(result.energies, return_inverse=True)
    counts = np.bincount(inverse.reshape(-1), weights=result.num_occurrences)
    return [{"energy": float(e), "count": int(c)} for e, c in zip(energies, counts, strict=True)]


def _certificate(info: dict[str, Any]) -> dict[str, Any]:
    """``lower_bound``, ``gap``, ``lower_bound_source`` for the output (JSON: non-finite → null)."""
    import math

    def finite(x: Any) -> float | None:
        return float(x) if x is not None and math.isfinite(float(x)) else None

    return {
        "lower_bound": finite(info.get("lower_bound")),
        "gap": finite(info.get("gap")),
        "lower_bound_source": info.get("lower_bound_source"),
    }


def _atol(ham: Any) -> float:
    import numpy as np

    return 1e-9 * max(1.0, float(np.abs(ham.linear).sum() + np.abs(ham.quad).sum()))


def _print_human(out: dict[str, Any], labels: Any, show: int) -> None:
    print(
        f"{out['file']}: {out['num_variables']} {out['vartype']} variables, "
        f"backend {out['backend']} ({out['seconds']:.3g} s)"
    )
    if "ground_energy" in out:
        print(f"ground energy  {number(out['ground_energy'])}")
        print(f"degeneracy     {out['degeneracy']}")
        states = out["ground_states"][:show]
        if len(out["levels"]) > 1:
            print(
                table(
                    [(i, lv["energy"], lv["count"]) for i, lv in enumerate(out["levels"])],
                    ["level", "energy", "count"],
                )
            )
    else:
        print(f"best energy    {number(out['best_energy'])}")
        info = out.get("info", {})
        if info.get("cut_short"):
            print(
                f"cut short      at the timeout: {info['reads_finished']} of "
                f"{info['reads_requested']} reads finished"
            )
        if "exact_ground_energy" in out:
            print(
                f"exact ground   {number(out['exact_ground_energy'])}  "
                f"(gap {number(out['gap_to_exact'])})"
            )
        states = [s["assignment"] for s in out["samples"][:show]]
    if out.get("lower_bound") is not None:
        print(
            f"lower bound    {number(out['lower_bound'])}  ({out['lower_bound_source']}; "
            f"gap {number(out['gap'])})"
        )
    else:
        print("lower bound    none known")
    names = [str(x) for x in labels]
    if states and len(names) <= 24:
        print(table([[*row] for row in states], names))
    elif states:
        print(f"({len(names)} variables: use --json to see the assignments)")


def is_constrained_file(args: argparse.Namespace) -> bool:
    """An OMMX (or QPLIB, read through OMMX) file: a constrained source."""
    suffix = str(args.file).lower().rsplit(".", 1)[-1]
    return args.in_format in ("ommx", "qplib") or (
        args.in_format is None and suffix in ("ommx", "qplib")
    )


def read_constrained(args: argparse.Namespace) -> Any:
    """The ConstrainedModel of an OMMX or QPLIB file (see :func:`is_constrained_file`)."""
    from qevo_ir.importers.ommx import read_ommx, read_qplib

    qplib = args.in_format == "qplib" or str(args.file).lower().endswith(".qplib")
    return read_qplib(args.file) if qplib else read_ommx(args.file)


def _run_constrained(args: argparse.Namespace) -> int:
    """An OMMX file, or a Hamiltonian to maximise: lowered by ``penalize | quadratize`` and
    reported with the truth (feasible count, best feasible objective in the source's sense)."""
    from qevo_ir.compiler import SOLVERS, solve
    from qevo_ir.constrained import ConstrainedModel

    if is_constrained_file(args):
        model = read_constrained(args)
        if args.maximize and model.sense != "max":
            raise ValidationError(f"{args.file}: the OMMX instance minimises; drop --maximize")
    else:
        model = ConstrainedModel.from_objective(read_input(args), "max")
    plugin = SOLVERS.get(args.backend, (args.backend, {}))[0]
    opts: dict[str, Any] = {}
    if plugin == "dimod":
        opts = {"num_reads": args.num_reads, "seed": args.seed}
    elif plugin != "exact":
        opts = {"layers": args.layers, "shots": args.shots, "seed": args.seed}
    with engine(args) as (executor, workers):
        result = solve(
            model,
            args.backend,
            pipeline=args.pipeline,
            repair=args.repair,
            timeout=time_left(args),
            workers=workers,
            executor=executor,
            **opts,
        )
    output_phase(args)
    info = result.info
    sample = info["best_feasible_sample"]
    out: dict[str, Any] = {
        "file": args.file,
        "backend": args.backend,
        "sense": model.sense,
        "num_variables": model.num_variables,
        "num_constraints": model.num_constraints,
        "pipeline": info["pipeline"],
        "num_samples": int(result.num_occurrences.sum()),
        "feasible_count": info["feasible_count"],
        "best_feasible_objective": info["best_feasible_objective"],
        # JSON object keys are strings: label 3 is "3", label ("x", 1) is '["x", 1]'
        "best_feasible_sample": None if sample is None else {_key(k): v for k, v in sample.items()},
        "seconds": info.get("seconds_total"),
    }
    if args.json or args.output:
        emit_json(out, args.output, force=args.force, kind="qevo-solve")
        if not args.json:
            print(f"wrote {args.output}")
        return 0
    print(
        f"{out['file']}: {out['num_variables']} variables, {out['num_constraints']} constraints, "
        f"{out['sense']}imise, backend {out['backend']}"
    )
    print(f"feasible       {out['feasible_count']} of {out['num_samples']} samples")
    print(f"best feasible  {out['best_feasible_objective']!r}")
    if sample is not None and len(sample) <= 24:
        print(table([list(sample.values())], [str(k) for k in sample]))
    return 0


def _key(label: object) -> str:
    import json

    return label if isinstance(label, str) else json.dumps(json_label(label))


def _count(text: str) -> int:
    """An argparse type: an integer ``>= 0``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value
