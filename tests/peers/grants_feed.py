"""A test server that follows the documented grants feed, and the origin behind the proxy.

The feed is the contract of docs/enforcement.md (what `GET /api/v1/grants` will serve): HTTP
Basic authentication, pages linked by `next`, one `ETag` for the whole set of active grants on
every page, `If-None-Match` answered 304, and problem details (RFC 9457) for refusals. Tests
change its grants and break it on purpose (`fault`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CLIENT_ID = "proxy-test"
CLIENT_SECRET = "feed-secret-" + "q" * 28
FEED_PATH = "/api/v1/grants"

# What docs/enforcement.md lists for each platform of policies/catalogue.toml.
PLATFORM_DOMAINS = {
    "facebook": ["facebook.com", "fbcdn.net", "fb.com", "facebook.net"],
    "instagram": ["instagram.com", "cdninstagram.com"],
    "linkedin": ["linkedin.com", "licdn.com"],
    "x": ["x.com", "twitter.com", "twimg.com", "t.co"],
    "youtube": ["youtube.com", "youtu.be", "ytimg.com", "googlevideo.com", "ggpht.com"],
    "tiktok": ["tiktok.com", "tiktokcdn.com", "tiktokv.com"],
}


def iso(moment: datetime) -> str:
    """Write an instant as the feed does: ISO 8601, UTC, `Z`."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def grant(
    email: str,
    platform: str = "linkedin",
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    reference: str | None = None,
) -> dict[str, Any]:
    """Build one grant of the feed (active from an hour ago for a day unless told)."""
    now = datetime.now(UTC)
    return {
        "reference": reference or hashlib.sha256(f"{email}{platform}".encode()).hexdigest()[:8],
        "person": {
            "issuer": "https://login.example/tid",
            "subject": "oid-" + email,
            "email": email,
        },
        "platform": platform,
        "level": "read",
        "start": iso(start or now - timedelta(hours=1)),
        "end": iso(end or now + timedelta(days=1)),
        "domains": PLATFORM_DOMAINS[platform],
    }


@dataclass(frozen=True)
class FeedCall:
    """One request the feed answered: what was asked, with which validator, and the status."""

    at: float
    cursor: str | None
    if_none_match: str | None
    status: int
    fault: str | None


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server:
    """A ThreadingHTTPServer on a free loopback port, in a thread of its own."""

    handler: type[BaseHTTPRequestHandler]

    def __init__(self) -> None:
        self._server = _QuietServer(("127.0.0.1", 0), self.handler)
        self._server.owner = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class _FeedHandler(_Handler):
    def do_GET(self) -> None:
        """Serve one page of the feed, or the refusal the feed's state calls for."""
        feed: GrantsFeed = self.server.owner  # type: ignore[attr-defined]
        status, body, headers = feed.answer(
            self.path, self.headers.get("Authorization"), self.headers.get("If-None-Match")
        )
        if status == 0:  # the "reset" fault: drop the connection without a word
            self.close_connection = True
            return
        self._send(status, body, headers)


def _problem(status: int, title: str) -> tuple[int, bytes, dict[str, str]]:
    body = json.dumps({"type": "about:blank", "title": title, "status": status}).encode()
    return status, body, {"Content-Type": "application/problem+json"}


_FAULTS = {
    "unavailable": _problem(503, "Service Unavailable"),
    "reset": (0, b"", {}),
    "garbage": (200, b"<html>maintenance</html>", {"Content-Type": "text/html"}),
    "deep": (200, b"[" * 100_000, {"Content-Type": "application/json"}),
}


class GrantsFeed(_Server):
    """The grants feed of docs/enforcement.md, with grants and faults the tests set."""

    handler = _FeedHandler

    def __init__(self, page_size: int = 2) -> None:
        self.page_size = page_size
        # None, "unavailable" (503), "garbage" (200, not JSON), "deep" (200, nested past any
        # parser's recursion limit), "reset" (connection dropped), "redirect" (302)
        self.fault: str | None = None
        self.redirect_to = ""
        self.before_page: Callable[[str | None], None] | None = None  # called with the cursor
        self.calls: list[FeedCall] = []
        self._grants: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        super().__init__()

    @property
    def url(self) -> str:
        """The feed's URL, as the helper's `--feed` takes it."""
        return f"http://127.0.0.1:{self.port}{FEED_PATH}"

    def set_grants(self, grants: list[dict[str, Any]]) -> None:
        """Replace the active grants the feed lists."""
        with self._lock:
            self._grants = [dict(g) for g in grants]

    def add(self, new: dict[str, Any]) -> None:
        """List one more active grant."""
        with self._lock:
            self._grants.append(dict(new))

    def grants(self) -> list[dict[str, Any]]:
        """The active grants listed now."""
        with self._lock:
            return [dict(g) for g in self._grants]

    def remove(self, reference: str) -> None:
        """Stop listing a grant (revoked or ended on the server)."""
        with self._lock:
            self._grants = [g for g in self._grants if g["reference"] != reference]

    def reset(self) -> None:
        """Back to an empty, healthy feed with no calls recorded."""
        with self._lock:
            self._grants, self.fault, self.calls = [], None, []

    def etag(self) -> str:
        """The ETag of the whole set of active grants."""
        with self._lock:
            canonical = json.dumps(self._grants, sort_keys=True).encode()
        return '"' + hashlib.sha256(canonical).hexdigest()[:32] + '"'

    def served(self, status: int, after: float = 0.0, fault: str | None = None) -> list[FeedCall]:
        """The calls answered with `status` (under `fault`) since `after` (time.monotonic())."""
        with self._lock:
            return [
                c for c in self.calls if c.status == status and c.at >= after and c.fault == fault
            ]

    def answer(
        self, path: str, authorization: str | None, if_none_match: str | None
    ) -> tuple[int, bytes, dict[str, str]]:
        """Decide the answer to one GET (status 0: drop the connection)."""
        parts = urlsplit(path)
        cursor = parse_qs(parts.query).get("cursor", [None])[0]
        if self.before_page is not None:
            self.before_page(cursor)
        result = self._answer(parts.path, cursor, authorization, if_none_match)
        with self._lock:
            call = FeedCall(time.monotonic(), cursor, if_none_match, result[0], self.fault)
            self.calls.append(call)
        return result

    def _answer(
        self, path: str, cursor: str | None, authorization: str | None, if_none_match: str | None
    ) -> tuple[int, bytes, dict[str, str]]:
        if path != FEED_PATH:
            return _problem(404, "Not Found")
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if not hmac.compare_digest((authorization or "").encode(), expected.encode()):
            status, body, headers = _problem(401, "Unauthorized")
            return status, body, {**headers, "WWW-Authenticate": 'Basic realm="sesame-grants"'}
        if self.fault == "redirect":
            return 302, b"", {"Location": self.redirect_to}
        if self.fault is not None:
            return _FAULTS[self.fault]
        etag = self.etag()
        if cursor is None and if_none_match == etag:
            return 304, b"", {"ETag": etag}
        offset = int(cursor) if cursor and cursor.isdigit() else 0
        with self._lock:
            page = self._grants[offset : offset + self.page_size]
            more = offset + self.page_size < len(self._grants)
        document = {"grants": page, "next": str(offset + self.page_size) if more else None}
        return (
            200,
            json.dumps(document).encode(),
            {"Content-Type": "application/json", "ETag": etag},
        )


class _OriginHandler(_Handler):
    def do_GET(self) -> None:
        """Answer every GET with 200 "origin": what the platform would send."""
        self._send(200, b"origin", {"Content-Type": "text/plain"})


class OriginServer(_Server):
    """The platforms' origin: the proxy's hosts file points their domains here."""

    handler = _OriginHandler
