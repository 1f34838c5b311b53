"""Through HTTP: self-approval and double-step attempts refused and audited; limits give 429."""

from __future__ import annotations

import boto3
import pytest
from chalice.test import Client

from chalicelib.domain.models import AccessRequest, LinkKind
from chalicelib.service.context import Services, get_services
from chalicelib.service.links import fill_links
from chalicelib.service.mail import issue_link
from tests.conftest import UNLISTED
from tests.integration.conftest import (
    AUDIT,
    file_request,
    html,
    item_counts,
    link_with,
    outbox,
    path_of,
    press,
)

pytestmark = pytest.mark.integration
OFFICER_A, OFFICER_B = "securite.demo@mcn.gouv.qc.ca", "rssi.demo@mcn.gouv.qc.ca"


def refused_attempts() -> list[dict[str, str]]:
    """The refused attempts in the audit log (test-only Scan)."""
    items = boto3.client("dynamodb").scan(TableName=AUDIT)["Items"]
    return [
        {"actor": i["actor"]["S"], "reason": i["body"]["S"]}
        for i in items
        if i["action"]["S"] in ("refused_attempt", "link_limit")
    ]


def with_limits(services: Services, **limits: int) -> None:
    rules = services.policy.rules
    new_rules = rules.model_copy(update={"limits": rules.limits.model_copy(update=limits)})
    services.policy = services.policy.model_copy(update={"rules": new_rules})


def test_requester_as_manager_is_refused_and_audited(client: Client) -> None:
    response = file_request(client, email=UNLISTED, manager_email="Luc.Autre+chef@mcn.gouv.qc.ca")
    assert response.status_code == 400
    assert "autre personne que vous" in html(response)
    (attempt,) = refused_attempts()
    assert attempt["actor"] == UNLISTED
    assert "self_approval" in attempt["reason"]
    assert outbox() == []


def test_an_officer_filing_never_gets_a_link_to_their_own_request(client: Client) -> None:
    file_request(client, email=OFFICER_A, name="Camille Tremblay")
    press(client, link_with(outbox()[0], "confirm"))
    press(client, link_with(outbox()[0], "decide"), decision="approve")
    asked = [m.to for m in outbox() if any("/decide/" in link for link in m.links)]
    assert [OFFICER_A] not in asked
    assert asked[0] == [OFFICER_B]


def test_the_only_officer_cannot_file_and_the_attempt_is_audited(client: Client) -> None:
    services = get_services()
    organisation = services.policy.organisation
    alone = organisation.model_copy(
        update={"security_officers": organisation.security_officers[:1]}
    )
    services.policy = services.policy.model_copy(update={"organisation": alone})
    response = file_request(client, email=OFFICER_A)
    assert response.status_code == 400
    assert "Personne d'autre que vous ne peut approuver" in html(response)
    (attempt,) = refused_attempts()
    assert "no_approver:security" in attempt["reason"]
    # Nothing stored but the audit chain's head and the source's refused-attempt counter.
    items = boto3.client("dynamodb").scan(TableName="sesame-test-main")["Items"]
    assert sorted(i["PK"]["S"].split("#")[0] for i in items) == ["AUDIT", "RATE"]


def test_one_person_never_decides_two_steps_of_a_request(client: Client) -> None:
    # Given a communications group that includes an officer
    services = get_services()
    rules = services.policy.rules
    group = rules.groups[0].model_copy(update={"members": (OFFICER_A,)})
    services.policy = services.policy.model_copy(
        update={"rules": rules.model_copy(update={"groups": (group,)})}
    )
    file_request(client, level="publish", justification="x" * 90)
    press(client, link_with(outbox()[0], "confirm"))
    press(client, link_with(outbox()[0], "decide"), decision="approve")
    # When the officer decides the communications step
    assert outbox()[0].to == [OFFICER_A]
    press(client, link_with(outbox()[0], "decide"), decision="approve")
    # Then only the other officer is asked for the security step
    assert [m.to for m in outbox()[:1]] == [[OFFICER_B]]

    # And even holding a link for the security step (say, from an earlier e-mail), the same
    # person is refused at decision time; the attempt is audited and nothing changes.
    request = _only_request(services)
    url, link = issue_link(
        services, request, LinkKind.DECIDE, services.clock(), step=2, approver=OFFICER_A
    )
    services.store.add_links([link], [])
    # The URL holds a placeholder; the token is derived as the sender would.
    url = fill_links(services.settings.signing_secret, url)
    refused = press(client, path_of(url), decision="approve")
    assert refused.status_code == 403
    assert "deux étapes" in html(refused)
    assert any("second_step" in a["reason"] for a in refused_attempts())
    still = services.store.load_request(request.id)
    assert still is not None and still.steps[2].decided_by is None


def _only_request(services: Services) -> AccessRequest:
    items = boto3.client("dynamodb").scan(TableName="sesame-test-main")["Items"]
    (request_id,) = [i["PK"]["S"][8:] for i in items if i["SK"]["S"] == "REQUEST"]
    request = services.store.load_request(request_id)
    assert request is not None
    return request


def test_over_the_open_request_limit_the_form_says_so_and_sends_nothing(client: Client) -> None:
    with_limits(get_services(), max_open_requests=1)
    assert file_request(client).status_code == 200
    before = (item_counts(), len(outbox()))
    second = file_request(client)
    assert second.status_code == 429
    assert "nombre maximal de demandes en cours" in html(second)
    assert (item_counts(), len(outbox())) == before
    # A decided request frees its place.
    press(client, link_with(outbox()[0], "confirm"))
    press(client, link_with(outbox()[0], "decide"), decision="refuse", comment="Non")
    assert file_request(client).status_code == 200


def test_over_the_hourly_limit_the_form_says_so_and_sends_nothing(client: Client) -> None:
    with_limits(get_services(), max_submissions_per_hour=2)
    assert file_request(client).status_code == 200
    assert file_request(client).status_code == 200
    before = (item_counts(), len(outbox()))
    third = file_request(client, lang="en")
    assert third.status_code == 429
    assert "Too many requests filed from this address" in html(third)
    assert (item_counts(), len(outbox())) == before


def test_a_source_guessing_links_is_slowed_down_and_audited(client: Client) -> None:
    with_limits(get_services(), max_invalid_links_per_hour=3)
    file_request(client)
    good = link_with(outbox()[0], "status")
    answers = [client.http.get("/status/" + "A" * 42 + str(n)).status_code for n in range(5)]
    assert answers == [404, 404, 404, 404, 429]
    # Past the limit only unknown links are refused: the real one still opens (issue 13).
    assert client.http.get(good).status_code == 200
    refused = client.http.get("/status/" + "B" * 43)
    assert refused.status_code == 429
    assert "Trop de liens invalides" in html(refused)
    limits = [a for a in refused_attempts() if "invalid_links" in a["reason"]]
    assert len(limits) == 1
    guesses = [a for a in refused_attempts() if "unknown_link" in a["reason"]]
    assert len(guesses) == 3  # each guess below the limit is audited; past it, only the 429
