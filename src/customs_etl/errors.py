"""Errors a person can act on: each names the file, the row or field, and what was expected."""

from __future__ import annotations


class ReleaseError(Exception):
    """A release file that cannot be taken as it is. It is rejected whole, never half-loaded."""

    def __init__(
        self,
        file: str,
        problem: str,
        *,
        row: int | None = None,
        field: str | None = None,
        expected: str | None = None,
        found: object = None,
    ) -> None:
        self.file = file
        self.problem = problem
        self.row = row
        self.field = field
        self.expected = expected
        self.found = found
        super().__init__(self.message())

    def __reduce__(self) -> tuple[object, ...]:
        # Kept as a task's result (a file that cannot be staged): rebuilt with every field,
        # not from the message alone.
        return _restore, (type(self), dict(self.__dict__))

    def message(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        text = f"{', '.join(where)}: {self.problem}"
        if self.expected is not None:
            text += f"; expected {self.expected}"
        if self.found is not None:
            text += f", found {self.found!r}"
        return text


class UnknownFlowError(ReleaseError):
    """A query export has no flow column; the flow must come from --flow or the folder."""


class ReleaseTooLargeError(ReleaseError):
    """A file over the size cap, refused before it is read whole (Settings.max_release_bytes)."""

    def __init__(self, file: str, problem: str, *, limit: int) -> None:
        self.limit = limit
        # Query downloads are capped at 10,000 rows (a few MB): far larger is not a query export.
        super().__init__(
            file,
            problem,
            expected=f"a release of at most {limit:,} bytes (setting CUSTOMS_MAX_RELEASE_BYTES)",
        )


def _restore(kind: type[ReleaseError], fields: dict[str, object]) -> ReleaseError:
    error = kind.__new__(kind)
    error.__dict__.update(fields)
    Exception.__init__(error, error.message())
    return error


class RunInProgressError(RuntimeError):
    """Another run holds the warehouse lock."""


class DiskFullError(RuntimeError):
    """The build ran out of space; the published warehouse was not touched."""


class ClusterUnavailableError(RuntimeError):
    """CUSTOMS_DASK_ADDRESS names a Dask scheduler that does not answer, or has no worker."""


class RejectedReleasesError(RuntimeError):
    """Raised at the end of a run that loaded what it could but rejected some files; carries
    the run's summary (customs_etl.job.RunSummary)."""

    def __init__(self, message: str, summary: object = None) -> None:
        super().__init__(message)
        self.summary = summary
