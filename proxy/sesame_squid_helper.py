#!/usr/bin/env python3
"""Sésame's Squid helper: answer Squid's external ACL lookups from Sésame's active grants.

One file, Python 3.11 standard library only; proxy/README.md says how Squid starts it. Squid
writes one lookup per line, `channel-id user domain` (or `user domain` without `concurrency=`);
the helper answers `channel-id OK` when an active grant of that person opens that domain,
`channel-id ERR` otherwise. stdout carries the protocol only: logs go to stderr.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ipaddress
import json
import logging
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

LOG = logging.getLogger("sesame-squid-helper")
TIMEOUT_SECONDS = 10.0
MAX_PAGE_BYTES = 8 * 1024 * 1024
MAX_PAGES = 10_000
MAX_LINE_BYTES = 64 * 1024
LISTING_ATTEMPTS = 3
DOMAIN_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")


class FeedError(Exception):
    """The grants feed answered something this helper cannot trust."""


@dataclass(frozen=True)
class Grant:
    """One active grant as the feed lists it: which domains it opens, and when."""

    domains: tuple[str, ...]
    start: datetime
    end: datetime

    def opens(self, host: str, now: datetime) -> bool:
        """Say whether this grant lets its holder reach `host` at `now`."""
        return self.start <= now < self.end and any(domain_matches(host, d) for d in self.domains)


def domain_matches(host: str, domain: str) -> bool:
    """Match the domain itself or a subdomain of it, never a lookalike (`evillinkedin.com`)."""
    return host == domain or host.endswith("." + domain)


def normalise_domain(value: str) -> str:
    """Lower-case a feed domain and check it; refuse one that would open far too much."""
    domain = value.strip().strip(".").lower()
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise FeedError(f"domain {value[:80]!r} is not a host name") from exc
    labels = domain.split(".")
    # A single label ("com") would open every site under it: a broken feed must not do that.
    if len(labels) < 2 or "" in labels or not set(domain) <= DOMAIN_CHARACTERS:
        raise FeedError(f"domain {value[:80]!r} is not a host name")
    return domain


def parse_time(value: object) -> datetime:
    """Read an ISO 8601 instant with its offset; a time without a zone is refused."""
    try:
        moment = datetime.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise FeedError(f"time {str(value)[:40]!r} is not ISO 8601") from exc
    if moment.tzinfo is None:
        raise FeedError(f"time {str(value)[:40]!r} has no offset")
    return moment.astimezone(UTC)


def parse_grant(item: object) -> tuple[str, Grant]:
    """Read one grant of the feed into (lower-cased e-mail, grant)."""
    if not isinstance(item, dict):
        raise FeedError("a grant is not an object")
    person = item.get("person")
    email = person.get("email") if isinstance(person, dict) else None
    if not isinstance(email, str) or "@" not in email:
        raise FeedError("a grant has no e-mail")
    domains = item.get("domains")
    if not isinstance(domains, list) or not domains or not all(isinstance(d, str) for d in domains):
        raise FeedError("a grant has no domains")
    grant = Grant(
        domains=tuple(normalise_domain(d) for d in domains),
        start=parse_time(item.get("start")),
        end=parse_time(item.get("end")),
    )
    return email.strip().lower(), grant


def parse_page(body: bytes) -> tuple[list[tuple[str, Grant]], str | None]:
    """Read one page of the feed: its grants and the cursor of the next page, if any."""
    try:
        document: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FeedError("the feed did not answer JSON") from exc
    if not isinstance(document, dict) or not isinstance(document.get("grants"), list):
        raise FeedError("the feed's answer has no grants list")
    cursor = document.get("next")
    if cursor is not None and (not isinstance(cursor, str) or not cursor):
        raise FeedError("the feed's next cursor is not a string")
    return [parse_grant(item) for item in document["grants"]], cursor


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: urllib would send the credential on to the new host."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        """Refuse every redirect (urllib then raises the 3xx as an HTTPError)."""
        return None


def check_feed_url(url: str) -> None:
    """Accept HTTPS, or plain HTTP on loopback only (the credential travels in every call)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not host or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise ValueError("--feed must be an https:// URL (plain http only on loopback)")


def page_url(feed: str, cursor: str) -> str:
    """Build the URL of one page: the feed with `cursor=` set to the previous page's `next`."""
    parts = urllib.parse.urlsplit(feed)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "cursor"]
    query.append(("cursor", cursor))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


class FeedClient:
    """Pull the whole list of active grants, conditionally (ETag), page by page."""

    def __init__(self, feed: str, client_id: str, client_secret: str) -> None:
        self._feed = feed
        token = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        self._authorization = "Basic " + token
        # No proxy from the environment (the helper usually runs on the proxy host itself).
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), _RefuseRedirects()
        )

    def _get(self, url: str, etag: str | None) -> tuple[int, str | None, bytes]:
        # The scheme was checked at start (https, or http on loopback): never file: or ftp:.
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
        request.add_unredirected_header("Authorization", self._authorization)
        if etag is not None:
            request.add_header("If-None-Match", etag)
        try:
            with self._opener.open(request, timeout=TIMEOUT_SECONDS) as response:  # nosec B310
                body = response.read(MAX_PAGE_BYTES + 1)
                status, page_etag = response.status, response.headers.get("ETag")
        except urllib.error.HTTPError as error:
            with error:
                if error.code == 304:
                    return 304, error.headers.get("ETag"), b""
                hint = " (it refused the credential)" if error.code == 401 else ""
                raise FeedError(f"the feed answered {error.code}{hint}") from None
        if status != 200:
            raise FeedError(f"the feed answered {status}")
        if len(body) > MAX_PAGE_BYTES:
            raise FeedError("a page of the feed is too large")
        return status, page_etag, body

    def fetch(self, etag: str | None) -> tuple[str | None, dict[str, tuple[Grant, ...]] | None]:
        """Return (ETag, grants by e-mail), or (ETag, None) when the copy is still current."""
        for _ in range(LISTING_ATTEMPTS):
            status, first_etag, body = self._get(self._feed, etag)
            if status == 304:
                return etag, None
            grants: dict[str, list[Grant]] = {}
            for _page in range(MAX_PAGES):
                page, cursor = parse_page(body)
                for email, grant in page:
                    grants.setdefault(email, []).append(grant)
                if cursor is None:
                    return first_etag, {email: tuple(held) for email, held in grants.items()}
                _, page_etag, body = self._get(page_url(self._feed, cursor), None)
                # Every page carries the ETag of the whole set: another one means it changed.
                if first_etag is not None and page_etag is not None and page_etag != first_etag:
                    break  # list again from the first page
            else:
                raise FeedError("the feed has too many pages")
        raise FeedError("the grants changed during every listing")


@dataclass
class GrantCopy:
    """The last good copy of the feed, shared by the refresher and the lookups."""

    max_stale: float
    fail_open: bool
    _grants: dict[str, tuple[Grant, ...]] = field(default_factory=dict)
    _etag: str | None = None
    _refreshed: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def etag(self) -> str | None:
        """Return the ETag of the copy held."""
        with self._lock:
            return self._etag

    def refreshed(self, etag: str | None, grants: dict[str, tuple[Grant, ...]] | None) -> None:
        """Record a successful refresh; `grants` None means "not modified" (304)."""
        with self._lock:
            if grants is not None:
                self._grants, self._etag = grants, etag
            self._refreshed = time.monotonic()

    def age(self) -> float | None:
        """Return the seconds since the last successful refresh (None: never)."""
        with self._lock:
            return None if self._refreshed is None else time.monotonic() - self._refreshed

    def allows(self, email: str, host: str) -> bool:
        """Decide one lookup: grants' own times against the server clock, then staleness."""
        age = self.age()
        if age is None or age > self.max_stale:
            return self.fail_open
        with self._lock:
            held = self._grants.get(email, ())
        now = datetime.now(UTC)
        return any(grant.opens(host, now) for grant in held)


def refresh_once(client: FeedClient, copy: GrantCopy) -> bool:
    """Pull the feed once into the copy; on any failure keep the last good copy."""
    try:
        etag, grants = client.fetch(copy.etag())
    except Exception as exc:  # whatever the answer (RecursionError too), the refresher lives on
        LOG.warning("grants feed refresh failed, keeping the last good copy: %s", exc)
        return False
    copy.refreshed(etag, grants)
    if grants is not None:
        LOG.info("grants feed refreshed: %d people hold active grants", len(grants))
    return True


def refresh_forever(client: FeedClient, copy: GrantCopy, period: float) -> None:
    """Refresh every `period` seconds; say once when the copy goes stale and when it recovers."""
    stale = False
    while True:
        time.sleep(period)
        ok = refresh_once(client, copy)
        age = copy.age()
        if not ok and not stale and (age is None or age > copy.max_stale):
            stale = True
            mode = "open (OK for everyone)" if copy.fail_open else "closed (ERR for everyone)"
            LOG.error("grants copy older than --max-stale: failing %s", mode)
        elif ok and stale:
            stale = False
            LOG.warning("grants feed reachable again: answering from the grants")


def answer(line: str, copy: GrantCopy) -> str:
    """Answer one protocol line: `[channel-id] user domain [acl args]` -> `[channel-id] OK|ERR`."""
    fields = line.split()
    channel = fields[0] if fields and fields[0].isascii() and fields[0].isdigit() else None
    # Squid appends the acl line's arguments after the format's values (`-` when there are none).
    if channel is not None and len(fields) >= 3:
        prefix, user, host = channel + " ", fields[1], fields[2]
    elif channel is None and len(fields) >= 2:
        prefix, user, host = "", fields[0], fields[1]
    else:
        LOG.warning("malformed lookup line (%d fields): answered ERR", len(fields))
        return f"{channel} ERR" if channel is not None else "ERR"
    # Squid URL-escapes the values it sends (quote=url, its default): `%40` for `@`.
    email = urllib.parse.unquote(user).strip().lower()
    domain = urllib.parse.unquote(host).strip().rstrip(".").lower()
    try:
        allowed = copy.allows(email, domain)
    except Exception:  # a crashing helper makes Squid stop: refuse this lookup and go on
        LOG.exception("lookup failed: answered ERR")
        allowed = False
    return prefix + ("OK" if allowed else "ERR")


def serve(stdin: BinaryIO, stdout: BinaryIO, copy: GrantCopy) -> None:
    """Answer lookups line by line until Squid closes standard input."""
    while raw := stdin.readline(MAX_LINE_BYTES):
        if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
            # Overlong: skip the rest and answer ERR once, so that answers stay one per line.
            while (rest := stdin.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
            raw = raw[:24].split(b" ")[0]  # the channel id alone: one field, answered ERR
        reply = answer(raw.decode("utf-8", errors="replace"), copy)
        stdout.write(reply.encode("ascii") + b"\n")
        stdout.flush()


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    """Read the command line; refuse settings that cannot work."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feed", required=True, help="URL of Sésame's GET /api/v1/grants")
    parser.add_argument("--client-id", required=True)
    secret = parser.add_mutually_exclusive_group(required=True)
    secret.add_argument("--client-secret")
    secret.add_argument("--client-secret-file", help="read the secret from this file instead")
    parser.add_argument("--refresh", type=float, default=30.0, help="seconds between pulls")
    parser.add_argument("--max-stale", type=float, default=900.0, help="seconds of feed outage")
    parser.add_argument("--fail", choices=("closed", "open"), default="closed")
    args = parser.parse_args(argv)
    try:
        check_feed_url(args.feed)
    except ValueError as exc:
        parser.error(str(exc))
    if ":" in args.client_id:
        parser.error("--client-id cannot contain ':' (HTTP Basic authentication)")
    if not 0 < args.refresh < args.max_stale:
        parser.error("--refresh must be positive and shorter than --max-stale")
    if args.client_secret_file is not None:
        try:
            with open(args.client_secret_file, encoding="utf-8") as secret_file:
                args.client_secret = secret_file.read().strip()
        except OSError as exc:
            parser.error(f"cannot read --client-secret-file: {exc.strerror}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Start the refresher, then answer Squid until it closes standard input."""
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="sesame-helper %(message)s")
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    client = FeedClient(args.feed, args.client_id, args.client_secret)
    copy = GrantCopy(max_stale=args.max_stale, fail_open=args.fail == "open")
    # One pull before the first answer, so that a restart does not refuse everyone for a period.
    refresh_once(client, copy)
    threading.Thread(target=refresh_forever, args=(client, copy, args.refresh), daemon=True).start()
    with contextlib.suppress(BrokenPipeError):  # Squid went away while we answered
        serve(sys.stdin.buffer, sys.stdout.buffer, copy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
