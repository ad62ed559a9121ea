"""A cache of minor embeddings, keyed by the source's coupling structure and the target graph.

An in-memory LRU answers repeated compiles in microseconds; an optional directory of JSON files
(written atomically, validated when read back) keeps embeddings across processes. Weights never
enter the key: two problems with the same couplings share an embedding. See
``specs/embedding.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.atomic import atomic_write_text
from qevo_ir.embedded import TargetGraph, validate_chains
from qevo_ir.errors import LabelError
from qevo_ir.variables import check_label

__all__ = [
    "CACHE_FORMAT",
    "CACHE_VERSION",
    "MAX_ENTRY_BYTES",
    "Chains",
    "EmbeddingCache",
    "cache_directory",
    "cache_disabled",
    "cache_key",
    "default_cache",
    "structure_key",
]

CACHE_FORMAT = "qevo-ir-embedding"
CACHE_VERSION = 1
MAX_ENTRY_BYTES = 64 * 1024 * 1024
"""Disk entries larger than this are ignored without being read."""

Chains = tuple[npt.NDArray[np.int64], ...]
"""Chains as graph node positions, one read-only int64 array per source variable."""


def structure_key(num_variables: int, row: npt.ArrayLike, col: npt.ArrayLike) -> str:
    """SHA-256 (hex) of the coupling structure: ``n`` and the canonical ``(row, col)`` pairs.

    Weights are not part of it, nor labels: variable ``i`` is position ``i``.
    """
    h = hashlib.sha256(f"qevo-ir:structure:v1:{int(num_variables)}:".encode())
    h.update(np.ascontiguousarray(row, dtype="<i8").tobytes())
    h.update(b"|")
    h.update(np.ascontiguousarray(col, dtype="<i8").tobytes())
    return h.hexdigest()


def cache_key(structure: str, graph_key: str, method: str, seed: int | None, tries: int) -> str:
    """The cache key: source structure, target graph content, method, seed and tries."""
    text = json.dumps(
        {
            "v": CACHE_VERSION,
            "structure": structure,
            "graph": graph_key,
            "method": method,
            "seed": seed,
            "tries": int(tries),
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def cache_directory() -> Path:
    """``$QEVO_CACHE_DIR/embeddings``, else ``$XDG_CACHE_HOME/qevo_ir/embeddings``, else
    ``~/.cache/qevo_ir/embeddings``."""
    root = os.environ.get("QEVO_CACHE_DIR")
    if root:
        return Path(root) / "embeddings"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "qevo_ir" / "embeddings"


def cache_disabled() -> bool:
    """``QEVO_NO_CACHE`` set to ``1``, ``true`` or ``yes`` turns every embedding cache off."""
    return os.environ.get("QEVO_NO_CACHE", "").strip().lower() in ("1", "true", "yes")


class EmbeddingCache:
    """In-memory LRU of embeddings plus an optional directory of validated JSON entries.

    Parameters
    ----------
    directory:
        Where entries are written as ``<key>.json``; ``None`` keeps the cache in memory only.
    maxsize:
        Number of embeddings the in-memory LRU holds.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, maxsize: int = 128):
        self.directory = None if directory is None else Path(directory)
        self.maxsize = int(maxsize)
        self._memory: OrderedDict[str, Chains] = OrderedDict()

    def __len__(self) -> int:
        return len(self._memory)

    def clear_memory(self) -> None:
        self._memory.clear()

    def path(self, key: str) -> Path | None:
        return None if self.directory is None else self.directory / f"{key}.json"

    def get(
        self,
        key: str,
        graph: TargetGraph,
        num_variables: int,
        row: npt.NDArray[np.int64],
        col: npt.NDArray[np.int64],
    ) -> tuple[Chains | None, str]:
        """``(chains, status)``; status is ``"memory"``, ``"disk"``, ``"miss"`` or
        ``"invalid: <reason>"`` (a disk entry that failed validation and was ignored).

        Disk entries are checked against ``graph`` and the source structure before use: every
        chain names known nodes, chains are disjoint and connected, every coupling has an edge.
        """
        hit = self._memory.get(key)
        if hit is not None:
            self._memory.move_to_end(key)
            return hit, "memory"
        path = self.path(key)
        if path is None or not path.is_file():
            return None, "miss"
        chains, reason = _read_entry(path, key, graph, num_variables)
        if chains is None:
            return None, f"invalid: {reason}"
        bad = validate_chains(graph, num_variables, row, col, chains)
        if bad is not None:
            return None, f"invalid: {bad}"
        self._remember(key, chains)
        return chains, "disk"

    def put(
        self,
        key: str,
        graph: TargetGraph,
        chains: Sequence[npt.ArrayLike],
        meta: dict[str, Any] | None = None,
    ) -> str | None:
        """Store ``chains`` (node positions); returns an error note if the disk write failed.

        A failed write (read-only or full disk) never fails the compile: the entry stays in
        memory and the note says why it was not saved.
        """
        frozen = tuple(_frozen(c) for c in chains)
        self._remember(key, frozen)
        path = self.path(key)
        if path is None:
            return None
        doc = {
            "format": CACHE_FORMAT,
            "version": CACHE_VERSION,
            "key": key,
            "graph": graph.key(),
            "num_variables": len(frozen),
            "meta": dict(meta or {}),
            "chains": [[_jsonable(graph.labels[int(p)]) for p in c] for c in frozen],
        }
        try:
            atomic_write_text(path, json.dumps(doc, separators=(",", ":")))
        except OSError as exc:
            return f"not written to {path}: {exc}"
        return None

    def _remember(self, key: str, chains: Chains) -> None:
        self._memory[key] = chains
        self._memory.move_to_end(key)
        while len(self._memory) > self.maxsize:
            self._memory.popitem(last=False)


_default: EmbeddingCache | None = None


def default_cache() -> EmbeddingCache | None:
    """The process-wide cache for :func:`cache_directory`, or ``None`` if ``QEVO_NO_CACHE``.

    The environment is read on every call, so a changed ``QEVO_CACHE_DIR`` takes effect (with
    a fresh in-memory LRU).
    """
    global _default
    if cache_disabled():
        return None
    directory = cache_directory()
    if _default is None or _default.directory != directory:
        _default = EmbeddingCache(directory)
    return _default


# ----------------------------------------------------------------------------- disk entries
def _read_entry(
    path: Path, key: str, graph: TargetGraph, num_variables: int
) -> tuple[Chains | None, str]:
    try:
        size = path.stat().st_size
        if size > MAX_ENTRY_BYTES:
            return None, f"{path} is {size} bytes, over the {MAX_ENTRY_BYTES}-byte limit"
        doc = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"{path} does not parse ({exc})"
    if not isinstance(doc, dict):
        return None, f"{path}: not a JSON object"
    if doc.get("format") != CACHE_FORMAT or doc.get("version") != CACHE_VERSION:
        return None, f"{path}: format/version is not {CACHE_FORMAT!r} v{CACHE_VERSION}"
    if doc.get("key") != key or doc.get("graph") != graph.key():
        return None, f"{path}: key or target graph does not match its name"
    raw = doc.get("chains")
    if not isinstance(raw, list) or len(raw) != num_variables:
        return None, f"{path}: 'chains' must be a list of {num_variables} chains"
    index = graph.index()
    total = 0
    chains: list[npt.NDArray[np.int64]] = []
    for i, chain in enumerate(raw):
        if not isinstance(chain, list) or not chain:
            return None, f"{path}: chains[{i}] must be a non-empty list of node labels"
        total += len(chain)
        if total > graph.num_nodes:
            return None, f"{path}: chains use more nodes than the target graph has"
        try:
            pos = [index[check_label(x)] for x in chain]
        except (LabelError, KeyError, TypeError):
            return None, f"{path}: chains[{i}] names a node that is not in the target graph"
        chains.append(_frozen(pos))
    return tuple(chains), ""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _frozen(chain: npt.ArrayLike) -> npt.NDArray[np.int64]:
    arr = np.sort(np.asarray(chain, dtype=np.int64).reshape(-1))
    arr.flags.writeable = False
    return arr


def _jsonable(label: object) -> Any:
    if isinstance(label, tuple):
        return [_jsonable(x) for x in label]
    return label
