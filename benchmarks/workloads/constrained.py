"""Workload 7: constrained and higher-order models — ``penalize`` beside dimod's CQM → BQM, and
``quadratize`` beside ``dimod.make_quadratic``.

Penalize: an assignment-like problem, ``G`` one-hot groups of ``K`` binaries (100 × 100 = 10,000
variables in full mode) with random integer costs; both sides build the same penalized BQM (same
weight: the certified one; energies are checked equal). Quadratize: random cubic terms (10⁵ over
2,000 variables in full mode); the row reports both auxiliary counts. qiskit-optimization's
``QuadraticProgramToQubo`` runs only when it is installed.
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np
import scipy.sparse as sp

from benchmarks.harness import Context, Row, Target
from qevo_ir.constrained import ConstrainedModel
from qevo_ir.passes import Pipeline
from qevo_ir.passes.quadratize import quadratize
from qevo_ir.polynomial import PolynomialHamiltonian
from qevo_ir.variables import VariableTable

__all__ = ["run"]

W = "7. constrained"


def assignment_model(groups: int, size: int, rng: np.random.Generator) -> ConstrainedModel:
    """``groups`` one-hot groups of ``size`` binaries, random integer costs 1..99."""
    n = groups * size
    cost = rng.integers(1, 100, size=n).astype(np.float64)
    A = sp.csr_array(
        (np.ones(n), (np.repeat(np.arange(groups), size), np.arange(n))), shape=(groups, n)
    )
    return ConstrainedModel(
        variables=VariableTable.range(n),
        kinds=np.zeros(n, np.int8),
        lower=np.zeros(n),
        upper=np.ones(n),
        objective=(np.arange(n + 1), np.arange(n), cost),
        offset=0.0,
        A=A,
        rhs=np.ones(groups),
        senses=np.zeros(groups, np.int8),
        names=tuple(f"g{i}" for i in range(groups)),
        constraint_kinds=("one-hot",) * groups,
    )


def _penalize_row(ctx: Context) -> list[Row]:
    import dimod

    groups, size = ctx.pick((10, 10), (40, 50), (100, 100))
    model = assignment_model(groups, size, ctx.rng)
    pipe = Pipeline.parse("penalize | quadratize")
    result = pipe.run(model)
    weight = float(result.records[0].details["weight"])
    n = groups * size
    cost = model.objective[2]
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(dimod.BinaryQuadraticModel(cost, {}, 0.0, "BINARY"))
    for g in range(groups):
        cqm.add_constraint_from_iterable(
            [(g * size + k, 1.0) for k in range(size)], "==", 1.0, label=f"g{g}"
        )
    bqm, _ = dimod.cqm_to_bqm(cqm, lagrange_multiplier=weight)
    x = ctx.rng.integers(0, 2, size=(16, n)).astype(np.int8)
    mine = result.ir.energies(x)
    theirs = np.asarray(bqm.energies((x, range(n))))
    if not np.allclose(mine, theirs, rtol=1e-9, atol=1e-6 * float(np.abs(mine).max())):
        raise AssertionError("penalized energies differ from dimod's cqm_to_bqm")
    with ctx.section("penalize"):
        ours, peer = ctx.compare(
            lambda: pipe.run(model),
            lambda: dimod.cqm_to_bqm(cqm, lagrange_multiplier=weight),
            repeat=max(1, min(5, ctx.repeat)),
        )
    rows = [
        Row(
            W,
            f"{groups} one-hot groups of {size} ({n:,} variables, "
            f"{result.ir.num_interactions:,} couplings)",
            "penalize(weight=auto) | quadratize → Hamiltonian",
            ours,
            "dimod cqm_to_bqm (same weight)",
            peer,
            Target("speedup", 0.5, "within 2× of dimod (≥ 0.5×)"),
            metrics={"weight": weight},
        )
    ]
    if importlib.util.find_spec("qiskit_optimization") is None:
        ctx.log("qiskit-optimization is not installed: QuadraticProgramToQubo row skipped")
    else:
        rows.append(_qiskit_row(ctx))
    return rows


def _qiskit_row(ctx: Context) -> Row:
    from qiskit_optimization import QuadraticProgram
    from qiskit_optimization.converters import QuadraticProgramToQubo

    # a size QuadraticProgramToQubo finishes well within a minute
    groups, size = ctx.pick((10, 10), (20, 20), (40, 40))
    model = assignment_model(groups, size, ctx.rng)
    pipe = Pipeline.parse("penalize | quadratize")
    ours = ctx.time(lambda: pipe.run(model), repeat=max(1, min(5, ctx.repeat)))
    n = model.num_variables
    qp = QuadraticProgram()
    for i in range(n):
        qp.binary_var(f"x{i}")
    qp.minimize(linear=model.objective[2].tolist())
    A = model.constraint_matrix
    for g in range(model.num_constraints):
        cols = A.indices[A.indptr[g] : A.indptr[g + 1]]
        qp.linear_constraint({f"x{int(c)}": 1.0 for c in cols}, "==", 1.0, name=f"g{g}")
    with ctx.section("QuadraticProgramToQubo"):
        start = time.perf_counter()
        QuadraticProgramToQubo().convert(qp)
        peer = time.perf_counter() - start
    return Row(
        W,
        f"{groups} one-hot groups of {size} ({n:,} variables)",
        "penalize(weight=auto) | quadratize → Hamiltonian",
        ours,
        "qiskit-optimization QuadraticProgramToQubo",
        peer,
        Target("speedup", 50.0, "≥ 50×"),
    )


def _quadratize_row(ctx: Context) -> Row:
    import dimod

    n, t = ctx.pick((200, 2_000), (1_000, 20_000), (2_000, 100_000))
    a = ctx.rng.integers(0, n, size=(2 * t, 3))
    ok = (a[:, 0] != a[:, 1]) & (a[:, 0] != a[:, 2]) & (a[:, 1] != a[:, 2])
    idx = np.sort(a[ok][:t], axis=1)
    coef = ctx.rng.normal(size=t)
    poly = PolynomialHamiltonian(
        np.arange(t + 1) * 3, idx.reshape(-1), coef, num_variables=n, vartype="BINARY"
    )
    terms = {
        tuple(int(v) for v in row): float(c)
        for row, c in zip(poly.terms_of_degree(3)[0], poly.terms_of_degree(3)[1], strict=True)
    }
    with ctx.section("quadratize"):
        ours, peer = ctx.compare(
            lambda: quadratize(poly),
            lambda: dimod.make_quadratic(terms, 5.0, dimod.BINARY),
            repeat=1,
            warmup=0,
        )
    details = quadratize(poly).details
    ours_aux = int(details["auxiliary_variables"])
    theirs_aux = dimod.make_quadratic(terms, 5.0, dimod.BINARY).num_variables - n
    return Row(
        W,
        f"{len(terms):,} random cubic terms over {n:,} binaries",
        "quadratize (certified per-product strengths)",
        ours,
        "dimod.make_quadratic (strength 5)",
        peer,
        Target("speedup", 10.0, "≥ 10×"),
        metrics={
            "auxiliaries": ours_aux,
            "dimod_auxiliaries": theirs_aux,
            "no_more_than_dimod": details["no_more_than_dimod"],
        },
        note=(
            f"auxiliary variables: qevo_ir {ours_aux:,}, dimod {theirs_aux:,} "
            f"(bound: {details['no_more_than_dimod']})"
        ),
    )


def run(ctx: Context) -> list[Row]:
    return [*_penalize_row(ctx), _quadratize_row(ctx)]
