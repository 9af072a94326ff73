"""A real Prefect server on loopback for the tests that need one as operators run it: started
with `prefect server start` under a temporary PREFECT_HOME (SQLite), and the processes started
against it (workers, CLI commands), each in its own process group and ended with the server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from prefect.client.orchestration import SyncPrefectClient
from support import PROJECT_DIR

PREFECT = Path(sys.executable).with_name("prefect")
SERVER_START_TIMEOUT = 120
# The server runs with its scheduler off: a run it scheduled could otherwise start during the
# test. The schedules are checked by computing their dates with the class the scheduler uses.
SERVER_SETTINGS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_UI_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "False",
}


@dataclass
class Prefect:
    """A Prefect server on loopback and the processes started against it."""

    home: Path
    api_url: str
    env: dict[str, str]
    logs: Path
    processes: list[subprocess.Popen[bytes]]

    def cli(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [str(PREFECT), *args],
            cwd=PROJECT_DIR,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> Path:
        """Start a long-running prefect command in its own process group; returns its log."""
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            self.processes.append(
                subprocess.Popen(
                    [str(PREFECT), *args],
                    cwd=PROJECT_DIR,
                    env=env or self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        return log

    def client(self) -> SyncPrefectClient:
        return SyncPrefectClient(self.api_url)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process: subprocess.Popen[bytes]) -> None:
    """End a process we started and whatever it started (its own process group)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_until_healthy(prefect: Prefect, server: subprocess.Popen[bytes], log: Path) -> None:
    import httpx

    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the server exited:\n{log.read_text()[-3000:]}"
        try:
            if httpx.get(f"{prefect.api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"no healthy server after {SERVER_START_TIMEOUT} s:\n{log.read_text()[-3000:]}")


@contextmanager
def prefect_server(root: Path) -> Iterator[Prefect]:
    """A healthy server under root (its PREFECT_HOME and the logs); on exit, every process
    started against it is ended, the server last. The environment given to those processes
    carries no PREFECT_* or CUSTOMS_* setting of the caller's."""
    root.mkdir(parents=True, exist_ok=True)
    api_url = f"http://127.0.0.1:{free_port()}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CUSTOMS_"))}
    env |= SERVER_SETTINGS | {"PREFECT_HOME": str(root / "home"), "PREFECT_API_URL": api_url}
    prefect = Prefect(root / "home", api_url, env, root, [])
    port = api_url.rsplit(":", 1)[1].split("/")[0]
    try:
        log = prefect.start("server", "server", "start", "--host", "127.0.0.1", "--port", port)
        wait_until_healthy(prefect, prefect.processes[0], log)
        yield prefect
    finally:
        for process in reversed(prefect.processes):
            stop(process)
