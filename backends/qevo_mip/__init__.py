"""The ``mip`` backend: a certified optimum (or best, bound and gap) from a MIP solver.

The Hamiltonian's exact BINARY form ``offset + Σ c_i x_i + Σ q_ij x_i x_j`` is linearised: one
continuous ``y_ij ∈ [0, 1]`` per coupling with only the side its sign needs (``q_ij < 0``:
``y ≤ x_i``, ``y ≤ x_j``; ``q_ij > 0``: ``y ≥ x_i + x_j − 1``), so at any integral ``x`` the
optimal ``y`` is ``x_i x_j``. The solver is SCIP (``pyscipopt``, extra ``mip``), chosen by
measurement against HiGHS and OR-Tools CP-SAT (``specs/backend_mip.md``). The answer comes back
in the IR's variables with its IR energy; ``info`` says whether it is proved optimal and carries
the solver's dual bound as ``lower_bound``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.backend import Capabilities
from qevo_ir.errors import BackendError, ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.plugins import require
from qevo_ir.results import SampleResult
from qevo_ir.vartypes import BINARY, SPIN, binary_to_spin, spin_to_binary

__all__ = ["DEFAULT_TIME_LIMIT", "MipBackend", "MipModel", "linearize"]

DEFAULT_TIME_LIMIT = 60.0
"""Seconds the solver may run when ``time_limit`` is not given."""

_OPTIONS = ("time_limit", "warm_start", "seed")

_FEASTOL = 1e-9
"""SCIP's feasibility tolerance here (its default is 1e-6): ``y`` may miss ``x_i x_j`` by this."""


def _integral(model: MipModel) -> bool:
    values = np.concatenate([model.c, model.q, [model.offset]])
    return bool(np.all(values == np.round(values)))


class MipModel:
    """The linearised model: ``min offset + c·x + q·y`` over binary ``x`` and ``y ∈ [0, 1]``.

    ``row``/``col``: the coupling ends of each ``y``; ``q`` its coefficient (never 0).
    """

    def __init__(
        self,
        c: npt.NDArray[np.float64],
        row: npt.NDArray[np.int64],
        col: npt.NDArray[np.int64],
        q: npt.NDArray[np.float64],
        offset: float,
    ) -> None:
        self.c = c
        self.row = row
        self.col = col
        self.q = q
        self.offset = offset

    @property
    def num_variables(self) -> int:
        return int(self.c.size)

    @property
    def num_constraints(self) -> int:
        return int(2 * np.count_nonzero(self.q < 0) + np.count_nonzero(self.q > 0))


def linearize(hamiltonian: Hamiltonian) -> MipModel:
    """The linearised MIP of ``hamiltonian``'s exact BINARY form (zero couplings dropped)."""
    b = hamiltonian.to_binary()
    keep = b.quad != 0.0
    return MipModel(
        np.asarray(b.linear, dtype=np.float64),
        b.row[keep].astype(np.int64),
        b.col[keep].astype(np.int64),
        b.quad[keep].astype(np.float64),
        float(b.offset),
    )


class MipBackend:
    """Backend plugin ``mip``: SCIP on the linearised BINARY form (extra ``mip``)."""

    name = "mip"
    capabilities = Capabilities(
        vartypes=frozenset({SPIN, BINARY}),
        max_variables=None,
        needs_embedding=False,
        samples=False,
        exact=False,
        artifacts=(),
        extra="mip",
        certified=True,
    )

    def lower(self, hamiltonian: Hamiltonian, **options: Any) -> MipModel:
        """The linearised model (the solver's own model is built by :meth:`solve`)."""
        if options:
            raise ValidationError(f"mip: lower takes no options, got {', '.join(options)}")
        return linearize(hamiltonian)

    def write(self, native: MipModel, directory: Path, **options: Any) -> list[Path]:
        """No artifact: the model is rebuilt from the IR (``capabilities.artifacts`` is empty)."""
        return []

    def solve(self, hamiltonian: Hamiltonian, **options: Any) -> SampleResult:
        """Minimise with SCIP within ``time_limit`` seconds (default 60).

        Options: ``time_limit`` (seconds, > 0), ``warm_start`` (one assignment in the IR's
        vartype, handed to the solver as a starting solution), ``seed`` (SCIP's random seed
        shift). ``info``: ``optimal`` (proved), ``status``, ``lower_bound`` (the solver's dual
        bound, ``-inf`` when none), ``lower_bound_source="mip"``, ``objective``, ``nodes``,
        ``seconds``.
        """
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise ValidationError(
                f"mip: unknown option(s) {', '.join(unknown)}; options: {', '.join(_OPTIONS)}"
            )
        time_limit = float(options.get("time_limit") or DEFAULT_TIME_LIMIT)
        if not (time_limit > 0 and math.isfinite(time_limit)):
            raise ValidationError(f"mip: time_limit must be a positive number, got {time_limit}")
        seed = options.get("seed")
        start = options.get("warm_start")
        model = linearize(hamiltonian)
        n = model.num_variables
        warm: npt.NDArray[np.int8] | None = None
        if start is not None:
            arr = np.asarray(start, dtype=np.int8).reshape(-1)
            if arr.size != n or not np.isin(arr, hamiltonian.vartype.values).all():
                raise ValidationError(
                    f"mip: warm_start must be {n} values in {hamiltonian.vartype.values}"
                )
            warm = spin_to_binary(arr) if hamiltonian.vartype is SPIN else arr
        t0 = time.perf_counter()
        if n == 0:
            x = np.zeros(0, dtype=np.int8)
            info: dict[str, Any] = {
                "status": "optimal",
                "optimal": True,
                "lower_bound": model.offset,
                "objective": model.offset,
                "nodes": 0,
            }
        else:
            x, info = _solve_scip(model, time_limit, seed, warm)
        info["seconds"] = time.perf_counter() - t0
        info["solver"] = "mip (SCIP)"
        info["lower_bound_source"] = "mip"
        info["time_limit"] = time_limit
        sample = binary_to_spin(x) if hamiltonian.vartype is SPIN else x
        return SampleResult.from_samples(hamiltonian, sample.reshape(1, -1), info=info)


def _solve_scip(
    model: MipModel, time_limit: float, seed: Any, warm: npt.NDArray[np.int8] | None
) -> tuple[npt.NDArray[np.int8], dict[str, Any]]:
    ps = require("pyscipopt", "mip")
    m = ps.Model()
    m.hideOutput()
    m.setParam("limits/time", time_limit)
    m.setParam("numerics/feastol", _FEASTOL)
    if seed is not None:
        m.setParam("randomization/randomseedshift", int(seed) % 2**31)
    n, k = model.num_variables, int(model.q.size)
    x = m.addMatrixVar(n, vtype="B", name="x")
    objective = ps.quicksum(float(v) * x[i] for i, v in enumerate(model.c.tolist()) if v)
    if k:
        y = m.addMatrixVar(k, vtype="C", lb=0.0, ub=1.0, name="y")
        neg = np.flatnonzero(model.q < 0)
        pos = np.flatnonzero(model.q > 0)
        if neg.size:
            m.addMatrixCons(y[neg] <= x[model.row[neg]])
            m.addMatrixCons(y[neg] <= x[model.col[neg]])
        if pos.size:
            m.addMatrixCons(y[pos] >= x[model.row[pos]] + x[model.col[pos]] - 1)
        objective = objective + ps.quicksum(float(v) * y[t] for t, v in enumerate(model.q.tolist()))
    m.setObjective(objective, "minimize")
    if warm is not None:
        sol = m.createSol()
        for i, v in enumerate(warm.tolist()):
            m.setSolVal(sol, x[i], float(v))
        if k:
            prod = (warm[model.row] * warm[model.col]).tolist()
            for t, v in enumerate(prod):
                m.setSolVal(sol, y[t], float(v))
        m.addSol(sol, free=True)
    m.optimize()
    status = str(m.getStatus())
    if m.getNSols() == 0:
        raise BackendError(
            f"mip: SCIP found no solution within {time_limit} s (status {status}); raise time_limit"
        )
    best = m.getBestSol()
    values = np.array([m.getSolVal(best, x[i]) for i in range(n)], dtype=np.float64)
    bits = (values > 0.5).astype(np.int8)
    dual = float(m.getDualbound())
    bound = -math.inf
    if math.isfinite(dual):
        # SCIP's bound holds up to its feasibility tolerance on the linearisation; lower it by
        # that much, and round it up for integral problems (their optimum is an integer).
        scale = max(1.0, float(np.abs(model.c).sum() + np.abs(model.q).sum()))
        bound = dual + model.offset - _FEASTOL * scale
        if _integral(model):
            bound = float(math.ceil(bound))
    info = {
        "status": status,
        "optimal": status == "optimal",
        "lower_bound": bound,
        "objective": float(m.getObjVal()) + model.offset,
        "nodes": int(m.getNNodes()),
    }
    return bits, info
