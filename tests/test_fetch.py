"""Fetching against a real HTTP server on 127.0.0.1: conditional requests, retries, rejections."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from customs_etl.fetch import (
    USER_AGENT,
    CacheValidators,
    FetchRejectedError,
    RetryableFetchError,
    backoff_delay,
    detect_challenge_or_error,
    discover_table_urls,
    fetch,
    fetch_with_retries,
    is_retryable,
    make_client,
    retry_condition,
)
from customs_etl.preliminary import parse_preliminary_table

PRELIMINARY = Path(__file__).resolve().parent / "fixtures" / "preliminary"
TABLE = (PRELIMINARY / "prelim_202603_usd.html").read_bytes()
CHALLENGE = (PRELIMINARY / "challenge_412.html").read_bytes()
ETAG = '"202603-usd-v1"'
LAST_MODIFIED = "Tue, 14 Apr 2026 02:00:00 GMT"
TIMEOUT = 2.0


@dataclass
class ServerState:
    base_url: str = ""
    counts: Counter[str] = field(default_factory=Counter)
    headers: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return self.base_url + path


def make_handler(state: ServerState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep the test output clean

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            with state.lock:
                state.counts[path] += 1
                count = state.counts[path]
                state.headers.append((path, dict(self.headers.items())))
            if path == "/Statics/prelim_202603_usd.html":
                if self.headers.get("If-None-Match") == ETAG:
                    self.reply(304, b"", {"ETag": ETAG})
                else:
                    self.reply(200, TABLE, {"ETag": ETAG, "Last-Modified": LAST_MODIFIED})
            elif path.startswith("/Statics/") and (PRELIMINARY / path[9:]).is_file():
                self.reply(200, (PRELIMINARY / path[9:]).read_bytes())
            elif path == "/flaky":  # fails twice, then works
                if count <= 2:
                    self.reply(500, b"<html><title>500 Internal Server Error</title></html>")
                else:
                    self.reply(200, TABLE)
            elif path == "/always-503":
                self.reply(503, b"<html><title>503 Service Unavailable</title></html>")
            elif path == "/busy":  # 429 asking for no wait, then works
                if count == 1:
                    self.reply(429, b"slow down", {"Retry-After": "0"})
                else:
                    self.reply(200, TABLE)
            elif path == "/busy-long":
                self.reply(429, b"slow down", {"Retry-After": "3600"})
            elif path == "/slow":  # answers only after the client has given up
                state.release.wait(3.0)
                self.reply(200, TABLE)
            elif path == "/truncated":  # promises more than it sends, then hangs up
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(TABLE)))
                self.end_headers()
                self.wfile.write(TABLE[:300])
                self.wfile.flush()
                self.close_connection = True
            elif path == "/challenge-412":
                self.reply(412, CHALLENGE)
            elif path == "/challenge-200":
                self.reply(200, CHALLENGE)
            else:
                self.reply(404, b"<html><title>404 Not Found</title></html>")

        def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (the timeout test)

    return Handler


@pytest.fixture
def server() -> Iterator[ServerState]:
    state = ServerState()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


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
    assert is_retryable(caught.value)

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
    assert not is_retryable(caught.value)
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


def test_prefect_retry_condition_follows_the_classification() -> None:
    from prefect.states import Failed

    retryable = Failed(data=RetryableFetchError("http://x", "HTTP 503"))
    rejected = Failed(data=FetchRejectedError("http://x", "challenge", status=412))
    assert retry_condition(None, None, retryable) is True
    assert retry_condition(None, None, rejected) is False
