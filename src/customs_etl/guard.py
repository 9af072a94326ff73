"""Guards for the commands a person types: every mistake becomes one line, nothing published
is written over, and every file a command writes appears whole or not at all."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from customs_etl.settings import Settings

# Exit codes of the command line (README, "Command line"): 2 is click's usage error.
EXIT_USER_ERROR = 1
EXIT_NO_WAREHOUSE = 3
EXIT_INTERRUPTED = 130

# A DuckDB database file says so in its header: b"DUCK" at byte 8.
_DUCKDB_MAGIC = (8, b"DUCK")


class UserError(Exception):
    """A mistake in what was asked: one line naming what was wrong and what was expected."""

    exit_code = EXIT_USER_ERROR

    def line(self) -> str:
        """The message on one line, whatever its source put in it."""
        return " ".join(str(self).split())


class NoWarehouseError(UserError):
    """Nothing published yet: its own exit code, so a script can wait for the first run."""

    exit_code = EXIT_NO_WAREHOUSE


@dataclass(frozen=True)
class Protected:
    """What no command but the job (and `rollback`) may write: the published warehouse, its
    versions, its private files, the landing folder and zone, the quarantine reports."""

    files: tuple[Path, ...]
    folders: tuple[tuple[Path, str], ...]

    @classmethod
    def of(cls, settings: Settings) -> Protected:
        published = settings.warehouse_path.absolute()
        files = [
            published,
            published.resolve(),
            published.with_name(f".{published.name}.build"),
            published.with_name(f".{published.name}.lock"),
            published.with_name(f".{published.name}.link"),
        ]
        folders = [
            (published.parent / "versions", "the folder of kept warehouse versions"),
            (settings.landing_zone, "the landing zone"),
            (settings.landing_dir, "the landing folder"),
            (settings.quarantine_dir, "the quarantine reports"),
            (settings.sql_dir, "the SQL models"),
            (settings.seeds_dir, "the seeds"),
        ]
        return cls(
            tuple(files),
            tuple((folder.absolute().resolve(), what) for folder, what in folders),
        )

    def why(self, path: Path) -> str | None:
        """What `path` (or where it leads) belongs to, if it is protected."""
        for candidate in {path.absolute(), path.resolve()}:
            if candidate in self.files or candidate.resolve() in self.files:
                return "the published warehouse or one of its files"
            for folder, what in self.folders:
                if candidate == folder or folder in candidate.parents:
                    return f"inside {what} ({folder})"
        return None


def output_file(target: Path, protected: Protected, *, may_replace: bool) -> Path:
    """Check a file a command is about to write; its folder is created. `may_replace`: an
    existing plain file there is this command's own earlier output and may be replaced."""
    why = protected.why(target)
    if why:
        raise UserError(f"refusing to write {target}: it is {why}; expected a path of your own")
    if target.is_symlink():
        raise UserError(f"refusing to write {target}: it is a symbolic link; expected a new file")
    if target.exists():
        if target.is_dir():
            raise UserError(f"{target} is a folder; expected a file name")
        if not target.is_file():
            raise UserError(f"{target} is not a plain file (a device, pipe or socket)")
        if not may_replace:
            raise UserError(f"{target} already exists; expected a new file name")
    output_folder(target.parent, protected)
    return target


def output_folder(folder: Path, protected: Protected) -> Path:
    """Check (and create) a folder a command writes its files into."""
    why = protected.why(folder)
    if why:
        raise UserError(
            f"refusing to write into {folder}: it is {why}; expected a folder of your own"
        )
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is a file, not a folder; expected a folder to write into")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def written_whole(target: Path) -> Iterator[Path]:
    """A temporary file beside `target` to write; renamed over it only when the block ends
    without error, removed otherwise (nothing half-written is ever left under its name)."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    try:
        yield partial
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def published_database(path: Path) -> Path:
    """The published warehouse, checked before DuckDB opens it: a missing file, a folder or
    a file that is not a DuckDB database is said in one line."""
    if not path.exists() and not path.is_symlink():
        raise NoWarehouseError(f"no warehouse at {path}: run `customs-etl run` first")
    if path.is_symlink() and not path.exists():
        raise UserError(
            f"the warehouse link {path} points at {os.readlink(path)}, which is missing; "
            "expected a kept version (see `customs-etl rollback --list`)"
        )
    if path.is_dir():
        raise UserError(f"--warehouse {path} is a folder; expected the DuckDB file in it")
    if not path.is_file():
        raise UserError(f"--warehouse {path} is not a plain file; expected a DuckDB file")
    offset, magic = _DUCKDB_MAGIC
    with path.open("rb") as handle:
        header = handle.read(offset + len(magic))
    if header[offset:] != magic:
        raise UserError(f"--warehouse {path} is not a DuckDB database; expected the warehouse")
    return path


_LOCK_HOLDER = re.compile(r"PID (\d+)")


def explain_database_error(path: Path, error: Exception) -> UserError:
    """DuckDB's refusal to open the warehouse, as one line."""
    text = str(error)
    if "Conflicting lock" in text or "Could not set lock" in text:
        holder = _LOCK_HOLDER.search(text)
        who = f"process {holder.group(1)}" if holder else "another process"
        return UserError(
            f"the warehouse {path} is held open for writing by {who}; expected only read-only "
            "connections to a published file (close that writer)"
        )
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return UserError(f"cannot open the warehouse {path}: {first}")


def explain_os_error(error: OSError) -> UserError:
    """A file the command could not read or write, named, with what it needs."""
    where = error.filename or "a file"
    reason = error.strerror or str(error)
    return UserError(f"cannot use {where}: {reason}; expected a path this user can read and write")
