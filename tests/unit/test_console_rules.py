"""Pure rules behind sign-in and the console: timeouts, redirects, withdrawal, revocation,
dashboard figures, spreadsheet-safe cells, page cursors, and every key the pages build."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.audit_chain import ProblemKind
from chalicelib.domain.errors import InvalidDecision, InvalidTransition, NotAnApprover
from chalicelib.domain.lifecycle import revoke, withdraw
from chalicelib.domain.models import AccessRequest, RequestStatus, StepStatus
from chalicelib.domain.next_path import safe_next_path
from chalicelib.domain.sessions import (
    Session,
    SessionState,
    new_signin_link,
    session_state,
    signin_link_expired,
)
from chalicelib.domain.stats import dashboard
from chalicelib.domain.submission import validate_submission
from chalicelib.domain.workflow import confirm, decide, new_request
from chalicelib.rendering.i18n import catalogue
from chalicelib.web.console_pages import (
    AUDIT_ACTIONS,
    decode_cursor,
    encode_cursor,
    read_filters,
    safe_cell,
)
from tests.conftest import PROJECT_ROOT, valid_form

pytestmark = pytest.mark.unit
T0 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
POLICY = load_policy(PROJECT_ROOT / "policies")
OFFICER = "securite.demo@mcn.gouv.qc.ca"


def approved_request() -> AccessRequest:
    content = validate_submission(valid_form(), POLICY).content
    assert content is not None
    request = confirm(new_request("a" * 24, content, POLICY, "fr", T0), T0 + timedelta(hours=1))
    request = decide(
        request, 0, content.manager_email, "approve", "", T0 + timedelta(hours=3), "link"
    )
    return decide(request, 1, OFFICER, "approve", "", T0 + timedelta(hours=4), "console")


def session(minutes_since_start: float, minutes_idle: float) -> tuple[Session, datetime]:
    now = T0 + timedelta(minutes=minutes_since_start)
    last = now - timedelta(minutes=minutes_idle)
    return Session(session_hash="0" * 64, email="a@b.ca", created_at=T0, last_seen_at=last), now


@pytest.mark.parametrize(
    ("since_start", "idle", "state"),
    [
        (10, 0, SessionState.ACTIVE),
        (60, 30, SessionState.ACTIVE),
        (60, 30.02, SessionState.IDLE),
        (480, 0, SessionState.ACTIVE),
        (480.02, 0, SessionState.EXPIRED),
    ],
)
def test_sessions_end_after_30_idle_minutes_or_8_hours(
    since_start: float, idle: float, state: SessionState
) -> None:
    assert session_state(*session(since_start, idle)) == state


def test_a_signin_link_lasts_15_minutes() -> None:
    link = new_signin_link("0" * 64, "a@b.ca", T0, "/console", "fr")
    assert not signin_link_expired(link, T0 + timedelta(minutes=15))
    assert signin_link_expired(link, T0 + timedelta(minutes=15, seconds=1))


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/console/requests?status=approved", True),
        ("/me", True),
        ("https://evil.example/", False),
        ("//evil.example/", False),
        ("/\\evil.example", False),
        ("/console\r\nSet-Cookie: x=1", False),
        ("javascript:alert(1)", False),
        ("/" + "a" * 600, False),
    ],
)
def test_only_paths_of_this_site_are_followed_after_sign_in(target: str, kept: bool) -> None:
    assert (safe_next_path(target) == target) is kept


def test_only_the_requester_withdraws_and_only_before_the_outcome() -> None:
    content = validate_submission(valid_form(), POLICY).content
    assert content is not None
    request = new_request("b" * 24, content, POLICY, "fr", T0)
    with pytest.raises(NotAnApprover):
        withdraw(request, content.manager_email, T0)
    withdrawn = withdraw(request, content.email, T0)
    assert (withdrawn.status, withdrawn.version) == (RequestStatus.WITHDRAWN, 2)
    with pytest.raises(InvalidTransition):
        withdraw(approved_request(), content.email, T0)


def test_revoking_needs_an_active_grant_and_a_reason() -> None:
    grant = approved_request()
    with pytest.raises(InvalidDecision, match="reason_required"):
        revoke(grant, OFFICER, "  ", T0 + timedelta(days=1))
    with pytest.raises(InvalidDecision, match="reason_too_long"):
        revoke(grant, OFFICER, "x" * 1001, T0 + timedelta(days=1))
    assert grant.access_until is not None
    with pytest.raises(InvalidTransition):
        revoke(grant, OFFICER, "late", grant.access_until + timedelta(seconds=1))
    revoked = revoke(grant, OFFICER, " Poste changé ", T0 + timedelta(days=1))
    assert (revoked.status, revoked.revoked_by, revoked.revocation_reason) == (
        RequestStatus.REVOKED,
        OFFICER,
        "Poste changé",
    )
    with pytest.raises(InvalidTransition):
        revoke(revoked, OFFICER, "again", T0 + timedelta(days=2))


def test_the_dashboard_counts_and_takes_medians_per_step() -> None:
    grant = approved_request()
    figures = dashboard([grant, grant.model_copy(update={"status": RequestStatus.REFUSED})])
    assert figures.total == 2
    assert figures.by_status == {"approved": 1, "refused": 1}
    assert figures.by_platform == {"linkedin": 2, "x": 2}
    assert figures.median_hours() == {"manager": 2.0, "security": 1.0}
    assert all(s.status == StepStatus.APPROVED for s in grant.steps)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("=SUM(A1:A3)", "'=SUM(A1:A3)"),
        ("+33 1 23", "'+33 1 23"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("Hélène = ok", "Hélène = ok"),
        (None, ""),
        (42, "42"),
    ],
)
def test_cells_that_look_like_formulas_are_neutralised(value: object, shown: str) -> None:
    assert safe_cell(value) == shown


def test_a_page_cursor_cannot_be_forged() -> None:
    secret = b"s" * 32
    key = {"PK": {"S": "REQUEST#1"}, "GSI1SK": {"S": "2026#1"}}
    token = encode_cursor(secret, key)
    assert decode_cursor(secret, token) == key
    other = encode_cursor(secret, {"PK": {"S": "REQUEST#2"}, "GSI1SK": {"S": "2026#2"}})
    signature = token.rpartition(".")[2]
    assert decode_cursor(secret, other.rpartition(".")[0] + "." + signature) is None
    assert decode_cursor(b"t" * 32, token) is None
    assert decode_cursor(secret, "garbage") is None


def test_filters_keep_what_makes_sense_and_read_dates_in_quebec_time() -> None:
    filters = read_filters(
        {
            "status": "approved",
            "platform": "myspace",
            "level": "read",
            "from": "2026-11-01",
            "to": "2026-11-30",
            "requester": " Marie@MCN.gouv.qc.ca ",
            "action": "dropped_tables",
        },
        POLICY,
    )
    wanted = filters.requests
    assert wanted.status == RequestStatus.APPROVED
    assert wanted.platform is None and wanted.level == "read"
    assert wanted.requester == "marie@mcn.gouv.qc.ca"
    assert wanted.since == datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # midnight in Montréal (EDT)
    assert wanted.until == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # end of the 30th (EST)
    assert filters.audit.action is None


def test_every_key_the_console_builds_exists_in_both_languages() -> None:
    kinds: tuple[ProblemKind, ...] = (
        "altered", "missing", "reordered", "inserted", "forged", "truncated", "head_missing",
    )  # fmt: skip
    keys = {f"audit.action_{action}" for action in AUDIT_ACTIONS}
    keys |= {f"audit.problem_{kind}" for kind in kinds}
    keys |= {f"audit.via_{via}" for via in ("form", "link", "console")}
    keys |= {f"console.done_{done}" for done in ("approve", "refuse", "revoked")}
    keys |= {f"my_requests.done_{done}" for done in ("approve", "refuse", "withdrawn")}
    keys |= {f"console.error_{code}" for code in ("reason_required", "reason_too_long")}
    keys |= {
        f"login.error_{code}" for code in ("invalid_email", "expired", "unreadable", "too_large")
    }
    keys |= {"login.notice_expired"}
    keys |= {f"request_status.{status.value}" for status in RequestStatus}
    for lang in ("fr", "en"):
        assert keys - set(catalogue(lang)) == set(), lang
