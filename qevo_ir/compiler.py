"""The two verbs of the Python API: :func:`compile` (IR → passes → backend artifacts + report) and
:func:`solve` (IR → results in the source's labels). The ``qevo`` command line is a thin layer
over these.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qevo_ir.advice import did_you_mean, match_name, option, unknown_name
from qevo_ir.atomic import (
    OutputExists,
    atomic_write_text,
    check_output_path,
    commit_set,
    remove_stale_staging,
    staging_dir,
)
from qevo_ir.backend import Backend, check_capabilities
from qevo_ir.budget import check_qaoa_request
from qevo_ir.constrained import ConstrainedModel
from qevo_ir.errors import BackendUnavailable, CapabilityError, LimitExceeded, ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.parameter_model import ParameterModel
from qevo_ir.passes.pipeline import CompileResult, Pipeline
from qevo_ir.plugins import available_backends, get_backend
from qevo_ir.polynomial import PolynomialHamiltonian
from qevo_ir.results import SampleResult
from qevo_ir.solver_catalogue import SOLVER_INFO, resolve_solver

__all__ = [
    "ENERGY_BOUND_LIMIT",
    "SOLVERS",
    "TARGETS",
    "Compiled",
    "check_energy_bound",
    "compile",
    "load_source",
    "solve",
]

# The compile targets, in the order ``--target all`` tries them.
TARGETS: tuple[str, ...] = ("exact", "dimod", "qiskit", "cirq")

# ``qevo solve --backend NAME``: NAME -> (backend plugin, options). Any plugin name works too.
SOLVERS: dict[str, tuple[str, dict[str, Any]]] = {
    name: (info.plugin, dict(info.defaults)) for name, info in SOLVER_INFO.items()
}

# Above this size a non-exact solve is not accompanied by the exact ground energy.
EXACT_BASELINE_MAX_VARIABLES = 20

#: Largest ``|offset| + Σ|h| + Σ|J|`` that :func:`compile` and :func:`solve` accept. It bounds
#: every energy in either vartype; the spin/binary conversions multiply coefficients by at most
#: 4 and QAOA angles by 2, so below it nothing a lowering computes can overflow float64 (files
#: store any finite float losslessly; see specs/robustness.md).
ENERGY_BOUND_LIMIT = 1e300

REPORT_NAME = "report.json"
IR_NAME = "compiled.qevo.json"
SOURCE_NAME = "source.qevo.json"


def load_source(source: object) -> Any:
    """A Hamiltonian or ParameterModel as given, or the Hamiltonian read from a file."""
    if isinstance(source, Hamiltonian | ParameterModel | ConstrainedModel | PolynomialHamiltonian):
        return source
    if isinstance(source, str | os.PathLike):
        from qevo_ir.formats import read_hamiltonian

        return read_hamiltonian(source)
    if hasattr(source, "chains"):
        return source
    raise ValidationError(
        f"cannot compile a {type(source).__name__}; give a Hamiltonian, a ParameterModel or a "
        "file path"
    )


def check_energy_bound(
    ham: Hamiltonian | PolynomialHamiltonian, what: str = "the Hamiltonian"
) -> None:
    """Raise :class:`LimitExceeded` when ``|offset| + Σ|h| + Σ|J|`` exceeds
    :data:`ENERGY_BOUND_LIMIT` (energies or conversions could overflow float64)."""
    bound = ham.l1_norm()
    if not bound <= ENERGY_BOUND_LIMIT:
        size = "overflows float64" if not np.isfinite(bound) else f"is {bound:.4g}"
        raise LimitExceeded(
            f"{what}: the coefficients are too large to compute with: |offset| + sum|h| + "
            f"sum|J| {size}, over the limit {ENERGY_BOUND_LIMIT:g} within which energies, "
            "vartype conversions and QAOA angles stay finite; divide every coefficient by a "
            "common factor first (Hamiltonian.scaled)"
        )


def _check_ir_bound(ir: Any, what: str) -> None:
    if isinstance(ir, Hamiltonian):
        check_energy_bound(ir, what)
    elif hasattr(ir, "chains") and isinstance(getattr(ir, "target", None), Hamiltonian):
        check_energy_bound(ir.target, what)


@dataclass
class Compiled:
    """The result of :func:`compile`: the final IR, each target's native object, the report."""

    source: Any
    result: CompileResult
    natives: dict[str, Any]
    lowering_options: dict[str, dict[str, Any]]
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ir(self) -> Any:
        return self.result.ir

    @property
    def report(self) -> dict[str, Any]:
        """The compile report as a JSON-ready dict (``report.json`` minus the artifact list)."""
        rep = self.result.report().to_dict()
        ir = self.ir
        logical = ir.source if hasattr(ir, "chains") else ir
        rep["targets"] = {
            name: {
                "backend": name,
                "options": _jsonable(self.lowering_options.get(name, {})),
                "seconds": self.seconds.get(name),
            }
            for name in self.natives
        }
        rep["skipped_targets"] = dict(self.skipped)
        if isinstance(logical, Hamiltonian | PolynomialHamiltonian):
            rep["variables"] = _variable_table(logical)
        return rep

    def write(self, directory: str | os.PathLike[str], *, force: bool = False) -> list[Path]:
        """Write every artifact, the IRs and ``report.json`` into ``directory``, all at once.

        Files are written into a fresh staging folder, then committed in one step
        (:func:`qevo_ir.atomic.commit_set`): under an exclusive lock and with signals deferred,
        the previous compile's files (those its report lists, and any file with an artifact's
        name) are removed and the new ones moved in, ``report.json`` last. A ``report.json`` in
        the folder therefore always comes with its complete set; a run killed midway is repaired
        by the next. Existing outputs are refused unless ``force``; a link, FIFO or device at an
        output name is refused always.
        """
        out = Path(directory)
        if os.path.lexists(out) and not out.is_dir():
            raise OutputExists(
                f"{out}: exists and is not a folder; a compile writes a folder of files "
                "(choose a new or existing folder for -o)"
            )
        check_output_path(out / REPORT_NAME)
        out.mkdir(parents=True, exist_ok=True)
        if not force and (out / REPORT_NAME).exists():
            raise OutputExists(
                f"{out}: already holds a compile ({REPORT_NAME}); "
                f"pass {option('force')} to overwrite it"
            )
        remove_stale_staging(out)
        with staging_dir(out) as staging:
            files = self._write_into(staging)
            report = self.report
            report["artifacts"] = {
                p.name: {"target": target, "sha256": _sha256(p), "bytes": p.stat().st_size}
                for target, p in files
            }
            atomic_write_text(staging / REPORT_NAME, json.dumps(report, indent=1) + "\n")
            names = [p.name for _, p in files] + [REPORT_NAME]
            return commit_set(
                out,
                staging,
                names,
                manifest=REPORT_NAME,
                force=force,
                previous=_previous_artifacts,
            )

    def _write_into(self, directory: Path) -> list[tuple[str, Path]]:
        from qevo_ir.formats import write_hamiltonian

        files: list[tuple[str, Path]] = []
        ir = self.ir
        logical = ir.source if hasattr(ir, "chains") else ir
        if isinstance(self.source, Hamiltonian):
            write_hamiltonian(self.source, directory / SOURCE_NAME)
            files.append(("source", directory / SOURCE_NAME))
        if isinstance(logical, Hamiltonian):
            write_hamiltonian(logical, directory / IR_NAME)
            files.append(("ir", directory / IR_NAME))
        elif isinstance(logical, PolynomialHamiltonian):  # k-local circuits: the polynomial
            from qevo_ir.formats import qevo_poly

            qevo_poly.write(logical, directory / IR_NAME)
            files.append(("ir", directory / IR_NAME))
        if hasattr(ir, "chains"):
            write_hamiltonian(ir.target, directory / "embedded_target.qevo.json")
            files.append(("ir", directory / "embedded_target.qevo.json"))
            chains = {
                "chains": [c.tolist() for c in ir.chains],
                "chain_strength": ir.chain_strength,
            }
            atomic_write_text(directory / "chains.json", json.dumps(chains) + "\n")
            files.append(("ir", directory / "chains.json"))
        for name, native in self.natives.items():
            backend = get_backend(name)
            for path in backend.write(native, directory):
                files.append((name, Path(path)))
        return files


def _variable_table(ham: Hamiltonian | PolynomialHamiltonian) -> dict[str, Any]:
    prov = ham.variables.provenance
    return {
        "labels": [_json_label(x) for x in ham.labels],
        "provenance": None if prov is None else prov.to_dict(),
    }


def _json_label(label: Any) -> Any:
    return [_json_label(x) for x in label] if isinstance(label, tuple) else label


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


#: File names a compile may write; with ``--force`` any of them left by an earlier compile
#: (whose report is gone or damaged) is removed, without it they are refused as outputs.
KNOWN_ARTIFACTS = (
    SOURCE_NAME,
    IR_NAME,
    "embedded_target.qevo.json",
    "chains.json",
    "exact.json",
    "bqm.json",
    "bqm.coo",
    "qpu_job.json",
    "qaoa.qasm",
    "qaoa.qpy",
    "qaoa.cirq.json",
)


def _previous_artifacts(directory: Path) -> list[str]:
    """The files of the compile already in ``directory``: what its report lists (read leniently,
    names only) and every known artifact name present."""
    names: list[str] = []
    report = directory / REPORT_NAME
    with contextlib.suppress(OSError, ValueError, RecursionError):
        if report.is_file() and not report.is_symlink() and report.stat().st_size < 64 << 20:
            doc = json.loads(report.read_text(encoding="utf-8"))
            arts = doc.get("artifacts") if isinstance(doc, dict) else None
            if isinstance(arts, dict):
                names.extend(str(k) for k in arts)
    names.extend(n for n in KNOWN_ARTIFACTS if os.path.lexists(directory / n))
    return names


def _resolve_targets(target: str | Sequence[str]) -> tuple[list[str], bool]:
    if isinstance(target, str):
        names = [t.strip() for t in target.split(",") if t.strip()]
    elif isinstance(target, list | tuple) and all(isinstance(t, str) for t in target):
        names = list(target)
    else:
        raise ValidationError(
            f"target must be a backend name, a comma-separated string or a list of names, got "
            f"{type(target).__name__}"
        )
    if not names:
        raise ValidationError(
            f"target {target!r} names no backend; give one or more of "
            f"{', '.join(available_backends())}, or all"
        )
    if [n.lower() for n in names] == ["all"]:
        return list(TARGETS), True
    known = [*available_backends(), "all"]
    resolved = []
    for name in names:
        found = match_name(name, known)
        if found is None or found == "all":
            raise ValidationError(unknown_name("target", name, known))
        resolved.append(found)
    return resolved, False


def _lowerable(name: str, backend: Backend, ir: Any) -> Any:
    """What ``backend.lower`` gets for the final IR, or :class:`CapabilityError` saying why not."""
    embedded = hasattr(ir, "chains")
    if embedded and (name == "exact" or backend.capabilities.certified):
        # a certified (exact) solver of an embedded problem solves its target-graph Hamiltonian
        target = ir.target
        check_capabilities(backend, target)
        return target
    if name in ("qiskit", "cirq"):
        if embedded:
            raise CapabilityError(
                f"target {name!r} takes a logical Hamiltonian; QAOA circuits need no minor "
                "embedding (drop the embed pass)"
            )
        return ir  # circuits lower at any size; the qubit limit is for simulation only
    check_capabilities(backend, ir)
    return ir


def compile(
    source: Hamiltonian
    | ParameterModel
    | ConstrainedModel
    | PolynomialHamiltonian
    | str
    | os.PathLike[str],
    pipeline: str | Pipeline | None = None,
    target: str | Sequence[str] = "exact",
    *,
    layers: int = 1,
    gammas: Sequence[float] | None = None,
    betas: Sequence[float] | None = None,
) -> Compiled:
    """Run ``pipeline`` on ``source`` and lower the result to each target backend.

    ``target`` is a backend name, a comma-separated list, a sequence, or ``"all"`` (every
    installed backend that can take the IR; the others are listed in ``skipped``). An explicit
    target that cannot take the IR raises :class:`CapabilityError` naming the reason.
    ``layers``/``gammas``/``betas`` go to the QAOA targets.
    """
    src = load_source(source)
    names, lenient = _resolve_targets(target)
    # a polynomial for circuits only stays k-local: no auxiliaries (specs/backend_qaoa.md)
    k_local = isinstance(src, PolynomialHamiltonian) and _circuits_only(names, lenient, pipeline)
    if isinstance(src, ConstrainedModel | PolynomialHamiltonian) and not k_local:
        from qevo_ir.constrained_solve import default_pipeline

        pipeline = default_pipeline(src, pipeline)  # penalize | quadratize unless given
    pipe = pipeline if isinstance(pipeline, Pipeline) else Pipeline.parse(pipeline or "")
    if isinstance(src, ParameterModel) and not any(p.name == "quantize" for p in pipe):
        pipe = Pipeline.parse("quantize") + pipe
    _check_ir_bound(src, "the source Hamiltonian")
    result = pipe.run(src)
    _check_ir_bound(result.ir, "the Hamiltonian after the pipeline")
    if any(name in ("qiskit", "cirq") for name in names) and isinstance(
        result.ir, Hamiltonian | PolynomialHamiltonian
    ):
        check_qaoa_request(
            result.ir.num_variables,
            result.ir.num_interactions,
            result.ir.l1_norm(),
            layers=layers,
            gammas=gammas,
            betas=betas,
        )
    natives: dict[str, Any] = {}
    options: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    seconds: dict[str, float] = {}
    for name in names:
        try:
            backend = get_backend(name)
            lowered = _lowerable(name, backend, result.ir)
            opts: dict[str, Any] = {}
            if name in ("qiskit", "cirq"):
                opts = {"layers": layers}
                if gammas is not None or betas is not None:
                    opts.update(gammas=list(gammas or []), betas=list(betas or []))
            start = time.perf_counter()
            natives[name] = backend.lower(lowered, **opts)
            seconds[name] = time.perf_counter() - start
            options[name] = opts
        except (BackendUnavailable, CapabilityError, LimitExceeded) as exc:
            if not lenient:
                raise
            skipped[name] = str(exc)
    if not natives:
        reasons = "; ".join(f"{k}: {v}" for k, v in skipped.items())
        raise CapabilityError(f"no target could take this problem ({reasons})")
    return Compiled(src, result, natives, options, skipped, seconds)


def solve(
    source: Hamiltonian
    | ParameterModel
    | ConstrainedModel
    | PolynomialHamiltonian
    | str
    | os.PathLike[str],
    backend: str = "exact",
    *,
    pipeline: str | Pipeline | None = None,
    timeout: float | None = None,
    workers: int | None = None,
    executor: Any = None,
    progress: Any = None,
    **options: Any,
) -> SampleResult:
    """Solve ``source`` with a backend (``exact``, ``sa``, ``steepest``, ``tabu``, ``qaoa``,
    ``qaoa-qiskit``, ``qaoa-cirq``, or any plugin name); results come back in the source's
    labels and vartype, decoded through ``pipeline`` when one is given.

    Options pass to the backend's ``solve`` unchanged (unknown ones are refused there); for
    ``tabu``, its per-read time limit in milliseconds is ``read_timeout_ms``.

    Execution (``specs/execution.md``): ``timeout`` (seconds) runs the solve in a worker process
    that is killed at the deadline; samplers whose reads are split in chunks (``sa``,
    ``steepest``, ``tabu`` on large jobs) return the reads that finished, with
    ``info["cut_short"] = True``; otherwise :class:`~qevo_ir.errors.DeadlineExceeded` is raised.
    ``workers=N`` (a local pool) or ``executor=`` (any ``concurrent.futures.Executor`` or a
    ``dask.distributed.Client``) run the read chunks in parallel; the result does not depend on
    them. ``progress``: ``None`` shows a bar on stderr when it is a terminal, ``False`` never.
    A ConstrainedModel or PolynomialHamiltonian is lowered first (``penalize | quadratize``
    unless ``pipeline`` is given) and decoded with the truth: ``info`` carries
    ``best_feasible_objective``, ``best_feasible_sample`` and ``feasible_count``; ``repair=True``
    mends one-hot, cardinality and at-most-k groups first (``qevo_ir.constrained_solve``).
    A PolynomialHamiltonian given to a QAOA solver (``qaoa``, ``qaoa-qiskit``, ``qaoa-cirq``)
    without a ``pipeline`` is not quadratized: its k-local phase separator runs directly on its
    own variables (``specs/backend_qaoa.md``).
    """
    if not isinstance(backend, str):
        raise ValidationError(f"backend must be a name (a string), got {type(backend).__name__}")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ValidationError(f"workers must be a positive integer, got {workers!r}")
    src = load_source(source)
    if isinstance(src, PolynomialHamiltonian) and _direct_qaoa(src, backend, pipeline):
        options.pop("repair", None)  # repair mends constraints; a polynomial has none
    elif isinstance(src, ConstrainedModel | PolynomialHamiltonian):
        from qevo_ir.constrained_solve import solve_lowered

        return solve_lowered(
            src,
            backend,
            pipeline,
            repair_samples=bool(options.pop("repair", False)),
            timeout=timeout,
            workers=workers,
            executor=executor,
            progress=progress,
            **options,
        )
    if isinstance(src, ParameterModel):
        raise ValidationError(
            "solve() takes a Hamiltonian; compile a ParameterModel first "
            "(qevo_ir.compile(model, 'quantize')) and decode with the result"
        )
    backend, plugin, defaults = resolve_solver(backend, available_backends())
    opts = {**defaults, **{k: v for k, v in options.items() if v is not None}}
    if "read_timeout_ms" in opts:  # ``timeout`` is the whole solve's deadline here
        opts["timeout"] = opts.pop("read_timeout_ms")
    if plugin == "qaoa":
        _check_known_options(backend, opts, SOLVER_INFO["qaoa"].options)
    pipe = pipeline if isinstance(pipeline, Pipeline) else Pipeline.parse(pipeline or "")
    if isinstance(src, PolynomialHamiltonian):
        check_energy_bound(src, "the source polynomial")
    _check_ir_bound(src, "the source Hamiltonian")
    compiled = pipe.run(src) if len(pipe) else None
    ir = compiled.ir if compiled is not None else src
    if compiled is not None:
        _check_ir_bound(ir, "the Hamiltonian after the pipeline")
    embedded = hasattr(ir, "chains")
    if embedded and plugin != "dimod":
        raise CapabilityError(
            f"backend {backend!r} cannot take an embedded problem; embedding is for annealers "
            "(use sa, steepest or tabu, or drop the embed pass)"
        )
    if plugin in ("qaoa", "qiskit", "cirq") and isinstance(ir, Hamiltonian | PolynomialHamiltonian):
        check_qaoa_request(
            ir.num_variables,
            _separator_gates(ir),
            ir.l1_norm(),
            **{k: opts[k] for k in ("layers", "gammas", "betas", "shots", "seed") if k in opts},
        )
    elif "seed" in opts or "shots" in opts:
        check_qaoa_request(0, 0, 0.0, shots=opts.get("shots"), seed=opts.get("seed"))
    from qevo_ir.execution.solving import run_backend

    if timeout is not None:  # load the bound's library now, not after the deadline's work
        from qevo_ir.solvers.bounds import roof_duality_available

        roof_duality_available()
    start = time.perf_counter()
    if plugin != "qaoa":
        be = get_backend(plugin)  # unknown names fail here, before any worker starts
        if plugin != "dimod":
            check_capabilities(be, ir)
    result = run_backend(
        plugin,
        ir,
        opts,
        label=f"solve with {backend!r}",
        timeout=timeout,
        workers=workers,
        executor=executor,
        progress=progress,
    )
    seconds = time.perf_counter() - start
    if compiled is not None:
        if embedded:
            # The dimod backend already unembedded the samples (majority vote) into the embed
            # pass's input; decode through the passes before it.
            samples = result.to_vartype(ir.source.vartype)
            for decode in reversed(compiled.decoders[:-1]):
                samples = decode(samples)
            decoded = samples
        else:
            decoded = compiled.decode(result.to_vartype(ir.vartype))
        result = SampleResult.from_samples(
            src,
            decoded,
            vartype=src.vartype,
            num_occurrences=result.num_occurrences,
            info=result.info,
        )
    result.info.setdefault("backend", backend)
    result.info["seconds_total"] = seconds
    _certify(result, src, decoded=compiled is not None)
    return result


def _circuits_only(names: Sequence[str], lenient: bool, pipeline: str | Pipeline | None) -> bool:
    """Whether ``compile`` keeps a polynomial k-local: every target named explicitly is a QAOA
    circuit (``qiskit``, ``cirq``) and no pipeline is given (``all`` and any other target still
    quadratize, since they need a quadratic IR)."""
    if not _no_pipeline(pipeline):
        return False
    return not lenient and bool(names) and all(name in ("qiskit", "cirq") for name in names)


def _no_pipeline(pipeline: str | Pipeline | None) -> bool:
    return pipeline is None or (isinstance(pipeline, str) and not pipeline.strip())


def _direct_qaoa(src: PolynomialHamiltonian, backend: str, pipeline: str | Pipeline | None) -> bool:
    """Whether ``solve`` runs a polynomial's k-local QAOA directly: a QAOA solver and no
    pipeline (a given pipeline is honoured: it lowers, ``quadratize`` appended if needed)."""
    if not _no_pipeline(pipeline):
        return False
    try:
        _, plugin, _ = resolve_solver(backend, available_backends())
    except ValidationError:
        return False  # the lowered route reports the unknown name as it always has
    return plugin in ("qaoa", "qiskit", "cirq")


def _separator_gates(ir: Hamiltonian | PolynomialHamiltonian) -> int:
    """Gates of one layer's cost terms beyond the ``2n`` one-qubit gates: one per coupling; a
    term of degree ``d >= 3`` is a CX ladder, ``2d - 1`` gates."""
    if isinstance(ir, Hamiltonian):
        return ir.num_interactions
    deg = np.diff(ir.term_ptr)
    return int(np.count_nonzero(deg == 2) + (2 * deg[deg >= 3] - 1).sum())


def _check_known_options(name: str, options: dict[str, Any], accepted: Sequence[str]) -> None:
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValidationError(
            f"solver {name!r} has no option {unknown[0]!r}{did_you_mean(unknown[0], accepted)}; "
            f"its options: {', '.join(accepted)}"
        )


def _certify(
    result: SampleResult, src: Hamiltonian | PolynomialHamiltonian, *, decoded: bool
) -> None:
    """Give ``result.info`` its ``lower_bound``, ``gap`` and ``lower_bound_source``.

    A backend's own bound is kept when it is about ``src`` itself; after a pipeline it is about
    the compiled IR (kept as ``ir_lower_bound``) and a cheap bound on ``src`` is computed
    (``qevo_ir.solvers.bounds.lower_bound``: roof duality, the library's or qevo's own; for a
    polynomial its trivial bound).
    """
    from qevo_ir.solvers.bounds import certificate, lower_bound, trivial_bound

    info = result.info
    best = result.best_energy if len(result) else None
    if isinstance(src, PolynomialHamiltonian):
        bound, source = trivial_bound(src), "trivial"
    elif "lower_bound" in info and not decoded:
        bound, source = float(info["lower_bound"]), str(info.get("lower_bound_source", "backend"))
    else:
        if "lower_bound" in info:
            info["ir_lower_bound"] = info.pop("lower_bound")
        found = lower_bound(src)
        bound, source = found.value, found.source
    info.update(certificate(best, bound, source))


def _solve_fast_qaoa(
    ham: Hamiltonian | PolynomialHamiltonian,
    *,
    layers: int = 1,
    shots: int = 1024,
    seed: int | None = None,
    gammas: Sequence[float] | None = None,
    betas: Sequence[float] | None = None,
    restarts: int = 4,
    progress: Any = None,
    max_qubits: int | None = None,
    max_bytes: int | None = None,
    max_seconds: float | None = None,
) -> SampleResult:
    """QAOA on the numpy fast path (no SDK): optimise angles, then sample the exact state.

    Before anything of size ``2**n`` is allocated, the qubits, the memory (the machine's
    available memory and ``max_bytes``) and the estimated time (``max_seconds``) are checked
    (:func:`qevo_ir.qaoa.limits.check_fast_qaoa`), refusing with the numbers. A
    PolynomialHamiltonian runs on its k-local cost diagonal (no auxiliaries); samples come back
    in its own variables and vartype.
    """
    from qevo_ir import qaoa
    from qevo_ir.qaoa.limits import check_fast_qaoa

    n = ham.num_variables
    given = gammas is not None and betas is not None
    p = len(gammas) if given and gammas is not None else int(layers)
    check_fast_qaoa(
        n,
        layers=p,
        restarts=int(restarts),
        optimize=not given,
        max_qubits=max_qubits,
        max_bytes=max_bytes,
        max_seconds=max_seconds,
    )
    try:
        qaoa.check_qubits(n)
    except ValueError as exc:
        raise LimitExceeded(str(exc)) from None
    diag = qaoa.ir_cost_diagonal(ham)
    if gammas is None or betas is None:
        found = qaoa.optimize_angles(diag, layers, seed=seed, restarts=restarts, progress=progress)
        g, b = np.asarray(found.gammas), np.asarray(found.betas)
    else:
        g, b = np.asarray(gammas, dtype=float), np.asarray(betas, dtype=float)
    bits = qaoa.sample_qaoa(diag, g, b, shots, seed=seed)
    return SampleResult.from_samples(
        ham,  # type: ignore[arg-type]  # duck-typed: energies, variables, vartype
        bits,
        vartype=_binary(),
        info={
            "solver": "qaoa (numpy fast path)",
            "layers": len(g),
            "gammas": g.tolist(),
            "betas": b.tolist(),
            "expectation": qaoa.qaoa_expectation(diag, g, b),
            "shots": shots,
        },
    )


def _binary() -> Any:
    from qevo_ir.vartypes import BINARY

    return BINARY
