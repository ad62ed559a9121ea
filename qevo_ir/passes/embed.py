"""The ``embed`` pass: minor-embed a Hamiltonian onto Chimera, Pegasus, Zephyr or any graph.

Chains are found with minorminer (clique embeddings via ``busclique`` for dense blocks, the
heuristic ``find_embedding`` otherwise), cached by :mod:`qevo_ir.embedding_cache`, and the
physical problem is built by :meth:`EmbeddedHamiltonian.build`. The SDKs (minorminer,
dwave-graphs/dwave-networkx) are imported only when the pass runs. See ``specs/embedding.md``.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.budget import check_memory
from qevo_ir.embedded import (
    EmbeddedHamiltonian,
    TargetGraph,
    certified_chain_strength,
    uniform_torque_compensation,
)
from qevo_ir.embedding_cache import EmbeddingCache, cache_key, default_cache, structure_key
from qevo_ir.errors import BackendUnavailable, LimitExceeded, PipelineError, ValidationError
from qevo_ir.execution.engine import TaskContext
from qevo_ir.execution.progress import ProgressArg, progress_enabled
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.passes.base import CompilerPass, PassOutput, register_pass
from qevo_ir.plugins import require
from qevo_ir.vartypes import BINARY, spin_to_binary

__all__ = [
    "DEFAULT_SIZES",
    "EmbedPass",
    "embed_into",
    "find_chains",
    "graph_from_networkx",
    "resolve_chain_strength",
    "target_graph",
]

TOPOLOGIES = ("chimera", "pegasus", "zephyr")
METHODS = ("auto", "clique", "heuristic")
CHAIN_STRENGTH_RULES = ("torque", "certified")

DEFAULT_SIZES: dict[str, tuple[int, int | None]] = {
    "chimera": (16, 4),  # D-Wave 2000Q: C16, 2048 qubits
    "pegasus": (16, None),  # Advantage: P16, 5640 qubits
    "zephyr": (12, 4),  # Advantage2: Z12 (t=4), 4800 qubits
}
MAX_M = 64
MAX_T = 16
DENSE_THRESHOLD = 0.5
"""``method="auto"`` tries a clique embedding when the coupling density exceeds this."""

CERTIFIED_MARGIN = 1.01
"""``chain_strength="certified"`` uses this multiple of the certified threshold."""


# ----------------------------------------------------------------------------- target graphs
def _graphs() -> ModuleType:
    """``dwave.graphs`` (dwave-graphs), else the deprecated ``dwave_networkx``."""
    try:
        return require("dwave.graphs", "dimod")
    except BackendUnavailable:
        return require("dwave_networkx", "dimod")


def graph_from_networkx(graph: Any, topology: dict[str, Any] | None = None) -> TargetGraph:
    """A :class:`TargetGraph` from a networkx graph (node labels: ints, strs or tuples).

    ``topology`` defaults to the graph's ``family``/``rows``/``tile`` attributes (set by
    dwave-graphs generators) or ``{"family": "custom"}``.
    """
    nodes = list(graph.nodes)
    index = {x: i for i, x in enumerate(nodes)}
    m = graph.number_of_edges()
    u = np.fromiter((index[a] for a, _ in graph.edges), dtype=np.int64, count=m)
    v = np.fromiter((index[b] for _, b in graph.edges), dtype=np.int64, count=m)
    if topology is None:
        attrs = getattr(graph, "graph", {}) or {}
        topology = {"family": attrs.get("family", "custom")}
        if "name" in attrs:
            topology["name"] = str(attrs["name"])
        if "rows" in attrs:
            topology["m"] = int(attrs["rows"])
        if "tile" in attrs and attrs.get("family") in ("chimera", "zephyr"):
            topology["t"] = int(attrs["tile"])
    return TargetGraph(nodes, u, v, topology, native=graph)


def target_graph(topology: str, m: int | None = None, t: int | None = None) -> TargetGraph:
    """The D-Wave graph ``topology(m[, t])`` with linear-index (int) node labels, cached.

    Defaults: :data:`DEFAULT_SIZES`. Raises :class:`LimitExceeded` above ``m = 64``/``t = 16``.
    """
    if topology not in TOPOLOGIES:
        raise ValidationError(f"unknown topology {topology!r}; use one of {', '.join(TOPOLOGIES)}")
    if topology == "pegasus" and t is not None:
        raise ValidationError("pegasus has no tile option t; give t for chimera or zephyr only")
    dm, dt = DEFAULT_SIZES[topology]
    mm = dm if m is None else int(m)
    tt = dt if t is None else int(t)
    if mm < 1 or mm > MAX_M or (tt is not None and not 1 <= tt <= MAX_T):
        raise LimitExceeded(
            f"topology {topology}(m={mm}, t={tt}) is outside 1 <= m <= {MAX_M}, 1 <= t <= {MAX_T}"
        )
    if topology == "pegasus" and mm < 2:
        raise ValidationError("pegasus needs m >= 2 (pegasus(1) has no qubits)")
    qubits, edges = graph_size(topology, mm, tt)
    if edges > MAX_GRAPH_COUPLERS:
        raise LimitExceeded(
            f"the target graph {topology}(m={mm}, t={tt}) has {qubits} qubits and about {edges} "
            f"couplers, over the limit of {MAX_GRAPH_COUPLERS} (building it alone would take "
            f"about {edges * BYTES_PER_GRAPH_EDGE / 2**30:.1f} GiB and minutes); choose a "
            "smaller m or t"
        )
    check_memory(
        float(edges) * BYTES_PER_GRAPH_EDGE,
        f"the target graph {topology}(m={mm}, t={tt}) with {qubits} qubits and up to {edges} "
        "couplers",
        "choose a smaller m or t",
    )
    return _target_graph(topology, mm, tt)


#: Peak bytes per coupler of building a target graph and embedding into it: networkx takes
#: about 223 (measured on zephyr(8, 4)), then the arrays, minorminer's own copy and the clique
#: cache.
BYTES_PER_GRAPH_EDGE = 1024
#: Largest target graph built: every D-Wave graph up to m = 64 with t <= 4 fits (zephyr(64, 4):
#: 1.3 million couplers); zephyr(64, 16) (18 million) does not.
MAX_GRAPH_COUPLERS = 4_000_000


def graph_size(topology: str, m: int, t: int | None) -> tuple[int, int]:
    """``(qubits, an upper bound on the couplers)`` of ``topology(m[, t])``, from formulas."""
    if topology == "chimera":
        tt = t or 4
        return 2 * m * m * tt, m * m * tt * tt + 2 * m * (m - 1) * tt
    if topology == "pegasus":
        qubits = 24 * m * (m - 1)
        return qubits, qubits * 15 // 2
    tt = t or 4
    qubits = 4 * tt * m * (2 * m + 1)
    return qubits, qubits * (2 * tt + 2)


@functools.lru_cache(maxsize=16)
def _target_graph(topology: str, m: int, t: int | None) -> TargetGraph:
    dg = _graphs()
    if topology == "chimera":
        g = dg.chimera_graph(m, m, t)
        name = f"chimera({m}, t={t})"
    elif topology == "pegasus":
        g = dg.pegasus_graph(m)
        name = f"pegasus({m})"
    else:
        g = dg.zephyr_graph(m, t)
        name = f"zephyr({m}, t={t})"
    topo: dict[str, Any] = {"family": topology, "m": m, "name": name}
    if t is not None:
        topo["t"] = t
    return graph_from_networkx(g, topo)


# ----------------------------------------------------------------------------- chains
def _where(graph: TargetGraph) -> str:
    name = graph.topology.get("name") or graph.topology.get("family") or "the target graph"
    return f"{name} ({graph.num_nodes} qubits, {graph.num_edges} couplers)"


def _busclique_supported(graph: TargetGraph) -> bool:
    attrs = getattr(graph.native, "graph", None)
    if not isinstance(attrs, dict):
        return False
    family = attrs.get("family")
    if family == "chimera":
        return int(attrs.get("tile", 0)) <= 8
    return family in ("pegasus", "zephyr")


def _clique(
    k: int,
    graph: TargetGraph,
    seed: int | None,
    timeout: float,
    tries: int,
    progress: ProgressArg = None,
) -> list[list[int]] | None:
    if _busclique_supported(graph):
        busclique = require("minorminer.busclique", "dimod")
        emb = busclique.find_clique_embedding(k, graph.native)
        if not emb:
            return None
        index = graph.index()
        return [[index[x] for x in emb[i]] for i in range(k)]
    r, c = np.triu_indices(k, 1)
    return _heuristic(k, r, c, graph, seed, timeout, tries, progress)


def _heuristic(
    k: int,
    row: npt.NDArray[np.int64],
    col: npt.NDArray[np.int64],
    graph: TargetGraph,
    seed: int | None,
    timeout: float,
    tries: int,
    progress: ProgressArg = None,
) -> list[list[int]] | None:
    minorminer = require("minorminer", "dimod")
    source_edges = list(zip(row.tolist(), col.tolist(), strict=True))
    params: dict[str, Any] = {"timeout": float(timeout), "tries": int(tries)}
    if seed is not None:
        params["random_seed"] = int(seed)
    if progress_enabled(progress):
        emb = _watched_find_embedding(source_edges, graph.edge_list(), params, progress)
    else:
        emb = minorminer.find_embedding(source_edges, graph.edge_list(), **params)
    if not emb or len(emb) != k:
        return None
    return [list(emb[i]) for i in range(k)]


#: Time a watched search has past minorminer's own ``timeout`` before its worker is stopped.
_WATCH_GRACE_S = 5.0


def _watched_find_embedding(
    source_edges: list[tuple[int, int]],
    target_edges: list[tuple[int, int]],
    params: dict[str, Any],
    progress: ProgressArg,
) -> dict[int, list[int]]:
    """``minorminer.find_embedding`` in a worker process, with a bar of the seconds spent
    against its timeout: minorminer holds the interpreter, so nothing here could tick while it
    ran in this process. Same arguments, same seed: the same chains."""
    from qevo_ir.errors import DeadlineExceeded, TaskError
    from qevo_ir.execution.engine import map_tasks
    from qevo_ir.execution.progress import progress_reporter

    limit = float(params["timeout"])
    total = max(1, int(np.ceil(limit)))
    desc = f"embedding (minorminer, up to {params['tries']} tries, timeout {limit:g} s)"
    start = time.monotonic()
    with progress_reporter(progress, total, desc, unit="s") as report:

        def tick() -> None:
            if report is not None:
                report(min(total, int(time.monotonic() - start)), total)

        try:
            [emb] = map_tasks(
                _find_embedding_task,
                [None],
                shared=(source_edges, target_edges, params),
                timeout=limit + _WATCH_GRACE_S,
                progress=False,
                labels=["minorminer.find_embedding"],
                heartbeat=tick,
            )
        except DeadlineExceeded:
            return {}  # minorminer ran past its own timeout: nothing found
        except TaskError as exc:
            if isinstance(exc.error, Exception):
                raise exc.error from None
            raise
    result: dict[int, list[int]] = emb
    return result


def _find_embedding_task(_item: None, ctx: TaskContext[Any]) -> dict[int, list[int]]:
    minorminer = require("minorminer", "dimod")
    source_edges, target_edges, params = ctx.shared
    emb = minorminer.find_embedding(source_edges, target_edges, **params)
    return {int(v): [int(q) for q in chain] for v, chain in emb.items()}


def find_chains(
    source: Hamiltonian,
    graph: TargetGraph,
    *,
    method: str = "auto",
    seed: int | None = 0,
    timeout: float = 60.0,
    tries: int = 10,
    progress: ProgressArg = None,
) -> tuple[list[list[int]], str]:
    """Chains (graph node positions) for every variable of ``source``, and the method used.

    Coupled variables are embedded with minorminer; isolated variables then take the first
    free nodes (one each, in graph order). Raises :class:`LimitExceeded` naming the graph and
    the problem size when nothing is found. ``progress`` (``None``: when stderr is a
    terminal): the heuristic search runs in a worker process beside a bar of the seconds spent
    against ``timeout`` (same seed, same chains).
    """
    if method not in METHODS:
        raise ValidationError(f"unknown embedding method {method!r}; use {', '.join(METHODS)}")
    n = source.num_variables
    where = _where(graph)
    if n > graph.num_nodes:
        raise LimitExceeded(
            f"{n} variables do not fit on {where}: it has {graph.num_nodes} qubits; use a larger "
            "topology size (m) or sparsify/split the problem"
        )
    deg = source.degrees()
    core = np.flatnonzero(deg > 0)
    k = len(core)
    remap = np.full(n, -1, dtype=np.int64)
    remap[core] = np.arange(k)
    used_method = "none"
    core_chains: list[list[int]] = []
    if k:
        r, c = remap[source.row], remap[source.col]
        density = len(r) / (k * (k - 1) / 2)
        found: list[list[int]] | None = None
        if method == "clique" or (method == "auto" and k >= 3 and density > DENSE_THRESHOLD):
            found = _clique(k, graph, seed, timeout, tries, progress)
            used_method = "clique"
        if found is None and method != "clique":
            found = _heuristic(k, r, c, graph, seed, timeout, tries, progress)
            used_method = "heuristic"
        if found is None:
            raise LimitExceeded(
                f"no embedding found for {n} variables with {len(r)} couplings (density "
                f"{density:.2f}) on {where} by method={method!r} (tries={tries}, "
                f"timeout={timeout}s); use a larger topology (m), another method, more "
                "tries/timeout, or sparsify the problem"
            )
        core_chains = found
    chains: list[list[int]] = [[] for _ in range(n)]
    for i, chain in zip(core.tolist(), core_chains, strict=True):
        chains[i] = sorted(chain)
    isolated = np.flatnonzero(deg == 0)
    if len(isolated):
        taken = np.zeros(graph.num_nodes, dtype=bool)
        if core_chains:
            taken[np.concatenate([np.asarray(ch, dtype=np.int64) for ch in core_chains])] = True
        free = np.flatnonzero(~taken)
        if len(free) < len(isolated):
            raise LimitExceeded(
                f"{len(isolated)} isolated variables need one free qubit each but only "
                f"{len(free)} are left on {where} after embedding the coupled ones"
            )
        for i, p in zip(isolated.tolist(), free[: len(isolated)].tolist(), strict=True):
            chains[i] = [p]
        if used_method == "none":
            used_method = "isolated"
    return chains, used_method


def resolve_chain_strength(
    source: Hamiltonian,
    chain_lengths: npt.ArrayLike,
    chain_strength: float | str | None,
    prefactor: float = 1.414,
) -> tuple[float, str]:
    """``(value, rule)`` for an option value: a number, ``None``/``"torque"`` or ``"certified"``.

    ``"torque"``: :func:`uniform_torque_compensation` with ``prefactor``. ``"certified"``:
    :data:`CERTIFIED_MARGIN` times the certified threshold (``1.0`` when no chain can break).
    """
    if chain_strength is None or chain_strength == "torque":
        return uniform_torque_compensation(source, prefactor), "uniform_torque_compensation"
    if chain_strength == "certified":
        bound = certified_chain_strength(source, chain_lengths)
        return (bound * CERTIFIED_MARGIN if bound > 0 else 1.0), "certified"
    if isinstance(chain_strength, str):
        raise ValidationError(
            f"chain_strength {chain_strength!r} is unknown; give a number > 0, 'torque' or "
            "'certified'"
        )
    value = float(chain_strength)
    if not np.isfinite(value) or value <= 0:
        raise ValidationError(f"chain_strength must be finite and > 0, got {chain_strength!r}")
    return value, "given"


def embed_into(
    hamiltonian: Hamiltonian,
    graph: Any,
    *,
    method: str = "auto",
    chain_strength: float | str | None = None,
    prefactor: float = 1.414,
    seed: int | None = 0,
    timeout: float = 60.0,
    tries: int = 10,
    cache: EmbeddingCache | bool | None = True,
) -> EmbeddedHamiltonian:
    """Embed ``hamiltonian`` (converted to SPIN) into ``graph``: a networkx graph or a
    :class:`TargetGraph`. Options as for :class:`EmbedPass`; ``cache`` is an
    :class:`EmbeddingCache`, ``True`` (the default cache) or ``False``/``None`` (none)."""
    tg = graph if isinstance(graph, TargetGraph) else graph_from_networkx(graph)
    embedded, _ = _embed(
        hamiltonian, tg, method, chain_strength, prefactor, seed, timeout, tries, cache
    )
    return embedded


def _embed(
    hamiltonian: Hamiltonian,
    graph: TargetGraph,
    method: str,
    chain_strength: float | str | None,
    prefactor: float,
    seed: int | None,
    timeout: float,
    tries: int,
    cache: EmbeddingCache | bool | None,
) -> tuple[EmbeddedHamiltonian, dict[str, Any]]:
    src = hamiltonian.to_spin()
    store: EmbeddingCache | None
    if cache is True:
        store = default_cache()
    elif isinstance(cache, EmbeddingCache):
        store = cache
    else:
        store = None
    n = src.num_variables
    key = ""
    chains: Any = None
    status = "off"
    start = time.perf_counter()
    if store is not None:
        key = cache_key(structure_key(n, src.row, src.col), graph.key(), method, seed, tries)
        chains, status = store.get(key, graph, n, src.row, src.col)
    used = "cache"
    note = None
    if chains is None:
        chains, used = find_chains(
            src, graph, method=method, seed=seed, timeout=timeout, tries=tries
        )
        if store is not None:
            note = store.put(key, graph, chains, {"method": method, "used": used})
    search_seconds = time.perf_counter() - start
    lengths = np.fromiter((len(c) for c in chains), dtype=np.int64, count=n)
    value, rule = resolve_chain_strength(src, lengths, chain_strength, prefactor)
    embedded = EmbeddedHamiltonian.build(src, graph, chains, value)
    if rule == "certified":
        _check_certificate_survives_rounding(embedded, value)
    details: dict[str, Any] = {
        "converted_to_spin": hamiltonian.vartype is BINARY,
        "method_used": used,
        "cache": status,
        "embedding_seconds": search_seconds,
        "chain_strength_rule": rule,
        "exact_on": "chain-consistent samples (every chain unbroken); decode = majority vote",
        **embedded.stats(),
    }
    if note:
        details["cache_note"] = note
    return embedded, details


def _check_certificate_survives_rounding(embedded: EmbeddedHamiltonian, value: float) -> None:
    """Refuse a certified chain strength whose margin float64 cannot resolve.

    In exact arithmetic a chain strength above the threshold makes every broken chain cost at
    least the margin ``C - threshold``; evaluated in float64, a target energy carries a rounding
    error up to about ``(terms) · 2**-52 · (|offset| + Σ|h| + Σ|J|)``. When that reaches the
    margin (coefficients of 1e-112 beside an offset of 1, say), target ground states with broken
    chains tie with the certified ones and the certificate no longer holds in practice.
    """
    threshold = embedded.certified_threshold()
    margin = value - threshold
    target = embedded.target
    terms = target.num_variables + target.num_interactions + 1
    rounding = terms * 2.0**-52 * target.l1_norm()
    if threshold > 0 and not margin > rounding:
        raise ValidationError(
            f"embed: the certified chain strength {value!r} exceeds the threshold {threshold!r} "
            f"by {margin:.3g}, below the float64 rounding of the target's energies (about "
            f"{rounding:.3g}, from |offset| + sum|h| + sum|J| = {target.l1_norm():.3g}); the "
            "certificate would not hold when energies are computed. Drop the offset or rescale "
            "the problem (normalize) first"
        )


#: The longest minorminer search the pass asks for: minorminer reports "no embedding" at once
#: for timeouts of about 1e18 s and more (it converts the value to an integer duration).
MAX_EMBED_TIMEOUT_S = 1e9


# ----------------------------------------------------------------------------- the pass
@register_pass
@dataclass(frozen=True)
class EmbedPass(CompilerPass):
    """Minor-embed a Hamiltonian onto a D-Wave topology; output: :class:`EmbeddedHamiltonian`.

    Exact on chain-consistent samples: ``E_target(y) = E_source(decode(y))`` whenever every
    chain of ``y`` is unbroken; ``decode`` is majority vote (ties to ``+1``), returning samples in
    the input's vartype. The record's details say whether the chain strength is *certified*
    (every target ground state then has unbroken chains and decodes to a source ground state).

    Options
    -------
    topology: ``"chimera"``, ``"pegasus"`` or ``"zephyr"``. ``m``/``t``: size and tile
    (defaults :data:`DEFAULT_SIZES`). method: ``"auto"`` (clique if density > 0.5, else
    heuristic), ``"clique"`` or ``"heuristic"``. chain_strength: a number, ``"torque"``
    (uniform torque compensation, the default when ``None``) or ``"certified"``. prefactor:
    the torque rule's prefactor. seed, timeout (s), tries: for minorminer. cache: use the
    embedding cache (``QEVO_NO_CACHE=1`` turns it off everywhere).
    """

    name = "embed"
    input_type = "Hamiltonian"
    output_type = "EmbeddedHamiltonian"
    exact = True

    topology: str = "pegasus"
    m: int | None = None
    t: int | None = None
    method: str = "auto"
    chain_strength: float | str | None = None
    prefactor: float = 1.414
    seed: int | None = 0
    timeout: float = 60.0
    tries: int = 10
    cache: bool = True

    def __post_init__(self) -> None:
        if self.topology not in TOPOLOGIES:
            raise PipelineError(
                f"embed: topology={self.topology!r} is unknown; use {', '.join(TOPOLOGIES)}"
            )
        if self.method not in METHODS:
            raise PipelineError(
                f"embed: method={self.method!r} is unknown; use {', '.join(METHODS)}"
            )
        for name in ("m", "t"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise PipelineError(f"embed: {name}={value!r} must be an integer or none")
        if self.topology == "pegasus" and self.t is not None:
            raise PipelineError("embed: t (tile) applies to chimera and zephyr, not pegasus")
        cs = self.chain_strength
        if isinstance(cs, str):
            if cs not in CHAIN_STRENGTH_RULES:
                raise PipelineError(
                    f"embed: chain_strength={cs!r} is unknown; give a number > 0, 'torque' or "
                    "'certified'"
                )
        elif cs is not None and (
            isinstance(cs, bool) or not isinstance(cs, int | float) or not 0 < cs < np.inf
        ):
            raise PipelineError(f"embed: chain_strength={cs!r} must be a finite number > 0")
        if not 0 < self.prefactor < np.inf:
            raise PipelineError(f"embed: prefactor={self.prefactor!r} must be > 0")
        if not 0 < self.timeout <= MAX_EMBED_TIMEOUT_S:
            raise PipelineError(
                f"embed: timeout={self.timeout!r} must be a number of seconds in "
                f"(0, {MAX_EMBED_TIMEOUT_S:g}] (minorminer misreads larger values)"
            )
        if isinstance(self.tries, bool) or not isinstance(self.tries, int) or self.tries < 1:
            raise PipelineError(f"embed: tries={self.tries!r} must be an integer >= 1")
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            raise PipelineError(f"embed: seed={self.seed!r} must be an integer or none")

    def apply(self, ir: Any) -> PassOutput:
        if not isinstance(ir, Hamiltonian):
            raise PipelineError(
                f"embed takes a Hamiltonian, got {type(ir).__name__}; put it before any pass "
                "that produces an EmbeddedHamiltonian"
            )
        graph = target_graph(self.topology, self.m, self.t)
        embedded, details = _embed(
            ir,
            graph,
            self.method,
            self.chain_strength,
            self.prefactor,
            self.seed,
            self.timeout,
            self.tries,
            self.cache,
        )
        binary = ir.vartype is BINARY

        def decode(samples: npt.NDArray[Any]) -> npt.NDArray[Any]:
            spins = embedded.decode(samples)
            return spin_to_binary(spins) if binary else spins

        return PassOutput(ir=embedded, decode=decode, details=details)
