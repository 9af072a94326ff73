"""The landing zone: every file dropped or fetched, kept immutable under its SHA-256.

`objects/<sha[:2]>/<sha><suffix>` holds the bytes (read-only, never rewritten); `manifest.jsonl`
has one line per file received under a name or URL: where it came from, when, its size and what
it looks like. Processing reads the stored copy, so a drop folder that is cleaned up, or a page
that changes upstream, loses nothing already received.

`checksums.jsonl` remembers the SHA-256 of each dropped file with the stat fields it had when
hashed (a cache, as git's index or rsync's quick check): a run that finds a file unchanged does
not read it again. Deleting it costs one re-hash of every file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import gzip
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from customs_etl.errors import ReleaseError
from customs_etl.extract.releases import ReleaseFile, TradeFlow, describe_release, sha256_file

MANIFEST = "manifest.jsonl"
CHECKSUMS = "checksums.jsonl"
# A file modified this recently may be modified again within the same timestamp tick (coarse
# on some file systems) without its stat changing: hashed each time until it is older.
_RACY_NS = 2_000_000_000
FETCH_STATE = "fetched.json"  # per URL: validators for conditional requests, the last object
_HEAD_BYTES = 64 * 1024
_YEAR_MONTH = re.compile(r'^\s*"?((?:19|20)\d{2})(0[1-9]|1[0-2])"?\s*[,\t]')
_CURRENCY_WORDS = {"US dollar": "USD", "美元": "USD", "人民币": "CNY", "RMB": "CNY", "Yuan": "CNY"}


@dataclass(frozen=True)
class ManifestEntry:
    """One receipt of a file: the same bytes under two names are two entries, one object."""

    release_id: str
    source: str  # "dropped" (landing folder, `ingest`) or "fetched" (HTTP)
    origin: str  # landing-relative name, or the URL
    received_at: str  # ISO 8601, UTC
    size_bytes: int
    format: str  # csv | csv.gz | xlsx | html
    kind: str  # detailed_export | preliminary_table
    object: str  # path of the stored bytes, relative to the landing zone
    flow: str | None = None
    period: str | None = None  # YYYY-MM as far as the first rows tell
    currency: str | None = None
    published_on: str | None = None


class LandingZone:
    def __init__(self, root: Path) -> None:
        self.root = root
        # (release_id, origin) of the manifest, read once: a backfill receives thousands of
        # files, and rereading the manifest for each would be quadratic.
        self._known: set[tuple[str, str]] | None = None
        self._checksums: dict[str, _Hashed] | None = None
        # One writer per object: discovery receives files several at a time, and two names for
        # the same bytes share one object (and its temporary name).
        self._storing: dict[str, threading.Lock] = {}
        self._storing_guard = threading.Lock()

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def object_path(self, release_id: str, name: str) -> Path:
        return self.root / "objects" / release_id[:2] / f"{release_id}{_suffix(name)}"

    @property
    def checksums_path(self) -> Path:
        return self.root / CHECKSUMS

    def describe(
        self, path: Path, *, landing_dir: Path | None = None, flow: TradeFlow | None = None
    ) -> ReleaseFile:
        """releases.describe_release, with the checksum taken from this zone's cache when the
        file is unchanged since it was last hashed."""
        return describe_release(path, landing_dir=landing_dir, flow=flow, checksum=self.checksum)

    def checksum(self, path: Path) -> str:
        """The file's SHA-256, read from the cache when its path, size, mtime, ctime, inode and
        device are those recorded when it was hashed (ctime cannot be set back by a copy that
        keeps mtime, so a replaced file is hashed again); else hashed and recorded."""
        key = str(path.absolute())
        before = os.stat(path)
        cached = self._cached_checksums().get(key)
        if cached is not None and cached.matches(before):
            return cached.sha256
        sha256 = sha256_file(path)
        after = os.stat(path)
        # Changed while being read, or so recent it could change unseen: do not remember.
        if _stat_fields(before) == _stat_fields(after) and not _is_racy(after):
            self._remember(key, _Hashed.of(after, sha256))
        return sha256

    def receive(self, release: ReleaseFile, *, source: str = "dropped") -> ReleaseFile:
        """Keep the file's bytes (once) and a manifest entry (once per name); the release
        returned reads from the stored copy."""
        stored = self.object_path(release.release_id, release.source_name)
        with self._storing_guard:
            storing = self._storing.setdefault(release.release_id, threading.Lock())
        with storing:
            if not stored.exists():
                _store(release, stored)
        key = (release.release_id, release.source_name)
        # Already in the manifest as read (or written) by this zone: nothing to append, and no
        # lock to take (the manifest only grows). A run that finds nothing new comes here for
        # every file it has.
        if self._known is not None and key in self._known:
            return replace(release, path=stored)
        with self._locked_manifest() as known:
            if key not in known:
                self._append(_entry(release, stored.relative_to(self.root), source))
                known.add(key)
        return replace(release, path=stored)

    def store_bytes(self, body: bytes, release: ReleaseFile, *, source: str) -> ReleaseFile:
        """Receive fetched bytes (written to a temporary file first, like a dropped one)."""
        scratch = self.root / "incoming" / f"{release.release_id}.partial"
        scratch.parent.mkdir(parents=True, exist_ok=True)
        scratch.write_bytes(body)
        try:
            return self.receive(replace(release, path=scratch), source=source)
        finally:
            scratch.unlink(missing_ok=True)

    def last_fetch(self, url: str) -> dict[str, str | int] | None:
        """What the last successful fetch of `url` kept (validators, release id, object)."""
        return self._fetch_state().get(url)

    def remember_fetch(
        self, url: str, release: ReleaseFile, etag: str | None, last_modified: str | None
    ) -> None:
        state = self._fetch_state()
        state[url] = {
            "release_id": release.release_id,
            "object": release.path.relative_to(self.root).as_posix(),
            "size_bytes": release.size_bytes,
            "etag": etag or "",
            "last_modified": last_modified or "",
        }
        partial = self.root / f".{FETCH_STATE}.partial"
        partial.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
        partial.replace(self.root / FETCH_STATE)

    def _fetch_state(self) -> dict[str, dict[str, str | int]]:
        path = self.root / FETCH_STATE
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def entries(self) -> list[ManifestEntry]:
        if not self.manifest_path.exists():
            return []
        lines = self.manifest_path.read_text(encoding="utf-8").splitlines()
        return [ManifestEntry(**json.loads(line)) for line in lines if line.strip()]

    @contextlib.contextmanager
    def _locked_manifest(self) -> Iterator[set[tuple[str, str]]]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".manifest.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self._known is None:
                self._known = {(e.release_id, e.origin) for e in self.entries()}
            yield self._known

    def _cached_checksums(self) -> dict[str, _Hashed]:
        if self._checksums is None:
            self._checksums = _read_checksums(self.checksums_path)
        return self._checksums

    def _remember(self, key: str, hashed: _Hashed) -> None:
        self._cached_checksums()[key] = hashed
        # Under the manifest's lock (concurrent runs); not fsynced: a lost line is a re-hash.
        with self._locked_manifest(), self.checksums_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"path": key, **asdict(hashed)}) + "\n")

    def _append(self, entry: ManifestEntry) -> None:
        # One line per write, flushed to disk: a crash leaves whole lines behind.
        with self.manifest_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(entry), ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


@dataclass(frozen=True)
class _Hashed:
    """A file's SHA-256 and its stat fields when hashed."""

    sha256: str
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    device: int

    @classmethod
    def of(cls, stat: os.stat_result, sha256: str) -> _Hashed:
        return cls(sha256, *_stat_fields(stat))

    def matches(self, stat: os.stat_result) -> bool:
        return (self.size, self.mtime_ns, self.ctime_ns, self.inode, self.device) == _stat_fields(
            stat
        )


def _stat_fields(stat: os.stat_result) -> tuple[int, int, int, int, int]:
    return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev


def _is_racy(stat: os.stat_result) -> bool:
    return time.time_ns() - max(stat.st_mtime_ns, stat.st_ctime_ns) < _RACY_NS


def _read_checksums(path: Path) -> dict[str, _Hashed]:
    """Path -> its last recorded hash; a torn or foreign line is skipped (it is only a cache)."""
    if not path.exists():
        return {}
    cached: dict[str, _Hashed] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            key = record.pop("path")
            cached[key] = _Hashed(**record)
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
    return cached


def _suffix(name: str) -> str:
    lowered = name.lower()
    for suffix in (".csv.gz", ".csv", ".xlsx", ".html", ".htm"):
        if lowered.endswith(suffix):
            return suffix
    return ""


def _store(release: ReleaseFile, target: Path) -> None:
    """Copy to a temporary name, flush, then rename: a stored object is always whole. The bytes
    copied are hashed on the way: a file rewritten since its checksum was taken is refused, so
    an object's name is always the checksum of its bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)  # left read-only by a run killed just before its rename
    digest = hashlib.sha256()
    try:
        with release.path.open("rb") as reader, partial.open("wb") as writer:
            while chunk := reader.read(1 << 20):
                digest.update(chunk)
                writer.write(chunk)
            writer.flush()
            os.fsync(writer.fileno())
    except OSError:
        partial.unlink(missing_ok=True)  # a full disk leaves no half object behind
        raise
    if digest.hexdigest() != release.release_id:
        partial.unlink()
        raise ReleaseError(
            release.source_name,
            "the file changed while it was being received (its bytes no longer match the "
            "checksum taken a moment before); it is taken on the next run once it is stable",
            expected=f"bytes with SHA-256 {release.release_id}",
            found=f"bytes with SHA-256 {digest.hexdigest()}",
        )
    partial.chmod(0o444)
    partial.replace(target)


def _entry(release: ReleaseFile, stored: Path, source: str) -> ManifestEntry:
    file_format, period, currency = sniff(release.path, release.source_name)
    return ManifestEntry(
        release_id=release.release_id,
        source=source,
        origin=release.source_name,
        received_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        size_bytes=release.size_bytes,
        format=file_format,
        kind=release.kind,
        object=stored.as_posix(),
        flow=release.flow,
        period=period,
        currency=currency,
        published_on=release.published_on.isoformat() if release.published_on else None,
    )


def sniff(path: Path, name: str) -> tuple[str, str | None, str | None]:
    """Format, and period and currency as far as the first bytes tell (None when they do not:
    parsing decides, with a proper error)."""
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    if head.startswith(b"\x1f\x8b"):
        with contextlib.suppress(OSError, EOFError), gzip.open(path, "rb") as handle:
            return ("csv.gz", *_sniff_csv(handle.read(_HEAD_BYTES)))
        return "csv.gz", None, None
    if head.startswith(b"PK\x03\x04"):
        return "xlsx", None, None
    if b"<html" in head[:4096].lower() or _suffix(name) in (".html", ".htm"):
        return "html", *_sniff_preliminary(path, name)
    return ("csv", *_sniff_csv(head))


# A preliminary page's title is in its first kilobytes.
_SNIFF_BYTES = 256 * 1024


def _sniff_csv(head: bytes) -> tuple[str | None, str | None]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = head.decode(encoding, errors="strict" if encoding == "utf-8-sig" else "ignore")
            break
        except UnicodeDecodeError:
            continue
    lines = text.splitlines()
    header = lines[0] if lines else ""
    currency = next((code for word, code in _CURRENCY_WORDS.items() if word in header), None)
    match = _YEAR_MONTH.match(lines[1]) if len(lines) > 1 else None
    return (f"{match[1]}-{match[2]}" if match else None), currency


def _sniff_preliminary(path: Path, name: str) -> tuple[str | None, str | None]:
    """Period and currency from the title in the page's first bytes: the page itself is
    parsed once, when it is parsed as a release (and refused unparsed there if too large)."""
    from customs_etl.transform.preliminary_tables import sniff_period_and_currency

    del name
    with path.open("rb") as handle:
        return sniff_period_and_currency(handle.read(_SNIFF_BYTES))
