"""``qevo solve FILE --backend NAME``: best assignments and energies, beside the exact answer."""

from __future__ import annotations

import argparse
from typing import Any

from qevo_ir.cli.commands._common import add_input_options, json_label, read_input
from qevo_ir.cli.output import emit_json, progress_bar, table


def add_parser(sub: Any) -> None:
    from qevo_ir.compiler import SOLVERS

    p = sub.add_parser(
        "solve",
        help="solve or sample a Hamiltonian file",
        description=(
            "Solve a Hamiltonian with one backend and print the best assignments in the "
            "file's labels and vartype. Non-exact results are shown beside the exact ground "
            "energy when the problem has at most 20 variables.\n\nsolvers: "
            + ", ".join(SOLVERS)
            + " (or any installed backend plugin name)"
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
    p.add_argument("--show", type=int, default=5, help="assignments to print (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.add_argument("-o", "--output", metavar="OUT", help="write the JSON result to OUT")
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from qevo_ir.atomic import check_new
    from qevo_ir.compiler import (
        EXACT_BASELINE_MAX_VARIABLES,
        SOLVERS,
        check_energy_bound,
        solve,
    )

    if args.output:
        check_new(args.output, args.force)
    ham = read_input(args)
    check_energy_bound(ham, args.file)
    plugin = SOLVERS.get(args.backend, (args.backend, {}))[0]
    opts: dict[str, Any] = {}
    if plugin == "exact":
        opts = {
            "num_levels": args.levels,
            "max_states": args.max_states,
            "progress": progress_bar("enumerating"),
        }
    elif plugin == "dimod":
        opts = {"num_reads": args.num_reads, "seed": args.seed}
    else:
        opts = {"layers": args.layers, "shots": args.shots, "seed": args.seed}
    result = solve(ham, args.backend, pipeline=args.pipeline, **opts)
    labels = [json_label(x) for x in ham.labels]
    out: dict[str, Any] = {
        "file": args.file,
        "backend": args.backend,
        "num_variables": ham.num_variables,
        "vartype": ham.vartype.value,
        "labels": labels,
        "best_energy": result.best_energy if len(result) else None,
    }
    if plugin == "exact":
        ground = result.lowest(atol=_atol(ham))
        out.update(
            ground_energy=result.info["ground_energy"],
            degeneracy=result.info["degeneracy"],
            ground_states=[list(map(int, r)) for r in ground.samples],
            ground_states_truncated=result.info["truncated"],
            levels=[{"energy": e, "count": c} for e, c in result.info["levels"]],
        )
    else:
        out["samples"] = [
            {"energy": float(e), "num_occurrences": int(c), "assignment": list(map(int, s))}
            for s, e, c in zip(
                result.samples[: max(args.show, 1) * 20],
                result.energies,
                result.num_occurrences,
                strict=False,
            )
        ]
        out["info"] = {k: v for k, v in result.info.items() if k != "progress"}
        if ham.num_variables <= EXACT_BASELINE_MAX_VARIABLES:
            exact = solve(ham, "exact")
            out["exact_ground_energy"] = exact.info["ground_energy"]
            out["gap_to_exact"] = out["best_energy"] - exact.info["ground_energy"]
    out["seconds"] = result.info.get("seconds_total")
    out.update(_certificate(result.info))
    if args.json or args.output:
        emit_json(out, args.output, force=args.force)
        if not args.json:
            print(f"wrote {args.output}")
        return 0
    _print_human(out, ham.labels, args.show)
    return 0


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
        print(f"ground energy  {out['ground_energy']!r}")
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
        print(f"best energy    {out['best_energy']!r}")
        if "exact_ground_energy" in out:
            print(f"exact ground   {out['exact_ground_energy']!r}  (gap {out['gap_to_exact']:.6g})")
        states = [s["assignment"] for s in out["samples"][:show]]
    if out.get("lower_bound") is not None:
        print(
            f"lower bound    {out['lower_bound']!r}  ({out['lower_bound_source']}; "
            f"gap {out['gap']:.6g})"
        )
    else:
        print("lower bound    none known")
    names = [str(x) for x in labels]
    if states and len(names) <= 24:
        print(table([[*row] for row in states], names))
    elif states:
        print(f"({len(names)} variables: use --json to see the assignments)")
