"""A pass of the awareness module belongs to a proven person: a typed address proves nothing,
so nobody can give someone else (or themselves as someone else) the trained path (issue 17)."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client

from chalicelib.domain.awareness import person_ref
from chalicelib.service.awareness import has_passed_current, trust_store
from chalicelib.service.context import get_services
from tests.conftest import valid_form
from tests.integration.conftest import hidden, html, link_with, outbox, post_form, press
from tests.integration.people import REQUESTER, sign_in

pytestmark = pytest.mark.integration
ATTACKER = "marc.intrus@mcn.gouv.qc.ca"
READ_LINKEDIN = {"platforms": ["linkedin"], "level": "read"}


def pass_quiz(client: Client, email: str, cookie: str = "") -> str:
    """Take the module with every answer right, typing `email`; return the pass page."""
    module = get_services().policy.awareness
    assert module is not None
    headers = {"Cookie": cookie} if cookie else {}
    page = html(client.http.get("/awareness", headers=headers))
    answers = {f"q-{q.id}": q.answer for q in module.questions}
    form = {"form_token": hidden(page, "form_token"), "lang": "fr", "email": email, **answers}
    passed = html(post_form(client, "/awareness", form, **headers))
    assert "Module réussi" in passed
    return passed


def file_with(client: Client, held: tuple[str, str] = ("", ""), **overrides: Any) -> Any:
    """File a low-risk read request from a fresh form, carrying a pass if given."""
    page = html(client.http.get("/"))
    form = valid_form(**{**READ_LINKEDIN, **overrides})
    form.update(form_token=[hidden(page, "form_token")], lang=["fr"])
    form.update(held_pass=[held[0]], held_seal=[held[1]])
    return post_form(client, "/", form)


def held_of(page: str) -> tuple[str, str]:
    return hidden(page, "held_pass"), hidden(page, "held_seal")


def chain_of_latest(client: Client) -> tuple[str, ...]:
    """Confirm the newest request from its e-mail and return the chain it takes."""
    mail = next(m for m in outbox() if m.to == [REQUESTER] and "/confirm/" in " ".join(m.links))
    assert press(client, link_with(mail, "confirm")).status_code == 200
    requests = get_services().store.console.requests_of(REQUESTER)
    return max(requests, key=lambda r: r.created_at).chain


def test_a_pass_taken_under_someone_elses_typed_address_gives_them_nothing(
    client: Client,
) -> None:
    attack = pass_quiz(client, REQUESTER)  # the attacker types the victim's address
    assert not has_passed_current(get_services(), person_ref(REQUESTER))
    # The victim files from their own browser: the attacker's pass does not ride along.
    assert file_with(client).status_code == 200
    assert chain_of_latest(client) == ("manager", "security")
    assert not has_passed_current(get_services(), person_ref(REQUESTER))
    # The attacker files as the victim with the pass: nothing counts until the victim opens
    # the confirmation link, and the victim's own next request still takes the whole chain.
    assert file_with(client, held_of(attack), duration_days="60").status_code == 200
    assert not has_passed_current(get_services(), person_ref(REQUESTER))
    assert file_with(client, duration_days="30").status_code == 200
    assert chain_of_latest(client) == ("manager", "security")


def test_a_pass_of_one_address_does_not_count_on_a_form_of_another(client: Client) -> None:
    own = pass_quiz(client, ATTACKER)
    filed = file_with(client, held_of(own))  # the form's address is the victim's
    assert filed.status_code == 200
    assert chain_of_latest(client) == ("manager", "security")
    proof, seal = held_of(pass_quiz(client, REQUESTER))
    altered = proof[:-4] + ("AAAA" if not proof.endswith("AAAA") else "BBBB")
    assert file_with(client, (altered, seal), duration_days="45").status_code == 200
    assert chain_of_latest(client) == ("manager", "security")


def test_a_signed_in_pass_is_the_signed_in_persons_whatever_address_is_typed(
    client: Client,
) -> None:
    cookie = sign_in(client, ATTACKER)
    module_page = html(client.http.get("/awareness", headers={"Cookie": cookie}))
    assert ATTACKER in module_page and 'name="email"' not in module_page  # shown, not asked
    passed = pass_quiz(client, REQUESTER, cookie=cookie)
    assert 'id="held-note"' not in passed
    assert has_passed_current(get_services(), person_ref(ATTACKER))
    assert not has_passed_current(get_services(), person_ref(REQUESTER))
    assert file_with(client).status_code == 200
    assert chain_of_latest(client) == ("manager", "security")


def test_the_victims_own_pass_still_gives_the_trained_path(client: Client) -> None:
    """The check that the tests above can fail: a genuine pass shortens the same request."""
    assert file_with(client, held_of(pass_quiz(client, REQUESTER))).status_code == 200
    assert chain_of_latest(client) == ("manager",)
    assert has_passed_current(get_services(), person_ref(REQUESTER))


def test_confirming_an_older_pass_never_replaces_a_newer_one(client: Client) -> None:
    held = held_of(pass_quiz(client, REQUESTER))
    assert file_with(client, held).status_code == 200
    pass_quiz(client, REQUESTER, cookie=sign_in(client, REQUESTER))  # again, signed in
    store = trust_store(get_services())
    newer = store.latest_pass(person_ref(REQUESTER))
    assert newer is not None
    assert chain_of_latest(client) == ("manager",)  # the carried pass still counted
    assert store.latest_pass(person_ref(REQUESTER)) == newer
