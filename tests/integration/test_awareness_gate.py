"""The request form sends a person without a pass of the current module to it first, and
brings them back with what they typed; nothing is stored before they act (issue 17, item 1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.domain.awareness import person_ref
from chalicelib.domain.models import RequestStatus
from chalicelib.service.awareness import has_passed_current
from chalicelib.service.context import get_services
from tests.conftest import valid_form
from tests.integration.conftest import (
    file_request,
    hidden,
    html,
    item_counts,
    link_with,
    outbox,
    post_form,
    press,
)
from tests.integration.people import MANAGER, OFFICER, REQUESTER, get, post, sign_in

pytestmark = pytest.mark.integration
TYPED = "Veille du programme Accès numérique : je lis ce qui se dit sur LinkedIn chaque matin."


@pytest.fixture
def gated(client: Client) -> Iterator[Client]:
    """The shipped policy with the module required before a request."""
    services = get_services()
    real = services.policy
    assert real.awareness is not None
    module = real.awareness.model_copy(update={"required_before_request": True})
    services.policy = real.model_copy(update={"awareness": module})
    yield client
    services.policy = real


def quiz_form(page: str, misses: int) -> dict[str, str]:
    module = get_services().policy.awareness
    assert module is not None
    answers = {f"q-{q.id}": q.answer for q in module.questions}
    for question in module.questions[:misses]:
        wrong = next(c.id for c in question.choices if c.id != question.answer)
        answers[f"q-{question.id}"] = wrong
    fields = ("form_token", "lang", "email", "carry", "seal")
    return {**{name: hidden(page, name) for name in fields if name != "email"},
            "email": REQUESTER, **answers}  # fmt: skip


def resume_form(passed: str) -> dict[str, str]:
    """The fields the pass page's "back to my request" button sends."""
    fields = ("carry", "seal", "held_pass", "held_seal")
    return {"action": "resume", "lang": "fr", **{name: hidden(passed, name) for name in fields}}


def file_from(client: Client, page: str, **overrides: Any) -> Any:
    """File the form shown on `page` as the person would (its key and the pass it carries)."""
    form = valid_form(**overrides)
    form.update({name: [hidden(page, name)] for name in ("form_token", "held_pass", "held_seal")})
    form["lang"] = ["fr"]
    return post_form(client, "/", form)


def test_the_form_sends_an_untrained_person_to_the_module_and_back_with_what_they_typed(
    gated: Client,
) -> None:
    before = item_counts()
    sent = file_request(gated, platforms=["linkedin"], justification=TYPED)
    page = html(sent)
    assert sent.status_code == 200 and 'id="carry-note"' in page
    # Served at "/", the module's quiz must still post to the module, not to the form.
    assert 'action="/awareness"' in page
    # Nothing of the request is stored, nothing is sent, while the person takes the module.
    assert item_counts() == before and outbox() == []

    failed = post_form(gated, "/awareness", quiz_form(page, misses=2))
    failed_page = html(failed)
    module = get_services().policy.awareness
    assert module is not None
    assert module.questions[0].explanation_fr in failed_page
    assert 'id="carry-note"' in failed_page  # the typed request still rides along

    passed = html(post_form(gated, "/awareness", quiz_form(failed_page, misses=1)))
    assert "Module réussi" in passed
    # Passed with one wrong answer: its explanation is on the pass page too.
    assert module.questions[0].explanation_fr in passed
    back = post_form(gated, "/", resume_form(passed))
    form_page = html(back)
    assert back.status_code == 200 and TYPED in form_page
    assert 'value="linkedin" checked' in form_page
    # The preview explains the path the pass gives: only the manager decides.
    assert "Vous avez réussi le module de sensibilisation le " in form_page
    assert "seule votre gestionnaire décide" in form_page

    # Filed now: the trained path, only the manager decides.
    filed = file_from(gated, form_page, platforms=["linkedin"], justification=TYPED)
    assert filed.status_code == 200 and 'id="carry-note"' not in html(filed)
    # Typing the address proved nothing yet: the pass counts once the confirmation link is
    # opened (it reaches the address), and is then the person's for their next requests.
    assert not has_passed_current(get_services(), person_ref(REQUESTER))
    assert press(gated, link_with(outbox()[0], "confirm")).status_code == 200
    assert has_passed_current(get_services(), person_ref(REQUESTER))
    (request,) = get_services().store.console.requests_of(REQUESTER)
    assert request.trained_path and request.chain == ("manager",)
    (mail,) = [m for m in outbox() if m.to == [MANAGER]]
    # The manager sees the module's version, the score and the date before deciding.
    decide_page = html(gated.http.get(link_with(mail, "decide")))
    assert module.version in decide_page and "4 bonnes réponses sur 5" in decide_page
    assert "Accordé par le parcours formé" in decide_page
    assert press(gated, link_with(mail, "decide"), decision="approve").status_code == 200
    granted = get_services().store.load_request(request.id)
    assert granted is not None and granted.status == RequestStatus.APPROVED
    # The officers got the notice; one sees the grant on the trained path and revokes it.
    assert any(m.to[0] == OFFICER and "parcours formé" in m.subject for m in outbox())
    cookie = sign_in(gated, OFFICER)
    grants = html(get(gated, "/console/grants", cookie))
    assert "Accordé par le parcours formé" in grants and granted.reference in grants
    detail = get(gated, f"/console/requests/{request.id}", cookie)
    revoked = post(
        gated, f"/console/requests/{request.id}/revoke", cookie,
        {"reason": "Accès plus nécessaire après vérification."}, detail,
    )  # fmt: skip
    assert revoked.status_code == 303
    ended = get_services().store.load_request(request.id)
    assert ended is not None and ended.status == RequestStatus.REVOKED


def test_a_forged_or_altered_carry_gives_back_nothing(gated: Client) -> None:
    page = html(file_request(gated, justification=TYPED))
    carry, seal = hidden(page, "carry"), hidden(page, "seal")
    altered = carry[:-4] + ("AAAA" if not carry.endswith("AAAA") else "BBBB")
    for fields in ({"carry": altered, "seal": seal}, {"carry": carry, "seal": "a.1.b"}):
        back = post_form(gated, "/", {"action": "resume", "lang": "fr", **fields})
        assert back.status_code == 400 and TYPED not in html(back)


def test_a_publish_request_after_the_pass_keeps_the_whole_chain(gated: Client) -> None:
    page = html(file_request(gated, platforms=["linkedin"], level="publish", justification=TYPED))
    passed = html(post_form(gated, "/awareness", quiz_form(page, misses=0)))
    back = html(post_form(gated, "/", resume_form(passed)))
    assert TYPED in back and "seule votre gestionnaire" not in back
    filed = file_from(gated, back, platforms=["linkedin"], level="publish", justification=TYPED)
    assert filed.status_code == 200, html(filed)
    assert press(gated, link_with(outbox()[0], "confirm")).status_code == 200
    (request,) = get_services().store.console.requests_of(REQUESTER)
    assert request.chain == ("manager", "communications", "security")
    assert not request.trained_path
    # The pass did not shorten this request, but the confirmation still made it the person's.
    assert has_passed_current(get_services(), person_ref(REQUESTER))


def test_without_the_requirement_the_form_files_directly(client: Client) -> None:
    assert 'id="carry-note"' not in html(file_request(client))
    assert len(outbox()) == 1
