"""HTML pages are bounded before they are parsed, and a page is parsed once: a fetched page is
read as it streams and dropped past the limit; a page on disk is refused by its size; the
landing zone reads only a page's first bytes; a page checked at fetch is not parsed again."""

from __future__ import annotations

from pathlib import Path

import pytest
from loopback import TABLE, ServerState
from support import SEEDS_DIR

from customs_etl.errors import ReleaseTooLargeError
from customs_etl.extract.fetch import FetchRejectedError, fetch, make_client
from customs_etl.extract.landing_zone import LandingZone
from customs_etl.extract.releases import describe_release
from customs_etl.transform import parse
from customs_etl.transform import preliminary_tables as preliminary


def test_a_fetched_page_is_dropped_once_past_the_limit(server: ServerState) -> None:
    """Catches a fetch that reads a huge answer whole (memory) and parses it (minutes)."""
    with make_client(timeout=10) as client, pytest.raises(FetchRejectedError) as refused:
        fetch(server.url("/huge"), client=client, validators=None, timeout=10)
    assert f"larger than {preliminary.MAX_PAGE_BYTES:,} bytes" in str(refused.value)


def test_a_page_on_disk_over_the_limit_is_refused_unparsed(tmp_path: Path) -> None:
    """Catches staging that reads and parses a page before its size is looked at."""
    landing = tmp_path / "landing"
    page = landing / "preliminary" / "prelim_202603_usd.html"
    page.parent.mkdir(parents=True)
    page.write_bytes(TABLE + b"<p>padding</p>" * (preliminary.MAX_PAGE_BYTES // 14))
    release = describe_release(page, landing_dir=landing)
    with pytest.raises(ReleaseTooLargeError) as refused:
        parse.parse_release(release, tmp_path / "parsed", SEEDS_DIR, max_bytes=1 << 30)
    assert f"over the limit of {preliminary.MAX_PAGE_BYTES:,} bytes" in refused.value.message()
    with pytest.raises(ReleaseTooLargeError):
        preliminary.parse_preliminary_table(page.read_bytes(), page.name)


def test_the_landing_zone_reads_only_the_title(tmp_path: Path) -> None:
    """Catches intake parsing the whole page (it used to, then staging parsed it again): the
    manifest's period and currency come from the title in the first bytes."""
    landing = tmp_path / "landing"
    page = landing / "preliminary" / "prelim_202603_usd.html"
    page.parent.mkdir(parents=True)
    page.write_bytes(TABLE)
    zone = LandingZone(tmp_path / "zone")
    zone.receive(zone.describe(page, landing_dir=landing))
    [entry] = zone.entries()
    assert (entry.period, entry.currency) == ("2026-03", "USD")
    assert preliminary.sniff_period_and_currency(TABLE[:2048]) == ("2026-03", "USD")


def test_a_page_checked_when_fetched_is_not_parsed_again() -> None:
    """Catches a second parse of the same page: the check at fetch keeps the parsed table,
    and staging the same bytes gets that very table back."""
    body = TABLE.replace(b"</html>", b"<!-- another vintage --></html>")
    assert preliminary.looks_like_challenge_or_error(body, "text/html") is None
    first = preliminary.parse_preliminary_table(body, "prelim_202603_usd.html")
    assert preliminary.parse_preliminary_table(body, "elsewhere.html") is first


def test_the_client_closes_a_dropped_stream(server: ServerState) -> None:
    """Catches a refused stream left open: the same client fetches a real page afterwards."""
    with make_client(timeout=10) as client:
        with pytest.raises(FetchRejectedError):
            fetch(server.url("/huge"), client=client, validators=None, timeout=10)
        page = fetch(
            server.url("/Statics/prelim_202603_usd.html"),
            client=client,
            validators=None,
            timeout=10,
        )
    assert page.body == TABLE
