"""The D-Wave QPU path: an embedded BQM plus a ``qpu_job.json`` that says how to submit it.

Nothing here submits by itself: :func:`lower_for_qpu` and :func:`write_qpu_job` need no account
and no ``dwave-system``; only :func:`solve_qpu` calls ``dwave.system.DWaveSampler`` when it is
installed. Anneal schedules are checked against D-Wave's published rules first.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qevo_dimod.bqm import is_embedded, to_bqm
from qevo_dimod.bqm_json import dumps_bqm_json
from qevo_dimod.decode import jsonable, sampleset_to_result
from qevo_ir.atomic import atomic_write_text, check_new
from qevo_ir.errors import (
    BackendUnavailable,
    CapabilityError,
    FormatError,
    ValidationError,
)
from qevo_ir.formats import read_json_file
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.results import SampleResult

if TYPE_CHECKING:
    import dimod

__all__ = [
    "QPU_JOB_FILE",
    "QPU_JOB_FORMAT",
    "QPU_PARAMETERS",
    "QPUJob",
    "lower_for_qpu",
    "read_qpu_job",
    "solve_qpu",
    "validate_anneal_schedule",
    "write_qpu_job",
]

QPU_JOB_FILE = "qpu_job.json"
QPU_JOB_FORMAT = "qevo-ir/dimod-qpu-job"
QPU_JOB_VERSION = 1
DEFAULT_QPU_NUM_READS = 100

#: ``DWaveSampler.sample`` keyword arguments that may be put in a job besides ``num_reads`` and
#: ``anneal_schedule`` (plain values only; per-qubit arrays such as ``flux_biases`` are not
#: carried). Anything else is refused, since no SDK is here to check it.
QPU_PARAMETERS = (
    "annealing_time",
    "answer_mode",
    "auto_scale",
    "label",
    "max_answers",
    "num_spin_reversal_transforms",
    "programming_thermalization",
    "readout_thermalization",
    "reduce_intersample_correlation",
)


def validate_anneal_schedule(
    schedule: object,
    *,
    max_points: int | None = None,
    max_time: float | None = None,
    min_anneal_time: float | None = None,
) -> list[list[float]]:
    """A forward anneal schedule checked against D-Wave's rules, as ``[[t, s], ...]`` floats.

    Rules (D-Wave solver docs, ``anneal_schedule``; ``DWaveSampler.validate_anneal_schedule``):
    at least 2 points, each ``[t, s]`` with finite numbers; ``t`` in microseconds, strictly
    increasing, first point ``(0, 0)``; ``s`` in ``[0, 1]``, non-decreasing (forward annealing),
    last ``s`` equal to 1. System-dependent limits are checked when given: ``max_points``
    (``max_anneal_schedule_points``), ``max_time`` (the top of ``annealing_time_range``) and the
    steepest slope ``1 / min_anneal_time``. Reverse annealing (``s`` starting at 1) needs an
    ``initial_state`` and is refused here.
    """
    if isinstance(schedule, str | bytes) or not isinstance(schedule, Sequence | np.ndarray):
        raise ValidationError(
            "anneal_schedule must be a list of [t, s] points, e.g. [[0, 0], [20, 1]]"
        )
    try:
        pts = np.asarray(schedule, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(
            "anneal_schedule must be a list of [t, s] number pairs, e.g. [[0, 0], [20, 1]]"
        ) from None
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValidationError(
            f"anneal_schedule must be a list of [t, s] pairs, got an array of shape {pts.shape}"
        )
    if len(pts) < 2:
        raise ValidationError(f"anneal_schedule needs at least 2 points, got {len(pts)}")
    if max_points is not None and len(pts) > max_points:
        raise ValidationError(
            f"anneal_schedule has {len(pts)} points; this solver takes at most {max_points}"
        )
    if not np.all(np.isfinite(pts)):
        raise ValidationError("anneal_schedule has a non-finite time or anneal fraction")
    t, s = pts[:, 0], pts[:, 1]
    if s[0] == 1.0:
        raise ValidationError(
            "anneal_schedule starts at s = 1 (reverse annealing), which needs an initial_state; "
            "only forward schedules, starting at (0, 0), are supported"
        )
    if t[0] != 0.0 or s[0] != 0.0:
        raise ValidationError(
            f"anneal_schedule must start at (0, 0) for forward annealing, got ({t[0]}, {s[0]})"
        )
    if np.any(np.diff(t) <= 0):
        k = int(np.flatnonzero(np.diff(t) <= 0)[0]) + 1
        raise ValidationError(f"anneal_schedule times must increase: point {k} has t = {t[k]}")
    if np.any((s < 0) | (s > 1)):
        k = int(np.flatnonzero((s < 0) | (s > 1))[0])
        raise ValidationError(f"anneal_schedule point {k} has s = {s[k]}, outside [0, 1]")
    if np.any(np.diff(s) < 0):
        k = int(np.flatnonzero(np.diff(s) < 0)[0]) + 1
        raise ValidationError(
            f"anneal_schedule point {k}: s decreases ({s[k - 1]} -> {s[k]}); a forward anneal "
            "is non-decreasing in s"
        )
    if s[-1] != 1.0:
        raise ValidationError(f"anneal_schedule must end at s = 1, got s = {s[-1]}")
    if max_time is not None and t[-1] > max_time:
        raise ValidationError(
            f"anneal_schedule lasts {t[-1]} µs; this solver's maximum is {max_time} µs"
        )
    if min_anneal_time is not None:
        slope = np.diff(s) / np.diff(t)
        if np.any(slope > 1.0 / min_anneal_time):
            k = int(np.argmax(slope)) + 1
            raise ValidationError(
                f"anneal_schedule segment ending at point {k} has slope {slope[k - 1]:.6g}/µs, "
                f"steeper than 1/min_anneal_time = {1.0 / min_anneal_time:.6g}/µs"
            )
    return [[float(a), float(b)] for a, b in pts.tolist()]


@dataclass(frozen=True, eq=False)
class QPUJob:
    """An embedded problem ready for ``DWaveSampler().sample(bqm, **parameters)``.

    ``bqm`` is the embedded (target) BQM over physical qubits, chains already coupled with
    ``chain_strength``; ``embedding`` maps each source label to its qubits; ``problem`` is the
    ``EmbeddedHamiltonian`` used to unembed the answers.
    """

    bqm: dimod.BinaryQuadraticModel
    parameters: dict[str, Any]
    embedding: dict[Any, list[Any]]
    chain_strength: float
    topology: dict[str, Any]
    problem: Any
    source_hash: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, bqm_file: str = "bqm.json") -> dict[str, Any]:
        """The ``qpu_job.json`` document (see ``specs/backend_dimod.md``)."""
        source: Hamiltonian = self.problem.source
        target: Hamiltonian = self.problem.target
        return {
            "format": QPU_JOB_FORMAT,
            "version": QPU_JOB_VERSION,
            "submitted": False,
            "sampler": "dwave.system.DWaveSampler",
            "bqm": bqm_file,
            "parameters": jsonable(self.parameters),
            "chain_strength": self.chain_strength,
            "embedding": [
                [_json_label(label), [_json_label(q) for q in qubits]]
                for label, qubits in self.embedding.items()
            ],
            "topology": jsonable(self.topology),
            "source": {
                "num_variables": source.num_variables,
                "num_interactions": source.num_interactions,
                "vartype": source.vartype.value,
                "content_hash": self.source_hash,
            },
            "target": {
                "num_qubits": target.num_variables,
                "num_couplers": target.num_interactions,
            },
        }


def _json_label(label: Any) -> Any:
    return [_json_label(x) for x in label] if isinstance(label, tuple) else label


def lower_for_qpu(
    problem: Any,
    *,
    topology: str | None = None,
    anneal_schedule: object = None,
    num_reads: int = DEFAULT_QPU_NUM_READS,
    chain_strength: float | None = None,
    seed: int | None = None,
    embed_options: Mapping[str, Any] | None = None,
    **parameters: Any,
) -> QPUJob:
    """Embed (if needed) and package ``problem`` as a :class:`QPUJob`; nothing is submitted.

    ``problem`` is an ``EmbeddedHamiltonian`` (used as is) or a Hamiltonian, which is embedded
    by the ``embed`` pass onto ``topology`` (``"chimera"``, ``"pegasus"``, ``"zephyr"``) with
    ``chain_strength``, ``seed`` and ``embed_options`` (the pass's other options, e.g. ``m``).
    ``anneal_schedule`` is validated (:func:`validate_anneal_schedule`); ``parameters`` may be
    any of :data:`QPU_PARAMETERS`.
    """
    unknown = sorted(set(parameters) - set(QPU_PARAMETERS))
    if unknown:
        raise ValidationError(
            f"unknown QPU parameter(s) {', '.join(map(repr, unknown))}; accepted: "
            + ", ".join(("num_reads", "anneal_schedule", *QPU_PARAMETERS))
        )
    if isinstance(num_reads, bool) or not isinstance(num_reads, int | np.integer):
        raise ValidationError(f"num_reads must be an integer, got {num_reads!r}")
    if not 1 <= int(num_reads) <= 1_000_000:
        raise ValidationError(f"num_reads must be in [1, 1000000], got {num_reads}")
    params: dict[str, Any] = {"num_reads": int(num_reads)}
    if anneal_schedule is not None:
        if "annealing_time" in parameters:
            raise ValidationError(
                "give anneal_schedule or annealing_time, not both (D-Wave refuses the pair)"
            )
        params["anneal_schedule"] = validate_anneal_schedule(anneal_schedule)
    for key, value in parameters.items():
        if value is not None:
            params[key] = value
    if "annealing_time" in params:
        t = params["annealing_time"]
        if isinstance(t, bool) or not isinstance(t, int | float) or not 0 < t < float("inf"):
            raise ValidationError(f"annealing_time must be a positive number of µs, got {t!r}")
    if is_embedded(problem):
        if topology is not None or embed_options:
            raise ValidationError(
                "the problem is already embedded; topology/embed_options apply to a Hamiltonian"
            )
        if chain_strength is not None and float(chain_strength) != float(problem.chain_strength):
            raise ValidationError(
                f"the problem is embedded with chain_strength {problem.chain_strength}; "
                "re-embed to change it"
            )
        embedded = problem
    elif isinstance(problem, Hamiltonian):
        if topology is None:
            raise CapabilityError(
                "the QPU needs an embedded problem: pass topology='pegasus' (or chimera, zephyr) "
                "or an EmbeddedHamiltonian from the embed pass"
            )
        embedded = _embed(problem, topology, chain_strength, seed, dict(embed_options or {}))
    else:
        raise ValidationError(
            f"expected a Hamiltonian or EmbeddedHamiltonian, got {type(problem).__name__}"
        )
    source: Hamiltonian = embedded.source
    target: Hamiltonian = embedded.target
    tlabels = target.labels
    embedding = {
        source.labels[i]: [tlabels[int(q)] for q in np.asarray(chain).tolist()]
        for i, chain in enumerate(embedded.chains)
    }
    return QPUJob(
        bqm=to_bqm(target),
        parameters=params,
        embedding=embedding,
        chain_strength=float(embedded.chain_strength),
        topology=dict(getattr(embedded, "topology", None) or {}),
        problem=embedded,
        source_hash=source.content_hash(),
    )


def _embed(
    ham: Hamiltonian,
    topology: str,
    chain_strength: float | None,
    seed: int | None,
    options: dict[str, Any],
) -> Any:
    """Embed with the registered ``embed`` pass (:mod:`qevo_ir.passes.embed`)."""
    try:
        importlib.import_module("qevo_ir.passes.embed")
        from qevo_ir.passes.base import PASSES
    except ImportError as exc:
        raise CapabilityError(
            f"embedding needs the embed pass (qevo_ir.passes.embed), which cannot be imported "
            f"({exc}); embed first and pass the EmbeddedHamiltonian"
        ) from exc
    cls = PASSES.get("embed")
    if cls is None:
        raise CapabilityError("no pass named 'embed' is registered; embed the problem first")
    opts: dict[str, Any] = {"topology": topology, **options}
    if chain_strength is not None:
        opts["chain_strength"] = float(chain_strength)
    if seed is not None:
        opts["seed"] = int(seed)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(opts) - fields)
    if unknown:
        raise ValidationError(
            f"the embed pass has no option(s) {', '.join(map(repr, unknown))}; "
            f"its options: {', '.join(sorted(fields))}"
        )
    out = cls(**opts).apply(ham)
    if not is_embedded(out.ir):
        raise CapabilityError("the embed pass did not return an EmbeddedHamiltonian")
    return out.ir


def write_qpu_job(job: QPUJob, directory: str | Path, *, force: bool = True) -> list[Path]:
    """Write ``bqm.json`` (the embedded BQM) and ``qpu_job.json`` atomically; return the paths."""
    d = Path(directory)
    bqm_path, job_path = d / "bqm.json", d / QPU_JOB_FILE
    for p in (bqm_path, job_path):
        check_new(p, force)
    atomic_write_text(bqm_path, dumps_bqm_json(job.bqm))
    atomic_write_text(job_path, json.dumps(job.to_dict(bqm_path.name), indent=1) + "\n")
    return [bqm_path, job_path]


def read_qpu_job(path: str | Path) -> dict[str, Any]:
    """Read and check a ``qpu_job.json`` document (its format, version and parameters)."""
    p = Path(path)
    doc = read_json_file(p, max_bytes=1024**2)
    if not isinstance(doc, dict) or doc.get("format") != QPU_JOB_FORMAT:
        raise FormatError(f"{p}: field 'format' must be {QPU_JOB_FORMAT!r}")
    if doc.get("version") != QPU_JOB_VERSION:
        raise FormatError(f"{p}: unsupported version {doc.get('version')!r}; expected 1")
    params = doc.get("parameters")
    if not isinstance(params, dict):
        raise FormatError(f"{p}: field 'parameters' must be an object")
    if "anneal_schedule" in params:
        try:
            validate_anneal_schedule(params["anneal_schedule"])
        except ValidationError as exc:
            raise FormatError(f"{p}: field 'parameters.anneal_schedule': {exc}") from None
    if not isinstance(doc.get("embedding"), list):
        raise FormatError(f"{p}: field 'embedding' must be a list of [label, qubits] pairs")
    return doc


def solve_qpu(
    problem: Any,
    *,
    chain_break_method: str = "majority_vote",
    solver: str | None = None,
    **options: Any,
) -> SampleResult:
    """Submit to a D-Wave QPU through ``dwave.system.DWaveSampler`` (needs an account).

    ``options`` are those of :func:`lower_for_qpu`; ``solver`` selects a QPU by name. Raises
    :class:`BackendUnavailable` carrying ``pip install dwave-system`` when it is not installed.
    """
    try:
        system = importlib.import_module("dwave.system")
    except ImportError as exc:
        raise BackendUnavailable(
            f"the QPU sampler needs dwave-system ({exc}); install it with: pip install "
            "dwave-system, then configure an account with: dwave setup. To prepare a job "
            "without submitting it, use lower_for_qpu() and write_qpu_job()"
        ) from exc
    job = lower_for_qpu(problem, **options)
    sampler = system.DWaveSampler(**({"solver": solver} if solver else {}))
    sampleset = sampler.sample(job.bqm, **job.parameters)
    info: dict[str, Any] = {
        "backend": "dimod",
        "sampler": "qpu",
        "sampler_class": "dwave.system.DWaveSampler",
        "options": jsonable(job.parameters),
        "chain_strength": job.chain_strength,
        "embedded": True,
        "vendor_info": jsonable(dict(sampleset.info)),
    }
    return sampleset_to_result(job.problem, sampleset, info, chain_break_method=chain_break_method)
