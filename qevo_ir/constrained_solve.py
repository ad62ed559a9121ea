"""Solving a constrained or polynomial source: lower it (``penalize | quadratize`` unless a
pipeline is given), solve the Hamiltonian, and decode with the truth.

For a :class:`ConstrainedModel` the result's ``info`` says, per sample row, the decoded values,
the objective in the source's sense, feasibility and each constraint's violation, plus
``feasible_count``, ``best_feasible_objective`` and ``best_feasible_sample`` (source labels →
values; ``None`` when no sample is feasible). ``repair=True`` first mends violated one-hot,
cardinality and at-most-k groups (see :func:`repair`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.constrained import ConstrainedModel, Evaluation
from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.passes.pipeline import Pipeline
from qevo_ir.polynomial import PolynomialHamiltonian
from qevo_ir.results import SampleResult

__all__ = ["default_pipeline", "repair", "solve_lowered", "summarize"]

_NAMED = ("one-hot", "cardinality", "at-most-k")


def default_pipeline(source: object, pipeline: str | Pipeline | None) -> Pipeline:
    """``pipeline`` (or the default lowering), ending at a Hamiltonian: ``quadratize`` is
    appended when it would end at a PolynomialHamiltonian."""
    if pipeline is None or (isinstance(pipeline, str) and not pipeline.strip()):
        text = "penalize | quadratize" if isinstance(source, ConstrainedModel) else "quadratize"
        return Pipeline.parse(text)
    pipe = pipeline if isinstance(pipeline, Pipeline) else Pipeline.parse(pipeline)
    if pipe.check(source) == "PolynomialHamiltonian":
        pipe = pipe + Pipeline.parse("quadratize")
    return pipe


def repair(model: ConstrainedModel, samples: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Samples with every violated one-hot / cardinality (``== k``) and at-most-k (``<= k``)
    group mended: the group keeps (or gains) the ones whose linear objective coefficient is best
    in the model's sense. Groups are mended in order; an overlap may break an earlier one, so
    evaluate the result again."""
    x = model.check_samples(samples).copy()
    p, idx, coef, _ = model.objective
    deg = np.diff(p)
    cost = np.zeros(model.num_variables)
    lin = deg == 1
    cost[idx[p[:-1][lin]]] = coef[lin]
    if model.sense == "max":
        cost = -cost
    A = model.constraint_matrix
    for k, kind in enumerate(model.constraint_kinds):
        if kind not in _NAMED:
            continue
        cols = A.indices[A.indptr[k] : A.indptr[k + 1]]
        target = int(np.rint(model.rhs[k]))
        sub = x[:, cols]
        on = sub.sum(axis=1)
        bad = on > target if kind == "at-most-k" else on != target
        if not bad.any() or not len(cols):
            continue
        rows = np.flatnonzero(bad)
        part = sub[rows]
        # ones already set first, each side cheapest first: the first `target` are kept or set
        rank = np.lexsort((np.broadcast_to(cost[cols], part.shape), -part), axis=-1)
        new = np.zeros_like(part)
        np.put_along_axis(new, rank[:, : max(target, 0)], 1, axis=1)
        x[np.ix_(rows, cols)] = new
    return x


def summarize(
    model: ConstrainedModel, ev: Evaluation, occurrences: npt.NDArray[np.int64]
) -> dict[str, Any]:
    """The contract keys of a constrained result (see the module doc)."""
    best = ev.best_feasible(model.sense)
    labels = model.labels
    return {
        "sense": model.sense,
        "feasible_count": int(occurrences[ev.feasible].sum()),
        "feasible_distinct": ev.feasible_count,
        "best_feasible_objective": None if best is None else float(ev.objective[best]),
        "best_feasible_sample": None
        if best is None
        else {labels[i]: int(v) for i, v in enumerate(ev.samples[best])},
        "constraint_names": list(model.constraint_names),
        "decoded_samples": ev.samples,
        "objective": ev.objective,
        "feasible": ev.feasible,
        "violations": ev.violations,
    }


def solve_lowered(
    source: ConstrainedModel | PolynomialHamiltonian,
    backend: str,
    pipeline: str | Pipeline | None,
    *,
    repair_samples: bool = False,
    **options: Any,
) -> SampleResult:
    """Lower ``source`` to a Hamiltonian, solve it, decode (see the module doc)."""
    from qevo_ir.compiler import solve

    pipe = default_pipeline(source, pipeline)
    compiled = pipe.run(source)
    ham = compiled.ir
    if not isinstance(ham, Hamiltonian):
        raise ValidationError(
            f"the pipeline {str(pipe)!r} ends at a {type(ham).__name__}; solving a constrained "
            "or polynomial source needs it to end at a Hamiltonian"
        )
    result = solve(ham, backend, **options)
    decoded = compiled.decode(result.to_vartype(ham.vartype))
    info = dict(result.info)
    info["pipeline"] = str(pipe)
    info["compile_passes"] = [r.to_dict() for r in compiled.records]
    if isinstance(source, PolynomialHamiltonian):
        return SampleResult.from_samples(
            source,  # type: ignore[arg-type]  # duck-typed: energies, variables, vartype
            decoded,
            vartype=source.vartype,
            num_occurrences=result.num_occurrences,
            info=info,
        )
    if repair_samples:
        decoded = repair(source, decoded)
        info["repaired"] = True
    ev = source.evaluate(decoded)
    info.update(summarize(source, ev, result.num_occurrences))
    return SampleResult(
        result.samples,
        result.energies,
        result.num_occurrences,
        result.variables,
        result.vartype,
        info,
    )
