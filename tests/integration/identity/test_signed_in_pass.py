"""A pass taken before a provider's sign-in counts once the sign-in proves its address, and
only for that address (issue 17: a pass belongs to a proven person)."""

from __future__ import annotations

import pytest
from chalice.test import Client

from chalicelib.domain.awareness import person_ref
from chalicelib.service.awareness import has_passed_current
from chalicelib.service.context import Services, get_services
from tests.conftest import valid_form
from tests.integration.conftest import hidden, html, post_form
from tests.integration.identity.test_decision_pages import through_provider
from tests.integration.test_awareness_identity import held_of, pass_quiz
from tests.peers.oidc_provider import ProviderPeer

pytestmark = pytest.mark.integration
CAMILLE = "camille.demo@mcn.gouv.qc.ca"  # in policies/directory.toml


def file_signed_in(client: Client, session: str, held: tuple[str, str]) -> tuple[str, ...]:
    """File a low-risk read request signed in, carrying a pass; return the chain it takes."""
    page = html(client.http.get("/", headers={"Cookie": session}))
    form = valid_form(platforms=["linkedin"], level="read")
    form.update(form_token=[hidden(page, "form_token")], held_pass=[held[0]], held_seal=[held[1]])
    answer = post_form(client, "/", form, Cookie=session)
    assert answer.status_code == 200, html(answer)
    (request,) = get_services().store.console.requests_of(CAMILLE)
    return request.chain


def test_a_pass_taken_before_the_sign_in_counts_and_is_recorded(
    client: Client, signin_services: Services, oidc_provider: ProviderPeer
) -> None:
    held = held_of(pass_quiz(client, CAMILLE))
    assert not has_passed_current(get_services(), person_ref(CAMILLE))
    session, _ = through_provider(client, "/login/oidc?next=/", CAMILLE)
    assert file_signed_in(client, session, held) == ("manager",)
    assert has_passed_current(get_services(), person_ref(CAMILLE))


def test_a_pass_of_another_address_does_not_count_for_the_signed_in_person(
    client: Client, signin_services: Services, oidc_provider: ProviderPeer
) -> None:
    held = held_of(pass_quiz(client, "marc.intrus@mcn.gouv.qc.ca"))
    session, _ = through_provider(client, "/login/oidc?next=/", CAMILLE)
    assert file_signed_in(client, session, held) == ("manager", "security")
    assert not has_passed_current(get_services(), person_ref(CAMILLE))
