"""Hypothesis profiles: ``ci`` (default: derandomised, bounded) and ``thorough``.

Choose with ``HYPOTHESIS_PROFILE=thorough pytest``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=40,
    derandomize=True,
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
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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
