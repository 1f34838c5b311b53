"""Decisions bound to a verified person, through the link's page (issue 15, acceptance 2).

Over HTTP with the real provider: Jean's link opens his page signed out, with a sign-in
button; pressing Approve signed out sends him to the provider and back, and his decision is
recorded under his verified identity; a colleague signed in with the provider who opens the
forwarded link and presses Approve is told it was sent to someone else, nothing changes, and
the attempt is audited.
"""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client

from chalicelib.domain.models import AuditEvent
from chalicelib.service.context import Services
from local_stack.oidc_accounts import DemoAccount
from tests.integration.conftest import AUDIT, MAIN, hidden, html, post_form, state_counts
from tests.integration.identity.conftest import audit_bodies
from tests.integration.identity.test_decisions_bound import JEAN, filed_and_confirmed
from tests.integration.identity.test_provider_pages import callback, cookie_of
from tests.peers.oidc_provider import ProviderPeer, signed_in

pytestmark = pytest.mark.integration
COLLEAGUE = "communications.demo@mcn.gouv.qc.ca"
OFFICER = "securite.demo@mcn.gouv.qc.ca"


def through_provider(client: Client, start_path: str, email: str) -> tuple[str, str]:
    """Follow a sign-in started at `start_path`; return the session cookie and where it lands."""
    answer = client.http.get(start_path)
    assert answer.status_code == 303, html(answer)
    _, params = signed_in(answer.headers["Location"], email)
    back = callback(client, params, cookie_of(answer, "sesame-oidc-attempt"))
    assert back.status_code == 303, html(back)
    return cookie_of(back, "sesame-session"), back.headers["Location"]


def approve(client: Client, path: str, cookie: str = "") -> Any:
    page = html(client.http.get(path, headers={"Cookie": cookie} if cookie else {}))
    headers = {"Cookie": cookie} if cookie else {}
    return post_form(client, path, {"csrf": hidden(page, "csrf"), "decision": "approve"}, **headers)


def test_jean_presses_approve_signs_in_and_decides_under_his_verified_identity(
    client: Client, signin_services: Services, oidc_provider: ProviderPeer
) -> None:
    path = "/decide/" + filed_and_confirmed(signin_services)
    page = html(client.http.get(path))
    # Signed out, the page shows what is asked and says the sign-in decides who approves.
    assert "connectez-vous avec votre organisation" in page and f"{path}/sign-in" in page
    before = state_counts()
    pressed = approve(client, path)
    # Refused without the sign-in, nothing decided; the page offers it (a link: the CSP's
    # form-action would stop a form's redirect to the provider).
    assert pressed.status_code == 403
    assert f'href="{path}/sign-in?lang=fr"' in html(pressed)
    # ... and says why nothing happened (the same page again would read as a dead button).
    assert 'id="sign-in-pressed"' in html(pressed) and "pas encore enregistrée" in html(pressed)
    assert 'id="sign-in-pressed"' not in page
    assert state_counts() == before
    session, back = through_provider(client, f"{path}/sign-in?lang=fr", JEAN)
    assert back == path  # back to the link's page, the token never stored
    decided = approve(client, path, session)
    assert decided.status_code == 200, html(decided)
    [event] = [AuditEvent.model_validate_json(b) for b in audit_bodies("approved")]
    assert event.actor == JEAN and event.identity is not None
    assert (event.identity.issuer, event.identity.subject) == (
        oidc_provider.issuer,
        DemoAccount(JEAN, "").object_id,
    )


def test_a_forwarded_link_in_a_colleagues_session_is_refused_and_audited(
    client: Client, signin_services: Services
) -> None:
    path = "/decide/" + filed_and_confirmed(signin_services)
    session, _ = through_provider(client, "/login/oidc?next=/me", COLLEAGUE)
    before = state_counts()
    refused = approve(client, path, session)
    assert refused.status_code == 403
    page = html(refused)
    assert "Ce lien a été envoyé à une autre personne" in page and COLLEAGUE in page
    # Nothing changed but the audited attempt: the request and its steps are as they were.
    after = state_counts()
    assert after[MAIN] == before[MAIN] and after[AUDIT] == before[AUDIT] + 1
    assert audit_bodies("approved") == []
    [event] = [AuditEvent.model_validate_json(b) for b in audit_bodies("refused_attempt")]
    assert event.actor == COLLEAGUE
    # The same refusal in English.
    english = approve(client, path + "?lang=en", session)
    assert "This link was sent to another person" in html(english)


def test_an_officer_signed_in_with_the_provider_approves_from_the_console(
    client: Client, signin_services: Services, oidc_provider: ProviderPeer
) -> None:
    from chalicelib.service.links import link_request_id

    token = filed_and_confirmed(signin_services)
    path = "/decide/" + token
    jean, _ = through_provider(client, f"{path}/sign-in", JEAN)
    assert approve(client, path, jean).status_code == 200
    officer, landing = through_provider(client, "/login/oidc", OFFICER)
    assert landing == "/console"
    detail = f"/console/requests/{link_request_id(token)}"
    page = html(client.http.get(detail, headers={"Cookie": officer}))
    form = {"csrf": hidden(page, "csrf"), "step": "1", "decision": "approve", "comment": ""}
    done = post_form(client, f"{detail}/decide", form, Cookie=officer)
    assert done.status_code == 303, html(done)
    events = [AuditEvent.model_validate_json(b) for b in audit_bodies("approved")]
    # Both decisions carry the issuer and subject of the person behind them.
    by_actor = {e.actor: e.identity for e in events}
    for email in (JEAN, OFFICER):
        person = by_actor[email]
        assert person is not None and person.issuer == oidc_provider.issuer
        assert person.subject == DemoAccount(email, "").object_id
    # The request's timeline in the console shows them too.
    timeline = html(client.http.get(detail, headers={"Cookie": officer}))
    for email in (JEAN, OFFICER):
        subject = DemoAccount(email, "").object_id
        assert f"vérifié par {oidc_provider.issuer}, sujet {subject}" in timeline
