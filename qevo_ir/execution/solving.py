"""Solves through the execution layer: one solve (reads in chunks, a deadline that stops native
samplers) and :func:`solve_many` (many problems, results in input order)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

from qevo_ir.errors import DeadlineExceeded, QevoError, TaskError, ValidationError
from qevo_ir.execution.engine import TaskContext, map_tasks
from qevo_ir.execution.progress import ProgressArg, progress_enabled, progress_reporter
from qevo_ir.execution.reads import merge_results, plan_reads
from qevo_ir.execution.seeds import check_seed, fresh_seed
from qevo_ir.results import SampleResult

__all__ = ["run_backend", "solve_channels", "solve_many"]

# (plugin name, IR, backend options, whether the backend should draw its own progress)
_Job = tuple[str, Any, dict[str, Any], bool]


def _direct(
    plugin: str, ir: Any, options: Mapping[str, Any], progress: ProgressArg
) -> SampleResult:
    """One backend call, here (the body every engine runs); ``progress`` as in the API, but
    ``None`` means none (the caller has decided)."""
    from qevo_ir.backend import check_capabilities
    from qevo_ir.compiler import _solve_fast_qaoa
    from qevo_ir.plugins import get_backend

    opts = dict(options)
    if plugin == "qaoa":
        with progress_reporter(progress or False, 1, "QAOA angles", "restart") as cb:
            return _solve_fast_qaoa(ir, progress=cb, **opts)
    be = get_backend(plugin)
    if plugin != "dimod":
        check_capabilities(be, ir)
    if plugin == "exact" and progress and "progress" not in opts:
        with progress_reporter(progress, 1, "enumerating", "state") as cb:
            return be.solve(ir, progress=cb, **opts)
    return be.solve(ir, **opts)


def _whole_task(_item: None, ctx: TaskContext[_Job]) -> SampleResult:
    plugin, ir, options, progress = ctx.shared
    return _direct(plugin, ir, options, progress)


def _chunk_task(reads: int, ctx: TaskContext[_Job]) -> SampleResult:
    plugin, ir, options, _ = ctx.shared
    return _direct(plugin, ir, {**options, "num_reads": reads, "seed": ctx.seed}, False)


def _reraise(exc: TaskError) -> None:
    """A single solve raises what the backend raised (a typed QevoError), not a TaskError."""
    if isinstance(exc.error, QevoError):
        raise exc.error from None
    raise exc


def run_backend(
    plugin: str,
    ir: Any,
    options: Mapping[str, Any],
    *,
    label: str,
    timeout: float | None = None,
    workers: int | None = None,
    executor: Executor | Any | None = None,
    progress: ProgressArg = None,
) -> SampleResult:
    """Run one solve of ``ir`` on ``plugin``: reads in chunks where the sampler allows, on the
    given engine, stopped at ``timeout`` (keeping finished chunks, marked ``cut_short``)."""
    opts = {k: v for k, v in options.items() if v is not None}
    sampler = str(opts.get("sampler", "")) if plugin == "dimod" else ""
    plan = plan_reads(sampler, ir, opts) if sampler else None
    draw = progress_enabled(progress) and not callable(progress)
    if plan is None:
        if timeout is None and executor is None:
            return _direct(plugin, ir, opts, progress if callable(progress) else draw)
        try:
            [result] = map_tasks(
                _whole_task,
                [None],
                executor=executor,
                workers=workers if executor is None else None,
                shared=(plugin, ir, opts, draw),
                timeout=timeout,
                progress=False,
                labels=[label],
            )
        except TaskError as exc:
            _reraise(exc)
            raise
        except DeadlineExceeded:
            raise DeadlineExceeded(
                f"{label} ran past its timeout of {timeout:g} s and was stopped; nothing finished "
                "(give more time, or a sampler whose reads can be cut short: sa, steepest, tabu)"
            ) from None
        return result
    seed = check_seed(opts["seed"]) if "seed" in opts else fresh_seed()
    base = {k: v for k, v in opts.items() if k not in ("num_reads", "seed")}
    total = sum(plan)
    parts: list[SampleResult]
    cut_short = False
    layout: list[int] = plan
    with progress_reporter(progress, total, f"{sampler} reads", "read") as report:

        def on_chunk(done: int, _n: int) -> None:
            if report is not None:  # chunks finish about in order: count the first ``done``
                report(sum(layout[:done]), total)

        try:
            parts = map_tasks(
                _chunk_task,
                plan,
                executor=executor,
                workers=workers if executor is None else None,
                shared=(plugin, ir, base, False),
                seed=seed,
                timeout=timeout,
                progress=on_chunk if report is not None else False,
                labels=[f"{label}, reads chunk {k}" for k in range(len(plan))],
            )
        except TaskError as exc:
            _reraise(exc)
            raise
        except DeadlineExceeded as exc:
            finished = sorted(exc.completed)
            if not finished:
                raise DeadlineExceeded(
                    f"{label} ran past its timeout of {timeout:g} s and was stopped before its "
                    f"first reads finished ({total} reads asked)"
                ) from None
            parts = [exc.completed[k] for k in finished]  # type: ignore[misc]
            plan = [plan[k] for k in finished]
            cut_short = True
    info = dict(parts[0].info)
    reads_done = sum(plan)
    info["num_reads"] = int(sum(int(p.num_occurrences.sum()) for p in parts))
    info["options"] = {**dict(info.get("options", {})), "num_reads": total, "seed": seed}
    info["read_chunks"] = {"count": len(parts), "reads": list(plan)}
    info["timing"] = {
        "total_s": float(sum(p.info.get("timing", {}).get("total_s", 0.0) for p in parts))
    }
    if cut_short:
        info["cut_short"] = True
        info["reads_requested"] = total
        info["reads_finished"] = reads_done
    return merge_results(parts, info)


def _check_backend(backend: str) -> bool:
    """Load ``backend``'s plugin here, so an unknown name fails before any worker starts (and
    the fork server preloads it); whether it takes a seed (``exact`` does not)."""
    from qevo_ir.compiler import SOLVERS
    from qevo_ir.plugins import get_backend

    plugin = SOLVERS.get(backend, (backend, {}))[0]
    if plugin != "qaoa":
        get_backend(plugin)
    return plugin != "exact"


def _solve_task(item: Any, ctx: TaskContext[tuple[str, Any, dict[str, Any]]]) -> SampleResult:
    from qevo_ir.compiler import solve

    backend, pipeline, options = ctx.shared
    opts = dict(options)
    if ctx.seed is not None:
        opts["seed"] = ctx.seed
    return solve(item, backend, pipeline=pipeline, progress=False, **opts)


def solve_many(
    problems: Sequence[Any],
    backend: str = "exact",
    *,
    executor: Executor | Any | None = None,
    workers: int | None = None,
    seed: int | None = None,
    timeout: float | None = None,
    progress: ProgressArg = None,
    pipeline: Any = None,
    labels: Sequence[str] | None = None,
    **options: Any,
) -> list[SampleResult]:
    """Solve every problem with ``backend``; one :class:`SampleResult` per problem, in order.

    ``problems``: Hamiltonians or file paths (a path is read by the worker that solves it).
    ``backend`` and ``options``: as :func:`qevo_ir.solve`. ``seed``: problem ``i`` is solved
    with ``derive_seed(seed, i)`` (not for ``exact``, which takes none), so the results are the
    same on any engine. ``executor``: any ``concurrent.futures.Executor`` or a
    ``dask.distributed.Client``; ``workers=N``: a local process pool. ``timeout``: seconds for
    the whole batch (:class:`~qevo_ir.errors.DeadlineExceeded` carries the finished results in
    ``completed``). A problem that fails raises :class:`~qevo_ir.errors.TaskError` naming it.
    """
    if isinstance(problems, str | bytes) or not isinstance(problems, Iterable):
        raise ValidationError(
            f"problems must be a list of Hamiltonians or file paths, got {type(problems).__name__}"
        )
    items = list(problems)
    if labels is None:
        labels = [
            f"problem {i} ({os.fspath(p)})" if isinstance(p, str | os.PathLike) else f"problem {i}"
            for i, p in enumerate(items)
        ]
    takes_seed = _check_backend(backend)
    return map_tasks(
        _solve_task,
        items,
        executor=executor,
        workers=workers,
        shared=(backend, pipeline, {k: v for k, v in options.items() if v is not None}),
        seed=(seed if seed is not None else fresh_seed()) if takes_seed else None,
        timeout=timeout,
        progress=progress,
        desc=f"solving ({backend})",
        unit="problem",
        labels=labels,
    )


def _channel_task(channel: int, ctx: TaskContext[tuple[Any, str, dict[str, Any]]]) -> SampleResult:
    from qevo_ir.compiler import solve

    block, backend, options = ctx.shared
    opts = dict(options)
    if ctx.seed is not None:
        opts["seed"] = ctx.seed
    return solve(block.hamiltonian(channel), backend, progress=False, **opts)


def solve_channels(
    block: Any,
    backend: str = "sa",
    *,
    channels: Sequence[int] | None = None,
    executor: Executor | Any | None = None,
    workers: int | None = None,
    seed: int | None = None,
    timeout: float | None = None,
    progress: ProgressArg = None,
    **options: Any,
) -> list[SampleResult]:
    """Solve each channel's Hamiltonian of a model block (``block.hamiltonian(c)``), one result
    per channel in order. The block travels once per worker (its Gram matrix is the large
    part); each task carries only its channel index. Channel ``c`` at position ``i`` is seeded
    ``derive_seed(seed, i)``; errors name the channel."""
    chosen = list(range(int(block.num_channels))) if channels is None else list(channels)
    takes_seed = _check_backend(backend)
    return map_tasks(
        _channel_task,
        chosen,
        executor=executor,
        workers=workers,
        shared=(block, backend, {k: v for k, v in options.items() if v is not None}),
        seed=(seed if seed is not None else fresh_seed()) if takes_seed else None,
        timeout=timeout,
        progress=progress,
        desc=f"channels ({backend})",
        unit="channel",
        labels=[f"channel {c}" for c in chosen],
    )
