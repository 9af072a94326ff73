"""A real HTTP server on 127.0.0.1 serving fixture pages, errors, slow answers and challenge
pages: what the fetch tests and the source-outage tests run against. It also takes POSTs (a
webhook receiver for the alert tests): each JSON body is kept, in order of arrival."""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PRELIMINARY = Path(__file__).resolve().parent / "fixtures" / "preliminary"
TABLE = (PRELIMINARY / "prelim_202603_usd.html").read_bytes()
CHALLENGE = (PRELIMINARY / "challenge_412.html").read_bytes()
ETAG = '"202603-usd-v1"'
LAST_MODIFIED = "Tue, 14 Apr 2026 02:00:00 GMT"
HUGE_CHUNKS = 2_000  # x 56 KB: about 110 MB if read whole


@dataclass
class ServerState:
    base_url: str = ""
    counts: Counter[str] = field(default_factory=Counter)
    headers: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)
    posts: list[tuple[str, Any]] = field(default_factory=list)  # (path, JSON body)

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
            elif path == "/huge":  # a table page padded far past any real one, no length
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    self.wfile.write(TABLE)
                    for _ in range(HUGE_CHUNKS):
                        self.wfile.write(b"<p>padding</p>" * 4096)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading: what the test wants
            elif path == "/challenge-412":
                self.reply(412, CHALLENGE)
            elif path == "/challenge-200":
                self.reply(200, CHALLENGE)
            else:
                self.reply(404, b"<html><title>404 Not Found</title></html>")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.posts.append((self.path, json.loads(body or b"null")))
            self.reply(200, b"ok")

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


@contextlib.contextmanager
def serve() -> Iterator[ServerState]:
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
