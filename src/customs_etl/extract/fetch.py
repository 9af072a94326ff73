"""Polite, robust fetching of GACC's static English pages with httpx.

Plain functions (Prefect wraps them): one GET with conditional headers, a classification of
failures into retryable (timeouts, dropped connections, 429, 5xx) and rejected (challenge or
error pages, other 4xx), a retry loop with exponential backoff and jitter, and link discovery
on an index page.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import httpx

from customs_etl import __version__
from customs_etl.extract.html import detect_challenge_or_error, page_links
from customs_etl.extract.landing_zone import LandingZone
from customs_etl.extract.releases import ReleaseFile
from customs_etl.transform.preliminary_tables import (
    MAX_PAGE_BYTES,
    is_preliminary_title,
    looks_like_challenge_or_error,
)

USER_AGENT = (
    f"customs-etl/{__version__} (open-source ETL of GACC trade releases; "
    "fetches a few static pages a month, slowly)"
)
# Checks a body: returns why it is not what was asked for, or None.
BodyCheck = Callable[[bytes, str | None], str | None]


class FetchError(Exception):
    """A fetch that did not give a usable page; `reason` says why in words."""

    def __init__(self, url: str, reason: str, *, status: int | None = None) -> None:
        self.url = url
        self.reason = reason
        self.status = status
        super().__init__(f"{url}: {reason}")


class RetryableFetchError(FetchError):
    """A passing failure: timeout, dropped connection, 429 or 5xx. Worth another try later."""

    def __init__(
        self, url: str, reason: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(url, reason, status=status)
        self.retry_after = retry_after  # seconds the server asked us to wait, already capped


class FetchRejectedError(FetchError):
    """The server said no (challenge or error page, 4xx): retrying soon will not help."""


@dataclass(frozen=True)
class CacheValidators:
    """What the previous response said about its version, for a conditional request."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: int
    body: bytes | None  # None on 304 Not Modified
    etag: str | None
    last_modified: str | None
    fetched_at: datetime
    not_modified: bool
    content_type: str | None = None

    def validators(self) -> CacheValidators:
        """Validators to send with the next request for the same URL."""
        return CacheValidators(etag=self.etag, last_modified=self.last_modified)


def make_client(*, timeout: float, user_agent: str = USER_AGENT, **kwargs: Any) -> httpx.Client:
    """A client with our User-Agent and timeout; extra keyword arguments go to httpx.Client."""
    return httpx.Client(
        timeout=timeout, headers={"User-Agent": user_agent}, follow_redirects=True, **kwargs
    )


def fetch(
    url: str,
    *,
    client: httpx.Client,
    validators: CacheValidators | None,
    timeout: float,
    check: BodyCheck = looks_like_challenge_or_error,
    user_agent: str = USER_AGENT,
    max_retry_after: float = 300.0,
) -> FetchResult:
    """One GET; raises RetryableFetchError or FetchRejectedError when there is no usable page.

    `check` looks at a 200 (or 412) body: by default it must be a preliminary table page; pass
    `detect_challenge_or_error` for index pages.
    """
    headers = {"User-Agent": user_agent, **(validators.headers() if validators else {})}
    try:
        with client.stream(
            "GET", url, headers=headers, timeout=timeout, follow_redirects=True
        ) as response:
            body = _read_capped(url, response)
    except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as error:
        # RemoteProtocolError covers a connection closed before the body was complete.
        raise RetryableFetchError(url, f"{type(error).__name__}: {error}") from error
    except (httpx.ProxyError, httpx.DecodingError) as error:
        raise RetryableFetchError(url, f"{type(error).__name__}: {error}") from error
    except httpx.HTTPError as error:
        raise FetchRejectedError(url, f"{type(error).__name__}: {error}") from error
    return _result(url, response, body, validators, check, max_retry_after)


def _read_capped(url: str, response: httpx.Response) -> bytes:
    """The body, read as it streams in and refused once it passes MAX_PAGE_BYTES: a huge
    answer costs neither the memory nor the parse of a whole page."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_PAGE_BYTES:
        raise FetchRejectedError(url, _too_large(int(declared)), status=response.status_code)
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_PAGE_BYTES:
            raise FetchRejectedError(url, _too_large(size), status=response.status_code)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int) -> str:
    return (
        f"the page is larger than {MAX_PAGE_BYTES:,} bytes (at least {size:,}); expected a "
        "preliminary table page"
    )


def _result(
    url: str,
    response: httpx.Response,
    body: bytes,
    validators: CacheValidators | None,
    check: BodyCheck,
    max_retry_after: float,
) -> FetchResult:
    status = response.status_code
    content_type = response.headers.get("Content-Type")
    if status == 304:
        if validators is None:
            reason = "304 Not Modified to an unconditional request"
            raise FetchRejectedError(url, reason, status=304)
        # A 304 may omit the validators; the previous ones still describe the cached copy.
        return FetchResult(
            url,
            status,
            None,
            response.headers.get("ETag") or validators.etag,
            response.headers.get("Last-Modified") or validators.last_modified,
            datetime.now(UTC),
            not_modified=True,
            content_type=content_type,
        )
    if status == 429 or status >= 500 or status == 408:
        retry_after = _retry_after(response.headers.get("Retry-After"), max_retry_after)
        raise RetryableFetchError(
            url, f"HTTP {status} {response.reason_phrase}", status=status, retry_after=retry_after
        )
    if 200 <= status < 300 or status == 412:
        # GACC's firewall answers 412 with a JavaScript challenge, sometimes even 200.
        reason = check(body, content_type)
        if status == 412 and reason is None:
            reason = "Precondition Failed (the firewall's usual answer)"
        if reason is not None:
            raise FetchRejectedError(url, f"HTTP {status}: {reason}", status=status)
        return FetchResult(
            url,
            status,
            body,
            response.headers.get("ETag"),
            response.headers.get("Last-Modified"),
            datetime.now(UTC),
            not_modified=False,
            content_type=content_type,
        )
    raise FetchRejectedError(url, f"HTTP {status} {response.reason_phrase}", status=status)


def _retry_after(value: str | None, cap: float) -> float | None:
    """Retry-After as seconds (a number or an HTTP date), capped; None when absent or invalid."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - datetime.now(UTC)).total_seconds()), cap)


def backoff_delay(
    attempt: int, *, backoff_base: float, cap: float = 300.0, jitter: float = 0.0
) -> float:
    """Delay after the `attempt`-th failure (1-based): base * 2**(attempt-1), times 1 to 1.5.

    The jitter (0 <= jitter < 1) stretches the delay by up to half, never more, so successive
    delays still grow (the next one is at least twice the previous base).
    """
    return min(cap, backoff_base * 2 ** (attempt - 1) * (1 + jitter / 2))


def fetch_with_retries(
    url: str,
    *,
    client: httpx.Client,
    validators: CacheValidators | None,
    attempts: int,
    backoff_base: float,
    timeout: float,
    check: BodyCheck = looks_like_challenge_or_error,
    max_delay: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> FetchResult:
    """fetch() with up to `attempts` tries, sleeping between them on RetryableFetchError only.

    The wait is the exponential backoff, or the server's Retry-After (capped at `max_delay`)
    when that is longer. The last RetryableFetchError is raised when all attempts fail.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(1, attempts + 1):
        try:
            return fetch(
                url,
                client=client,
                validators=validators,
                timeout=timeout,
                check=check,
                max_retry_after=max_delay,
            )
        except RetryableFetchError as error:
            if attempt == attempts:
                raise
            delay = backoff_delay(
                attempt, backoff_base=backoff_base, cap=max_delay, jitter=jitter()
            )
            sleep(max(delay, error.retry_after or 0.0))
    raise AssertionError("unreachable")  # the loop returns or raises


_SKIPPED_SCHEMES = re.compile(r"^\s*(?:javascript|mailto|tel|data):", re.IGNORECASE)


def discover_table_urls(index_html: str, base_url: str) -> list[str]:
    """Absolute URLs of the by-country preliminary tables linked from an index page.

    A link counts when its text (or, where the text is cut short, its title attribute) names
    the table in any known wording. Fragments are dropped; duplicates keep their first place.
    """
    urls: list[str] = []
    for href, text, title in page_links(index_html):
        if not href or _SKIPPED_SCHEMES.match(href):
            continue
        if not (is_preliminary_title(text) or is_preliminary_title(title)):
            continue
        url = urldefrag(urljoin(base_url, href.strip())).url
        if url not in urls:
            urls.append(url)
    return urls


def fetch_to_landing_zone(
    url: str,
    zone: LandingZone,
    *,
    client: httpx.Client,
    timeout: float,
    attempts: int = 1,
    backoff_base: float = 0.0,
) -> ReleaseFile:
    """A conditional GET of a preliminary-table page (retried as fetch_with_retries does), kept
    in the landing zone before anything reads it. An unchanged page (304) is not downloaded
    again: the copy kept from the last fetch is the release. Raises RetryableFetchError (after
    the last attempt) / FetchRejectedError."""
    last = zone.last_fetch(url)
    validators = (
        CacheValidators(str(last["etag"]) or None, str(last["last_modified"]) or None)
        if last
        else None
    )
    result = fetch_with_retries(
        url,
        client=client,
        validators=validators,
        attempts=attempts,
        backoff_base=backoff_base,
        timeout=timeout,
    )
    if result.not_modified and last:
        return ReleaseFile(
            path=zone.root / str(last["object"]),
            source_name=url,
            flow=None,
            release_id=str(last["release_id"]),
            size_bytes=int(last["size_bytes"]),
            kind="preliminary_table",
        )
    body = result.body or b""
    release = ReleaseFile(
        path=Path(),
        source_name=url,
        flow=None,
        release_id=hashlib.sha256(body).hexdigest(),
        size_bytes=len(body),
        kind="preliminary_table",
    )
    kept = zone.store_bytes(body, release, source="fetched")
    zone.remember_fetch(url, kept, result.etag, result.last_modified)
    return kept


def table_urls_from_index(
    index_url: str,
    *,
    client: httpx.Client,
    timeout: float,
    attempts: int = 1,
    backoff_base: float = 0.0,
) -> list[str]:
    """The by-country table pages an index page links to (fetched unconditionally: it is
    small and its links are what changes)."""
    result = fetch_with_retries(
        index_url,
        client=client,
        validators=None,
        attempts=attempts,
        backoff_base=backoff_base,
        timeout=timeout,
        check=detect_challenge_or_error,
    )
    return discover_table_urls((result.body or b"").decode("utf-8", errors="replace"), index_url)


__all__ = [
    "USER_AGENT",
    "CacheValidators",
    "FetchError",
    "FetchRejectedError",
    "FetchResult",
    "RetryableFetchError",
    "backoff_delay",
    "detect_challenge_or_error",
    "discover_table_urls",
    "fetch",
    "fetch_to_landing_zone",
    "fetch_with_retries",
    "make_client",
    "table_urls_from_index",
]
