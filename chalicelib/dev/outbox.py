"""Read back what the local emulator's SES sent (local stage only; moto's internal API)."""

from __future__ import annotations

import email
import email.policy
import functools
import re
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from html import unescape
from typing import Any

HREF_RE = re.compile(r'href="(https?://[^"]+)"')


@dataclass(frozen=True)
class SentEmail:
    """One e-mail as the development outbox shows it."""

    to: list[str]
    subject: str
    time: str
    text: str
    html: str
    links: list[str]

    def as_json(self) -> dict[str, Any]:
        """Return the JSON shape of /dev/outbox.json."""
        return asdict(self)


def _part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body(preferencelist=(subtype,))
    return body.get_content() if body is not None else ""


# Parsing MIME is slow (milliseconds a message) and sent messages never change: parse once.
@functools.lru_cache(maxsize=4096)
def parse_raw(raw: bytes) -> SentEmail:
    """Turn one raw MIME message into what the outbox shows."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text = _part(message, "plain")
    body_html = _part(message, "html")
    date = message.get("Date")
    return SentEmail(
        to=[a.strip() for a in str(message.get("To", "")).split(",") if a.strip()],
        subject=str(message.get("Subject", "")),
        time=parsedate_to_datetime(str(date)).isoformat() if date else "",
        text=text,
        html=body_html,
        # Only the links the message itself carries (anchors), never URLs a requester typed.
        links=list(dict.fromkeys(unescape(h) for h in HREF_RE.findall(body_html))),
    )


def _raw_messages_in_process() -> list[bytes]:
    from moto.ses.models import ses_backends

    found: list[bytes] = []
    for account in ses_backends.values():
        for backend in account.values():
            for message in backend.sent_messages:
                raw = getattr(message, "raw_data", None)
                if raw is not None:
                    found.append(raw.encode("utf-8") if isinstance(raw, str) else raw)
    return found


def sent_emails() -> list[SentEmail]:
    """Return every e-mail the emulator sent, newest first.

    The local stack runs moto in the app's own process (as do the tests), so the sent
    messages are read from moto's backend directly: no HTTP round trip, no dump of every
    table through /moto-api/data.json.
    """
    return [parse_raw(raw) for raw in reversed(_raw_messages_in_process())]
