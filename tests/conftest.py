from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import ServerState, serve
from support import FIXTURES, SEEDS_DIR

# Tests run with telemetry off, like the product.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture
def exports_dir() -> Path:
    return FIXTURES / "exports"


@pytest.fixture(autouse=True)
def seeds_from_test_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flow reads settings from the environment: point it at the seeds the tests use."""
    monkeypatch.setenv("CUSTOMS_SEEDS_DIR", str(SEEDS_DIR))


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A real, temporary Prefect server and database for the flow runs of this session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def server() -> Iterator[ServerState]:
    """The loopback HTTP server (tests/loopback.py), one per test."""
    with serve() as state:
        yield state
