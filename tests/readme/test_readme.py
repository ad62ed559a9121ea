"""The README runs as written: every ```bash and ```python block, in order, then again.

The blocks run in a temporary copy of the files the README names (``examples/``), with the
working directory at its root, as on a fresh clone after the install line. Command-line blocks
run through ``bash -e`` with the installed ``qevo``; Python blocks run in a fresh interpreter.
Lines that install (``pip install ...``) are skipped by this test only: the suite runs after the
install, and it must not reach the network or change the environment. That includes the
README's first two lines, whose ``qevo demo`` and ``python -m pytest`` run elsewhere (the demo
has its own tests, and the README test is itself part of the suite).

The second run repeats every line and block that writes a file (``-o``, ``--force``, ``>``,
``convert``, ``write(``): a line that writes nothing cannot fail for having run before, and
skipping those keeps the test within its time budget.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# Folders of the checkout that README commands read; everything else they need they write.
NEEDED = ("examples",)
_BLOCK = re.compile(r"^```(bash|python)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_SKIPPED = re.compile(r"^\s*pip3?\s+install\b|^\s*python3?\s+-m\s+pip\s+install\b")


def readme_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, code)`` for every ```bash / ```python block, in order."""
    return [(m.group(1), m.group(2)) for m in _BLOCK.finditer(text)]


def runnable_bash(code: str) -> str:
    """``code`` without the install lines (continuations joined first)."""
    joined = re.sub(r"\\\n", " ", code)
    return "\n".join(line for line in joined.splitlines() if not _SKIPPED.match(line))


_WRITES = re.compile(r"(?:^|\s)(?:-o|--output|--force)\b|>|\bconvert\b")


def writing_lines(code: str) -> str:
    """The lines of a bash block that write files (what a second run must also survive)."""
    return "\n".join(line for line in runnable_bash(code).splitlines() if _WRITES.search(line))


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    # The checkout under test first, as an installed copy would be (editable installs of other
    # trees must not win).
    paths = [str(ROOT), str(ROOT / "backends")]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.pop("QEVO_DEBUG", None)
    return env


def _run(
    lang: str, code: str, cwd: Path, env: dict[str, str], again: bool
) -> subprocess.CompletedProcess[str] | None:
    if lang == "bash":
        lines = writing_lines(code) if again else runnable_bash(code)
        if not lines.strip():
            return None
        cmd = ["bash", "-c", "set -euo pipefail\n" + lines]
    elif again and "write(" not in code and "force=True" not in code:
        return None
    else:
        cmd = [sys.executable, "-c", code]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_readme_has_blocks_and_install_note() -> None:
    text = README.read_text(encoding="utf-8")
    blocks = readme_blocks(text)
    langs = {lang for lang, _ in blocks}
    assert langs == {"bash", "python"}
    assert "download.pytorch.org/whl/cpu" in text  # the CPU-only torch note
    assert "specs/cli.md" in text  # the JSON schema link


def test_readme_starts_with_the_two_commands_and_ci_runs_the_second() -> None:
    lang, first = readme_blocks(README.read_text(encoding="utf-8"))[0]
    lines = [line.split("#")[0].strip() for line in first.strip().splitlines()]
    assert lang == "bash"
    assert lines == [
        'pip install ".[all]" && qevo demo',
        'pip install -e ".[test]" && python -m pytest',
    ]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert 'python -m pip install -q -e ".[test]" && python -m pytest' in ci


def test_skip_rule_is_install_lines_only() -> None:
    code = 'pip install -e ".[test]"   # x\nqevo backends\npython -m pip install foo\nqevo passes'
    assert runnable_bash(code).splitlines() == ["qevo backends", "qevo passes"]
    code = "qevo example x -o out/a.json --force\nqevo inspect out/a.json\nprintf 1 > out/b"
    assert writing_lines(code).splitlines() == [
        "qevo example x -o out/a.json --force",
        "printf 1 > out/b",
    ]


def test_readme_runs_as_written_twice(tmp_path: Path) -> None:
    shutil.which("qevo") or pytest.fail("the qevo console script is not on PATH")
    for folder in NEEDED:
        shutil.copytree(ROOT / folder, tmp_path / folder)
    env = _environment()
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    for round_ in (1, 2):
        for k, (lang, code) in enumerate(blocks):
            proc = _run(lang, code, tmp_path, env, again=round_ == 2)
            if proc is None:
                continue
            assert proc.returncode == 0, (
                f"README block {k} ({lang}), run {round_}, exited {proc.returncode}:\n{code}\n"
                f"--- stdout ---\n{proc.stdout[-2000:]}\n--- stderr ---\n{proc.stderr[-2000:]}"
            )
    # Nothing but out/ (and the copied inputs) is left in the root.
    left = sorted(p.name for p in tmp_path.iterdir())
    assert set(left) <= {"out", *NEEDED}, left
