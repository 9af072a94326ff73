"""Progress of long work, shown by whoever runs it: a rich bar in the CLI, nothing elsewhere.

The flow reports through `current()`; the CLI installs a reporter around a run. Prefect's own
logs name every release either way."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class Reporter(Protocol):
    def start(self, total: int, what: str) -> None: ...
    def advance(self, name: str) -> None: ...


class _Silent:
    def start(self, total: int, what: str) -> None:
        pass

    def advance(self, name: str) -> None:
        pass


class RichReporter:
    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: object | None = None

    def start(self, total: int, what: str) -> None:
        self._task = self._progress.add_task(what, total=total)

    def advance(self, name: str) -> None:
        if self._task is not None:
            self._progress.update(self._task, advance=1, description=name)  # type: ignore[arg-type]


_current: Reporter = _Silent()


def current() -> Reporter:
    return _current


@contextlib.contextmanager
def rich_bar(console: Console) -> Iterator[None]:
    """Show a progress bar for the releases of a run while the block runs."""
    global _current
    columns = (
        TextColumn("{task.description:<48.48}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        _current = RichReporter(progress)
        try:
            yield
        finally:
            _current = _Silent()
