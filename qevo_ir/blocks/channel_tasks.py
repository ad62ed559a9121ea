"""A block's methods on the execution layer: ``solve_block(..., executor=, workers=, timeout=)``.

The channels of a model block are independent problems. With an engine (an executor, a local
pool or a Dask client) or a deadline, ``sa``, ``tabu``, ``exact`` and ``qaoa`` solve each
channel as one task: the block travels once per worker, a task carries only its channel index,
and channel ``c``'s task is seeded ``derive_seed(seed, i)`` (``i`` its position among the
channels solved), so the answer is the same on 1, 2 or N workers and on Dask. The other methods
(nearest, greedy, gptq, adaround, gptq-block) are whole-layer numpy algorithms: they run as one
task, so a deadline can stop them and an executor can run them elsewhere. Contract:
``specs/blocks.md`` §10 and ``specs/execution.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.blocks.base import GramBlock
from qevo_ir.blocks.methods import EXACT_MAX_VARIABLES, QAOA_MAX_VARIABLES, Answer, get_method
from qevo_ir.blocks.methods.base import backend
from qevo_ir.blocks.methods.qaoa import qaoa_channel
from qevo_ir.errors import LimitExceeded
from qevo_ir.vartypes import BINARY

__all__ = ["PER_CHANNEL", "run_on_engine"]

PER_CHANNEL = ("sa", "tabu", "exact", "qaoa")
"""Methods whose channels run as separate tasks on an engine."""

_Shared = tuple[GramBlock, str, dict[str, Any]]


def _sampler_options(method: str, options: Mapping[str, Any], seed: int | None) -> dict[str, Any]:
    if method == "sa":
        out: dict[str, Any] = {
            "num_reads": options.get("num_reads", 32),
            "num_sweeps": options.get("num_sweeps", 1000),
        }
        keys: tuple[str, ...] = ("beta_range",)
    else:
        out = {"num_reads": options.get("num_reads", 4)}
        keys = ("timeout",)
    out.update({k: options[k] for k in keys if options.get(k) is not None})
    if seed is not None:
        out["seed"] = seed
    return out


def _channel_task(channel: int, ctx: Any) -> tuple[npt.NDArray[np.int8], dict[str, float]]:
    """One channel's bits (its free slots) and figures; module level so that it pickles."""
    block, method, options = ctx.shared
    if method == "qaoa":
        return qaoa_channel(block, channel, options, 0 if ctx.seed is None else ctx.seed)
    ham = block.hamiltonian(channel, penalty=options.get("penalty"), labelled=False)
    if method == "exact":
        limit = int(options.get("max_variables", EXACT_MAX_VARIABLES))
        res = backend("exact").solve(ham, max_states=1, max_variables=limit)
        return np.asarray(res.to_vartype(BINARY)[0], np.int8), {"ground_energy": res.energies[0]}
    res = backend("dimod").solve(ham, sampler=method, **_sampler_options(method, options, ctx.seed))
    best = int(np.argmin(res.energies))
    return np.asarray(res.to_vartype(BINARY)[best], np.int8), {"energy": res.energies[best]}


def _whole_task(_: int, ctx: Any) -> tuple[Answer, dict[str, Any]]:
    block, method, options = ctx.shared
    info: dict[str, Any] = {}
    start = options.pop("_start", None)
    return get_method(method).run(block, options, info, start), info


def _check_limit(block: GramBlock, method: str, options: Mapping[str, Any]) -> None:
    default = {"exact": EXACT_MAX_VARIABLES, "qaoa": QAOA_MAX_VARIABLES}.get(method)
    if default is None:
        return
    limit = int(options.get("max_variables", default))
    sizes = block.batch.num_free()
    if np.any(sizes > limit):
        c = int(np.argmax(sizes))
        raise LimitExceeded(
            f"{method}: channel {c} has {int(sizes[c])} variables, more than "
            f"max_variables={limit}; use method='greedy' or 'sa'"
        )


def run_on_engine(
    block: GramBlock,
    method: str,
    options: Mapping[str, Any],
    info: dict[str, Any],
    start: npt.NDArray[np.int8] | None,
    *,
    executor: Any = None,
    workers: int | None = None,
    timeout: float | None = None,
    progress: Any = None,
) -> Answer:
    """Run ``method`` on ``block`` through :func:`qevo_ir.execution.map_tasks`.

    A deadline with no engine named runs on one local worker process, which the deadline can
    end (native samplers cannot be interrupted in-process).
    """
    from qevo_ir.execution import fresh_seed, map_tasks

    if executor is None and workers is None:
        workers = 1
    opts = dict(options)
    if method not in PER_CHANNEL:
        if start is not None:
            opts["_start"] = start
        answer, extra = map_tasks(
            _whole_task,
            [0],
            executor=executor,
            workers=workers,
            shared=(block, method, opts),
            timeout=timeout,
            progress=progress,
            desc=f"block ({method})",
            labels=[f"method {method}"],
        )[0]
        info.update(extra)
        return answer
    _check_limit(block, method, opts)
    channels = np.flatnonzero(block.batch.num_free() > 0).tolist()
    seed = opts.pop("seed", None)
    if method != "exact" and seed is None:
        seed = fresh_seed()
    results = map_tasks(
        _channel_task,
        channels,
        executor=executor,
        workers=workers,
        shared=(block, method, opts),
        seed=seed,
        timeout=timeout,
        progress=progress,
        desc=f"channels ({method})",
        unit="channel",
        labels=[f"channel {c}" for c in channels],
    )
    bits = block.baseline_bits().copy()
    for c, (channel_bits, _) in zip(channels, results, strict=True):
        bits[c, np.flatnonzero(block.batch.free[c])] = channel_bits
    info["engine"] = {"per_channel_tasks": len(channels), "seed": seed}
    if method == "qaoa":
        info["qaoa"] = {
            "p": int(opts.get("p", 2)),
            "shots": int(opts.get("shots", 256)),
            "channels": [stats for _, stats in results],
        }
    return Answer(bits)
