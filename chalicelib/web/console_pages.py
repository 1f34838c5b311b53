"""What the console's pages need from a request: filters, page cursors, exports."""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import hmac
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from chalice.app import Request, Response

from ..domain.models import AUDIT_ACTIONS as MODEL_AUDIT_ACTIONS
from ..domain.models import AccessRequest, RequestStatus
from ..domain.policy import Policy
from ..rendering.i18n import LOCAL_ZONE
from ..service.filters import AuditFilter, ChainedEvent, RequestFilter

PAGE_SIZE = 50
MAX_FILTER_CHARS = 254
MAX_CURSOR_CHARS = 4000
# A cell starting with one of these is read as a formula by spreadsheets (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The audit filter offers every action the model knows (and accepts no other).
AUDIT_ACTIONS = MODEL_AUDIT_ACTIONS


def query_params(request: Request) -> dict[str, str]:
    """The query string's single values, bounded in length."""
    raw = request.query_params
    if not raw:
        return {}
    bounded = {str(k): str(raw.get(k)) for k in raw}
    return {
        k: v[: MAX_CURSOR_CHARS if k == "page" else MAX_FILTER_CHARS] for k, v in bounded.items()
    }


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _start_of(day: date | None) -> datetime | None:
    """Midnight of a day in Québec time (the dates people type are local)."""
    return datetime.combine(day, time(0), tzinfo=LOCAL_ZONE) if day else None


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if value and value.isprintable() else None


@dataclass(frozen=True)
class FilterForm:
    """The filters as typed (to show them again) and as understood."""

    values: dict[str, str]
    requests: RequestFilter
    audit: AuditFilter

    def query(self, **extra: str) -> str:
        """The query string that gives the same filters (plus `extra`)."""
        pairs = {k: v for k, v in {**self.values, **extra}.items() if v}
        return urlencode(pairs)


def read_filters(params: Mapping[str, str], policy: Policy) -> FilterForm:
    """Understand the filter fields of the requests, grants and audit pages; drop nonsense."""
    since_day, until_day = _day(params.get("from")), _day(params.get("to"))
    since = _start_of(since_day)
    until = _start_of(until_day + timedelta(days=1)) if until_day else None
    status_value = params.get("status", "")
    status = RequestStatus(status_value) if status_value in set(RequestStatus) else None
    platform = params.get("platform") if policy.platform(params.get("platform", "")) else None
    level_ids = {level.id for level in policy.catalogue.levels}
    level = params.get("level") if params.get("level") in level_ids else None
    requester = (_text(params.get("requester")) or "").lower() or None
    actor = (_text(params.get("actor")) or "").lower() or None
    action = params.get("action") if params.get("action") in AUDIT_ACTIONS else None
    request_id = params.get("request", "").strip().lower()
    request_id = request_id if request_id.isalnum() else ""
    values = {
        "from": since_day.isoformat() if since_day else "",
        "to": until_day.isoformat() if until_day else "",
        "status": status.value if status else "",
        "platform": platform or "",
        "level": level or "",
        "organisation": _text(params.get("organisation")) or "",
        "requester": requester or "",
        "actor": actor or "",
        "action": action or "",
        "request": request_id,
    }
    return FilterForm(
        values=values,
        requests=RequestFilter(
            status=status,
            platform=platform,
            level=level,
            organisation=values["organisation"] or None,
            requester=requester,
            since=since,
            until=until,
        ),
        audit=AuditFilter(
            since=since, until=until, actor=actor, action=action, request_id=request_id or None
        ),
    )


# ----- cursors ---------------------------------------------------------------------------------
def encode_cursor(secret: bytes, key: Mapping[str, Any] | None) -> str:
    """An opaque, signed token for DynamoDB's LastEvaluatedKey (visitors cannot forge one)."""
    if not key:
        return ""
    payload = base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode()
    signature = hmac.new(secret, f"cursor|{payload}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{payload}.{signature}"


def decode_cursor(secret: bytes, value: str | None) -> dict[str, Any] | None:
    """Read a cursor back; anything altered or malformed means "first page"."""
    if not value or len(value) >= MAX_CURSOR_CHARS or "." not in value:
        return None
    payload, _, signature = value.rpartition(".")
    expected = hmac.new(secret, f"cursor|{payload}".encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(expected, signature):
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (ValueError, binascii.Error):
        return None
    return key if isinstance(key, dict) else None


# ----- exports ---------------------------------------------------------------------------------
def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: formula-looking values get a leading apostrophe."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    """A CSV download: UTF-8 with a byte-order mark (so spreadsheets read accents), CRLF lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return Response(
        body="\ufeff" + buffer.getvalue(),
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )


def json_response(filename: str, rows: list[dict[str, object]]) -> Response:
    """A JSON download (UTF-8, one object per row)."""
    return Response(
        body=json.dumps(rows, ensure_ascii=False, indent=1),
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )


def _utc(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


# Each export's columns, in order, with how a cell is read from an item.
_GRANT_COLUMNS: dict[str, Callable[[AccessRequest], object]] = {
    "request_id": lambda grant: grant.id,
    "reference": lambda grant: grant.reference,
    "email": lambda grant: grant.content.email,
    "name": lambda grant: grant.content.name,
    "organisation": lambda grant: grant.content.organization,
    "platforms": lambda grant: " ".join(grant.content.platforms),
    "level": lambda grant: grant.content.level,
    "granted_at": lambda grant: _utc(grant.steps[-1].decided_at),
    "access_until": lambda grant: _utc(grant.access_until),
}
_AUDIT_COLUMNS: dict[str, Callable[[ChainedEvent], object]] = {
    "seq": lambda chained: chained.seq,
    "at": lambda chained: _utc(chained.event.at),
    "action": lambda chained: chained.event.action,
    "actor": lambda chained: chained.event.actor,
    "via": lambda chained: chained.event.via,
    "request_id": lambda chained: chained.event.request_id or "",
    "step": lambda chained: "" if chained.event.step is None else chained.event.step,
    "comment": lambda chained: chained.event.comment or "",
    "source_ip": lambda chained: chained.event.source_ip,
    "user_agent": lambda chained: chained.event.user_agent,
    "prev_hash": lambda chained: chained.prev,
    "hash": lambda chained: chained.hash,
}


def _table(
    columns: Mapping[str, Callable[[Any], object]], items: Iterable[Any]
) -> tuple[list[str], list[dict[str, object]]]:
    return list(columns), [{name: cell(item) for name, cell in columns.items()} for item in items]


def grant_rows(grants: Iterable[AccessRequest]) -> tuple[list[str], list[dict[str, object]]]:
    """Columns and rows of the grants export (what the web proxy's team needs)."""
    return _table(_GRANT_COLUMNS, grants)


def audit_rows(events: Iterable[ChainedEvent]) -> tuple[list[str], list[dict[str, object]]]:
    """Columns and rows of the audit export (each event with its place in the chain)."""
    return _table(_AUDIT_COLUMNS, events)
