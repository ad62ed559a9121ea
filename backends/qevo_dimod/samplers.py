"""Local samplers (dwave-samplers, dimod's exact solver): option checking and ``solve``.

Each sampler is named by a :class:`SamplerSpec`; :data:`SOLVERS` maps the CLI's solver aliases
(``--backend sa``) to them. Options are checked against the sampler's own ``parameters`` and an
unknown one is refused with the list of accepted ones.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from qevo_dimod.bqm import is_embedded, problem_hamiltonian, to_bqm
from qevo_dimod.decode import jsonable, result_from_samples, sampleset_to_result
from qevo_ir.advice import did_you_mean
from qevo_ir.errors import LimitExceeded, ValidationError
from qevo_ir.execution.reads import MAX_NUM_READS
from qevo_ir.plugins import require
from qevo_ir.results import SampleResult

if TYPE_CHECKING:
    pass

__all__ = [
    "EXACT_MAX_VARIABLES",
    "MAX_NUM_READS",
    "SAMPLERS",
    "SOLVERS",
    "SamplerSpec",
    "accepted_options",
    "resolve_sampler",
    "solve",
    "solve_with_instance",
]

#: dimod's ExactSolver holds all 2**n states in memory, and the result aggregates them: at
#: n = 20 that is 1M rows (~30 MB, about a second); each extra variable doubles it.
EXACT_MAX_VARIABLES = 20
#: Options ``solve`` itself takes, whatever the sampler.
OWN_OPTIONS = ("sampler", "chain_break_method")
CHAIN_BREAK_METHODS = ("majority_vote", "discard")


@dataclass(frozen=True)
class SamplerSpec:
    """A local sampler: its ``solve(sampler=...)`` key, the class that implements it, defaults.

    ``default_num_reads`` is used when ``num_reads`` is not given (``None``: the sampler takes no
    ``num_reads``, as the exact solver). ``max_variables`` is a stated limit, ``None`` if none.
    """

    key: str
    module: str
    cls: str
    description: str
    default_num_reads: int | None = None
    max_variables: int | None = None

    def load(self) -> Any:
        """A new instance of the sampler (imports its SDK; BackendUnavailable if absent)."""
        require("dimod", "dimod")
        mod = require(self.module, "dimod")
        sampler: Any = getattr(mod, self.cls)()
        return sampler

    def parameters(self) -> tuple[str, ...]:
        """The options the sampler accepts, from its ``parameters`` property, sorted."""
        return tuple(sorted(self.load().parameters))


SAMPLERS: dict[str, SamplerSpec] = {
    "sa": SamplerSpec(
        "sa",
        "dwave.samplers",
        "SimulatedAnnealingSampler",
        "simulated annealing (dwave-samplers; successor of neal)",
        default_num_reads=100,
    ),
    "steepest": SamplerSpec(
        "steepest",
        "dwave.samplers",
        "SteepestDescentSolver",
        "steepest greedy descent from random states (dwave-samplers)",
        default_num_reads=100,
    ),
    "tabu": SamplerSpec(
        "tabu",
        "dwave.samplers",
        "TabuSampler",
        "multistart tabu search (dwave-samplers); each read runs up to `timeout` ms (default 100)",
        default_num_reads=10,
    ),
    "exact": SamplerSpec(
        "exact",
        "dimod",
        "ExactSolver",
        "dimod's brute-force ExactSolver (every state; small problems only)",
        default_num_reads=None,
        max_variables=EXACT_MAX_VARIABLES,
    ),
}

#: Solver aliases for the CLI (``qevo solve --backend sa``): each names the dimod backend with
#: ``solve(..., sampler=SOLVERS[alias].key)``. ``exact-dimod`` keeps ``exact`` free for the
#: reference backend ``qevo_exact``.
SOLVERS: dict[str, SamplerSpec] = {
    "sa": SAMPLERS["sa"],
    "steepest": SAMPLERS["steepest"],
    "tabu": SAMPLERS["tabu"],
    "exact-dimod": SAMPLERS["exact"],
}


def resolve_sampler(name: str) -> SamplerSpec:
    """The spec for a sampler key (``sa``, ``steepest``, ``tabu``, ``exact``) or alias."""
    spec = SAMPLERS.get(name) or SOLVERS.get(name)
    if spec is None:
        known = sorted(set(SAMPLERS) | set(SOLVERS) | {"qpu"})
        raise ValidationError(f"unknown dimod sampler {name!r}; expected one of {known}")
    return spec


def accepted_options(spec: SamplerSpec) -> tuple[str, ...]:
    """Every option ``solve`` accepts with this sampler: its own ``parameters`` and ours."""
    return tuple(sorted(set(spec.parameters()) | set(OWN_OPTIONS)))


def solve(
    problem: Any,
    sampler: Any = "sa",
    *,
    chain_break_method: str = "majority_vote",
    **options: Any,
) -> SampleResult:
    """Sample ``problem`` with a local sampler; results in the IR's variables and vartype.

    ``problem`` is a Hamiltonian or an ``EmbeddedHamiltonian`` (sampled on its target, then
    unembedded with ``chain_break_method``; the result is in the source's variables).
    ``sampler``: ``sa``, ``steepest``, ``tabu``, ``exact`` (alias ``exact-dimod``) or ``qpu`` (see
    :func:`qevo_dimod.qpu.solve_qpu`), or any ``dimod.Sampler`` instance, composites included
    (:func:`solve_with_instance`). ``options`` go to the sampler's ``sample`` call: common
    ones are ``num_reads``, ``seed``, and for ``sa`` ``beta_range``, ``beta_schedule_type``,
    ``num_sweeps``; any option not in the sampler's ``parameters`` is refused. When the sampler
    takes a ``seed`` and none is given, one is drawn and recorded in ``info["options"]``, so
    every run can be repeated.
    """
    if not isinstance(sampler, str):
        return solve_with_instance(
            problem, sampler, chain_break_method=chain_break_method, **options
        )
    if sampler == "qpu":
        from qevo_dimod.qpu import solve_qpu

        return solve_qpu(problem, chain_break_method=chain_break_method, **options)
    start = time.perf_counter()
    spec = resolve_sampler(sampler)
    if chain_break_method not in CHAIN_BREAK_METHODS:
        raise ValidationError(
            f"chain_break_method {chain_break_method!r}: expected one of {CHAIN_BREAK_METHODS}"
        )
    ham = problem_hamiltonian(problem)
    instance = spec.load()
    params = check_options(spec, instance.parameters, options)
    if spec.max_variables is not None and ham.num_variables > spec.max_variables:
        raise LimitExceeded(
            f"sampler {spec.key!r} enumerates every state and takes at most "
            f"{spec.max_variables} variables; this problem has {ham.num_variables} "
            "(use sampler='sa' or the exact backend)"
        )
    info: dict[str, Any] = {
        "backend": "dimod",
        "sampler": spec.key,
        "sampler_class": f"{spec.module}.{spec.cls}",
        "options": jsonable(params),
        "embedded": is_embedded(problem),
    }
    if ham.num_variables == 0:  # dwave-samplers return no rows for an empty model
        reads = int(params.get("num_reads") or 1)
        info["timing"] = {"total_s": time.perf_counter() - start}
        return result_from_samples(
            ham, np.zeros((reads, 0), np.int8), np.ones(reads, np.int64), info
        )
    t0 = time.perf_counter()
    bqm = to_bqm(ham)
    t1 = time.perf_counter()
    try:
        sampleset = instance.sample(bqm, **params)
        sampleset.resolve()
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"sampler {spec.key!r} refused its options {params}: {exc}") from exc
    t2 = time.perf_counter()
    vendor_info = jsonable(dict(sampleset.info))
    info["vendor_info"] = vendor_info
    beta = vendor_info.get("beta_range")
    if isinstance(beta, list) and not all(isinstance(b, int | float) for b in beta):
        # dwave-samplers derives beta_range from the smallest field; subnormal biases overflow it.
        info["warnings"] = [
            f"the sampler chose a non-finite beta_range {beta}; pass beta_range=(hot, cold)"
        ]
    info["num_reads"] = int(np.sum(sampleset.record.num_occurrences))
    result = sampleset_to_result(problem, sampleset, info, chain_break_method=chain_break_method)
    t3 = time.perf_counter()
    result.info["timing"] = {
        "lower_s": t1 - t0,
        "sample_s": t2 - t1,
        "decode_s": t3 - t2,
        "total_s": t3 - start,
        **({"vendor": vendor_info["timing"]} if "timing" in vendor_info else {}),
    }
    return result


def solve_with_instance(
    problem: Any, sampler: Any, *, chain_break_method: str = "majority_vote", **options: Any
) -> SampleResult:
    """Sample ``problem`` with a ``dimod.Sampler`` instance (``dimod.ExactSolver()``, a
    composite such as ``dimod.TruncateComposite(SimulatedAnnealingSampler(), 5)``, ...).

    Options go to its ``sample`` call and must be among its ``parameters``; the samples are
    decoded into the IR's variables with IR energies, like the named samplers'.
    """
    if not callable(getattr(sampler, "sample", None)):
        raise ValidationError(
            f"sampler must be a name ({', '.join(sorted(SAMPLERS))}, qpu) or a dimod Sampler "
            f"instance with a sample() method, got {type(sampler).__name__}"
        )
    if chain_break_method not in CHAIN_BREAK_METHODS:
        raise ValidationError(
            f"chain_break_method {chain_break_method!r}: expected one of {CHAIN_BREAK_METHODS}"
        )
    start = time.perf_counter()
    params = {k: v for k, v in options.items() if v is not None}
    accepted = set(getattr(sampler, "parameters", {}) or {})
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ValidationError(
            f"sampler {type(sampler).__name__} does not accept option(s) "
            f"{', '.join(map(repr, unknown))}; accepted: {', '.join(sorted(accepted)) or 'none'}"
        )
    ham = problem_hamiltonian(problem)
    info: dict[str, Any] = {
        "backend": "dimod",
        "sampler": type(sampler).__name__,
        "sampler_class": f"{type(sampler).__module__}.{type(sampler).__qualname__}",
        "options": jsonable(params),
        "embedded": is_embedded(problem),
    }
    bqm = to_bqm(ham)
    try:
        sampleset = sampler.sample(bqm, **params)
        sampleset.resolve()
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            f"sampler {type(sampler).__name__} refused its options {params}: {exc}"
        ) from exc
    info["vendor_info"] = jsonable(dict(sampleset.info))
    info["num_reads"] = int(np.sum(sampleset.record.num_occurrences))
    result = sampleset_to_result(problem, sampleset, info, chain_break_method=chain_break_method)
    result.info["timing"] = {"total_s": time.perf_counter() - start}
    return result


def check_options(
    spec: SamplerSpec, parameters: Mapping[str, Any], options: Mapping[str, Any]
) -> dict[str, Any]:
    """Validated keyword arguments for ``spec``'s ``sample`` call.

    Unknown names are refused listing the accepted ones; ``num_reads``, ``seed``, ``num_sweeps``
    and ``beta_range`` are checked here; other values are checked by the sampler itself.
    """
    accepted = set(parameters)
    unknown = sorted(set(options) - accepted)
    if unknown:
        valid = sorted(accepted | set(OWN_OPTIONS))
        hint = did_you_mean(unknown[0], valid)
        raise ValidationError(
            f"sampler {spec.key!r} does not accept option(s) {', '.join(map(repr, unknown))}"
            f"{hint}; accepted: {', '.join(valid)}"
        )
    params = {k: v for k, v in options.items() if v is not None}
    if "num_reads" in accepted:
        reads = params.get("num_reads", spec.default_num_reads)
        if reads is not None and "initial_states" not in params:
            params["num_reads"] = _positive_int(reads, "num_reads", MAX_NUM_READS)
    if "num_sweeps" in params:
        params["num_sweeps"] = _positive_int(params["num_sweeps"], "num_sweeps", 1 << 31)
    if "seed" in accepted:
        if "seed" in params:
            params["seed"] = _seed(params["seed"])
        else:
            params["seed"] = int(np.random.SeedSequence().generate_state(1)[0] >> 1)
    if "beta_range" in params:
        params["beta_range"] = _beta_range(params["beta_range"])
    return params


def _positive_int(value: Any, name: str, upper: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValidationError(f"{name} must be an integer, got {value!r}")
    if not 1 <= int(value) <= upper:
        raise ValidationError(f"{name} must be in [1, {upper}], got {value!r}")
    return int(value)


def _seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValidationError(f"seed must be an integer, got {value!r}")
    # dwave-samplers' SA refuses seeds >= 2**31 (its message says 2**32; its check says 2**31).
    if not 0 <= int(value) < 1 << 31:
        raise ValidationError(f"seed must be in [0, 2**31), got {value!r}")
    return int(value)


def _beta_range(value: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in value)
    except (TypeError, ValueError):
        raise ValidationError(
            f"beta_range must be two numbers (hot, cold inverse temperatures), got {value!r}"
        ) from None
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo <= hi):
        raise ValidationError(
            f"beta_range must satisfy 0 < beta_hot <= beta_cold (finite), got {value!r}"
        )
    return lo, hi
