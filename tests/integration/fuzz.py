"""Hostile values for property tests, and the checks every answer to them must pass."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote_plus

import boto3
from chalice.test import Client
from hypothesis import strategies as st

from tests.integration.conftest import FORM_HEADERS, MAIN, html, item_counts

# What people have typed at forms to break them: template syntax, markup, formula cells,
# header injection, direction overrides, NUL, lone surrogates, separators.
NASTY = (
    "{{7*7}}",
    "{% print(7*7) %}",
    "${7*7}",
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
    '=HYPERLINK("http://evil.example","x")',
    "+1+1",
    "@SUM(A1)",
    "-2+3",
    "\r\nBcc: evil@evil.example",
    "x\nSubject: forged",
    "\u202emoc.elgoog",
    "\u2066abc\u2069",
    "\x00",
    "\x1b[31m",
    "\ud800",
    "\udfff",
    "\u2028",
    "\ufeff",
    "",
    " ",
    "é" * 200,
    "x" * 5000,
)
CONTROL = st.characters(categories=["Cc", "Cs", "Cf", "Zl", "Zp", "Co"])
ANY_CHAR = st.characters(codec=None, exclude_categories=[]) | CONTROL


def hostile_text() -> st.SearchStrategy[str]:
    """Arbitrary text, mostly with something nasty inside."""
    plain = st.text(ANY_CHAR, max_size=60)
    return st.one_of(
        plain,
        st.sampled_from(NASTY),
        st.tuples(plain, st.sampled_from(NASTY), plain).map("".join),
    )


def hostile_value() -> st.SearchStrategy[list[str]]:
    """A form field's values: one, several, none, or ten thousand."""
    return st.one_of(
        hostile_text().map(lambda v: [v]),
        st.lists(hostile_text(), min_size=0, max_size=4),
        st.just(["1"] * 10_000),
    )


# Fields a client may add hoping the server trusts them.
EXTRAS: dict[str, list[str]] = {
    "status": ["approved"],
    "version": ["99"],
    "approvals": ["[]"],
    "steps": ['[{"status": "approved"}]'],
    "id": ["forged"],
}


def encode(form: Mapping[str, Sequence[str]]) -> bytes:
    """Url-encode a form the way a hostile client may: lone surrogates as their UTF-8 bytes."""
    pairs = []
    for name, values in form.items():
        for value in values:
            raw = value.encode("utf-8", "surrogatepass")
            pairs.append(f"{quote_plus(name)}={quote_plus(raw)}")
    return "&".join(pairs).encode("ascii")


def post_raw(client: Client, path: str, form: Mapping[str, Sequence[str]], **headers: str) -> Any:
    """POST a hostile form."""
    return client.http.post(path, headers={**FORM_HEADERS, **headers}, body=encode(form))


def assert_clean_answer(response: Any, allowed: Sequence[int]) -> None:
    """Never a 5xx, never a traceback or an internal name; one of the expected statuses."""
    body = html(response)
    assert response.status_code < 500, body[:2000]
    assert response.status_code in allowed, (response.status_code, body[:2000])
    for leak in ("Traceback", "chalicelib", 'File "', "botocore"):
        assert leak not in body


def snapshot(sent: int) -> tuple[dict[str, int], int]:
    """Items per table and e-mails sent: what a refused request must leave unchanged."""
    return item_counts(), sent


def raw_messages() -> list[bytes]:
    """Every raw MIME message moto's SES accepted, oldest first."""
    from moto.ses.models import ses_backends

    found: list[bytes] = []
    for account in ses_backends.values():
        for backend in account.values():
            for message in backend.sent_messages:
                raw = getattr(message, "raw_data", None)
                if raw is not None:
                    found.append(raw.encode() if isinstance(raw, str) else raw)
    return found


def assert_headers_intact(raw: bytes, recipients: Sequence[str]) -> None:
    """The built message has exactly the intended recipients and one of each header."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    names = [name.lower() for name in message]
    for header in ("from", "to", "subject", "date"):
        assert names.count(header) == 1, names
    assert not {"bcc", "cc", "reply-to"} & set(names), names
    to = [a.strip() for a in str(message["To"]).split(",")]
    assert to == list(recipients), to
    assert "\n" not in str(message["Subject"]) and "\r" not in str(message["Subject"])


def requests_stored() -> int:
    """How many request items the main table holds."""
    items = boto3.client("dynamodb").scan(
        TableName=MAIN,
        FilterExpression="SK = :r",
        ExpressionAttributeValues={":r": {"S": "REQUEST"}},
        Select="COUNT",
    )
    return int(items["Count"])
