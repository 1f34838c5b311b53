"""A grant's review pages in real Chromium, in French and English: the manager's page with
Keep and End, the answer, and the link once used (axe, no sideways scroll at 360 px, the
keyboard alone presses Keep)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OpenPage, new_person, tab_to, wait_for_mail
from tests.browser.test_approval_journey import link_of
from tests.browser.test_every_page import check

pytestmark = pytest.mark.browser
PUBLISH = "Je publie au nom du ministère les annonces du programme et je réponds aux citoyens."


def grant_asked_for_review(email: str, manager: str) -> Callable[[], datetime]:
    """Store a publish grant of `email` and have the lifecycle's review ask its manager, as
    it would 23 days later; return that clock (the scheduled jobs stay idle in this stack)."""
    from chalicelib.domain.models import AuditEvent
    from chalicelib.domain.submission import validate_submission
    from chalicelib.domain.workflow import confirm, decide, new_request
    from chalicelib.service.context import get_services
    from chalicelib.service.mail import deliver
    from chalicelib.service.review import ask
    from tests.conftest import valid_form

    services = get_services()
    now = services.clock()
    form = valid_form(email=email, manager_email=manager, level="publish", justification=PUBLISH)
    content = validate_submission(form, services.policy).content
    assert content is not None
    request = confirm(
        new_request(services.new_id() + services.new_id()[:8], content, services.policy, "fr", now),
        now,
    )
    for index, step in enumerate(request.steps):
        request = decide(request, index, step.approvers[0], "approve", "", now, "link")
    event = AuditEvent(
        request_id=request.id, event_id=services.new_id(), at=now, action="submitted",
        actor=email, via="form",
    )  # fmt: skip
    services.store.create_request(request, event, [], [], services.policy.rules.limits)
    offset = timedelta(days=23)
    later = now + offset
    asked, asked_event, links, emails = ask(services, request, later)
    services.store.apply_transition(
        request, asked, asked_event, None, later, links, [e.entry for e in emails]
    )
    deliver(services, emails)
    real_clock = services.clock
    return lambda: real_clock() + offset


def test_the_review_pages_in_both_languages(open_page: OpenPage, base_url: str) -> None:
    from chalicelib.service.context import get_services

    person = new_person("Noémie", "Revue")
    moved = grant_asked_for_review(person.email, person.manager_email)
    mail = wait_for_mail(base_url, to=person.manager_email, kind="review")
    review = link_of(mail, "review")
    services = get_services()
    real_clock = services.clock
    found: list[str] = []
    page = open_page()
    try:
        services.clock = moved  # the day the manager was asked
        for lang in ("fr", "en"):
            page.goto(f"{review}?lang={lang}")
            expect(page.locator("button[value=keep]")).to_be_visible()
            check(page, f"review-{lang}", found)
        # The keyboard alone reaches and presses Keep.
        page.goto(f"{review}?lang=fr")
        tab_to(page, "button[value=keep]")
        page.keyboard.press("Enter")
        expect(page.locator("#kept")).to_be_visible()
        check(page, "reviewed-fr", found)
        page.goto(f"{review}?lang=en")
        expect(page.locator("button[value=keep]")).to_have_count(0)
        check(page, "review-used-en", found)
    finally:
        services.clock = real_clock
    assert not found, "axe-core violations:\n" + "\n".join(found)
