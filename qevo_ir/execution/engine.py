"""Run many independent tasks through one function, :func:`map_tasks`, whoever runs them.

Engines: in process (the default), a local process pool (``workers=N``), any
``concurrent.futures.Executor``, or a ``dask.distributed.Client`` taken as is. Every engine gives
the same results in input order: task ``i`` gets the seed ``derive_seed(seed, i)`` whatever runs
it. Shared data travels once per worker (pool initializer, Dask ``scatter(broadcast=True)``). A
task that raises becomes a :class:`TaskError` naming it; a local pool whose worker dies is
rebuilt and the unfinished tasks run again; a deadline kills the local workers (native code
cannot be interrupted otherwise). See ``specs/execution.md``.
"""

from __future__ import annotations

import contextlib
import numbers
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, as_completed, wait
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from qevo_ir.errors import DeadlineExceeded, TaskError, ValidationError
from qevo_ir.execution.progress import Progress, ProgressArg, progress_reporter
from qevo_ir.execution.seeds import check_seed, derive_seed

__all__ = [
    "DEFAULT_RETRIES",
    "TaskContext",
    "describe_executor",
    "is_dask_client",
    "kill_live_workers",
    "map_tasks",
]

T = TypeVar("T")
R = TypeVar("R")

#: How many times a lost task is run again (a rebuilt local pool, or Dask ``retries``).
DEFAULT_RETRIES = 2
#: Seconds between ``heartbeat`` calls while local workers run.
HEARTBEAT_S = 0.25
#: Name of the CLI's timeout watchdog thread (it never blocks a fork; see ``_fork_is_safe``).
WATCHDOG_THREAD = "qevo-timeout"
#: Modules the fork server imports once, so pool workers start without importing them again.
_PRELOAD = ["qevo_ir", "qevo_ir.compiler", "qevo_ir.execution.engine"]
#: Solver SDKs worth preloading in the fork server when this process has imported them.
_SDKS = ("dimod", "dwave.samplers", "qevo_dimod", "qevo_exact", "scipy.optimize")


@dataclass(frozen=True)
class TaskContext(Generic[T]):
    """What a task function gets besides its item: its index, its seed, the shared data.

    ``seed`` is ``derive_seed(batch_seed, index)``, or ``None`` when the batch has no seed.
    """

    index: int
    seed: int | None
    shared: T


# (status, value): ("ok", result) or ("err", (exception or None, type name, message, traceback))
_Outcome = tuple[str, Any]

_WORKER: dict[str, Any] = {}
#: Local pools running now, so a hard stop (``qevo --timeout``'s watchdog) can end them.
_LIVE_POOLS: set[ProcessPoolExecutor] = set()


def kill_live_workers() -> None:
    """Kill the worker processes of every local pool running in this process."""
    for pool in list(_LIVE_POOLS):
        _kill_workers(pool)


def _call(
    fn: Callable[[Any, TaskContext[Any]], Any], item: Any, index: int, seed: Any, shared: Any
) -> _Outcome:
    """Run one task; its exception comes back as data, so engines tell it from a lost worker."""
    try:
        return ("ok", fn(item, TaskContext(index, seed, shared)))
    except Exception as exc:
        return ("err", (_portable(exc), type(exc).__name__, str(exc), traceback.format_exc()))


def _init_worker(shared: Any) -> None:
    """Pool initializer: the shared data arrives once per worker process."""
    _WORKER["shared"] = shared


def _call_pooled(
    fn: Callable[[Any, TaskContext[Any]], Any], item: Any, index: int, seed: Any
) -> _Outcome:
    return _call(fn, item, index, seed, _WORKER.get("shared"))


def _call_dask(
    item: Any, index: int, seed: Any, *, fn: Callable[[Any, TaskContext[Any]], Any], shared: Any
) -> _Outcome:
    return _call(fn, item, index, seed, shared)


def _portable(exc: BaseException) -> BaseException | None:
    """``exc`` when it can cross a process boundary, else ``None`` (its text still does)."""
    from multiprocessing.reduction import ForkingPickler

    try:
        ForkingPickler.dumps(exc)
    except Exception:
        return None
    return exc


def is_dask_client(executor: object) -> bool:
    """Whether ``executor`` is a ``dask.distributed.Client`` (checked without importing Dask)."""
    cls = type(executor)
    return cls.__module__.split(".")[0] == "distributed" and hasattr(executor, "scatter")


def describe_executor(executor: object | None, workers: int | None) -> str:
    """A short name of the engine: ``in-process``, ``local pool (N workers)``, ``dask``, ..."""
    if executor is None:
        return "in-process" if workers is None else f"local pool ({workers} workers)"
    if is_dask_client(executor):
        return "dask"
    return type(executor).__name__


def map_tasks(
    fn: Callable[[T, TaskContext[Any]], R],
    tasks: Sequence[T],
    *,
    executor: Executor | Any | None = None,
    workers: int | None = None,
    shared: Any = None,
    seed: int | None = None,
    timeout: float | None = None,
    progress: ProgressArg = None,
    desc: str = "tasks",
    unit: str = "task",
    labels: Sequence[str] | None = None,
    retries: int = DEFAULT_RETRIES,
    heartbeat: Callable[[], None] | None = None,
) -> list[R]:
    """``[fn(task, ctx) for task in tasks]`` on the chosen engine; results in input order.

    Parameters
    ----------
    fn : callable
        ``fn(item, ctx)`` with ``ctx`` a :class:`TaskContext` (index, seed, shared). For any
        engine but in-process it must be importable by name (a module-level function).
    executor : Executor or dask.distributed.Client, optional
        Who runs the tasks; ``None`` with ``workers=None`` runs them here, one after another.
    workers : int, optional
        A local process pool of this many workers (fork server; ``spawn`` where there is none).
    shared : object, optional
        Read-only data every task needs (a Gram matrix, a target graph): sent once per worker.
    seed : int, optional
        Batch seed; task ``i`` gets ``derive_seed(seed, i)`` in ``ctx.seed``.
    timeout : float, optional
        Seconds for the whole batch. Local workers are killed at the deadline (an in-process
        batch then runs in one worker process, so native code can be stopped); Dask and other
        executors get their pending tasks cancelled. Raises :class:`DeadlineExceeded` holding
        the finished results in ``completed``.
    progress : bool or callable, optional
        ``None``: a bar on stderr when it is a terminal; or a ``(done, total)`` callback.
    labels : sequence of str, optional
        Names of the tasks for errors (``"channel 7"``); default ``"task i"``.
    retries : int
        Times a task lost with its worker is run again (local pool rebuilds; Dask ``retries``).
    heartbeat : callable, optional
        Called about every 0.25 s while local workers run (an elapsed-time bar over native
        code that holds the interpreter); not called in-process or on other executors.

    Raises
    ------
    TaskError
        A task raised (the error names it and keeps the original in ``error``), or a worker died
        more than ``retries`` times.
    DeadlineExceeded
        ``timeout`` passed before every task finished.
    """
    items = list(tasks)
    n = len(items)
    names = [f"task {i}" for i in range(n)] if labels is None else [str(x) for x in labels]
    if len(names) != n:
        raise ValidationError(f"labels: {len(names)} given for {n} tasks")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ValidationError(f"workers must be a positive integer, got {workers!r}")
    if executor is not None and workers is not None:
        raise ValidationError("give executor= or workers=, not both")
    if timeout is not None and not _positive_seconds(timeout):
        raise ValidationError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValidationError(f"retries must be a non-negative integer, got {retries!r}")
    seeds: list[int | None] = (
        [None] * n if seed is None else [derive_seed(check_seed(seed), i) for i in range(n)]
    )
    deadline = None if timeout is None else time.monotonic() + float(timeout)
    if n == 0:
        return []
    with progress_reporter(progress, n, desc, unit) as report:
        if executor is None and workers is None and deadline is None:
            return _run_here(fn, items, shared, seeds, names, report)
        if executor is None:
            outcomes = _run_pool(
                fn,
                items,
                shared,
                seeds,
                names,
                workers or 1,
                deadline,
                report,
                retries,
                quick_start=workers is None,
                heartbeat=heartbeat,
            )
        elif is_dask_client(executor):
            outcomes = _run_dask(
                executor, fn, items, shared, seeds, names, deadline, report, retries
            )
        else:
            outcomes = _run_executor(executor, fn, items, shared, seeds, names, deadline, report)
    return outcomes


def _positive_seconds(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return 0 < float(value) < float("inf")


def _run_here(
    fn: Callable[[Any, TaskContext[Any]], R],
    items: list[Any],
    shared: Any,
    seeds: list[int | None],
    names: list[str],
    report: Progress | None,
) -> list[R]:
    out: list[R] = []
    for i, item in enumerate(items):
        try:
            out.append(fn(item, TaskContext(i, seeds[i], shared)))
        except Exception as exc:
            raise TaskError(
                f"{names[i]} failed: {type(exc).__name__}: {exc}",
                index=i,
                label=names[i],
                error=exc,
            ) from exc
        if report is not None:
            report(i + 1, len(items))
    return out


def _unwrap(outcome: _Outcome, index: int, name: str) -> Any:
    status, value = outcome
    if status == "ok":
        return value
    error, tname, text, tb = value
    exc = TaskError(f"{name} failed: {tname}: {text}", index=index, label=name, error=error)
    exc.remote_traceback = tb  # type: ignore[attr-defined]
    raise exc


def _collect(results: dict[int, Any], n: int) -> list[Any]:
    return [results[i] for i in range(n)]


def _deadline_error(results: dict[int, Any], n: int, timeout_note: str = "") -> DeadlineExceeded:
    return DeadlineExceeded(
        f"the batch ran past its timeout: {len(results)} of {n} tasks finished{timeout_note}",
        completed=results,
    )


def _fork_is_safe() -> bool:
    """Fork only a process with one thread and no torch (whose OpenMP pool does not survive it)."""
    # ``qevo --timeout``'s watchdog only sleeps on an event: it holds no lock a child could need.
    others = [t for t in threading.enumerate() if t.name != WATCHDOG_THREAD]
    return sys.platform.startswith("linux") and len(others) == 1 and "torch" not in sys.modules


def _pool_context(quick_start: bool) -> Any:
    """The multiprocessing context of a local pool.

    A fork server (preloaded with qevo_ir) by default: safe beside threads, and each worker
    starts by forking an interpreter that has already imported the package. A lone deadline
    worker (``quick_start``) forks this process directly when that is safe, so a solve with a
    timeout starts at once and inherits the imported samplers.
    """
    import multiprocessing as mp

    if quick_start and _fork_is_safe():
        return mp.get_context("fork")
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        # The server starts once per process; it also preloads the solver SDKs this process
        # already uses, so every later pool's workers fork with them imported.
        ctx.set_forkserver_preload(_PRELOAD + [m for m in _SDKS if m in sys.modules])
        return ctx
    return mp.get_context("spawn")


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    # ProcessPoolExecutor has no public way to end running workers (3.14 adds one); its
    # process table is the only handle on them.
    processes = dict(getattr(pool, "_processes", None) or {})
    for proc in processes.values():
        with contextlib.suppress(Exception):
            proc.kill()
    for proc in processes.values():
        with contextlib.suppress(Exception):
            proc.join(5)


def _run_pool(
    fn: Callable[[Any, TaskContext[Any]], Any],
    items: list[Any],
    shared: Any,
    seeds: list[int | None],
    names: list[str],
    workers: int,
    deadline: float | None,
    report: Progress | None,
    retries: int,
    *,
    quick_start: bool,
    heartbeat: Callable[[], None] | None = None,
) -> list[Any]:
    n = len(items)
    results: dict[int, Any] = {}
    lost = 0
    while len(results) < n:
        pending = [i for i in range(n) if i not in results]
        pool = ProcessPoolExecutor(
            max_workers=min(workers, len(pending)),
            mp_context=_pool_context(quick_start),
            initializer=_init_worker,
            initargs=(shared,),
        )
        clean = False
        broken = False
        _LIVE_POOLS.add(pool)
        try:
            futures = {pool.submit(_call_pooled, fn, items[i], i, seeds[i]): i for i in pending}
            waiting: set[Future[Any]] = set(futures)
            while waiting and not broken:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise _deadline_error(results, n)
                step = left if heartbeat is None else min(HEARTBEAT_S, left or HEARTBEAT_S)
                done, waiting = wait(waiting, timeout=step, return_when=FIRST_COMPLETED)
                if not done and heartbeat is not None:
                    heartbeat()
                for fut in done:
                    i = futures[fut]
                    try:
                        outcome = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        break
                    results[i] = _unwrap(outcome, i, names[i])
                    if report is not None:
                        report(len(results), n)
            if broken:
                # Keep what finished before the pool broke; run the rest on a new pool.
                for fut, i in futures.items():
                    finished = i not in results and fut.done() and not fut.cancelled()
                    if finished and fut.exception() is None:
                        results[i] = _unwrap(fut.result(), i, names[i])
                lost += 1
                if lost > retries:
                    unfinished = [names[i] for i in range(n) if i not in results]
                    raise TaskError(
                        f"a worker process died {lost} times; tasks not finished: "
                        + ", ".join(unfinished[:10])
                        + (" ..." if len(unfinished) > 10 else "")
                    )
            else:
                clean = True
        finally:
            _LIVE_POOLS.discard(pool)
            if clean:
                pool.shutdown(wait=True)
            else:
                _kill_workers(pool)
                pool.shutdown(wait=False, cancel_futures=True)
    return _collect(results, n)


def _run_executor(
    executor: Executor,
    fn: Callable[[Any, TaskContext[Any]], Any],
    items: list[Any],
    shared: Any,
    seeds: list[int | None],
    names: list[str],
    deadline: float | None,
    report: Progress | None,
) -> list[Any]:
    n = len(items)
    results: dict[int, Any] = {}
    futures: dict[Future[Any], int] = {
        executor.submit(_call, fn, items[i], i, seeds[i], shared): i for i in range(n)
    }
    try:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        for fut in as_completed(futures, timeout=remaining):
            i = futures[fut]
            try:
                outcome = fut.result()
            except BrokenProcessPool as exc:
                raise TaskError(
                    f"{names[i]}: the executor's worker process died ({exc}); give workers=N "
                    "(a pool qevo_ir rebuilds) or a Dask client to rerun lost tasks",
                    index=i,
                    label=names[i],
                    error=exc,
                ) from exc
            results[i] = _unwrap(outcome, i, names[i])
            if report is not None:
                report(len(results), n)
    except TimeoutError:
        raise _deadline_error(results, n, "; pending tasks were cancelled") from None
    finally:
        for fut in futures:
            fut.cancel()
    return _collect(results, n)


def _run_dask(
    client: Any,
    fn: Callable[[Any, TaskContext[Any]], Any],
    items: list[Any],
    shared: Any,
    seeds: list[int | None],
    names: list[str],
    deadline: float | None,
    report: Progress | None,
    retries: int,
) -> list[Any]:
    import distributed

    n = len(items)
    token = uuid.uuid4().hex[:12]
    shared_ref = None
    if shared is not None:
        # One copy to every worker, once; tasks then refer to it by key.
        key = f"qevo-shared-{token}"
        shared_ref = client.scatter({key: shared}, broadcast=True)[key]
    futures = client.map(
        _call_dask,
        items,
        list(range(n)),
        seeds,
        fn=fn,
        shared=shared_ref,
        key=[f"qevo-{token}-{i}" for i in range(n)],
        pure=False,
        retries=retries,
    )
    index = {fut.key: i for i, fut in enumerate(futures)}
    results: dict[int, Any] = {}
    try:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            # Results are fetched as each task finishes: a worker lost later may take its copy
            # of a finished result with it, but not ours.
            done = distributed.as_completed(  # type: ignore[no-untyped-call]
                futures, with_results=True, raise_errors=False, timeout=remaining
            )
            for fut, value in done:
                i = index[fut.key]
                if i in results:
                    continue
                if isinstance(value, BaseException):
                    raise TaskError(
                        f"{names[i]}: lost on the cluster: {type(value).__name__}: {value}",
                        index=i,
                        label=names[i],
                        error=_portable(value),
                    )
                results[i] = _unwrap(value, i, names[i])
                if report is not None:
                    report(len(results), n)
        except TimeoutError:
            raise _deadline_error(
                results, n, "; pending tasks were cancelled (running ones finish on the workers)"
            ) from None
    finally:
        client.cancel([f for f in futures if not f.done()])
        if shared_ref is not None:
            client.cancel([shared_ref])
    return _collect(results, n)
