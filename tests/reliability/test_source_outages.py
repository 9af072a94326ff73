"""Fetching preliminary tables through the real flow, against a real HTTP server on 127.0.0.1:
conditional requests, and a source that is down (500s, timeouts, a connection closed
mid-body, a challenge page). An outage fails the run after retries with backoff, before
anything is built: the landing zone keeps what it had and the published warehouse is the same
file, byte for byte."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from pathlib import Path

import duckdb
import pytest
from loopback import ServerState
from support import export_file, run_job

from customs_etl.extract.fetch import FetchRejectedError, RetryableFetchError
from customs_etl.extract.landing_zone import CHECKSUMS, LandingZone

TABLE_PATH = "/Statics/prelim_202603_usd.html"
ATTEMPTS = 3


@pytest.fixture
def fetching(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: ServerState) -> Path:
    """A landing folder with one export, and settings that fetch from the loopback server."""
    monkeypatch.setenv("CUSTOMS_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("CUSTOMS_FETCH_ATTEMPTS", str(ATTEMPTS))
    monkeypatch.setenv("CUSTOMS_FETCH_BACKOFF_SECONDS", "0.2")
    monkeypatch.setenv("CUSTOMS_FETCH_TIMEOUT_SECONDS", "0.5")
    landing = tmp_path / "landing"
    export_file(landing / "export" / "2026-03", "prk.csv", "202603", [("109", "6704", 1_000)])
    return landing


def use_urls(monkeypatch: pytest.MonkeyPatch, *urls: str) -> None:
    monkeypatch.setenv("CUSTOMS_PRELIMINARY_URLS", json.dumps(list(urls)))


def run(landing: Path, published: Path) -> object:
    return run_job(str(landing), str(published))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def landing_state(zone: Path) -> dict[str, str]:
    """What the landing zone holds: its objects and manifest. Not the cache of dropped files'
    checksums: a file younger than 2 s is hashed again rather than remembered, so whether a
    run adds its entry depends on how soon after the file was written the run came."""
    return {
        p.relative_to(zone).as_posix(): digest(p)
        for p in sorted(zone.rglob("*"))
        if p.is_file() and not p.name.startswith(".") and p.name != CHECKSUMS
    }


def test_a_fetched_table_is_kept_loaded_and_not_downloaded_again(
    prefect_harness: None,
    fetching: Path,
    tmp_path: Path,
    server: ServerState,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = server.url(TABLE_PATH)
    use_urls(monkeypatch, url)
    published = tmp_path / "warehouse" / "customs.duckdb"
    run(fetching, published)

    zone = LandingZone(published.parent / "landing_zone")
    [fetched] = [e for e in zone.entries() if e.source == "fetched"]
    assert (fetched.origin, fetched.kind, fetched.format) == (url, "preliminary_table", "html")
    assert (fetched.period, fetched.currency) == ("2026-03", "USD")
    assert (zone.root / fetched.object).read_bytes() == (
        Path(__file__).parents[1] / "fixtures" / "preliminary" / "prelim_202603_usd.html"
    ).read_bytes()
    con = duckdb.connect(str(published), read_only=True)
    try:
        assert con.execute(
            "select kind, status, period from meta.releases where source_name = ?", [url]
        ).fetchall() == [("preliminary_table", "loaded", dt.date(2026, 3, 1))]
        # The USA's March exports come from the table: no detailed data for them.
        [(value, kind)] = con.execute(
            "select value_usd, source_kind from marts.trade_monthly "
            "where partner_iso3 = 'USA' and flow = 'export' and period = '2026-03-01'"
        ).fetchall()
    finally:
        con.close()
    assert kind == "preliminary"
    # The page prints the USA's March exports as 36,105.2 in "USD1 Million": exactly that.
    assert value == 36_105_200_000

    before = digest(published)
    summary = run(fetching, published)
    # The second request was conditional and answered 304: nothing downloaded or loaded.
    assert server.counts[TABLE_PATH] == 2
    second_headers = [h for path, h in server.headers if path == TABLE_PATH][1]
    assert second_headers.get("If-None-Match") == '"202603-usd-v1"'
    assert url in summary.skipped  # type: ignore[attr-defined]
    assert summary.published is False  # type: ignore[attr-defined]
    assert digest(published) == before
    assert len([e for e in zone.entries() if e.source == "fetched"]) == 1


@pytest.mark.parametrize(
    "path, error, requests, says",
    [
        ("/always-503", RetryableFetchError, ATTEMPTS, "HTTP 503"),
        ("/slow", RetryableFetchError, ATTEMPTS, "Timeout"),
        ("/truncated", RetryableFetchError, ATTEMPTS, "RemoteProtocolError"),
        ("/challenge-200", FetchRejectedError, 1, "challenge"),
    ],
    ids=["500s", "timeout", "closed-mid-body", "challenge-page"],
)
def test_a_source_outage_fails_the_run_cleanly(
    prefect_harness: None,
    fetching: Path,
    tmp_path: Path,
    server: ServerState,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    error: type[Exception],
    requests: int,
    says: str,
) -> None:
    use_urls(monkeypatch)  # a first run with no source: the warehouse to protect
    published = tmp_path / "warehouse" / "customs.duckdb"
    run(fetching, published)
    zone = published.parent / "landing_zone"
    published_before, zone_before = digest(published), landing_state(zone)
    drop_before = landing_state(fetching)

    use_urls(monkeypatch, server.url(path))
    started = time.monotonic()
    with pytest.raises(error) as caught:
        run(fetching, published)
    elapsed = time.monotonic() - started

    assert server.counts[path] == requests  # retried only what is worth retrying
    if requests > 1:
        # Exponential backoff: 0.2 s then 0.4 s (each stretched by up to half), at least.
        assert elapsed >= 0.6
    assert server.url(path) in str(caught.value)
    assert says.lower() in str(caught.value).lower()
    assert digest(published) == published_before
    assert landing_state(zone) == zone_before
    assert landing_state(fetching) == drop_before
    assert not list(published.parent.glob(".*.build"))
