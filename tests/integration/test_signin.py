"""Passwordless sign-in and sessions: one-time 15-minute links, rotation at sign-in, idle and
absolute timeouts on a frozen clock, server-side sign-out, cookie flags."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from chalice.test import Client

from chalicelib.service.context import Services, get_services
from chalicelib.settings import Settings
from chalicelib.store.audit import AuditFilter
from chalicelib.web.session import cleared_cookie, session_cookie
from tests.integration.conftest import hidden, html, outbox, post_form, state_counts
from tests.integration.people import OFFICER, REQUESTER, get, sign_in, signin_link

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


class FrozenClock:
    """The services' clock, moved by hand."""

    def __init__(self, services: Services, start: datetime) -> None:
        self.now = start
        services.clock = lambda: self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(client: Client) -> Iterator[FrozenClock]:
    services = get_services()
    real = services.clock
    yield FrozenClock(services, T0)
    services.clock = real


def is_signed_in(client: Client, cookie: str) -> bool:
    response = get(client, "/me", cookie)
    if response.status_code == 303:
        assert response.headers["Location"].startswith("/login")
        return False
    assert response.status_code == 200, html(response)
    return True


def test_login_answers_the_same_for_known_and_unknown_addresses(client: Client) -> None:
    answers = []
    for email in ("marie.tremblay@mcn.gouv.qc.ca", "marie.tremblay@example.com"):
        page = html(client.http.get("/login"))
        response = post_form(
            client, "/login", {"email": email, "form_token": hidden(page, "form_token")}
        )
        answers.append((response.status_code, html(response).replace(email, "<address>")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 200
    assert [m.to for m in outbox()] == [["marie.tremblay@mcn.gouv.qc.ca"]]
    assert "Votre lien de connexion à Sésame" in outbox()[0].subject


def test_a_malformed_address_is_the_only_error_shown(client: Client) -> None:
    page = html(client.http.get("/login?lang=en"))
    response = post_form(
        client,
        "/login",
        {"email": "not an address", "form_token": hidden(page, "form_token"), "lang": "en"},
    )
    assert response.status_code == 400
    assert "Enter a valid e-mail address" in html(response)
    assert outbox() == []


def test_the_link_shows_on_get_signs_in_once_on_post_and_is_audited(client: Client) -> None:
    path = signin_link(client, REQUESTER)
    before = state_counts()
    for _ in range(3):  # a mail scanner
        client.http.request("HEAD", path)
        page = client.http.get(path)
        assert page.status_code == 200
        assert "Set-Cookie" not in page.headers
    assert state_counts() == before
    assert f"en tant que {REQUESTER}" in html(page)

    first = post_form(client, path, {"csrf": hidden(html(page), "csrf")})
    assert first.status_code == 303
    assert first.headers["Location"] == "/me"
    again = post_form(client, path, {"csrf": hidden(html(page), "csrf")})
    assert again.status_code == 410
    assert "Lien de connexion inutilisable" in html(again)
    assert "Set-Cookie" not in again.headers

    (event,) = get_services().store.audit.all_matching(AuditFilter(action="signed_in"))
    assert (event.event.actor, event.event.via) == (REQUESTER, "link")


def test_the_link_works_for_15_minutes_judged_by_the_server_clock(
    client: Client, clock: FrozenClock
) -> None:
    late = signin_link(client, REQUESTER)
    clock.advance(minutes=15, seconds=1)
    assert client.http.get(late).status_code == 410

    clock.now = T0
    on_time = signin_link(client, REQUESTER)
    clock.advance(minutes=14, seconds=59)
    page = client.http.get(on_time)
    assert page.status_code == 200
    assert post_form(client, on_time, {"csrf": hidden(html(page), "csrf")}).status_code == 303


def test_the_session_id_is_rotated_at_sign_in(client: Client) -> None:
    first = sign_in(client, REQUESTER)
    assert is_signed_in(client, first)
    # Signing in again while holding a session: a new id, and the old one stops working.
    second = sign_in(client, REQUESTER, cookie=first)
    assert second != first
    assert is_signed_in(client, second)
    assert not is_signed_in(client, first)
    # A value the server never issued (a fixation attempt) is never adopted.
    planted = first.split("=", 1)[0] + "=" + "A" * 43
    third = sign_in(client, REQUESTER, cookie=planted)
    assert third != planted and not is_signed_in(client, planted)


def test_an_idle_session_ends_after_30_minutes(client: Client, clock: FrozenClock) -> None:
    cookie = sign_in(client, REQUESTER)
    clock.advance(minutes=29)
    assert is_signed_in(client, cookie)  # activity: the idle clock restarts
    clock.advance(minutes=29)
    assert is_signed_in(client, cookie)
    clock.advance(minutes=30, seconds=1)
    response = get(client, "/me", cookie)
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=%2Fme&expired=1"
    assert "Max-Age=0" in response.headers["Set-Cookie"]
    clock.advance(minutes=-10)  # gone for good, even if the clock went back
    assert not is_signed_in(client, cookie)


def test_a_busy_session_still_ends_after_8_hours(client: Client, clock: FrozenClock) -> None:
    cookie = sign_in(client, REQUESTER)
    for _ in range(23):  # every 20 minutes for 7 h 40
        clock.advance(minutes=20)
        assert is_signed_in(client, cookie)
    clock.advance(minutes=19, seconds=59)  # 7 h 59 min 59 s
    assert is_signed_in(client, cookie)
    clock.advance(seconds=2)
    assert not is_signed_in(client, cookie)


def test_sign_out_ends_the_session_on_the_server(client: Client) -> None:
    cookie = sign_in(client, REQUESTER)
    page = get(client, "/me", cookie)
    # Without the session's form token, nothing happens (no forced sign-out from elsewhere).
    refused = post_form(client, "/logout", {"csrf": "forged"}, Cookie=cookie)
    assert refused.status_code == 403
    assert is_signed_in(client, cookie)

    out = post_form(client, "/logout", {"csrf": hidden(html(page), "csrf")}, Cookie=cookie)
    assert out.status_code == 200
    assert "Vous êtes déconnecté" in html(out)
    assert "Max-Age=0" in out.headers["Set-Cookie"]
    # Replaying the old cookie is refused: the session no longer exists on the server.
    assert not is_signed_in(client, cookie)
    actions = [
        e.event.action
        for e in get_services().store.audit.all_matching(AuditFilter(actor=REQUESTER))
    ]
    assert actions[:2] == ["signed_out", "signed_in"]


def test_the_cookie_carries_its_flags(client: Client) -> None:
    path = signin_link(client, REQUESTER)
    page = client.http.get(path)
    response = post_form(client, path, {"csrf": hidden(html(page), "csrf")})
    cookie = response.headers["Set-Cookie"]
    name, _, attributes = cookie.partition(";")
    assert name.startswith("__Host-sesame-session=")
    assert len(name.split("=", 1)[1]) == 43  # 32 random bytes
    flags = {part.strip() for part in attributes.split(";")}
    assert {"Path=/", "HttpOnly", "SameSite=Lax", "Secure"} <= flags
    assert not any(flag.startswith(("Domain", "Max-Age", "Expires")) for flag in flags)
    # Only a hash of the value is stored.
    value = name.split("=", 1)[1]
    assert get_services().store.sessions.load_session(value) is None


def test_on_the_local_http_stack_the_cookie_is_not_secure_but_still_http_only() -> None:
    local = Settings(
        stage="local",
        main_table="sesame-local-main",
        audit_table="sesame-local-audit",
        public_base_url="http://127.0.0.1:8000",
        policy_dir=Path("policies"),
        templates_dir=Path("templates"),
        signing_secret=b"x" * 32,
    )
    assert session_cookie(local, "v") == "sesame-session=v; Path=/; HttpOnly; SameSite=Lax"
    prod = local.model_copy(update={"stage": "prod", "public_base_url": "https://sesame.gouv"})
    assert session_cookie(prod, "v").startswith("__Host-sesame-session=v;")
    assert session_cookie(prod, "v").endswith("; Secure")
    assert cleared_cookie(prod).endswith("; Max-Age=0")


def test_after_sign_in_only_a_path_of_this_site_is_followed(client: Client) -> None:
    for target, expected in (
        ("https://evil.example/phish", "/console"),
        ("//evil.example", "/console"),
        ("/console/requests?status=approved", "/console/requests?status=approved"),
    ):
        path = signin_link(client, OFFICER, next_path=target)
        page = client.http.get(path)
        response = post_form(client, path, {"csrf": hidden(html(page), "csrf")})
        assert response.headers["Location"] == expected, target


@pytest.mark.parametrize(
    ("lang", "example", "module_word"),
    [("fr", "Par exemple prenom.nom@mcn.gouv.qc.ca.", "réussite"), ("en", "For instance", "pass")],
)
def test_the_sign_in_pages_help_is_about_the_address_not_the_awareness_module(
    client: Client, lang: str, example: str, module_word: str
) -> None:
    page = html(client.http.get(f"/login?next=/me&lang={lang}"))
    help_text = page.split('id="email-help"', 1)[1].split("</p>", 1)[0]
    assert example in help_text
    assert module_word not in help_text  # the module's sentence belongs to /awareness
    awareness = html(client.http.get(f"/awareness?lang={lang}"))
    assert "confirmation" in awareness.split('id="email-help"', 1)[1].split("</p>", 1)[0]
