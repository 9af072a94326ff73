"""Fetching against a real HTTP server on 127.0.0.1: conditional requests, retries, rejections."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from loopback import ETAG, LAST_MODIFIED, TABLE, ServerState

from customs_etl.extract.fetch import (
    USER_AGENT,
    CacheValidators,
    FetchRejectedError,
    RetryableFetchError,
    backoff_delay,
    detect_challenge_or_error,
    discover_table_urls,
    fetch,
    fetch_with_retries,
    make_client,
)
from customs_etl.transform.preliminary_tables import parse_preliminary_table

TIMEOUT = 2.0


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client(timeout=TIMEOUT) as client:
        yield client


def test_conditional_request_gets_not_modified_without_body(
    server: ServerState, client: httpx.Client
) -> None:
    url = server.url("/Statics/prelim_202603_usd.html")
    first = fetch(url, client=client, validators=None, timeout=TIMEOUT)
    assert (first.status, first.not_modified, first.body) == (200, False, TABLE)
    assert (first.etag, first.last_modified) == (ETAG, LAST_MODIFIED)
    assert first.fetched_at.tzinfo is not None
    assert parse_preliminary_table(first.body or b"", url).period == date(2026, 3, 1)

    second = fetch(url, client=client, validators=first.validators(), timeout=TIMEOUT)
    assert (second.status, second.not_modified, second.body) == (304, True, None)
    assert (second.etag, second.last_modified) == (ETAG, LAST_MODIFIED)

    assert server.counts[url.removeprefix(server.base_url)] == 2
    (_, plain), (_, conditional) = server.headers
    assert plain["User-Agent"] == USER_AGENT
    assert "If-None-Match" not in plain
    assert conditional["If-None-Match"] == ETAG
    assert conditional["If-Modified-Since"] == LAST_MODIFIED


def test_server_errors_are_retried_with_growing_delays(
    server: ServerState, client: httpx.Client
) -> None:
    delays: list[float] = []
    result = fetch_with_retries(
        server.url("/flaky"),
        client=client,
        validators=None,
        attempts=5,
        backoff_base=0.5,
        timeout=TIMEOUT,
        sleep=delays.append,
    )
    assert result.status == 200 and result.body == TABLE
    assert server.counts["/flaky"] == 3
    assert len(delays) == 2 and delays[0] < delays[1]


def test_retries_stop_after_the_last_attempt(server: ServerState, client: httpx.Client) -> None:
    delays: list[float] = []
    with pytest.raises(RetryableFetchError) as caught:
        fetch_with_retries(
            server.url("/always-503"),
            client=client,
            validators=None,
            attempts=4,
            backoff_base=0.5,
            timeout=TIMEOUT,
            sleep=delays.append,
        )
    assert caught.value.status == 503
    assert server.counts["/always-503"] == 4
    assert len(delays) == 3
    assert delays == sorted(delays) and len(set(delays)) == 3
    assert [d >= 0.5 * 2**i for i, d in enumerate(delays)] == [True] * 3


def test_429_honours_retry_after_up_to_the_cap(server: ServerState, client: httpx.Client) -> None:
    delays: list[float] = []
    result = fetch_with_retries(
        server.url("/busy"),
        client=client,
        validators=None,
        attempts=3,
        backoff_base=0.25,
        timeout=TIMEOUT,
        sleep=delays.append,
    )
    assert result.status == 200
    assert server.counts["/busy"] == 2
    assert len(delays) == 1 and 0.25 <= delays[0] < 0.5  # Retry-After: 0 adds no wait

    delays.clear()
    with pytest.raises(RetryableFetchError) as caught:
        fetch_with_retries(
            server.url("/busy-long"),
            client=client,
            validators=None,
            attempts=2,
            backoff_base=0.25,
            timeout=TIMEOUT,
            max_delay=5.0,
            sleep=delays.append,
        )
    assert caught.value.status == 429 and caught.value.retry_after == 5.0
    assert delays == [5.0]  # Retry-After: 3600, capped
    assert server.counts["/busy-long"] == 2


def test_timeout_and_mid_body_close_are_retryable(
    server: ServerState, client: httpx.Client
) -> None:
    started = time.monotonic()
    with pytest.raises(RetryableFetchError) as caught:
        fetch(server.url("/slow"), client=client, validators=None, timeout=0.3)
    assert time.monotonic() - started < 2.0
    assert "Timeout" in caught.value.reason
    assert isinstance(caught.value, RetryableFetchError)

    delays: list[float] = []
    with pytest.raises(RetryableFetchError) as caught:
        fetch_with_retries(
            server.url("/truncated"),
            client=client,
            validators=None,
            attempts=2,
            backoff_base=0.1,
            timeout=TIMEOUT,
            sleep=delays.append,
        )
    assert "RemoteProtocolError" in caught.value.reason
    assert server.counts["/truncated"] == 2 and len(delays) == 1


@pytest.mark.parametrize("path, status", [("/challenge-412", 412), ("/challenge-200", 200)])
def test_challenge_pages_are_rejected_without_retry(
    server: ServerState, client: httpx.Client, path: str, status: int
) -> None:
    delays: list[float] = []
    with pytest.raises(FetchRejectedError) as caught:
        fetch_with_retries(
            server.url(path),
            client=client,
            validators=None,
            attempts=3,
            backoff_base=0.1,
            timeout=TIMEOUT,
            sleep=delays.append,
        )
    assert caught.value.status == status
    assert "challenge" in caught.value.reason
    assert not isinstance(caught.value, RetryableFetchError)
    assert server.counts[path] == 1 and delays == []


def test_other_client_errors_are_rejected(server: ServerState, client: httpx.Client) -> None:
    with pytest.raises(FetchRejectedError) as caught:
        fetch(server.url("/missing"), client=client, validators=None, timeout=TIMEOUT)
    assert caught.value.status == 404
    # A page that is not a table (here: the index) is refused by the default check.
    with pytest.raises(FetchRejectedError, match="not a preliminary table"):
        fetch(server.url("/Statics/index.html"), client=client, validators=None, timeout=TIMEOUT)


def test_index_page_leads_to_three_tables(server: ServerState, client: httpx.Client) -> None:
    index_url = server.url("/Statics/index.html")
    index = fetch(
        index_url,
        client=client,
        validators=CacheValidators(),
        timeout=TIMEOUT,
        check=detect_challenge_or_error,
    )
    urls = discover_table_urls((index.body or b"").decode("utf-8"), index_url)
    assert urls == [
        server.url("/Statics/prelim_202603_usd.html"),
        server.url("/Statics/prelim_202602_janfeb_usd.html"),
        server.url("/Statics/prelim_201810_usd_major_country.html"),
    ]
    periods = []
    for url in urls:
        page = fetch(url, client=client, validators=None, timeout=TIMEOUT)
        periods.append(parse_preliminary_table(page.body or b"", url).period)
    assert periods == [date(2026, 3, 1), date(2026, 2, 1), date(2018, 10, 1)]
    assert sum(server.counts.values()) == 4


def test_backoff_grows_whatever_the_jitter() -> None:
    for attempt in range(1, 8):
        assert backoff_delay(attempt, backoff_base=1.0, jitter=0.999) < backoff_delay(
            attempt + 1, backoff_base=1.0, jitter=0.0
        )
    assert backoff_delay(30, backoff_base=1.0, cap=60.0) == 60.0
