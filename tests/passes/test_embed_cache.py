"""The embedding cache: hits by structure (not weights), disk round trip, validation of entries."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qevo_ir.embedded import EmbeddedHamiltonian, validate_chains
from qevo_ir.embedding_cache import (
    EmbeddingCache,
    cache_directory,
    cache_key,
    default_cache,
    structure_key,
)
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.passes.embed import EmbedPass, embed_into, target_graph

pytest.importorskip("minorminer")
dwave_graphs = pytest.importorskip("dwave.graphs")


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("QEVO_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("QEVO_NO_CACHE", raising=False)
    return tmp_path / "embeddings"


def _problem(seed: int, n: int = 10) -> Hamiltonian:
    rng = np.random.default_rng(seed)
    mask = np.triu(np.ones((n, n)), 1) * (np.add.outer(np.arange(n), np.arange(n)) % 3 != 0)
    return Hamiltonian.from_ising(rng.normal(size=n), mask * rng.normal(size=(n, n)))


def _chains(emb: EmbeddedHamiltonian) -> list[list[object]]:
    return [list(v) for v in emb.embedding().values()]


def test_same_structure_hits_memory_in_under_a_millisecond(cache_dir: Path) -> None:
    p = EmbedPass(topology="chimera", m=4, method="heuristic")
    first, rec1, _ = p.run(_problem(0))
    second, rec2, _ = p.run(_problem(1))  # new weights, same couplings
    assert rec1.details["cache"] == "miss"
    assert rec2.details["cache"] == "memory"
    assert _chains(first) == _chains(second)
    assert not np.array_equal(first.target.quad, second.target.quad)
    # the lookup itself, as the pass does it
    src = _problem(2)
    graph = target_graph("chimera", 4)
    store = default_cache()
    assert store is not None
    best = np.inf
    for _ in range(20):
        start = time.perf_counter()
        key = cache_key(structure_key(10, src.row, src.col), graph.key(), "heuristic", 0, 10)
        chains, status = store.get(key, graph, 10, src.row, src.col)
        best = min(best, time.perf_counter() - start)
    assert status == "memory"
    assert chains is not None
    assert best <= 1e-3, best
    assert rec2.details["embedding_seconds"] <= 1e-3 or best <= 1e-3


def test_different_structure_or_options_miss(cache_dir: Path) -> None:
    p = EmbedPass(topology="chimera", m=4, method="heuristic")
    p.run(_problem(0))
    other = Hamiltonian.from_ising(np.zeros(10), {(0, 1): 1.0, (1, 2): 1.0})
    assert p.run(other)[1].details["cache"] == "miss"
    assert (
        EmbedPass(topology="chimera", m=4, method="heuristic", seed=3)
        .run(_problem(0))[1]
        .details["cache"]
        == "miss"
    )
    assert (
        EmbedPass(topology="chimera", m=5, method="heuristic").run(_problem(0))[1].details["cache"]
        == "miss"
    )


def test_disk_round_trip_in_a_fresh_cache(cache_dir: Path) -> None:
    graph = target_graph("chimera", 4)
    ham = _problem(0)
    emb = embed_into(ham, graph, method="heuristic", cache=EmbeddingCache(cache_dir))
    files = list(cache_dir.glob("*.json"))
    assert len(files) == 1
    doc = json.loads(files[0].read_text())
    assert doc["format"] == "qevo-ir-embedding"
    assert doc["version"] == 1
    fresh = EmbeddingCache(cache_dir)
    key = files[0].stem
    chains, status = fresh.get(key, graph, ham.num_variables, ham.row, ham.col)
    assert status == "disk"
    assert chains is not None
    again = embed_into(_problem(9), graph, method="heuristic", cache=fresh)
    assert _chains(again) == _chains(emb)
    assert fresh.get(key, graph, ham.num_variables, ham.row, ham.col)[1] == "memory"


def _free_node_away_from(graph: Any, chains: list[list[Any]], avoid: list[Any]) -> Any:
    """An unused node with no edge to any node of ``avoid``."""
    used = {q for c in chains for q in c}
    g = graph.native
    return next(
        q for q in graph.labels if q not in used and not any(g.has_edge(q, x) for x in avoid)
    )


def _corrupt(path: Path, doc: dict[str, object] | None, text: str | None = None) -> None:
    path.write_text(text if text is not None else json.dumps(doc))


@pytest.mark.parametrize(
    "damage",
    [
        "garbage",
        "nan",
        "overlap",
        "unknown_node",
        "disconnected",
        "missing_edge",
        "wrong_key",
        "bool_label",
        "too_few",
    ],
)
def test_corrupt_disk_entries_are_ignored_and_replaced(cache_dir: Path, damage: str) -> None:
    graph = target_graph("chimera", 4)
    ham = _problem(0)
    emb = embed_into(ham, graph, method="heuristic", cache=EmbeddingCache(cache_dir))
    (path,) = list(cache_dir.glob("*.json"))
    doc = json.loads(path.read_text())
    chains = doc["chains"]
    if damage == "garbage":
        _corrupt(path, None, "{not json")
    elif damage == "nan":
        _corrupt(path, None, path.read_text().replace('"chains":[[', '"chains":[[NaN,'))
    elif damage == "overlap":
        chains[1] = chains[1] + [chains[0][0]]
        _corrupt(path, doc)
    elif damage == "unknown_node":
        chains[0] = chains[0] + [10**9]
        _corrupt(path, doc)
    elif damage == "disconnected":
        chains[0] = chains[0] + [_free_node_away_from(graph, chains, chains[0])]
        _corrupt(path, doc)
    elif damage == "missing_edge":
        # move a coupled variable onto one node adjacent to none of its neighbours' chains
        i, j = int(ham.row[0]), int(ham.col[0])
        chains[i] = [_free_node_away_from(graph, chains, chains[j])]
        _corrupt(path, doc)
    elif damage == "wrong_key":
        doc["key"] = "0" * 64
        _corrupt(path, doc)
    elif damage == "bool_label":
        chains[0] = [True]
        _corrupt(path, doc)
    elif damage == "too_few":
        doc["chains"] = chains[:-1]
        _corrupt(path, doc)
    fresh = EmbeddingCache(cache_dir)
    got, status = fresh.get(path.stem, graph, ham.num_variables, ham.row, ham.col)
    assert got is None
    assert status.startswith("invalid"), status
    again = embed_into(ham, graph, method="heuristic", cache=fresh)
    assert (
        validate_chains(
            graph,
            ham.num_variables,
            ham.row,
            ham.col,
            [np.array([graph.index()[x] for x in c]) for c in _chains(again)],
        )
        is None
    )
    assert _chains(again) == _chains(emb)  # recomputed with the same seed
    # the entry was rewritten and now reads back
    assert (
        EmbeddingCache(cache_dir).get(path.stem, graph, ham.num_variables, ham.row, ham.col)[1]
        == "disk"
    )


def test_environment_controls(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cache_directory() == cache_dir
    monkeypatch.setenv("QEVO_NO_CACHE", "1")
    assert default_cache() is None
    rec = EmbedPass(topology="chimera", m=2, method="heuristic").run(_problem(0, n=5))[1]
    assert rec.details["cache"] == "off"
    assert not cache_dir.exists()
    monkeypatch.delenv("QEVO_NO_CACHE")
    rec = EmbedPass(topology="chimera", m=2, method="heuristic", cache=False).run(_problem(0, n=5))[
        1
    ]
    assert rec.details["cache"] == "off"


def test_unwritable_directory_does_not_fail_the_compile(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = EmbeddingCache(blocker / "sub")  # a path under a regular file cannot be created
    emb = embed_into(_problem(0, n=5), dwave_graphs.chimera_graph(2), cache=store)
    assert emb.num_variables == 5
    assert len(store) == 1


def test_lru_evicts_oldest() -> None:
    store = EmbeddingCache(None, maxsize=2)
    graph = target_graph("chimera", 1)
    for i in range(3):
        store.put(f"k{i}", graph, [[i]])
    assert len(store) == 2
    empty = np.zeros(0, dtype=np.int64)
    assert store.get("k0", graph, 1, empty, empty)[1] == "miss"
    assert store.get("k2", graph, 1, empty, empty)[1] == "memory"
