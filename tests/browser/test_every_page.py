"""Every page and state, in French and English: no axe violation, no sideways scroll at 360 px."""

from __future__ import annotations

from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    OpenPage,
    axe_violations,
    new_person,
    shoot,
    tab_to,
    wait_for_mail,
)
from tests.browser.test_approval_journey import (
    JUSTIFICATION_FR,
    fill_form_with_keyboard,
    link_of,
    submit_french_request,
)

pytestmark = pytest.mark.browser


def check(page: Page, name: str, found: list[str]) -> None:
    """Run axe on the page and screenshot it at 360 and 1280 px (no sideways scroll)."""
    expect(page.locator("h1")).to_be_visible()
    found += axe_violations(page, name)
    shoot(page, name)


def test_every_page_in_both_languages(page: Page, open_page: OpenPage, base_url: str) -> None:
    person = new_person("Zoé", "Lavoie")
    confirmation = submit_french_request(page, base_url, person)
    page.goto(link_of(confirmation, "confirm"))
    page.get_by_role("button", name="Confirmer ma demande").click()
    decide = link_of(wait_for_mail(base_url, to=person.manager_email, kind="decide"), "decide")
    found: list[str] = []
    for lang in ("fr", "en"):
        # The form: empty, after a failed submit, and with the preview.
        page.goto(f"/?lang={lang}")
        page.locator("form#request-form button[type=submit]").first.click()
        expect(page.locator(".error-summary")).to_be_focused()
        check(page, f"form-errors-{lang}", found)
        page.goto(f"/?lang={lang}")
        page.locator("#platform-linkedin").check()
        page.locator("#level-publish").check()
        page.locator("button[value=preview]").click()
        check(page, f"form-preview-{lang}", found)
        # Link pages: confirm (used), delegate, decide, unknown link; the outbox.
        for name, path in (
            ("used-link", link_of(confirmation, "confirm")),
            ("delegate", decide.replace("/decide/", "/delegate/")),
            ("decide", decide),
            ("not-found", "/status/" + "Z" * 43),
            ("dev-outbox", f"/dev/outbox?to={person.email}"),
            ("dev-clock", "/dev/clock"),
            ("dev-events", "/dev/events"),
        ):
            page.goto(f"{path}{'&' if '?' in path else '?'}lang={lang}")
            check(page, f"{name}-{lang}", found)
    # The status page in English (the French one is checked in the journey test).
    page.goto(link_of(confirmation, "status") + "?lang=en")
    check(page, "status-en", found)
    assert not found, "axe-core violations:\n" + "\n".join(found)


def test_keyboard_alone_files_confirms_and_approves(open_page: OpenPage, base_url: str) -> None:
    person = new_person("Hugo", "Pelletier")
    requester = open_page()
    requester.goto("/")
    fill_form_with_keyboard(requester, person, "Ministère du Numérique", JUSTIFICATION_FR)
    tab_to(requester, "form#request-form button[type=submit]:not([value])")
    requester.keyboard.press("Enter")
    expect(requester.get_by_role("heading", level=1)).to_contain_text("Demande reçue")

    requester.goto(link_of(wait_for_mail(base_url, to=person.email, kind="confirm"), "confirm"))
    tab_to(requester, "main button[type=submit]")
    requester.keyboard.press("Enter")
    expect(requester.get_by_role("heading", level=1)).to_have_text("Demande confirmée")

    for approver, about in (
        (person.manager_email, None),
        ("securite.demo@mcn.gouv.qc.ca", person.email),
    ):
        mail = wait_for_mail(base_url, to=approver, kind="decide", about=about)
        decider = open_page()
        decider.goto(link_of(mail, "decide"))
        tab_to(decider, "button[value=approve]")
        decider.keyboard.press("Enter")
        expect(decider.get_by_role("heading", level=1)).to_have_text("Décision enregistrée")

    outcome = wait_for_mail(base_url, to=person.email, kind="status", subject="approuvé")
    assert "jusqu'au" in outcome["text"]


SIGNED_IN_PAGES = (
    "/me",
    "/console",
    "/console/requests",
    "/console/grants",
    "/console/failures",
    "/console/api-clients",
    "/console/dashboard",
    "/console/audit",
    "/console/campaign",
    "/console/audit/verify",
)


def test_signed_in_pages_in_both_languages(
    open_page: OpenPage, base_url: str, tmp_path: Path
) -> None:
    from tests.browser.test_console_journey import request_waiting_for_security, sign_in
    from tests.browser.test_html_validity import VNU_JAR, vnu_errors

    requester = open_page()
    reference = request_waiting_for_security(requester, open_page, base_url)
    officer = open_page()
    sign_in(officer, base_url, "securite.demo@mcn.gouv.qc.ca")
    officer.goto("/console/requests")
    detail = officer.get_by_role("link", name=reference).first.get_attribute("href")
    assert detail
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in officer.context.cookies())
    found: list[str] = []
    sources: dict[str, str] = {}
    for lang in ("fr", "en"):
        for path in (*SIGNED_IN_PAGES, detail):
            officer.goto(f"{path}?lang={lang}")
            name = f"{path.strip('/').replace('/', '-')[:40] or 'home'}-{lang}"
            check(officer, name, found)
            url = f"{base_url}{path}?lang={lang}"
            request = Request(url, headers={"Cookie": cookie})  # noqa: S310
            with urlopen(request, timeout=10) as response:  # noqa: S310
                sources[name] = response.read().decode("utf-8")
        officer.goto(f"/login?lang={lang}")
        check(officer, f"login-{lang}", found)
    assert not found, "axe-core violations:\n" + "\n".join(found)
    assert VNU_JAR.exists(), f"{VNU_JAR} is missing: run `make browser` (it installs vnu-jar)"
    assert vnu_errors(sources, tmp_path) == []


def test_request_pages_in_english_and_every_link_state(open_page: OpenPage, base_url: str) -> None:
    from datetime import timedelta

    from chalicelib.service.context import get_services
    from tests.browser.test_approval_journey import JUSTIFICATION_EN

    person = new_person("Grace", "Hopper")
    page = open_page(locale="en-CA")
    page.goto("/?lang=en")
    for field, value in (
        ("#name", person.name),
        ("#email", person.email),
        ("#organization", "Digital Ministry"),
        ("#manager_email", person.manager_email),
        ("#justification", JUSTIFICATION_EN),
        ("#duration_days", "30"),
    ):
        page.locator(field).fill(value)
    for box in ("#platform-youtube", "#purpose-research", "#level-read", "#accept_policy"):
        page.locator(box).check()
    page.get_by_role("button", name="Send the request").click()
    found: list[str] = []
    check(page, "submitted-en", found)
    confirm = link_of(wait_for_mail(base_url, to=person.email, kind="confirm"), "confirm")
    page.goto(confirm)
    check(page, "confirm-en", found)
    page.get_by_role("button", name="Confirm my request").click()
    check(page, "confirmed-en", found)

    decide = link_of(wait_for_mail(base_url, to=person.manager_email, kind="decide"), "decide")
    manager = open_page(locale="en-CA")
    services = get_services()
    real_clock = services.clock
    try:
        services.clock = lambda: real_clock() + timedelta(days=30)
        manager.goto(f"{decide}?lang=en")
        check(manager, "expired-link-en", found)
        manager.goto(f"{decide}?lang=fr")
        check(manager, "expired-link-fr", found)
    finally:
        services.clock = real_clock
    # English is the manager's choice (the English text's links), not their browser's.
    manager.goto(decide.replace("/decide/", "/delegate/") + "?lang=en")
    manager.locator("#deputy").fill("not-an-address")
    manager.get_by_role("button", name="Save the delegation").click()
    check(manager, "delegate-error-en", found)
    manager.goto(decide)
    manager.get_by_role("button", name="Refuse").click()
    check(manager, "decide-error-en", found)
    manager.get_by_label("Comment").fill("Not needed.")
    manager.get_by_role("button", name="Refuse").click()
    check(manager, "decided-en", found)
    manager.goto(decide)
    check(manager, "already-decided-en", found)
    assert not found, "axe-core violations:\n" + "\n".join(found)


def test_sign_in_refusal_and_withdrawn_pages_in_both_languages(
    open_page: OpenPage, base_url: str, tmp_path: Path
) -> None:
    import re

    from tests.browser.conftest import read_outbox
    from tests.browser.test_console_journey import sign_in
    from tests.browser.test_html_validity import vnu_errors

    person = new_person("Inès", "Morin")
    requester = open_page()
    confirmation = submit_french_request(requester, base_url, person)
    requester.goto(link_of(confirmation, "confirm"))
    requester.get_by_role("button", name="Confirmer ma demande").click()
    decide = link_of(wait_for_mail(base_url, to=person.manager_email, kind="decide"), "decide")
    sign_in(requester, base_url, person.email)
    requester.get_by_role("button", name=re.compile("^Retirer la demande")).click()
    expect(requester.locator(".notice")).to_be_visible()
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in requester.context.cookies())

    found: list[str] = []
    sources: dict[str, str] = {}
    visitor = open_page()
    for lang, send in (("fr", "Recevoir un lien de connexion"), ("en", "Get a sign-in link")):
        visitor.goto(f"/login?lang={lang}")
        visitor.locator("input[type=email]").fill(person.email)
        visitor.get_by_role("button", name=send).click()
        check(visitor, f"login-sent-{lang}", found)
        login = next(
            urlsplit(link).path
            for mail in read_outbox(base_url)
            if person.email in mail["to"]
            for link in mail["links"]
            if "/login/" in link
        )
        pages = {
            f"login-confirm-{lang}": f"{login}?lang={lang}",
            f"withdrawn-link-{lang}": f"{decide}?lang={lang}",
            f"console-403-{lang}": f"/console?lang={lang}",
        }
        for name, url in pages.items():
            browser_page = requester if name.startswith("console") else visitor
            browser_page.goto(url)
            check(browser_page, name, found)
            headers = {"Cookie": cookie} if name.startswith("console") else {}
            try:
                with urlopen(Request(f"{base_url}{url}", headers=headers), timeout=10) as answer:  # noqa: S310
                    sources[name] = answer.read().decode("utf-8")
            except HTTPError as refused:
                sources[name] = refused.read().decode("utf-8")
    assert not found, "axe-core violations:\n" + "\n".join(found)
    assert vnu_errors(sources, tmp_path) == []


def test_trust_pages_in_both_languages(open_page: OpenPage, base_url: str) -> None:
    """The awareness module (failed, then passed), the usage policy and its acknowledgement."""
    from chalicelib.adapters.policy_files import load_policy
    from tests.conftest import PROJECT_ROOT

    module = load_policy(PROJECT_ROOT / "policies").awareness
    assert module is not None
    found: list[str] = []
    page = open_page()
    for lang in ("fr", "en"):
        person = new_person("Léa", "Gagnon")
        page.goto(f"/awareness?lang={lang}")
        check(page, f"awareness-{lang}", found)
        page.locator("#email").fill(person.email)
        for question in module.questions:
            wrong = next(c.id for c in question.choices if c.id != question.answer)
            page.locator(f"#q-{question.id}-{wrong}").check()
        page.locator("form button[type=submit]").click()
        expect(page.locator("#quiz-failed")).to_be_focused()
        first = module.questions[0]
        expect(page.locator(f"#q-{first.id}-why")).to_be_visible()
        check(page, f"awareness-failed-{lang}", found)
        for question in module.questions:
            page.locator(f"#q-{question.id}-{question.answer}").check()
        page.locator("form button[type=submit]").click()
        check(page, f"awareness-passed-{lang}", found)
        page.goto(f"/usage-policy?lang={lang}")
        check(page, f"usage-policy-{lang}", found)
        page.locator("#email").fill(person.email)
        page.locator("form button[type=submit]").click()
        expect(page.locator("#acknowledged")).to_be_visible()
        check(page, f"usage-policy-done-{lang}", found)
    assert not found, "axe-core violations:\n" + "\n".join(found)
