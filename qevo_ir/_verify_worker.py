"""Worker process of ``qevo verify``: reads one artifact with its vendor SDK and checks it.

Run as ``python -m qevo_ir._verify_worker`` with a JSON task on stdin; prints one JSON line.
The parent sets memory and time limits, so a vendor reader that blows up is contained here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def main() -> int:
    task = json.loads(sys.stdin.read())
    from qevo_ir.formats import read_hamiltonian
    from qevo_ir.plugins import get_backend
    from qevo_ir.verify import check_energy_lowering, check_exact_solution, check_qaoa_lowering

    ham = read_hamiltonian(task["ir"])
    backend = get_backend(task["backend"])
    rng = np.random.default_rng(20261123)
    try:
        native = backend.read_artifact(Path(task["artifact"]))  # type: ignore[attr-defined]
        if task["kind"] == "energies":
            ok, detail = check_energy_lowering(backend, native, ham, rng)
        elif task["kind"] == "exact":
            ok, detail = check_exact_solution(native, ham)
        else:
            opts = task.get("options", {})
            bound = None
            if opts.get("gammas"):
                bound = (list(opts["gammas"]), list(opts["betas"]))
            ok, detail = check_qaoa_lowering(
                backend, native, ham, rng, bound=bound, layers=int(opts.get("layers", 1))
            )
    except Exception as exc:  # any failure of a vendor reader is a verification failure
        ok, detail = False, f"cannot be read back: {type(exc).__name__}: {exc}"
    print(json.dumps({"ok": bool(ok), "detail": " ".join(str(detail).split())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
