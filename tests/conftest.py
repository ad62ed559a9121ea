"""Hypothesis profiles: ``ci`` (default: bounded, seeded from the commit), ``random`` and
``thorough``.

Choose with ``HYPOTHESIS_PROFILE=random pytest``. The ``ci`` profile is reproducible for a commit
but explores new examples at each commit: its seed is derived from ``git rev-parse HEAD`` (a
fixed seed outside git) and printed in the pytest header, so any failure reproduces with
``HYPOTHESIS_SEED=<seed> pytest ...`` (which overrides it). ``random`` draws fresh examples on
every run (100 per test), ``thorough`` 1000.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

#: The seed used outside a git checkout (an sdist, a copied tree).
FALLBACK_SEED = 20261203


def _commit_seed() -> tuple[int, str]:
    """``(seed, where it came from)``: ``HYPOTHESIS_SEED``, else the commit, else a constant."""
    if os.environ.get("HYPOTHESIS_SEED", "").isdigit():
        return int(os.environ["HYPOTHESIS_SEED"]), "HYPOTHESIS_SEED"
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        head = ""
    if len(head) != 40:
        return FALLBACK_SEED, "fixed (not a git checkout)"
    seed = int.from_bytes(hashlib.sha256(head.encode()).digest()[:8], "big")
    return seed, f"commit {head[:12]}"


SEED, SEED_SOURCE = _commit_seed()
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    print_blob=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "random",
    max_examples=100,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(PROFILE)


@pytest.hookimpl(tryfirst=True)  # before Hypothesis's plugin reads the option
def pytest_configure(config: pytest.Config) -> None:
    # The ci profile replays the commit's seed (what ``--hypothesis-seed`` would do); the
    # random and thorough profiles draw fresh examples.
    if PROFILE == "ci" and getattr(config.option, "hypothesis_seed", None) is None:
        config.option.hypothesis_seed = SEED


def pytest_report_header(config: pytest.Config) -> str:
    seed = getattr(config.option, "hypothesis_seed", None)
    shown = f"seed {seed} ({SEED_SOURCE}); reproduce with HYPOTHESIS_SEED={seed}"
    if PROFILE != "ci":
        shown = "fresh random examples (reproduce a failure from its printed blob)"
    return f"hypothesis: profile {PROFILE}, {shown}"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        action="append",
        default=None,
        metavar="NAME",
        help="conformance suite: run against backend NAME only (repeatable)",
    )


@pytest.fixture(autouse=True, scope="session")
def _isolated_embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the embedding cache of the tests out of the user's ~/.cache."""
    os.environ["QEVO_CACHE_DIR"] = str(tmp_path_factory.mktemp("qevo-cache"))
