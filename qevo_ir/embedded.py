"""The embedded IR: a logical Ising problem, its physical copy on a target graph, and the chains.

:class:`EmbeddedHamiltonian` places every logical (source) variable on a connected *chain* of
physical qubits and is exact on chain-consistent samples; :meth:`EmbeddedHamiltonian.unembed`
maps physical samples back with chain-break statistics. See ``specs/embedding.md``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from qevo_ir.coo import IndexArray
from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.variables import Label, VariableTable, check_label
from qevo_ir.vartypes import BINARY, SPIN, Vartype, as_vartype

__all__ = [
    "EmbeddedHamiltonian",
    "TargetGraph",
    "UnembedResult",
    "certified_chain_strength",
    "chain_problem",
    "uniform_torque_compensation",
    "validate_chains",
]

# Physical samples are unembedded in row chunks so the int32 work array stays near this size.
_UNEMBED_CHUNK_BYTES = 32 * 1024 * 1024


class TargetGraph:
    """A physical graph as arrays: node labels by position and edges ``u < v`` (positions).

    The labels are what the target Hamiltonian's variables are called (ints for Chimera, Pegasus
    and Zephyr linear indices). Built once per topology and reused; immutable.

    Parameters
    ----------
    labels:
        Node labels, position ``p`` is node ``labels[p]``; ints, strs or tuples of those.
    u, v:
        Edge endpoints as positions; any order, duplicates and orientation are normalised.
    topology:
        Plain description for reports, e.g. ``{"family": "pegasus", "m": 16}``.
    native:
        The object the graph was built from (a networkx graph), for SDK calls that need it;
        never inspected here.
    """

    __slots__ = ("_edge_list", "_index", "_key", "labels", "native", "topology", "u", "v")

    def __init__(
        self,
        labels: Sequence[object],
        u: npt.ArrayLike,
        v: npt.ArrayLike,
        topology: dict[str, Any] | None = None,
        *,
        native: Any = None,
    ) -> None:
        self.labels: tuple[Label, ...] = tuple(check_label(x) for x in labels)
        n = len(self.labels)
        uu = np.asarray(u, dtype=np.int64).reshape(-1)
        vv = np.asarray(v, dtype=np.int64).reshape(-1)
        if len(uu) != len(vv):
            raise ValidationError(f"target graph: {len(uu)} edge sources for {len(vv)} targets")
        if uu.size and (min(uu.min(), vv.min()) < 0 or max(uu.max(), vv.max()) >= n):
            raise ValidationError(f"target graph: an edge names a node outside 0..{n - 1}")
        if np.any(uu == vv):
            raise ValidationError("target graph: self-loops are not couplers")
        lo, hi = np.minimum(uu, vv), np.maximum(uu, vv)
        key = np.unique(lo * np.int64(max(n, 1)) + hi)
        self.u: IndexArray = key // max(n, 1)
        self.v: IndexArray = key % max(n, 1)
        self.u.flags.writeable = False
        self.v.flags.writeable = False
        self.topology: dict[str, Any] = dict(topology or {})
        self.native = native
        self._index: dict[Label, int] | None = None
        self._key: str | None = None
        self._edge_list: list[tuple[int, int]] | None = None

    @property
    def num_nodes(self) -> int:
        return len(self.labels)

    @property
    def num_edges(self) -> int:
        return len(self.u)

    def index(self) -> dict[Label, int]:
        """``label -> position`` (built on first use)."""
        if self._index is None:
            self._index = {x: i for i, x in enumerate(self.labels)}
            if len(self._index) != len(self.labels):
                raise ValidationError("target graph: two nodes share a label")
        return self._index

    def edge_list(self) -> list[tuple[int, int]]:
        """Edges as a list of position pairs (the form embedding heuristics take), cached."""
        if self._edge_list is None:
            self._edge_list = list(zip(self.u.tolist(), self.v.tolist(), strict=True))
        return self._edge_list

    def key(self) -> str:
        """SHA-256 (hex) of the labels and edges: identifies the graph in cache keys."""
        if self._key is None:
            h = hashlib.sha256(b"qevo-ir:target-graph:v1:")
            h.update(json.dumps(_jsonable(self.labels), separators=(",", ":")).encode())
            h.update(np.ascontiguousarray(self.u, dtype="<i8").tobytes())
            h.update(np.ascontiguousarray(self.v, dtype="<i8").tobytes())
            self._key = h.hexdigest()
        return self._key

    def __repr__(self) -> str:
        return (
            f"TargetGraph({self.topology or '?'}, nodes={self.num_nodes}, edges={self.num_edges})"
        )


@dataclass(frozen=True, eq=False)
class UnembedResult:
    """Physical samples mapped back to source samples, with chain-break statistics.

    Attributes
    ----------
    samples:
        ``(k, n)`` int8 source samples in SPIN (or the vartype asked for).
    indices:
        ``(k,)`` int64: row of the physical samples each source sample came from (all rows for
        majority vote; the rows without a broken chain for discard).
    chain_break_fraction:
        ``(m,)`` float64 for *every* physical sample: broken chains / source variables.
    broken:
        ``(m, n)`` bool: chain ``i`` of physical sample ``r`` is broken.
    method:
        ``"majority_vote"`` or ``"discard"``.
    """

    samples: npt.NDArray[np.int8]
    indices: npt.NDArray[np.int64]
    chain_break_fraction: npt.NDArray[np.float64]
    broken: npt.NDArray[np.bool_]
    method: str

    @property
    def mean_chain_break_fraction(self) -> float:
        f = self.chain_break_fraction
        return float(f.mean()) if f.size else 0.0

    @property
    def keep(self) -> npt.NDArray[np.bool_]:
        """``(m,)`` mask of the physical samples that produced a source sample."""
        mask = np.zeros(len(self.chain_break_fraction), dtype=bool)
        mask[self.indices] = True
        return mask


def uniform_torque_compensation(source: Hamiltonian, prefactor: float = 1.414) -> float:
    """Chain strength ``prefactor · RMS(J) · sqrt(mean degree)``, or ``1.0`` when that is zero.

    The rule of ``dwave.embedding.chain_strength.uniform_torque_compensation`` (dwave-system,
    Apache-2.0), evaluated on the SPIN form with numpy: RMS over every stored coupling (explicit
    zeros included, as dimod counts them), mean degree over every variable.
    """
    spin = source.to_spin()
    m = spin.num_interactions
    if m == 0:
        return 1.0
    rms = float(np.sqrt(np.mean(spin.quad**2)))
    avg_degree = float(spin.degrees().mean())
    strength = float(prefactor) * rms * float(np.sqrt(avg_degree))
    # Only explicit zero couplings: nothing to compensate, but chains still need a positive
    # strength to hold together (a zero one would leave every chain free to break).
    return strength if strength > 0 else 1.0


def chain_problem(source: Hamiltonian, chain_lengths: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Per-variable ``|h_u|(1 - 1/L_u) + Σ_v |J_uv|`` (SPIN), ``0`` where ``L_u = 1``.

    A chain strength strictly above the maximum makes every ground state of the embedded problem
    chain-consistent (proof in ``specs/embedding.md``).
    """
    spin = source.to_spin()
    n = spin.num_variables
    lengths = np.asarray(chain_lengths, dtype=np.float64)
    a = np.abs(spin.quad)
    touch = np.bincount(spin.row, weights=a, minlength=n) + np.bincount(
        spin.col, weights=a, minlength=n
    )
    need = np.abs(spin.linear) * (1.0 - 1.0 / np.maximum(lengths, 1.0)) + touch
    need[lengths <= 1] = 0.0
    return np.asarray(need, dtype=np.float64)


def certified_chain_strength(source: Hamiltonian, chain_lengths: npt.ArrayLike) -> float:
    """The bound ``max_u chain_problem(u)``: any chain strength strictly above it is certified."""
    need = chain_problem(source, chain_lengths)
    return float(need.max()) if need.size else 0.0


class EmbeddedHamiltonian:
    """A source Ising problem embedded into a target graph: ``source``, ``target``, ``chains``.

    ``target`` is a SPIN :class:`Hamiltonian` whose variable labels are target-graph node labels;
    ``chains[i]`` (int64, ascending) are the target *variable indices* carrying source variable
    ``i``. The chains partition the target's variables. For every chain-consistent target sample
    ``y`` (each chain constant), ``target.energies(y) == source.energies(unembed(y))`` up to
    float64 rounding. Build one with :meth:`build` (or the ``embed`` pass); the constructor
    checks and wraps existing parts.
    """

    __slots__ = (
        "_cache",
        "_chain_owner",
        "_chain_starts",
        "_concat",
        "_lengths",
        "_num_chain_edges",
        "chain_strength",
        "chains",
        "source",
        "target",
        "topology",
    )

    def __init__(
        self,
        source: Hamiltonian,
        target: Hamiltonian,
        chains: Sequence[npt.ArrayLike],
        chain_strength: float,
        topology: dict[str, Any] | None = None,
    ) -> None:
        if source.vartype is not SPIN or target.vartype is not SPIN:
            raise ValidationError(
                "EmbeddedHamiltonian: source and target must be SPIN; convert with .to_spin()"
            )
        n, q = source.num_variables, target.num_variables
        if len(chains) != n:
            raise ValidationError(f"EmbeddedHamiltonian: {len(chains)} chains for {n} variables")
        arrs = tuple(np.sort(np.asarray(c, dtype=np.int64).reshape(-1)) for c in chains)
        lengths = np.fromiter((len(c) for c in arrs), dtype=np.int64, count=n)
        if n and lengths.min() == 0:
            i = int(np.flatnonzero(lengths == 0)[0])
            raise ValidationError(f"EmbeddedHamiltonian: chain of {source.labels[i]!r} is empty")
        concat = np.concatenate(arrs) if n else np.zeros(0, dtype=np.int64)
        if len(concat) != q or (q and not np.array_equal(np.sort(concat), np.arange(q))):
            raise ValidationError(
                f"EmbeddedHamiltonian: chains must partition the {q} target variables "
                f"(they hold {len(concat)} indices, {len(np.unique(concat))} distinct)"
            )
        cs = float(chain_strength)
        if not np.isfinite(cs) or cs <= 0:
            raise ValidationError(f"chain_strength must be finite and > 0, got {chain_strength!r}")
        owner = np.empty(q, dtype=np.int64)
        owner[concat] = np.repeat(np.arange(n, dtype=np.int64), lengths)
        for a in arrs:
            a.flags.writeable = False
        owner.flags.writeable = False
        self.source = source
        self.target = target
        self.chains: tuple[npt.NDArray[np.int64], ...] = arrs
        self.chain_strength = cs
        self.topology: dict[str, Any] = dict(topology or {})
        self._lengths = lengths
        self._concat = concat
        self._chain_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        self._chain_owner = owner
        same = owner[target.row] == owner[target.col]
        self._num_chain_edges = int(np.count_nonzero(same))
        self._cache: dict[str, Any] = {}

    # ---------------------------------------------------------------- construction
    @classmethod
    def build(
        cls,
        source: Hamiltonian,
        graph: TargetGraph,
        chains: Sequence[npt.ArrayLike],
        chain_strength: float,
    ) -> EmbeddedHamiltonian:
        """Embed ``source`` (converted to SPIN) with ``chains`` given as *graph node positions*.

        Placement (dwave-system ``embed_bqm`` semantics, vectorised): ``h_i`` is split evenly over
        chain ``i``; ``J_uv`` evenly over every graph edge between chains ``u`` and ``v``; every
        graph edge inside a chain gets ``-chain_strength`` and the offset gains
        ``chain_strength`` per such edge, so an unbroken chain costs exactly 0. Target variables
        are ordered chain by chain (source order), each chain's nodes in graph-position order.

        Raises
        ------
        ValidationError
            Chains that overlap, name unknown nodes, are disconnected, or leave a source coupling
            without a graph edge between its two chains (the message names the variables).
        """
        src = source.to_spin()
        reason = validate_chains(graph, src.num_variables, src.row, src.col, chains)
        if reason is not None:
            raise ValidationError(f"invalid embedding into {_describe(graph)}: {reason}")
        cs = float(chain_strength)
        if not np.isfinite(cs) or cs <= 0:
            raise ValidationError(f"chain_strength must be finite and > 0, got {chain_strength!r}")
        n = src.num_variables
        pos = [np.sort(np.asarray(c, dtype=np.int64).reshape(-1)) for c in chains]
        lengths = np.fromiter((len(c) for c in pos), dtype=np.int64, count=n)
        concat = np.concatenate(pos) if n else np.zeros(0, dtype=np.int64)
        q = len(concat)
        owner_node = np.full(graph.num_nodes, -1, dtype=np.int64)
        owner_node[concat] = np.repeat(np.arange(n, dtype=np.int64), lengths)
        var_of_node = np.full(graph.num_nodes, -1, dtype=np.int64)
        var_of_node[concat] = np.arange(q, dtype=np.int64)
        ou, ov = owner_node[graph.u], owner_node[graph.v]
        used = (ou >= 0) & (ov >= 0)
        in_chain = used & (ou == ov)
        between = used & (ou != ov)
        # chain couplers
        cr, cc = var_of_node[graph.u[in_chain]], var_of_node[graph.v[in_chain]]
        num_chain_edges = len(cr)
        # problem couplers: J_uv split evenly over the edges between chains u and v
        a = np.minimum(ou[between], ov[between])
        b = np.maximum(ou[between], ov[between])
        ekey = a * np.int64(max(n, 1)) + b
        skey = src.row * np.int64(max(n, 1)) + src.col  # sorted: canonical COO
        k = np.searchsorted(skey, ekey)
        hit = k < len(skey)
        hit[hit] = skey[k[hit]] == ekey[hit]
        counts = np.bincount(k[hit], minlength=len(skey))
        er = var_of_node[graph.u[between][hit]]
        ec = var_of_node[graph.v[between][hit]]
        ev = src.quad[k[hit]] / counts[k[hit]]
        linear = np.repeat(src.linear / np.maximum(lengths, 1), lengths)
        row = np.concatenate([cr, er])
        col = np.concatenate([cc, ec])
        val = np.concatenate([np.full(num_chain_edges, -cs), ev])
        offset = src.offset + cs * num_chain_edges
        labels = [graph.labels[int(p)] for p in concat]
        target = Hamiltonian(
            linear, row, col, val, offset, vartype=SPIN, variables=VariableTable(labels)
        )
        starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        var_chains = [np.arange(starts[i], starts[i + 1], dtype=np.int64) for i in range(n)]
        topo = dict(graph.topology)
        topo.setdefault("num_nodes", graph.num_nodes)
        topo.setdefault("num_edges", graph.num_edges)
        return cls(src, target, var_chains, cs, topo)

    # ---------------------------------------------------------------- sizes
    @property
    def vartype(self) -> Vartype:
        return SPIN

    @property
    def num_variables(self) -> int:
        return self.source.num_variables

    @property
    def num_interactions(self) -> int:
        return self.source.num_interactions

    @property
    def num_qubits(self) -> int:
        return self.target.num_variables

    @property
    def num_couplers(self) -> int:
        return self.target.num_interactions

    @property
    def num_chain_edges(self) -> int:
        """Target couplers inside chains (each carries ``-chain_strength``)."""
        return self._num_chain_edges

    @property
    def chain_lengths(self) -> npt.NDArray[np.int64]:
        return self._lengths

    @property
    def max_chain_length(self) -> int:
        return int(self._lengths.max()) if self._lengths.size else 0

    @property
    def mean_chain_length(self) -> float:
        return float(self._lengths.mean()) if self._lengths.size else 0.0

    @property
    def chain_owner(self) -> npt.NDArray[np.int64]:
        """``(num_qubits,)``: the source variable each target variable belongs to."""
        return self._chain_owner

    def certified_threshold(self) -> float:
        """Chain strengths strictly above this make every target ground state chain-consistent."""
        return certified_chain_strength(self.source, self._lengths)

    @property
    def chain_strength_certified(self) -> bool:
        return self.max_chain_length <= 1 or self.chain_strength > self.certified_threshold()

    def embedding(self) -> dict[Label, tuple[Label, ...]]:
        """``{source label: (target node labels, ...)}`` (for SDKs that take a dict)."""
        src, tgt = self.source.labels, self.target.labels
        return {src[i]: tuple(tgt[int(j)] for j in c) for i, c in enumerate(self.chains)}

    def stats(self) -> dict[str, Any]:
        """Plain numbers for reports."""
        return {
            "num_variables": self.num_variables,
            "num_interactions": self.num_interactions,
            "num_qubits": self.num_qubits,
            "num_couplers": self.num_couplers,
            "num_chain_edges": self.num_chain_edges,
            "max_chain_length": self.max_chain_length,
            "mean_chain_length": self.mean_chain_length,
            "chain_strength": self.chain_strength,
            "certified_threshold": self.certified_threshold(),
            "chain_strength_certified": self.chain_strength_certified,
            "topology": dict(self.topology),
        }

    def content_hash(self) -> str:
        """SHA-256 (hex) of source, target, chains and chain strength."""
        if "hash" not in self._cache:
            h = hashlib.sha256(b"qevo-ir:embedded:v1:")
            h.update(self.source.content_hash().encode())
            h.update(self.target.content_hash().encode())
            h.update(np.ascontiguousarray(self._lengths, dtype="<i8").tobytes())
            h.update(np.ascontiguousarray(self._concat, dtype="<i8").tobytes())
            h.update(np.float64(self.chain_strength).tobytes())
            self._cache["hash"] = h.hexdigest()
        return self._cache["hash"]  # type: ignore[no-any-return]

    # ---------------------------------------------------------------- samples
    def energies(self, target_samples: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Target (physical) energies of ``(m, num_qubits)`` SPIN samples."""
        return self.target.energies(target_samples)

    def embed_samples(self, source_samples: npt.ArrayLike) -> npt.NDArray[np.int8]:
        """Chain-consistent target samples: every qubit of chain ``i`` takes source value ``i``."""
        arr = _check_spins(source_samples, self.num_variables, "source samples")
        return np.ascontiguousarray(arr[:, self._chain_owner])

    def unembed(
        self,
        target_samples: npt.ArrayLike,
        method: Literal["majority_vote", "discard"] = "majority_vote",
        *,
        seed: int | np.random.Generator | None = None,
        vartype: Vartype | str = SPIN,
    ) -> UnembedResult:
        """Map ``(m, num_qubits)`` physical SPIN samples to source samples.

        Parameters
        ----------
        method:
            ``"majority_vote"``: each variable takes its chain's majority value; every sample is
            kept. ``"discard"``: samples with any broken chain are dropped.
        seed:
            Majority-vote ties (even chains split half and half): ``None`` breaks every tie to
            ``+1``; an int or Generator draws ``±1`` uniformly per tied (sample, variable).
        vartype:
            Vartype of the returned samples (SPIN default; BINARY maps ``s -> (s + 1) / 2``).
        """
        if method not in ("majority_vote", "discard"):
            raise ValidationError(
                f"unembed method {method!r} is unknown; use 'majority_vote' or 'discard'"
            )
        out_vt = as_vartype(vartype)
        arr = _check_spins(target_samples, self.num_qubits, "target samples")
        m, n = arr.shape[0], self.num_variables
        votes = np.empty((m, n), dtype=np.int8)
        broken = np.zeros((m, n), dtype=bool)
        if n:
            lengths = self._lengths
            identity = bool(np.array_equal(self._concat, np.arange(self.num_qubits)))
            rng = None if seed is None else np.random.default_rng(seed)
            chunk = max(1, _UNEMBED_CHUNK_BYTES // (4 * max(self.num_qubits, 1)))
            for start in range(0, m, chunk):
                part = arr[start : start + chunk]
                work = (part if identity else part[:, self._concat]).astype(np.int32)
                sums = np.add.reduceat(work, self._chain_starts, axis=1)
                broken[start : start + chunk] = np.abs(sums) != lengths
                v = np.where(sums >= 0, 1, -1).astype(np.int8)
                if rng is not None:
                    ties = sums == 0
                    count = int(np.count_nonzero(ties))
                    if count:
                        v[ties] = (2 * rng.integers(0, 2, size=count) - 1).astype(np.int8)
                votes[start : start + chunk] = v
        cbf = broken.mean(axis=1) if n else np.zeros(m, dtype=np.float64)
        if method == "discard":
            indices = np.flatnonzero(~broken.any(axis=1)).astype(np.int64)
            samples = votes[indices]
        else:
            indices = np.arange(m, dtype=np.int64)
            samples = votes
        if out_vt is BINARY:
            samples = ((samples + 1) // 2).astype(np.int8)
        return UnembedResult(
            samples=np.ascontiguousarray(samples),
            indices=indices,
            chain_break_fraction=np.asarray(cbf, dtype=np.float64),
            broken=broken,
            method=method,
        )

    def decode(self, target_samples: npt.ArrayLike) -> npt.NDArray[np.int8]:
        """Majority-vote unembedding (ties to ``+1``): source SPIN samples, one per input row."""
        return self.unembed(target_samples, "majority_vote").samples

    def __repr__(self) -> str:
        return (
            f"EmbeddedHamiltonian(num_variables={self.num_variables}, num_qubits="
            f"{self.num_qubits}, max_chain_length={self.max_chain_length}, "
            f"chain_strength={self.chain_strength!r}, topology={self.topology!r})"
        )


# ----------------------------------------------------------------------------- validation
def validate_chains(
    graph: TargetGraph,
    num_variables: int,
    row: npt.NDArray[np.int64],
    col: npt.NDArray[np.int64],
    chains: Sequence[npt.ArrayLike],
) -> str | None:
    """Why ``chains`` (graph node positions) is not a valid embedding, or ``None`` if it is.

    Valid: one non-empty chain per variable, positions inside the graph, chains pairwise
    disjoint, each chain connected by graph edges, and a graph edge between the chains of every
    source coupling ``(row[k], col[k])``. Vectorised: one pass over the graph's edges.
    """
    n = num_variables
    if len(chains) != n:
        return f"{len(chains)} chains for {n} variables"
    if n == 0:
        return None
    arrs = [np.asarray(c).reshape(-1) for c in chains]
    if any(a.dtype.kind not in "iu" for a in arrs if a.size):
        return "chain entries must be integer node positions"
    lengths = np.fromiter((len(a) for a in arrs), dtype=np.int64, count=n)
    if lengths.min() == 0:
        return f"chain {int(np.flatnonzero(lengths == 0)[0])} is empty"
    concat = np.concatenate(arrs).astype(np.int64)
    if concat.min() < 0 or concat.max() >= graph.num_nodes:
        return f"a chain names a node outside the graph's {graph.num_nodes} nodes"
    owner = np.full(graph.num_nodes, -1, dtype=np.int64)
    owner[concat] = np.repeat(np.arange(n, dtype=np.int64), lengths)
    if len(np.unique(concat)) != len(concat):
        counts = np.bincount(concat, minlength=graph.num_nodes)
        node = int(np.flatnonzero(counts > 1)[0])
        return f"node {graph.labels[node]!r} is in more than one chain"
    ou, ov = owner[graph.u], owner[graph.v]
    used = (ou >= 0) & (ov >= 0)
    inside = used & (ou == ov)
    # connectivity: components of the used nodes under chain edges, one per chain
    q = len(concat)
    local = np.full(graph.num_nodes, -1, dtype=np.int64)
    local[concat] = np.arange(q)
    adj = sp.coo_matrix(
        (np.ones(int(inside.sum())), (local[graph.u[inside]], local[graph.v[inside]])),
        shape=(q, q),
    )
    ncomp, comp = connected_components(adj, directed=False)
    if ncomp != n:
        per_chain = np.zeros(n, dtype=np.int64)
        first = np.unique(comp, return_index=True)[1]
        np.add.at(per_chain, owner[concat[first]], 1)
        bad = int(np.flatnonzero(per_chain > 1)[0])
        return f"chain {bad} is not connected in the target graph"
    between = used & (ou != ov)
    a = np.minimum(ou[between], ov[between])
    b = np.maximum(ou[between], ov[between])
    have = np.unique(a * np.int64(n) + b)
    r, c = np.asarray(row, dtype=np.int64), np.asarray(col, dtype=np.int64)
    need = np.minimum(r, c) * np.int64(n) + np.maximum(r, c)
    missing = ~np.isin(need, have)
    if missing.any():
        k = int(np.flatnonzero(missing)[0])
        return (
            f"no target edge between the chains of variables {int(r[k])} and {int(c[k])} "
            "(a source coupling needs one)"
        )
    return None


def _check_spins(samples: npt.ArrayLike, n: int, what: str) -> npt.NDArray[np.int8]:
    arr = np.asarray(samples)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != n:
        raise ValidationError(f"{what} must have shape (m, {n}), got {np.shape(samples)}")
    if arr.dtype.kind not in "iub":
        if arr.dtype.kind == "f" and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int8)
        else:
            raise ValidationError(f"{what} must be integers in {{-1, +1}}, got dtype {arr.dtype}")
    if arr.size and not np.all((arr == 1) | (arr == -1)):
        raise ValidationError(f"{what} contain values outside {{-1, +1}} (SPIN expected)")
    return arr.astype(np.int8, copy=False)


def _describe(graph: TargetGraph) -> str:
    topo = graph.topology
    name = topo.get("name") or topo.get("family") or "target graph"
    return f"{name} ({graph.num_nodes} nodes, {graph.num_edges} edges)"


def _jsonable(labels: Sequence[Label]) -> list[Any]:
    return [_jsonable(x) if isinstance(x, tuple) else x for x in labels]
