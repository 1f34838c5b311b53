"""The delegation notice, its cancel pages and "my delegations": axe-clean in both languages."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import OpenPage, new_person, wait_for_mail
from tests.browser.test_approval_journey import link_of, submit_french_request
from tests.browser.test_every_page import check

pytestmark = pytest.mark.browser


def test_a_delegation_is_listed_and_cancelled_by_its_approver(
    page: Page, open_page: OpenPage, base_url: str
) -> None:
    from chalicelib.rendering.i18n import LOCAL_ZONE
    from chalicelib.service.context import get_services
    from tests.browser.test_console_journey import sign_in

    # Given a request waiting for its manager, who names a deputy from the approval e-mail
    person = new_person("Léa", "Gagnon")
    page.goto(link_of(submit_french_request(page, base_url, person), "confirm"))
    page.get_by_role("button", name="Confirmer ma demande").click()
    decide = link_of(wait_for_mail(base_url, to=person.manager_email, kind="decide"), "decide")
    manager = open_page()
    manager.goto(decide.replace("/decide/", "/delegate/"))
    deputy = person.manager_email.replace("@", ".adjoint@", 1)
    manager.locator("#deputy").fill(deputy)
    # The stack runs in this process: its clock (which a test may have moved) says what today is.
    today = get_services().clock().astimezone(LOCAL_ZONE).date().isoformat()
    manager.locator("#starts").fill(today)
    manager.locator("#ends").fill(today)
    manager.get_by_role("button", name="Enregistrer la délégation").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Délégation enregistrée")

    found: list[str] = []
    # Then "my requests" lists it with a cancel button
    sign_in(manager, base_url, person.manager_email)
    for lang in ("fr", "en"):
        manager.goto(f"/me?lang={lang}")
        expect(manager.locator("main")).to_contain_text(deputy)
        check(manager, f"me-delegations-{lang}", found)
    # and the notice's cancel link shows the delegation, then cancels it once
    notice = wait_for_mail(base_url, to=person.manager_email, kind="undelegate")
    cancel = link_of(notice, "undelegate")
    for lang in ("en", "fr"):
        manager.goto(f"{cancel}?lang={lang}")
        check(manager, f"undelegate-{lang}", found)
    manager.get_by_role("button", name="Annuler la délégation").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Délégation annulée")
    check(manager, "undelegated-fr", found)
    assert not found, "axe-core violations:\n" + "\n".join(found)
