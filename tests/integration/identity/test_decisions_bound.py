"""Decisions bound to a verified person: the link opens the page, the provider's session decides.

Service level, against the real provider: Jean's approval link needs Jean's session (or his
deputy's); a forwarded link in another employee's session is refused, changes nothing and is
audited; the decision's audit event records the issuer and subject behind it. Without a
provider, today's behaviour stays (the link is the credential).
"""

from __future__ import annotations

import pytest

from chalicelib.domain.decider import NotTheLinksApprover, SignInRequired
from chalicelib.domain.models import AuditEvent, ClientInfo, RequestStatus
from chalicelib.domain.sessions import Session
from chalicelib.service.confirm import confirm_request
from chalicelib.service.console import decide_in_console
from chalicelib.service.context import Services, get_services
from chalicelib.service.decide import decide_step
from chalicelib.service.provider_signin import complete_provider_signin, start_provider_signin
from chalicelib.service.signin import current_session
from chalicelib.service.submit import submit_request
from local_stack.oidc_accounts import DemoAccount
from tests.conftest import valid_form
from tests.integration.conftest import AUDIT, MAIN, link_with, outbox, state_counts
from tests.integration.identity.conftest import audit_bodies
from tests.peers.oidc_provider import ProviderPeer, signed_in

pytestmark = pytest.mark.integration
CLIENT = ClientInfo(source_ip="192.0.2.9", user_agent="pytest")
JEAN = "jean.gestion@mcn.gouv.qc.ca"
COLLEAGUE = "communications.demo@mcn.gouv.qc.ca"
OFFICER = "securite.demo@mcn.gouv.qc.ca"


def provider_session(services: Services, email: str) -> Session:
    """Sign a demo person in with the provider, as the sign-in page will."""
    started = start_provider_signin(services, "/", "fr")
    _, callback = signed_in(started.authorization_url, email)
    done = complete_provider_signin(services, started.attempt_cookie, callback, None, CLIENT)
    session = current_session(services, done.cookie_value)
    assert session is not None
    return session


def newest_token(address: str, kind: str) -> str:
    mail = next(m for m in outbox() if address in m.to and any(f"/{kind}/" in u for u in m.links))
    return link_with(mail, kind).rsplit("/", 1)[-1]


def filed_and_confirmed(services: Services) -> str:
    """Marie files and confirms a request; return Jean's decision token."""
    outcome = submit_request(services, valid_form(), "decisions" * 4, "fr", CLIENT)
    assert outcome.request is not None
    confirm_request(services, newest_token("marie.tremblay@mcn.gouv.qc.ca", "confirm"), CLIENT)
    return newest_token(JEAN, "decide")


def decisions() -> list[AuditEvent]:
    return [AuditEvent.model_validate_json(b) for b in audit_bodies("approved")]


def test_the_managers_decision_is_recorded_under_his_verified_identity(
    signin_services: Services, oidc_provider: ProviderPeer
) -> None:
    token = filed_and_confirmed(signin_services)
    before = state_counts()
    # Pressing Approve without a session: sign in first; nothing changed.
    with pytest.raises(SignInRequired):
        decide_step(signin_services, token, "approve", "", CLIENT)
    assert state_counts() == before
    # Jean signs in with the provider and approves.
    decided = decide_step(
        signin_services,
        token,
        "approve",
        "",
        CLIENT,
        session=provider_session(signin_services, JEAN),
    )
    assert decided.steps[0].decided_by == JEAN
    [event] = decisions()
    assert event.actor == JEAN and event.identity is not None
    assert event.identity.issuer == oidc_provider.issuer
    assert event.identity.subject == DemoAccount(JEAN, "").object_id
    assert event.identity.method == "oidc:pwd" and event.identity.auth_time is not None
    # The officer approves from the console, signed in with the provider: identity recorded.
    officer = provider_session(signin_services, OFFICER)
    assert officer.identity is not None and officer.identity.roles == ("security",)
    done = decide_in_console(
        signin_services, decided.id, 1, OFFICER, "approve", "", CLIENT, identity=officer.identity
    )
    assert done.status == RequestStatus.APPROVED
    [officer_event] = [e for e in decisions() if e.actor == OFFICER]
    assert officer_event.identity is not None and officer_event.via == "console"
    assert officer_event.identity.subject == DemoAccount(OFFICER, "").object_id


def test_a_forwarded_link_in_another_employees_session_is_refused_and_audited(
    signin_services: Services,
) -> None:
    token = filed_and_confirmed(signin_services)
    colleague = provider_session(signin_services, COLLEAGUE)
    before = state_counts()
    with pytest.raises(NotTheLinksApprover):
        decide_step(signin_services, token, "approve", "", CLIENT, session=colleague)
    # Nothing changed but the audited refusal.
    after = state_counts()
    assert after == {MAIN: before[MAIN], AUDIT: before[AUDIT] + 1}
    refusals = [AuditEvent.model_validate_json(b) for b in audit_bodies("refused_attempt")]
    assert [(e.actor, e.reason, e.step) for e in refusals] == [
        (COLLEAGUE, "not_the_links_approver", 0)
    ]
    request_id = refusals[0].request_id
    assert request_id is not None
    stored = signin_services.store.load_request(request_id)
    assert stored is not None and stored.steps[0].decided_by is None
    # Jean's own session still decides from the same link.
    decide_step(
        signin_services,
        token,
        "approve",
        "",
        CLIENT,
        session=provider_session(signin_services, JEAN),
    )


def test_an_email_link_session_is_not_a_verified_person(signin_services: Services) -> None:
    token = filed_and_confirmed(signin_services)
    jean_by_email = provider_session(signin_services, JEAN).model_copy(update={"identity": None})
    with pytest.raises(SignInRequired):
        decide_step(signin_services, token, "approve", "", CLIENT, session=jean_by_email)


def test_without_a_provider_the_link_decides_as_today(aws: None) -> None:
    services = get_services()  # the demo policy names no provider for the test stage
    token = filed_and_confirmed(services)
    decided = decide_step(services, token, "approve", "", CLIENT)
    assert decided.steps[0].decided_by == JEAN
    [event] = decisions()
    assert event.identity is None and event.via == "link"


def test_the_deputys_session_decides_from_the_deputys_link_on_the_approvers_behalf(
    signin_services: Services,
) -> None:
    from datetime import timedelta

    from chalicelib.rendering.i18n import LOCAL_ZONE
    from chalicelib.service.delegate import delegate_signed_in

    deputy = "direction.demo@mcn.gouv.qc.ca"
    filed_and_confirmed(signin_services)
    today = signin_services.clock().astimezone(LOCAL_ZONE).date()
    delegate_signed_in(signin_services, JEAN, deputy, today, today + timedelta(days=2), CLIENT)
    token = newest_token(deputy, "decide")
    # Jean himself handed the step over: his session does not decide from the deputy's link.
    with pytest.raises(NotTheLinksApprover):
        decide_step(
            signin_services, token, "approve", "", CLIENT,
            session=provider_session(signin_services, JEAN),
        )  # fmt: skip
    decided = decide_step(
        signin_services, token, "approve", "", CLIENT,
        session=provider_session(signin_services, deputy),
    )  # fmt: skip
    assert (decided.steps[0].decided_by, decided.steps[0].on_behalf_of) == (deputy, JEAN)
    [event] = decisions()
    assert event.identity is not None and event.identity.email == deputy
    assert event.reason == f"on behalf of {JEAN}"
