"""Prefect's temporary API server dies with the process that started it.

A flow called without PREFECT_API_URL makes Prefect start a temporary server in a child
process (uvicorn, ~200 MB) and stop it at exit. Killed by SIGKILL (or SIGTERM, whose default
action skips `atexit`), the flow's process never stopped it: the server ran on, orphaned,
indefinitely. Here the child asks Linux for SIGTERM when its parent dies (PR_SET_PDEATHSIG),
set between fork and exec, so no way of ending the job leaves it behind."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import types
from collections.abc import Callable
from typing import Any

_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> Callable[[], None]:
    def set_parent_death_signal() -> None:  # runs in the child, before exec
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return set_parent_death_signal


class _TiedPopen(subprocess.Popen):  # type: ignore[type-arg]
    """Popen whose child receives SIGTERM when the process that started it dies."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("preexec_fn", _die_with(os.getpid()))
        super().__init__(*args, **kwargs)


class _SubprocessTied(types.ModuleType):
    """The subprocess module as Prefect's server module sees it: the same, but for Popen."""

    Popen = _TiedPopen

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)


def tie_temporary_server_to_this_process() -> None:
    """Make every temporary server Prefect starts from now on die with this process (Linux;
    elsewhere Prefect's own atexit handler is all there is)."""
    if not sys.platform.startswith("linux"):
        return
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        # A configured server (a deployment's worker, the scheduler): Prefect starts no
        # temporary one, and importing the server's module cost ~2.4 s of every run's start
        # (importing the flow: 4.1 s with it, 1.75 s without).
        return
    from prefect.server.api import server as prefect_server

    if not isinstance(prefect_server.subprocess, _SubprocessTied):
        prefect_server.subprocess = _SubprocessTied("subprocess")
