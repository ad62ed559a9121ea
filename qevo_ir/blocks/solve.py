"""Solve a model block with a solver or a classical baseline, and compare them honestly.

``solve_block`` runs one registered method (:mod:`qevo_ir.blocks.methods`: round-to-nearest,
greedy descent, simulated annealing or tabu through the dimod backend, exact enumeration, simulated
QAOA, GPTQ, AdaRound, and ``gptq-block``), applies a warm start, repairs and re-scores the
result; ``compare_methods`` puts every solver beside the nearest and greedy baselines (and the
exact optimum when it is cheap), because a QUBO solver is only worth using where it beats them
(Nagel et al. 2020 found D-Wave's qbsolv did worse than round-to-nearest).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.blocks.base import GramBlock
from qevo_ir.blocks.methods import (
    EXACT_MAX_VARIABLES,
    METHODS,
    QAOA_MAX_VARIABLES,
    Answer,
    get_method,
)
from qevo_ir.errors import (
    BackendError,
    BackendUnavailable,
    CapabilityError,
    LimitExceeded,
    ValidationError,
)

__all__ = [
    "EXACT_MAX_VARIABLES",
    "METHODS",
    "QAOA_MAX_VARIABLES",
    "BlockSolution",
    "compare_methods",
    "solve_block",
]


@dataclass(frozen=True, eq=False)
class BlockSolution:
    """One method's answer for a block.

    ``weights``: the decoded parameters (shaped like the block's parameters: rounded weights,
    pruned weights, or a boolean feature selection); ``objective``: the block's objective at
    them, recomputed from the parameters; ``seconds``: wall time of the whole method (warm
    start, lowering, solving, decoding); ``bits``: the per-channel slot bits ``(C, m)`` (for
    weights that are not all a floor or a ceil of the float weight, as GPTQ's may be, their
    projection: ``x = 1`` where the level is above the floor; ``weights`` is authoritative);
    ``info``: details (feasibility repairs, sampler options, per-channel QAOA figures,
    ``channel_objectives``); ``winner``: per channel, the name of what was kept: the method's
    own answer (``method``) or, with ``init=``, the init where it was strictly better
    (``init_name``; also in ``info["winner"]``).
    """

    weights: npt.NDArray[Any]
    objective: float
    seconds: float
    method: str
    info: dict[str, Any] = field(default_factory=dict)
    bits: npt.NDArray[np.int8] = field(default_factory=lambda: np.zeros((0, 0), np.int8))
    winner: npt.NDArray[np.str_] = field(default_factory=lambda: np.zeros(0, dtype="<U1"))

    def apply_to(self, module: Any) -> Any:
        """Write these weights into a ``torch.nn.Linear`` / ``Conv2d`` in place; returns it.

        See :func:`qevo_ir.blocks.torch_adapters.apply_solution` (shape and dtype checks).
        """
        from qevo_ir.blocks.torch_adapters import apply_solution

        return apply_solution(self, module)


@dataclass(frozen=True, eq=False)
class _Start:
    """A resolved warm start: its name, bits, parameters and per-channel objectives."""

    name: str
    bits: npt.NDArray[np.int8]
    weights: npt.NDArray[Any]
    objectives: npt.NDArray[np.float64]


def _channel_objectives(block: GramBlock, weights: npt.NDArray[Any], bits: Any) -> Any:
    """Per-channel objective, from the parameters where the block can (rounding blocks)."""
    per_channel = getattr(block, "channel_objectives", None)
    if per_channel is not None:
        return np.asarray(per_channel(weights), dtype=np.float64)
    return block.bit_objectives(bits)


def _resolve_init(block: GramBlock, init: Any, method: str) -> _Start:
    if isinstance(init, str):
        if init == method:
            raise ValidationError(f"init={init!r} is the method itself; name another method")
        sol = solve_block(block, init)
        return _Start(init, sol.bits, sol.weights, sol.info["channel_objectives"])
    if isinstance(init, BlockSolution):
        if init.bits.shape != block.batch.free.shape:
            raise ValidationError(
                f"init is a solution of another block: bits {init.bits.shape}, "
                f"the block has {block.batch.free.shape}"
            )
        objectives = _channel_objectives(block, init.weights, init.bits)
        return _Start(init.method, init.bits, init.weights, objectives)
    arr = np.asarray(init)
    if arr.shape != block.batch.free.shape:
        raise ValidationError(
            f"init must be a method name, a BlockSolution or bits of shape "
            f"{block.batch.free.shape}, got {type(init).__name__} of shape {arr.shape}"
        )
    bits = block.repair(block.batch.check_bits(arr))
    weights = block.decode_bits(bits)
    return _Start("init", bits, weights, _channel_objectives(block, weights, bits))


def _mix(block: GramBlock, keep: npt.NDArray[np.bool_], mine: Any, theirs: Any) -> Any:
    """Parameters with channel ``c`` from ``theirs`` where ``keep[c]``, else from ``mine``."""
    if getattr(block, "channel_objectives", None) is not None:  # rows are the channels
        a = np.asarray(mine).reshape(block.num_channels, -1)
        b = np.asarray(theirs).reshape(block.num_channels, -1)
        return np.where(keep[:, None], b, a).reshape(block.param_shape)
    return None


def solve_block(
    block: GramBlock,
    method: str = "greedy",
    *,
    executor: Any = None,
    workers: int | None = None,
    timeout: float | None = None,
    progress: Any = None,
    **options: Any,
) -> BlockSolution:
    """Solve ``block`` with ``method``; the result is decoded, feasible and re-scored.

    Methods and options (:data:`METHODS`; ``specs/blocks.md`` §10 has the full table):

    - ``nearest``: the block's baseline (round-to-nearest; magnitude pruning; top-k MI).
    - ``greedy``: best-improvement one-flip descent from the baseline (or from ``init``) on all
      channels at once (``max_steps``); for a cardinality-constrained block, drop-add swap
      descent instead. Never worse than ``nearest``.
    - ``sa`` / ``tabu``: simulated annealing / tabu search (dwave-samplers via the ``dimod``
      backend) on the combined block-diagonal Hamiltonian; each channel takes its best read.
      Options ``num_reads`` (sa 32, tabu 4), ``num_sweeps`` (sa, 1000), ``seed``,
      ``beta_range`` (sa), ``timeout`` (tabu, ms), ``penalty``.
    - ``exact``: exhaustive enumeration (``exact`` backend) channel by channel; every channel
      must have at most ``max_variables`` (default 24) variables, else :class:`LimitExceeded`.
    - ``qaoa``: simulated QAOA per channel (``qevo_ir.qaoa``): angles optimised for depth ``p``
      (default 2) with ``restarts`` (2) and ``maxiter`` (100), then ``shots`` (256) samples; the
      best sample is kept. At most ``max_variables`` (16) per channel.
    - ``gptq``: GPTQ Algorithm 1 on the block's grid (rounding blocks): ``act_order`` (False),
      ``damp`` (0.01), ``block_size`` (128, lazy updates). Any grid level, clamped.
    - ``adaround``: AdaRound's relaxation (rounding blocks): ``iters`` (1000), ``lr`` (0.01),
      ``lam`` (0.01), ``warmup`` (0.2), ``beta`` ((20, 2)), ``seed`` (recorded; the numpy
      full-batch path draws no random numbers), ``engine`` (``"numpy"``, or ``"torch"``:
      autograd and ``torch.optim.Adam``, optional extra).
    - ``gptq-block``: GPTQ's order and compensation, each block of ``block_size`` (16) columns a
      per-channel QUBO solved by ``qevo_ir.solve`` with backend ``inner`` (``"exact"``, ``"sa"``,
      ``"tabu"``, ``"qaoa"`` or a plugin name; ``inner_options`` pass to it), plus ``act_order``,
      ``damp``, ``seed``.

    ``init=`` (every searching method: greedy, sa, tabu, exact, qaoa, adaround, gptq-block): a
    method name, a :class:`BlockSolution` or bits ``(C, m)``; the init runs first (inside
    ``seconds``), greedy descends from it, and each channel keeps the init's answer where it is
    strictly better than the method's: ``solution.winner`` says which, per channel.

    Constrained blocks: samples that break the cardinality are repaired greedily
    (``info["repaired_channels"]`` counts them).

    Execution (``specs/execution.md``): ``executor=`` (any ``concurrent.futures.Executor`` or a
    ``dask.distributed.Client``), ``workers=N`` (a local process pool) or ``timeout=`` (seconds;
    :class:`~qevo_ir.errors.DeadlineExceeded` when it passes) run the method on the execution
    layer: ``sa``, ``tabu``, ``exact`` and ``qaoa`` one task per channel (the block sent once
    per worker, channel tasks seeded from ``seed`` and their position, so 1, 2, N workers and
    Dask give the same answer; it differs from the in-process answer, which samples all
    channels as one problem), the other methods as one task. ``progress``: a bar on stderr
    (``None``: when stderr is a terminal).
    """
    spec = get_method(method)
    spec.check(options)
    if not isinstance(block, GramBlock):
        raise ValidationError(f"solve_block takes a model block, got {type(block).__name__}")
    start = time.perf_counter()
    info: dict[str, Any] = {"block": block.kind, "channels": block.num_channels}
    opts = {k: v for k, v in options.items() if k != "init"}
    prior = None if options.get("init") is None else _resolve_init(block, options["init"], method)
    start_bits = None if prior is None else prior.bits
    if executor is None and workers is None and timeout is None:
        answer: Answer = spec.run(block, opts, info, start_bits)
    else:
        from qevo_ir.blocks.channel_tasks import run_on_engine

        answer = run_on_engine(
            block,
            method,
            opts,
            info,
            start_bits,
            executor=executor,
            workers=workers,
            timeout=timeout,
            progress=progress,
        )
    bits = answer.bits
    if answer.weights is None and not block.feasible(bits):
        broken = block.cardinality.violation(bits) != 0 if block.cardinality is not None else 0
        info["repaired_channels"] = int(np.count_nonzero(broken))
        bits = block.repair(bits)
    else:
        info["repaired_channels"] = 0
    weights = block.decode_bits(bits) if answer.weights is None else answer.weights
    per_channel = _channel_objectives(block, weights, bits)
    winner = np.full(block.num_channels, method)
    if prior is not None:
        keep = prior.objectives < per_channel
        if np.any(keep):
            mixed = _mix(block, keep, weights, prior.weights)
            bits = np.where(keep[:, None], prior.bits, bits).astype(np.int8)
            weights = block.decode_bits(bits) if mixed is None else mixed
            per_channel = np.where(keep, prior.objectives, per_channel)
        winner = np.where(keep, prior.name, method)
        info["init"] = prior.name
        info["init_wins"] = int(np.count_nonzero(keep))
    info["winner"] = winner
    info["channel_objectives"] = per_channel
    # rounding blocks: the per-channel objectives of the parameters already sum to it
    rows = getattr(block, "channel_objectives", None) is not None
    objective = float(np.sum(per_channel)) if rows else block.objective(weights)
    seconds = time.perf_counter() - start
    return BlockSolution(
        weights, objective, seconds, method, info, np.asarray(bits, np.int8), winner
    )


def compare_methods(
    block: GramBlock,
    methods: Sequence[str] = ("nearest", "greedy", "sa"),
    *,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    exact: bool | None = None,
    executor: Any = None,
    workers: int | None = None,
    timeout: float | None = None,
    progress: Any = None,
) -> list[dict[str, Any]]:
    """Run several methods on ``block`` and tabulate them against the baselines.

    ``nearest`` and ``greedy`` are always run (first); ``exact`` is added when ``exact`` is
    true, or, when ``exact`` is ``None``, when every channel has at most 20 variables and the
    whole enumeration is at most ``2**26`` states. ``options`` maps a method to its options.
    Each row: ``method``, ``objective``, ``seconds``, ``rel_to_nearest``
    (``(objective - nearest) / nearest``: negative is better), ``gap_to_exact`` (when exact
    ran; then also ``channel_gaps``, per channel the objective minus the proved optimum of the
    floor/ceil problem, and ``channels_at_optimum``), ``status`` (``"ok"``, or
    ``"skipped: ..."`` when the method is over a size limit, its
    SDK is missing or it does not take this block, with ``objective`` ``None``), and
    ``init_wins`` for a method run with ``init``. Any of :data:`METHODS` can be asked for.
    ``executor``, ``workers``, ``timeout`` (per method) and ``progress`` pass to each
    :func:`solve_block`.
    """
    opts = dict(options or {})
    wanted = ["nearest", "greedy", *[m for m in methods if m not in ("nearest", "greedy")]]
    for m in wanted:
        get_method(m).check(opts.get(m, {}))
    sizes = block.batch.num_free()
    if exact is None:
        largest = int(sizes.max(initial=0))
        exact = largest <= 20 and float(np.sum(np.exp2(sizes.astype(np.float64)))) <= 2.0**26
    if exact and "exact" not in wanted:
        wanted.append("exact")
    rows: list[dict[str, Any]] = []
    per_channel: dict[str, npt.NDArray[np.float64]] = {}
    for m in dict.fromkeys(wanted):
        try:
            sol = solve_block(
                block,
                m,
                executor=executor,
                workers=workers,
                timeout=timeout,
                progress=progress,
                **opts.get(m, {}),
            )
        except (LimitExceeded, BackendUnavailable, BackendError, CapabilityError) as exc:
            rows.append(
                {"method": m, "objective": None, "seconds": None, "status": f"skipped: {exc}"}
            )
            continue
        per_channel[m] = np.asarray(sol.info["channel_objectives"], dtype=np.float64)
        rows.append(
            {
                "method": m,
                "objective": sol.objective,
                "seconds": sol.seconds,
                "status": "ok",
                "repaired_channels": sol.info.get("repaired_channels", 0),
                **({"init_wins": sol.info["init_wins"]} if "init_wins" in sol.info else {}),
            }
        )
    base = next(r["objective"] for r in rows if r["method"] == "nearest")
    best_exact = next(
        (r["objective"] for r in rows if r["method"] == "exact" and r["objective"] is not None),
        None,
    )
    for r in rows:
        obj = r["objective"]
        if obj is None:
            continue
        r["rel_to_nearest"] = (obj - base) / abs(base) if base else obj - base
        if best_exact is not None:
            r["gap_to_exact"] = (obj - best_exact) / abs(best_exact) if best_exact else obj
            # per channel: the method's objective minus the proved optimum of the floor/ceil
            # problem (negative only for methods that may pick other levels: gptq, gptq-block)
            gaps = per_channel[r["method"]] - per_channel["exact"]
            tol = 1e-9 * np.maximum(1.0, np.abs(per_channel["exact"]))
            r["channel_gaps"] = gaps.tolist()
            r["channels_at_optimum"] = int(np.count_nonzero(np.abs(gaps) <= tol))
    return rows
