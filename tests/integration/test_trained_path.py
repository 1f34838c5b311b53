"""The trained path: a person who passed the awareness module reads low-risk platforms on
their manager's decision alone; the officers get a notice and can revoke (issue 17, item 3)."""

from __future__ import annotations

import pytest
from chalice.test import Client

from chalicelib.dev.events import published_events
from chalicelib.domain.awareness import person_ref
from chalicelib.domain.models import ClientInfo, RequestStatus
from chalicelib.service.awareness import take_quiz
from chalicelib.service.console import revoke_grant
from chalicelib.service.context import get_services
from tests.integration.conftest import BUS, file_request, link_with, outbox, press
from tests.integration.people import MANAGER, OFFICER, OTHER_OFFICER, REQUESTER

pytestmark = pytest.mark.integration
CLIENT = ClientInfo(source_ip="203.0.113.9", user_agent="pytest")


def pass_the_module(score_misses: int = 0) -> None:
    services = get_services()
    module = services.policy.awareness
    assert module is not None
    answers = {q.id: q.answer for q in module.questions}
    for question in module.questions[:score_misses]:
        answers[question.id] = next(c.id for c in question.choices if c.id != question.answer)
    assert take_quiz(services, person_ref(REQUESTER), answers, CLIENT).completion


def filed_and_confirmed(client: Client, **overrides: object) -> str:
    """File and confirm a request; return its id."""
    assert file_request(client, **overrides).status_code == 200
    assert press(client, link_with(outbox()[0], "confirm")).status_code == 200
    (request,) = get_services().store.console.requests_of(REQUESTER)
    return request.id


def manager_approves(client: Client) -> None:
    (mail,) = [m for m in outbox() if m.to == [MANAGER]]
    assert press(client, link_with(mail, "decide"), decision="approve").status_code == 200


def test_a_trained_reader_of_linkedin_needs_only_the_manager_and_officers_get_a_notice(
    client: Client,
) -> None:
    pass_the_module(score_misses=1)
    request_id = filed_and_confirmed(client, platforms=["linkedin"])
    manager_approves(client)

    granted = get_services().store.load_request(request_id)
    assert granted is not None and granted.status == RequestStatus.APPROVED
    assert granted.chain == ("manager",) and granted.trained_path
    assert granted.trained_pass is not None and granted.trained_pass.score == 4
    # No officer was asked to decide: each got one bilingual notice with a console link.
    officer_mails = [m for m in outbox() if m.to[0] in (OFFICER, OTHER_OFFICER)]
    assert len(officer_mails) == 1 and sorted(officer_mails[0].to) == [OTHER_OFFICER, OFFICER]
    notice = officer_mails[0]
    assert "parcours formé" in notice.subject
    assert "trained path" in notice.text and "4 right answers out of 5" in notice.text
    assert f"/console/requests/{request_id}" in " ".join(notice.links)
    assert not any("/decide/" in link for link in notice.links)
    assert [e["detail_type"] for e in published_events(BUS)] == ["AccessGranted"]
    submitted = get_services().store.events_for(request_id)[0]
    assert submitted.reason is not None and submitted.reason.endswith("; trained path")

    # An officer still revokes it like any grant.
    revoked = revoke_grant(get_services(), request_id, OFFICER, "Pas nécessaire", CLIENT)
    assert revoked.status == RequestStatus.REVOKED
    assert [e["detail_type"] for e in published_events(BUS)] == ["AccessGranted", "AccessRevoked"]


def test_an_untrained_reader_goes_through_the_security_step(client: Client) -> None:
    request_id = filed_and_confirmed(client, platforms=["linkedin"])
    manager_approves(client)
    waiting = get_services().store.load_request(request_id)
    assert waiting is not None and waiting.status == RequestStatus.PENDING_APPROVAL
    assert waiting.chain == ("manager", "security") and not waiting.trained_path
    assert waiting.trained_pass is None
    assert [m for m in outbox() if OFFICER in m.to and "/decide/" in " ".join(m.links)]


def test_a_trained_person_publishing_keeps_the_whole_chain(client: Client) -> None:
    pass_the_module()
    request_id = filed_and_confirmed(
        client,
        platforms=["linkedin"],
        level="publish",
        justification="Je publie les annonces du programme Accès numérique au nom du ministère "
        "et je réponds aux questions des citoyens.",
    )
    request = get_services().store.load_request(request_id)
    assert request is not None
    assert request.chain == ("manager", "communications", "security")
    # The pass is read (and recorded on the request) only where it could shorten the chain.
    assert not request.trained_path and request.trained_pass is None


def test_a_trained_reader_of_a_standard_platform_keeps_the_security_step(client: Client) -> None:
    pass_the_module()
    request_id = filed_and_confirmed(client, platforms=["linkedin", "x"])
    request = get_services().store.load_request(request_id)
    assert request is not None and request.chain == ("manager", "security")
    assert not request.trained_path
