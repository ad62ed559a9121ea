"""Rules on the source of the package and its backends, checked on the syntax tree (so they hold
whatever the lint configuration): no code execution from data, no unpickling, and every file
written through the atomic helpers."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "qevo_ir").rglob("*.py"), *(ROOT / "backends").rglob("*.py")])

# Modules whose loaders run code or rebuild arbitrary objects from bytes.
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle"}
# Calls that evaluate text as code (or as arbitrary objects).
UNSAFE_CALLS = {"eval", "exec", "sympify", "parse_expr", "unsafe_load", "full_load"}
# File-writing calls allowed only inside qevo_ir/atomic.py.
WRITE_ATTRS = {"write_text", "write_bytes", "save", "savez", "savez_compressed", "tofile",
               "savetxt"}  # fmt: skip
# (file, reason): the only direct open() for writing, a lock file that holds no data.
OPEN_ALLOWED = {("qevo_ir/compiler.py", "a+b")}


def _trees() -> Iterator[tuple[str, ast.AST]]:
    for path in SOURCES:
        yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return _name(node)


def test_sources_were_found() -> None:
    assert len(SOURCES) > 40


def test_no_unpickling_modules_are_imported() -> None:
    found = []
    for rel, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [(node.module or "").split(".")[0]]
            else:
                continue
            found += [f"{rel}:{node.lineno} imports {n}" for n in names if n in UNSAFE_MODULES]
    assert found == []


def test_no_text_is_evaluated_as_code() -> None:
    found = [
        f"{rel}:{node.lineno} calls {_name(node.func)}"
        for rel, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _name(node.func) in UNSAFE_CALLS
    ]
    assert found == []


def test_every_np_load_refuses_pickles() -> None:
    """``np.load`` only with ``allow_pickle=False`` spelled out (numpy's default has changed
    before); ``allow_pickle=True`` appears nowhere."""
    found = []
    for rel, tree in _trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for kw in node.keywords:
                if kw.arg == "allow_pickle" and not (
                    isinstance(kw.value, ast.Constant) and kw.value.value is False
                ):
                    found.append(f"{rel}:{node.lineno} allow_pickle={ast.unparse(kw.value)}")
            if _dotted(node.func) in ("np.load", "numpy.load") and not any(
                kw.arg == "allow_pickle" for kw in node.keywords
            ):
                found.append(f"{rel}:{node.lineno} np.load without allow_pickle=False")
    assert found == []


def _open_mode(node: ast.Call) -> str | None:
    mode: ast.expr | None = node.args[1] if len(node.args) > 1 else None
    for kw in node.keywords:
        if kw.arg == "mode":
            mode = kw.value
    if isinstance(mode, ast.Constant) and isinstance(mode.value, str):
        return mode.value
    return None if mode is None else "?"


@pytest.mark.parametrize("rule", ["open", "write-methods"])
def test_files_are_written_only_through_the_atomic_helpers(rule: str) -> None:
    found = []
    for rel, tree in _trees():
        if rel == "qevo_ir/atomic.py":
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = _dotted(node.func)
            if rule == "open" and func == "os.open" and len(node.args) > 1:
                flags = ast.unparse(node.args[1])
                writes = any(f in flags for f in ("O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND"))
                if writes and ast.unparse(node.args[0]) != "os.devnull":
                    found.append(f"{rel}:{node.lineno} os.open(..., {flags})")
            elif rule == "open" and func in ("open", "io.open", "os.fdopen"):
                mode = _open_mode(node) or "r"
                if any(c in mode for c in "wax+?") and (rel, mode) not in OPEN_ALLOWED:
                    found.append(f"{rel}:{node.lineno} {func}(..., {mode!r})")
            if rule == "write-methods" and _name(node.func) in WRITE_ATTRS:
                owner = _dotted(node.func.value) if isinstance(node.func, ast.Attribute) else ""
                if owner in ("np", "numpy") or _name(node.func) in ("write_text", "write_bytes",
                                                                     "tofile"):  # fmt: skip
                    found.append(f"{rel}:{node.lineno} {func}()")
    assert found == []
