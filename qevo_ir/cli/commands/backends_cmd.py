"""``qevo backends``: every solver name with its options and limits, then the backend plugins,
what they accept, and whether their SDK loads."""

from __future__ import annotations

import argparse
from typing import Any

from qevo_ir.cli.output import emit_json, table


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "backends",
        help="list solvers (options, limits) and backend plugins",
        description="List every solver name of 'qevo solve --backend' with the options "
        "'--option KEY=VALUE' accepts and its limits (the numpy QAOA fast path included), "
        "then the backends registered in the qevo_ir.backends entry-point group, their "
        "capabilities, and whether they load.",
    )
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(run=run)


def _limit(value: int | None) -> str:
    return "no limit" if value is None else str(value)


def run(args: argparse.Namespace) -> int:
    from qevo_ir.errors import QevoError
    from qevo_ir.plugins import available_backends, get_backend
    from qevo_ir.solver_catalogue import SOLVER_INFO, solver_info

    rows: list[dict[str, Any]] = []
    loads: dict[str, bool] = {"qaoa": True}  # the fast path is core code
    for name in available_backends():
        try:
            caps = get_backend(name).capabilities.to_dict()
            rows.append({"name": name, "available": True, **caps})
            loads[name] = True
        except QevoError as exc:
            rows.append({"name": name, "available": False, "error": str(exc)})
            loads[name] = False
    solvers = []
    for key in SOLVER_INFO:
        info = solver_info(key).to_dict()
        info["available"] = loads.get(info["plugin"], False)
        solvers.append(info)
    if args.json:
        emit_json({"solvers": solvers, "backends": rows}, kind="qevo-backends")
        return 0
    print("solvers (qevo solve --backend NAME [--option KEY=VALUE ...]):")
    for s in solvers:
        state = (
            ""
            if s["available"]
            else "  [not installed: pip install 'qevo-ir[" + str(s["extra"]) + "]']"
        )
        where = "core" if s["plugin"] == "qaoa" else f"{s['plugin']} plugin"
        print(f"\n  {s['name']}  ({where}){state}: {s['description']}")
        print(f"    limits:  {s['limits']}")
        opts = ", ".join(f"{k} ({v})" for k, v in s["options"].items()) or "none"
        print(f"    options: {opts}")
    print("\nbackend plugins:")
    print(
        table(
            [
                (
                    r["name"],
                    "yes" if r["available"] else "no",
                    _limit(r.get("max_variables")) if r["available"] else "-",
                    "yes" if r.get("samples") else "",
                    "yes" if r.get("exact") else "",
                    ", ".join(r.get("artifacts", [])),
                )
                for r in rows
            ],
            ["backend", "loads", "max vars", "samples", "exact", "artifacts"],
        )
    )
    for r in rows:
        if not r["available"]:
            print(f"{r['name']}: {r['error']}")
    return 0
