"""``qevo backends``: installed backend plugins, what they accept, and whether their SDK loads."""

from __future__ import annotations

import argparse
from typing import Any

from qevo_ir.cli.output import emit_json, table


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "backends",
        help="list backend plugins and their capabilities",
        description="List the backends registered in the qevo_ir.backends "
        "entry-point group, their capabilities, and whether they load.",
    )
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from qevo_ir.errors import QevoError
    from qevo_ir.plugins import available_backends, get_backend

    rows: list[dict[str, Any]] = []
    for name in available_backends():
        try:
            caps = get_backend(name).capabilities.to_dict()
            rows.append({"name": name, "available": True, **caps})
        except QevoError as exc:
            rows.append({"name": name, "available": False, "error": str(exc)})
    if args.json:
        emit_json(rows)
        return 0
    print(
        table(
            [
                (
                    r["name"],
                    "yes" if r["available"] else "no",
                    r.get("max_variables"),
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
