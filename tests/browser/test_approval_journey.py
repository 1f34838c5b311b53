"""The approval journey in real Chromium: file, confirm, decide, follow; errors; accessibility.

Each person (requester, manager, officer) uses their own browser context, as they would use
their own browser; every test files its own requests with addresses nobody else uses.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    OFFICERS,
    OpenPage,
    Person,
    axe_violations,
    link_path,
    mails_about,
    new_person,
    read_outbox,
    shoot,
    tab_to,
    wait_for_mail,
)

pytestmark = pytest.mark.browser

JUSTIFICATION_FR = (
    "Je fais la veille de ce qui se dit sur le programme Accès numérique "
    "et je dois répondre aux citoyens."
)
JUSTIFICATION_EN = (
    "I monitor what is said about the Digital Access programme and must answer citizens' questions."
)
REFUSAL_REASON = "Not needed for your duties: the communications team already monitors X."

# --------------------------------------------------------------------------- helpers


def type_into(page: Page, label: str, text: str) -> None:
    """Click a field found by its label, then type like a person."""
    page.get_by_label(label).click()
    page.keyboard.type(text)


def fill_form_fr(
    page: Page,
    person: Person,
    *,
    email: str | None = None,
    justification: str = JUSTIFICATION_FR,
) -> None:
    """Fill the French form with the mouse and the keyboard."""
    type_into(page, "Nom complet", person.name)
    type_into(page, "Courriel professionnel", email or person.email)
    type_into(page, "Ministère ou organisme", "Ministère de la Cybersécurité et du Numérique")
    type_into(page, "Courriel de votre gestionnaire", person.manager_email)
    page.get_by_label("LinkedIn", exact=True).click()
    page.get_by_label("X (anciennement Twitter)").click()
    page.get_by_label("Veille sur ce qui se dit de nos programmes").click()
    page.get_by_label("Consulter et suivre").click()
    type_into(page, "Justification", justification)
    type_into(page, "Durée de l'accès", "90")
    page.get_by_label("J'ai lu la politique d'utilisation").click()


def fill_form_with_keyboard(
    page: Page, person: Person, organization: str, justification: str
) -> None:
    """Fill the form with the keyboard alone: Tab, typing, Space and arrow keys."""
    keyboard = page.keyboard
    for field, text in (
        ("#name", person.name),
        ("#email", person.email),
        ("#organization", organization),
        ("#manager_email", person.manager_email),
    ):
        tab_to(page, field)
        keyboard.type(text)
    tab_to(page, "#platform-youtube")
    keyboard.press("Space")
    tab_to(page, "#purpose-monitoring")  # the first radio of the group takes the focus
    keyboard.press("ArrowDown")  # communications
    keyboard.press("ArrowDown")  # citizen_service
    tab_to(page, "#level-read")
    keyboard.press("Space")
    tab_to(page, "#justification")
    keyboard.type(justification)
    tab_to(page, "#duration_days")
    keyboard.type("30")
    tab_to(page, "#accept_policy")
    keyboard.press("Space")
    expect(page.locator("#platform-youtube")).to_be_checked()
    expect(page.locator("#purpose-citizen_service")).to_be_checked()
    expect(page.locator("#level-read")).to_be_checked()
    expect(page.locator("#accept_policy")).to_be_checked()


def decide_link_for_officer(base_url: str, officer: str, requester_email: str) -> str:
    """The officer's decide link for one requester's request (officers are shared by tests)."""
    mail = wait_for_mail(base_url, to=officer, kind="decide", about=requester_email)
    return link_of(mail, "decide")


def link_of(mail: dict[str, Any], kind: str) -> str:
    """The path of a mail's link of one kind, or fail saying which mail lacked it."""
    path = link_path(mail, kind)
    assert path is not None, f"no /{kind}/ link in {mail['subject']!r}: {mail['links']}"
    return path


def submit_french_request(page: Page, base_url: str, person: Person) -> dict[str, Any]:
    """File a valid French request in the browser; return the confirmation e-mail."""
    page.goto("/")
    fill_form_fr(page, person)
    page.get_by_role("button", name="Envoyer la demande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Demande reçue : confirmez votre adresse"
    )
    return wait_for_mail(base_url, to=person.email, kind="confirm")


# --------------------------------------------------------------------------- a) approval


def test_request_is_confirmed_then_approved_by_manager_and_officer(
    page: Page, open_page: OpenPage, base_url: str
) -> None:
    person = new_person("Marie", "Tremblay")

    # The requester (a French-speaking browser) opens the form and fills it in.
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Demander l'accès à un média social")
    shoot(page, "form-empty-fr")
    fill_form_fr(page, person)
    expect(page.get_by_label("LinkedIn", exact=True)).to_be_checked()
    expect(page.get_by_label("Consulter et suivre")).to_be_checked()
    page.get_by_role("button", name="Envoyer la demande").click()

    # They see what happens next.
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Demande reçue : confirmez votre adresse"
    )
    expect(page.get_by_role("heading", name="Et ensuite ?")).to_be_visible()
    expect(page.locator("main")).to_contain_text(
        f"Nous avons envoyé un lien de confirmation à {person.email}."
    )
    next_steps = page.locator("ol.next-steps > li")
    expect(next_steps).to_have_count(4)
    expect(next_steps.nth(1)).to_contain_text(person.manager_email)
    reference = page.locator("main strong").first.inner_text()
    assert reference.strip()
    shoot(page, "submitted-fr")

    # The confirmation e-mail reaches the requester; the manager hears nothing yet.
    confirmation = wait_for_mail(base_url, to=person.email, kind="confirm")
    assert "Confirmez votre demande" in confirmation["subject"]
    assert not [m for m in read_outbox(base_url) if person.manager_email in m["to"]]

    # Opening the link changes nothing; pressing the button confirms.
    page.goto(link_of(confirmation, "confirm"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirmer votre demande")
    expect(page.locator("dl.summary")).to_contain_text(person.name)
    expect(page.locator("dl.summary")).to_contain_text(reference)
    shoot(page, "confirm-fr")
    page.get_by_role("button", name="Confirmer ma demande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demande confirmée")
    expect(page.locator("main")).to_contain_text(person.manager_email)

    # The manager, in their own browser, opens the link from their e-mail and approves.
    manager_mail = wait_for_mail(base_url, to=person.manager_email, kind="decide")
    assert "votre approbation est requise" in manager_mail["subject"]
    manager = open_page()
    manager.goto(link_of(manager_mail, "decide"))
    expect(manager.get_by_role("heading", level=1)).to_have_text("Décider d'une demande d'accès")
    expect(manager.locator(".step-badge")).to_have_text("Étape 1 sur 2 : Gestionnaire")
    expect(manager.locator("dl.summary")).to_contain_text(JUSTIFICATION_FR)
    shoot(manager, "decide-manager-fr")
    manager.get_by_role("button", name="Approuver").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Décision enregistrée")
    expect(manager.locator("main")).to_contain_text(
        "La demande passe à l'étape suivante : Sécurité de l'information."
    )

    # Every security officer is asked; one of them approves.
    officer_links = {
        officer: decide_link_for_officer(base_url, officer, person.email) for officer in OFFICERS
    }
    officer = open_page()
    officer.goto(officer_links[OFFICERS[0]])
    expect(officer.locator(".step-badge")).to_have_text("Étape 2 sur 2 : Sécurité de l'information")
    officer.get_by_label("Commentaire").click()
    officer.keyboard.type("Accès en lecture seulement : conforme.")
    officer.get_by_role("button", name="Approuver").click()
    expect(officer.get_by_role("heading", level=1)).to_have_text("Décision enregistrée")
    expect(officer.locator("main")).to_contain_text("Le demandeur est avisé de la décision.")

    # The other officer's link now says who decided, and offers no button.
    other = open_page()
    other.goto(officer_links[OFFICERS[1]])
    expect(other.get_by_role("heading", level=1)).to_have_text("Décision déjà prise")
    expect(other.locator("main")).to_contain_text(OFFICERS[0])
    expect(other.get_by_role("button")).to_have_count(0)

    # The requester is told, in French, until when.
    outcome = wait_for_mail(base_url, to=person.email, kind="status", subject="approuvé")
    assert "approuvé" in outcome["subject"], outcome["subject"]
    assert "L'accès est accordé jusqu'au" in outcome["text"]

    # The status link shows the steps and the whole timeline.
    page.goto(link_of(outcome, "status"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Suivi de votre demande")
    expect(page.locator("p.status strong")).to_have_text("Approuvée")
    expect(page.locator("main")).to_contain_text("Accès accordé jusqu'au")
    steps = page.locator("ol.steps > li")
    expect(steps).to_have_count(2)
    expect(steps.nth(0)).to_contain_text(f"Gestionnaire — Approuvée par {person.manager_email}")
    expect(steps.nth(1)).to_contain_text(f"Sécurité de l'information — Approuvée par {OFFICERS[0]}")
    expect(steps.nth(1)).to_contain_text("Accès en lecture seulement : conforme.")
    timeline = page.locator("ol.timeline > li")
    expect(timeline).to_have_count(4)
    expect(timeline.nth(0)).to_contain_text(f"Demande déposée par {person.email}")
    expect(timeline.nth(1)).to_contain_text(f"Adresse confirmée par {person.email}")
    expect(timeline.nth(2)).to_contain_text(
        f"Approuvée à l'étape « Gestionnaire » par {person.manager_email}"
    )
    expect(timeline.nth(3)).to_contain_text(
        f"Approuvée à l'étape « Sécurité de l'information » par {OFFICERS[0]}"
    )
    shoot(page, "status-approved-fr")


# --------------------------------------------------------------------------- b) refusal


def test_english_request_refused_by_manager_needs_a_comment(
    page: Page, open_page: OpenPage, base_url: str
) -> None:
    person = new_person("Sam", "Taylor")

    # The requester starts in French, then switches to English with the header's switch:
    # what they typed is kept.
    page.goto("/")
    page.locator("#organization").fill("Déjà saisi")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Request access to a social-media platform"
    )
    expect(page.locator("#organization")).to_have_value("Déjà saisi")
    page.locator("#organization").fill("")
    shoot(page, "form-empty-en")

    # They fill the form with the keyboard alone: Tab, typing, Space, arrow keys, Enter.
    keyboard = page.keyboard
    fill_form_with_keyboard(page, person, "Ministry of Cybersecurity and Digital", JUSTIFICATION_EN)
    tab_to(page, "button[type=submit]")
    keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Request received: confirm your address"
    )
    expect(page.get_by_role("heading", name="What happens next?")).to_be_visible()

    # The confirmation e-mail is in English; the requester confirms.
    confirmation = wait_for_mail(base_url, to=person.email, kind="confirm")
    assert confirmation["subject"].startswith("Confirm your request"), confirmation["subject"]
    page.goto(link_of(confirmation, "confirm"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your request")
    page.get_by_role("button", name="Confirm my request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Request confirmed")

    # The manager's browser asks for English, but French is the default (issue 13, item 9):
    # the manager follows the link of the mail's English text, which chooses English.
    manager_mail = wait_for_mail(base_url, to=person.manager_email, kind="decide")
    manager = open_page(locale="en-CA")
    manager.goto(link_of(manager_mail, "decide"))
    expect(manager.locator("html")).to_have_attribute("lang", "fr")
    manager.goto(f"{link_of(manager_mail, 'decide')}?lang=en")
    expect(manager.locator("html")).to_have_attribute("lang", "en")
    expect(manager.locator(".step-badge")).to_have_text("Step 1 of 2: Manager")

    # Refusing without a comment shows an error, keeps the buttons, and changes nothing.
    sent_before = mails_about(base_url, person.email)
    manager.get_by_role("button", name="Refuse").click()
    summary = manager.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("A comment is required to refuse.")
    expect(manager.locator("#comment-error")).to_have_text("A comment is required to refuse.")
    expect(manager.locator("#comment")).to_have_attribute("aria-invalid", "true")
    expect(manager.get_by_role("button", name="Approve")).to_be_visible()
    shoot(manager, "decide-error-en")
    assert mails_about(base_url, person.email) == sent_before

    # With a reason, the refusal is recorded.
    manager.get_by_label("Comment").click()
    manager.keyboard.type(REFUSAL_REASON)
    manager.get_by_role("button", name="Refuse").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Decision recorded")
    expect(manager.locator("main")).to_contain_text("The requester is told.")

    # The requester learns it, in English, with the reason.
    outcome = wait_for_mail(base_url, to=person.email, kind="status", subject="refused")
    assert outcome["subject"].startswith("Your request for access to YouTube is refused")
    assert f'refused at the "Manager" step by {person.manager_email}' in outcome["text"]
    assert f"Reason: {REFUSAL_REASON}" in outcome["text"]

    # The security officers never hear of this request (mail is sent before the page answers).
    about_request = mails_about(base_url, person.email)
    assert not [m for m in about_request if set(m["to"]) & set(OFFICERS)], about_request
    assert sorted(r for m in about_request for r in m["to"]) == sorted(
        [person.email, person.email, person.manager_email]
    )

    # The status page says refused, by whom and why.
    page.goto(link_of(outcome, "status"))
    expect(page.locator("p.status strong")).to_have_text("Refused")
    steps = page.locator("ol.steps > li")
    expect(steps.nth(0)).to_contain_text(f"Manager — Refused by {person.manager_email}")
    expect(steps.nth(0)).to_contain_text(f"Comment: {REFUSAL_REASON}")
    expect(steps.nth(1)).to_contain_text("Information security — Upcoming")
    expect(page.locator("ol.timeline > li").last).to_contain_text(
        f'Refused at the "Manager" step by {person.manager_email}'
    )
    shoot(page, "status-refused-en")


# --------------------------------------------------------------------------- c) bad input


def test_bad_input_shows_errors_keeps_what_was_typed_and_sends_nothing(
    page: Page, base_url: str
) -> None:
    person = new_person("Luc", "Bouchard")
    outside = person.email.replace("@mcn.gouv.qc.ca", "@example.com")
    short = "Trop court."
    count_before = len(read_outbox(base_url))

    page.goto("/")
    fill_form_fr(page, person, email=outside, justification=short)
    page.get_by_role("button", name="Envoyer la demande").click()

    # An error summary, focused, lists both problems and links to the fields.
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_text(
        "La demande n'a pas été envoyée : 2 champ(s) à corriger"
    )
    expect(summary.get_by_role("link")).to_have_count(2)
    expect(
        summary.get_by_role("link", name=re.compile("^Courriel professionnel"))
    ).to_have_attribute("href", "#email")
    expect(summary.get_by_role("link", name=re.compile("^Justification"))).to_have_attribute(
        "href", "#justification"
    )

    # Each field says what is wrong, and is marked invalid for assistive technology.
    expect(page.locator("#email-error")).to_contain_text(
        "Utilisez une adresse professionnelle d'un domaine autorisé"
    )
    expect(page.locator("#justification-error")).to_have_text(
        "Ce texte est trop court (au moins 40 caractères)."
    )
    for field in ("email", "justification"):
        expect(page.locator(f"#{field}")).to_have_attribute("aria-invalid", "true")
        expect(page.locator(f"#{field}")).to_have_attribute(
            "aria-describedby", f"{field}-help {field}-error"
        )
    expect(page.locator("#name")).not_to_have_attribute("aria-invalid", "true")

    # What was typed is still there.
    expect(page.locator("#name")).to_have_value(person.name)
    expect(page.locator("#email")).to_have_value(outside)
    expect(page.locator("#organization")).to_have_value(
        "Ministère de la Cybersécurité et du Numérique"
    )
    expect(page.locator("#manager_email")).to_have_value(person.manager_email)
    expect(page.locator("#platform-linkedin")).to_be_checked()
    expect(page.locator("#platform-x")).to_be_checked()
    expect(page.locator("#platform-facebook")).not_to_be_checked()
    expect(page.locator("#purpose-monitoring")).to_be_checked()
    expect(page.locator("#level-read")).to_be_checked()
    expect(page.locator("#justification")).to_have_value(short)
    expect(page.locator("#duration_days")).to_have_value("90")
    expect(page.locator("#accept_policy")).to_be_checked()
    shoot(page, "form-errors-fr")

    # Nothing was sent (e-mails leave before the page answers).
    outbox = read_outbox(base_url)
    assert len(outbox) == count_before, outbox[: len(outbox) - count_before]
    assert not [m for m in outbox if outside in m["to"] or person.manager_email in m["to"]]

    # Correcting the two fields is enough to file the request.
    page.locator("#email").click()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(person.email)
    page.locator("#justification").click()
    page.keyboard.press("End")
    page.keyboard.type(" " + JUSTIFICATION_FR)
    page.get_by_role("button", name="Envoyer la demande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Demande reçue : confirmez votre adresse"
    )
    wait_for_mail(base_url, to=person.email, kind="confirm")


# --------------------------------------------------------------------------- d) axe-core


def test_pages_have_no_axe_violations(page: Page, open_page: OpenPage, base_url: str) -> None:
    person = new_person("Chloé", "Roy")
    found: list[str] = []

    # The form, empty (French and English) and with errors.
    page.goto("/")
    expect(page.get_by_role("button", name="Envoyer la demande")).to_be_visible()
    found += axe_violations(page, "empty form (fr)")
    page.goto("/?lang=en")
    expect(page.get_by_role("button", name="Send the request")).to_be_visible()
    found += axe_violations(page, "empty form (en)")
    page.goto("/?lang=fr")
    page.get_by_role("button", name="Envoyer la demande").click()
    expect(page.locator(".error-summary")).to_be_visible()
    found += axe_violations(page, "form with errors (fr)")

    # The pages of a request: submitted, confirm, decide (plain and with an error), status.
    confirmation = submit_french_request(page, base_url, person)
    found += axe_violations(page, "submitted page")
    page.goto(link_of(confirmation, "confirm"))
    expect(page.get_by_role("button", name="Confirmer ma demande")).to_be_visible()
    found += axe_violations(page, "confirm page")
    page.get_by_role("button", name="Confirmer ma demande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demande confirmée")
    found += axe_violations(page, "confirmed page")

    manager_mail = wait_for_mail(base_url, to=person.manager_email, kind="decide")
    manager = open_page()
    manager.goto(link_of(manager_mail, "decide"))
    expect(manager.get_by_role("button", name="Approuver")).to_be_visible()
    found += axe_violations(manager, "decide page")
    manager.get_by_role("button", name="Refuser").click()
    expect(manager.locator(".error-summary")).to_be_visible()
    found += axe_violations(manager, "decide page with an error")
    manager.get_by_label("Commentaire").click()
    manager.keyboard.type("Pas nécessaire pour vos fonctions.")
    manager.get_by_role("button", name="Refuser").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Décision enregistrée")
    found += axe_violations(manager, "decided page")

    manager.goto(link_of(manager_mail, "decide"))
    expect(manager.get_by_role("heading", level=1)).to_have_text("Décision déjà prise")
    found += axe_violations(manager, "already-decided page")

    outcome = wait_for_mail(base_url, to=person.email, kind="status")
    page.goto(link_of(outcome, "status"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Suivi de votre demande")
    found += axe_violations(page, "status page")

    assert not found, "axe-core violations:\n" + "\n".join(found)

    # axe really runs under the app's CSP: a page broken on purpose is caught.
    page.evaluate("() => document.documentElement.removeAttribute('lang')")
    assert any(" html-has-lang " in line for line in axe_violations(page, "status page, no lang"))


# --------------------------------------------------------------------------- preview


def test_the_approver_preview_follows_the_selection(page: Page) -> None:
    page.goto("/")
    preview = page.locator("#approver-preview")
    expect(preview).to_contain_text("Choisissez les plateformes")
    page.get_by_label("LinkedIn", exact=True).check()
    page.get_by_label("Publier au nom de l'organisation").check()
    expect(preview).to_contain_text("Direction des communications")
    expect(preview).to_contain_text("Durée maximale : 90 jours")
    page.get_by_label("Consulter et suivre").check()
    expect(preview).not_to_contain_text("Direction des communications")
    expect(preview).to_contain_text("Durée maximale : 180 jours")
    page.get_by_label("TikTok").check()
    expect(preview).to_contain_text("Durée maximale : 30 jours")
    expect(page.locator("#duration_days")).to_have_attribute("max", "30")
