"""`python -m local_stack` (what `make run` starts): serves the form, and keeps state on restart."""

from __future__ import annotations

import json
import re
import socket
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from chalicelib.web.headers import BASE_HEADERS
from tests.conftest import valid_form
from tests.integration.stack_process import fetch, running_stack

pytestmark = pytest.mark.integration


def test_requests_and_outbox_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running_stack(state) as base_url:
        form_page = fetch(f"{base_url}/")
        assert "Demander l'accès" in unescape(form_page)
        token = re.search(r'name="form_token" value="([^"]+)"', form_page)
        assert token
        fetch(f"{base_url}/", {**valid_form(), "form_token": [token.group(1)]})
        first = json.loads(fetch(f"{base_url}/dev/outbox.json"))
        assert len(first) == 1
        assert all(link.startswith(base_url) for link in first[0]["links"])

    with running_stack(state) as base_url:
        after = json.loads(fetch(f"{base_url}/dev/outbox.json"))
        assert [m["subject"] for m in after] == [m["subject"] for m in first]
        status_path = next(urlsplit(link).path for link in after[0]["links"] if "/status/" in link)
        status_page = unescape(fetch(f"{base_url}{status_path}"))
        assert "En attente de votre confirmation" in status_page
        assert "Marie Tremblay" in status_page


def _raw(base_url: str, request_line: bytes, headers: bytes = b"") -> tuple[int, dict[str, str]]:
    """Send one request as raw bytes; return the status and the headers (lower-case names)."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), 10) as sock:
        sock.sendall(request_line + b"\r\nHost: local\r\nConnection: close\r\n" + headers + b"\r\n")
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head = received.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    names: dict[str, str] = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        assert name.lower() not in names, f"{name} sent twice: {head}"
        names[name.lower()] = value.strip()
    return int(head[0].split()[1]), names


def test_what_the_app_does_not_answer_still_has_the_security_headers(tmp_path: Path) -> None:
    # Issue 13, item 10: Chalice's local server answered these without CSP or nosniff.
    expected = {name.lower(): value for name, value in BASE_HEADERS.items()}
    with running_stack(tmp_path / "state") as base_url:
        cases = {
            "unknown path": (b"GET /no/such/page HTTP/1.1", b""),
            "unknown path, signed": (b"GET /nothing HTTP/1.1", b"Authorization: x\r\n"),
            "method the server lacks": (b"BREW / HTTP/1.1", b""),
            "request line too long": (b"GET /" + b"a" * 70000 + b" HTTP/1.1", b""),
            "the app's own page": (b"GET /?lang=en HTTP/1.1", b""),
        }
        answers = {case: _raw(base_url, *raw) for case, raw in cases.items()}
    assert answers["unknown path"][0] == 403
    assert answers["method the server lacks"][0] == 501
    assert answers["request line too long"][0] == 414
    assert answers["the app's own page"][0] == 200
    for case, (_, headers) in answers.items():
        for name, value in expected.items():
            assert headers.get(name) == value, f"{case}: {name} is {headers.get(name)!r}"
        assert headers.get("cache-control") == "no-store", case
        # The stack is plain HTTP on loopback: no HSTS, as the app's middleware decides.
        assert "strict-transport-security" not in headers, case
