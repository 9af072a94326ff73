"""Release files, the unit of everything: one file as received, named by its SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from customs_etl.errors import UnknownFlowError

TradeFlow = Literal["export", "import"]
TRADE_FLOWS: tuple[TradeFlow, ...] = ("export", "import")
ReleaseKind = Literal["detailed_export", "preliminary_table"]
# Detailed exports of GACC's online query platform, and saved preliminary-table pages.
DETAILED_SUFFIXES = (".csv", ".csv.gz", ".xlsx")
PRELIMINARY_SUFFIXES = (".html", ".htm")
RELEASE_SUFFIXES = DETAILED_SUFFIXES + PRELIMINARY_SUFFIXES
_CHUNK = 1 << 20
# "prk_hs8.published-2025-07-20.csv": the day GACC published what the file holds. It orders
# vintages when files arrive out of order, and is not part of the file's slot name.
_PUBLISHED = re.compile(
    r"[._\- ]?published[-_ ]?((?:19|20)\d{2})-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])",
    re.IGNORECASE,
)

T = TypeVar("T")


@dataclass(frozen=True)
class ReleaseFile:
    """A file to load, with what can be known before parsing it."""

    path: Path
    source_name: str  # landing-relative path (or the bare name of an ingested file), or URL
    flow: TradeFlow | None  # None for a preliminary table, which holds both flows
    release_id: str  # SHA-256 of the bytes: the same file under another name is the same release
    size_bytes: int
    kind: ReleaseKind = "detailed_export"
    published_on: dt.date | None = None  # when GACC published it, where the name says so

    @property
    def short_id(self) -> str:
        return self.release_id[:12]

    @property
    def slot_name(self) -> str:
        """The name without its publication date: vintages of one download share it."""
        return slot_name(self.source_name)


def release_kind(name: str) -> ReleaseKind:
    return "preliminary_table" if name.lower().endswith(PRELIMINARY_SUFFIXES) else "detailed_export"


def published_on_in(name: str) -> dt.date | None:
    """The publication date a file name carries (`...published-YYYY-MM-DD...`), if any."""
    match = _PUBLISHED.search(Path(name).name)
    return dt.date(int(match[1]), int(match[2]), int(match[3])) if match else None


def slot_name(name: str) -> str:
    path = Path(name)
    return (path.parent / _PUBLISHED.sub("", path.name)).as_posix()


def vintage_order(release: ReleaseFile, period: str) -> tuple[str, dt.date, str]:
    """The order in which vintages of a period are loaded: oldest month first, then oldest
    publication (unknown last), then checksum. (Which vintage is current is decided in SQL:
    sql/core/releases_in_view.sql.)"""
    return period, release.published_on or dt.date.max, release.release_id


def one_per_release(items: Iterable[T], release_id: Callable[[T], str]) -> list[T]:
    """The same bytes under two names (or a page fetched and also dropped) are one release:
    the first item of each release id, in their order."""
    first: dict[str, T] = {}
    for item in items:
        first.setdefault(release_id(item), item)
    return list(first.values())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def flow_from_path(relative: Path) -> TradeFlow | None:
    """The flow named by a folder of the landing path (`import/...` or `export/...`), if any."""
    named = [part for part in relative.parts[:-1] if part.lower() in TRADE_FLOWS]
    return named[-1].lower() if named else None  # type: ignore[return-value]


_FOLDER_MONTH = re.compile(r"((?:19|20)\d{2})-(0[1-9]|1[0-2])")
_NAME_MONTH = re.compile(r"(?:^|[_\-. ])((?:19|20)\d{2})-?(0[1-9]|1[0-2])(?=$|[_\-. ])")


def period_named_in(source_name: str) -> dt.date | None:
    """The month a landing path names: its innermost `YYYY-MM` folder, else a `YYYYMM` or
    `YYYY-MM` token in the file name. A file's rows must agree with it."""
    parts = Path(slot_name(source_name)).parts
    for folder in reversed(parts[:-1]):
        if match := _FOLDER_MONTH.fullmatch(folder):
            return dt.date(int(match[1]), int(match[2]), 1)
    if match := _NAME_MONTH.search(Path(parts[-1]).stem if parts else ""):
        return dt.date(int(match[1]), int(match[2]), 1)
    return None


def discover_release_files(landing_dir: Path) -> list[Path]:
    """Every release file under the landing folder, in a stable order; hidden files are skipped."""
    if not landing_dir.is_dir():
        raise FileNotFoundError(f"landing folder {landing_dir} does not exist")
    root = landing_dir.resolve()
    found = [
        path
        for path in landing_dir.rglob("*")
        if path.is_file()
        and path.name.lower().endswith(RELEASE_SUFFIXES)
        and not any(part.startswith(".") for part in path.relative_to(landing_dir).parts)
        # A link that leads out of the landing folder is not a file someone dropped here.
        and path.resolve().is_relative_to(root)
    ]
    return sorted(found)


def describe_release(
    path: Path,
    *,
    landing_dir: Path | None = None,
    flow: TradeFlow | None = None,
    checksum: Callable[[Path], str] = sha256_file,
) -> ReleaseFile:
    """Checksum a file and settle its kind and flow: an explicit `flow` first, else the landing
    folder name (a preliminary table has both flows). `checksum` is the file's SHA-256
    (LandingZone.checksum: the same, without re-reading a file it has seen unchanged)."""
    relative = path.relative_to(landing_dir) if landing_dir else Path(path.name)
    kind = release_kind(relative.name)
    resolved_flow = None if kind == "preliminary_table" else flow or flow_from_path(relative)
    if resolved_flow is None and kind == "detailed_export":
        raise UnknownFlowError(
            str(relative),
            "the flow of this query export is unknown (the file has no flow column)",
            expected="--flow import|export, or the file under a folder named import/ or export/",
        )
    return ReleaseFile(
        path=path,
        source_name=relative.as_posix(),
        flow=resolved_flow,
        release_id=checksum(path),
        size_bytes=path.stat().st_size,
        kind=kind,
        published_on=published_on_in(relative.name),
    )
