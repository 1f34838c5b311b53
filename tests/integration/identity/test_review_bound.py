"""A grant's review answered under a verified identity (issue 17 with issue 15): where
decisions need the provider's sign-in, so do Keep and End; a forwarded review link in
another employee's session is refused, changes nothing and is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from chalice.test import Client

from chalicelib.domain.decider import NotTheLinksApprover, SignInRequired
from chalicelib.domain.models import AuditEvent, RequestStatus
from chalicelib.service.confirm import confirm_request
from chalicelib.service.console import decide_in_console
from chalicelib.service.context import Services
from chalicelib.service.review import answer_review
from chalicelib.service.submit import submit_request
from chalicelib.service.timed import run_timed_jobs
from tests.conftest import valid_form
from tests.integration.conftest import hidden, html, post_form, state_counts
from tests.integration.identity.conftest import audit_bodies
from tests.integration.identity.test_decision_pages import through_provider
from tests.integration.identity.test_decisions_bound import (
    CLIENT,
    COLLEAGUE,
    JEAN,
    OFFICER,
    newest_token,
    provider_session,
)

pytestmark = pytest.mark.integration
PUBLISH = "Je publie au nom du ministère les annonces du programme et je réponds aux citoyens."


def asked_for_review(services: Services) -> tuple[str, str]:
    """A publish grant approved 24 days ago, its manager just asked; return its id and token."""
    real = services.clock
    filed_at = real() - timedelta(days=24)  # the grant's first period is nearly over
    services.clock = lambda: filed_at
    try:
        form = valid_form(level="publish", justification=PUBLISH)
        outcome = submit_request(services, form, "reviews" * 4, "fr", CLIENT)
        assert outcome.request is not None
        confirm_request(services, newest_token("marie.tremblay@mcn.gouv.qc.ca", "confirm"), CLIENT)
        request_id = outcome.request.id
        for step, person in enumerate((JEAN, COLLEAGUE, OFFICER)):
            decide_in_console(services, request_id, step, person, "approve", "", CLIENT)
    finally:
        services.clock = real
    assert run_timed_jobs(services)["review_ask"] == 1
    return request_id, newest_token(JEAN, "review")


def test_keep_needs_the_managers_own_session(signin_services: Services) -> None:
    services = signin_services
    request_id, token = asked_for_review(services)

    before = state_counts()
    with pytest.raises(SignInRequired):
        answer_review(services, token, "keep", CLIENT)
    assert state_counts() == before
    asked = services.store.load_request(request_id)
    assert asked is not None
    # A forwarded link in a colleague's session: refused and audited; the grant is as it was
    # (and the link still works for the manager, below).
    colleague = provider_session(services, COLLEAGUE)
    with pytest.raises(NotTheLinksApprover):
        answer_review(services, token, "end", CLIENT, colleague)
    refusals = [AuditEvent.model_validate_json(b) for b in audit_bodies("refused_attempt")]
    assert [(e.actor, e.reason) for e in refusals] == [(COLLEAGUE, "not_the_links_approver")]
    assert services.store.load_request(request_id) == asked

    kept = answer_review(services, token, "keep", CLIENT, provider_session(services, JEAN))
    assert kept.review_kept_at is not None and kept.status == RequestStatus.APPROVED
    [event] = [AuditEvent.model_validate_json(b) for b in audit_bodies("review_kept")]
    assert event.actor == JEAN and event.identity is not None
    assert event.identity.email == JEAN


def test_the_review_page_sends_the_manager_to_sign_in_and_back(
    client: Client, signin_services: Services
) -> None:
    request_id, token = asked_for_review(signin_services)
    path = f"/review/{token}"
    page = html(client.http.get(path))
    assert f'href="{path}/sign-in?lang=fr"' in page
    pressed = post_form(client, path, {"csrf": hidden(page, "csrf"), "answer": "keep"})
    assert pressed.status_code == 403 and f'href="{path}/sign-in?lang=fr"' in html(pressed)
    assert 'id="sign-in-pressed"' in html(pressed) and 'id="sign-in-pressed"' not in page
    session, back = through_provider(client, f"{path}/sign-in?lang=fr", JEAN)
    assert back == path  # back to the link's page
    page = html(client.http.get(path, headers={"Cookie": session}))
    kept = post_form(client, path, {"csrf": hidden(page, "csrf"), "answer": "keep"}, Cookie=session)
    assert kept.status_code == 200 and 'id="kept"' in html(kept)
    stored = signin_services.store.load_request(request_id)
    assert stored is not None and stored.review_kept_at is not None
