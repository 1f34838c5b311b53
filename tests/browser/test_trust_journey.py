"""From control to trust in real Chromium (issue 17, acceptance 1 and 2): a first-time
requester is sent to the awareness module, fails, passes, comes back to what they typed and
gets a low-risk read access from their manager alone; the officers are told and one revokes
it; the same person's publish request still climbs the whole chain.

It runs against a second app server whose policy has the gate on (tests/browser/gated_app.py;
docs/policies.md says why the shipped demo keeps it off), over the session's emulator. The
e-mails are read from the session's server: the emulator, and so its sent mail, lives in that
process (the gated server's own /dev/outbox sees none).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.awareness import Awareness
from local_stack.runner import LocalStack
from tests.browser.conftest import (
    EXPECT_TIMEOUT_MS,
    OFFICERS,
    WIDTHS,
    Person,
    axe_violations,
    link_path,
    new_person,
    read_outbox,
    shoot,
    tab_to,
    wait_for_mail,
)
from tests.browser.gated_app import gated_policy, gated_server
from tests.browser.test_console_journey import sign_in

pytestmark = pytest.mark.browser

READ_WHY = "Je fais la veille de ce qui se dit du programme Accès numérique sur LinkedIn."
PUBLISH_WHY = (
    "Je publie les annonces du programme Accès numérique au nom du ministère "
    "et je réponds aux questions des citoyens."
)
COMMUNICATIONS = "communications.demo@mcn.gouv.qc.ca"
REVOKE_REASON = "Vérification faite : la veille passe par l'équipe des communications."
GatedPage = Callable[..., Page]


@pytest.fixture(scope="module")
def gated_url(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The gated app, started once for this file only."""
    folder = tmp_path_factory.mktemp("gated")
    with gated_server(gated_policy(folder / "policies"), folder / "gated-app.log") as url:
        yield url


@pytest.fixture(scope="module")
def module_files(gated_url: str, tmp_path_factory: pytest.TempPathFactory) -> Awareness:
    """The awareness module the gated app serves (the shipped one: only the gate differs)."""
    policy = load_policy(gated_policy(tmp_path_factory.mktemp("read") / "policies"))
    assert policy.awareness is not None and policy.awareness.required_before_request
    return policy.awareness


@pytest.fixture
def open_gated(browser: Browser, gated_url: str) -> Iterator[GatedPage]:
    """A fresh browser context on the gated app: one person, one browser."""
    contexts: list[BrowserContext] = []

    def _open(locale: str = "fr-CA") -> Page:
        context = browser.new_context(
            base_url=gated_url, viewport={"width": WIDTHS[-1], "height": 900}, locale=locale
        )
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


def fill_request(page: Page, person: Person, *, level: str, why: str, purpose: str) -> None:
    """Fill the French form for LinkedIn only, with the mouse and the keyboard."""
    for label, text in (
        ("Nom complet", person.name),
        ("Courriel professionnel", person.email),
        ("Ministère ou organisme", "Ministère de la Cybersécurité et du Numérique"),
        ("Courriel de votre gestionnaire", person.manager_email),
    ):
        page.get_by_label(label).click()
        page.keyboard.type(text)
    page.get_by_label("LinkedIn", exact=True).click()
    page.get_by_label(purpose).click()
    page.get_by_label(level).click()
    page.get_by_label("Justification").click()
    page.keyboard.type(why)
    page.get_by_label("Durée de l'accès").click()
    page.keyboard.type("60")
    page.get_by_label("J'ai lu la politique d'utilisation").click()


def answer_with_keyboard(page: Page, module: Awareness, wrong: set[str]) -> None:
    """Answer every question with Tab and the arrow keys: right, except those in `wrong`."""
    for question in module.questions:
        ids = [choice.id for choice in question.choices]
        wanted = next(c for c in ids if c != question.answer) if question.id in wrong else None
        target = ids.index(wanted or question.answer)
        # Tab enters a radio group on its first choice (none is checked yet); arrows move.
        tab_to(page, f"#q-{question.id}-{ids[0]}")
        if target == 0:
            page.keyboard.press("Space")
        for _ in range(target):
            page.keyboard.press("ArrowDown")
        expect(page.locator(f"#q-{question.id}-{ids[target]}")).to_be_checked()


def decide_path(mail: dict[str, object]) -> str:
    path = link_path(mail, "decide")  # type: ignore[arg-type]
    assert path is not None, f"no decide link in {mail['subject']!r}"
    return path


def confirm_from_mail(page: Page, base_url: str, person: Person, before: int) -> None:
    """Open the newest confirmation e-mail (one more than `before`) and confirm."""

    def newest() -> dict[str, object] | None:
        mails = [m for m in read_outbox(base_url) if person.email in m["to"]]
        confirms = [m for m in mails if link_path(m, "confirm")]
        return confirms[0] if len(confirms) > before else None

    from tests.browser.conftest import wait_until

    mail = wait_until(newest, f"confirmation e-mail number {before + 1} to {person.email}")
    path = link_path(mail, "confirm")  # type: ignore[arg-type]
    assert path is not None
    page.goto(path)
    page.get_by_role("button", name="Confirmer ma demande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demande confirmée")


def test_a_first_time_requester_is_trained_then_only_their_manager_decides(
    open_gated: GatedPage, base_url: str, module_files: Awareness
) -> None:
    found: list[str] = []
    person = new_person("Léa", "Gagnon")
    page = open_gated()

    # The form, typed in full, sends a first-time requester to the module first.
    page.goto("/")
    fill_request(page, person, level="Consulter et suivre", why=READ_WHY,
                 purpose="Veille sur ce qui se dit de nos programmes")  # fmt: skip
    page.get_by_role("button", name="Envoyer la demande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Module de sensibilisation")
    expect(page.locator("#carry-note")).to_contain_text("Ce que vous avez saisi")
    expect(page.get_by_label("Votre adresse courriel professionnelle")).to_have_value(person.email)
    assert not [m for m in read_outbox(base_url) if person.email in m["to"]]
    found += axe_violations(page, "awareness module (from the form)")
    shoot(page, "trust-awareness-fr")

    # Keyboard alone: two wrong answers fail (4 right needed), each wrong one explained.
    first, second = module_files.questions[0], module_files.questions[1]
    answer_with_keyboard(page, module_files, wrong={first.id, second.id})
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator(f"#q-{first.id}-why")).to_have_text(first.explanation_fr)
    expect(page.locator(f"#q-{second.id}-why")).to_have_text(second.explanation_fr)
    expect(page.locator("#carry-note")).to_be_visible()
    found += axe_violations(page, "awareness quiz failed")
    shoot(page, "trust-awareness-failed-fr")

    # One answer put right: passed with 4 out of 5, the remaining wrong one still explained.
    page.locator(f"#q-{second.id}-{second.answer}").check()
    page.get_by_role("button", name="Envoyer mes réponses").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Module réussi")
    expect(page.locator("main")).to_contain_text("4 bonnes réponses sur 5")
    expect(page.locator("#review")).to_contain_text(first.explanation_fr)
    expect(page.locator("#held-note")).to_be_visible()
    found += axe_violations(page, "awareness passed")
    shoot(page, "trust-awareness-passed-fr")

    # Back to the form with everything typed, and a preview of the shorter path.
    page.get_by_role("button", name="Revenir à ma demande").click()
    expect(page.get_by_label("Justification")).to_have_value(READ_WHY)
    expect(page.get_by_label("Courriel professionnel")).to_have_value(person.email)
    expect(page.get_by_label("LinkedIn", exact=True)).to_be_checked()
    expect(page.get_by_label("Consulter et suivre")).to_be_checked()
    expect(page.locator("main")).to_contain_text("seule votre gestionnaire décide")
    found += axe_violations(page, "form back from the module")
    shoot(page, "trust-form-resumed-fr")
    page.get_by_role("button", name="Envoyer la demande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Demande reçue : confirmez votre adresse"
    )
    reference = page.locator("main strong").first.inner_text().strip()
    confirm_from_mail(page, base_url, person, before=0)

    # Only the manager decides: one step, and the decision page shows the pass.
    mail = wait_for_mail(base_url, to=person.manager_email, kind="decide")
    manager = open_gated()
    manager.goto(decide_path(mail))
    expect(manager.locator(".step-badge")).to_have_text("Étape 1 sur 1 : Gestionnaire")
    expect(manager.locator("dl.summary")).to_contain_text("4 bonnes réponses sur 5")
    found += axe_violations(manager, "decision page with the pass")
    shoot(manager, "trust-decide-trained-fr")
    manager.get_by_role("button", name="Approuver").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Décision enregistrée")
    expect(manager.locator("main")).to_contain_text("Le demandeur est avisé de la décision.")

    # The officers get the notice, never a decision to make.
    for officer_email in OFFICERS:
        notice = wait_for_mail(base_url, to=officer_email, subject=reference)
        assert "parcours formé" in notice["subject"]
    asked = [
        m for m in read_outbox(base_url)
        if set(OFFICERS) & set(m["to"]) and link_path(m, "decide") and person.email in m["text"]
    ]  # fmt: skip
    assert not asked, "an officer was asked to decide a trained-path request"

    # An officer sees the grant on the trained path in the console, and revokes it.
    officer = open_gated()
    sign_in(officer, base_url, OFFICERS[0])
    officer.goto("/console/grants")
    row = officer.locator("tr", has=officer.get_by_role("link", name=reference))
    expect(row).to_contain_text("Accordé par le parcours formé")
    found += axe_violations(officer, "grants with a trained-path grant")
    shoot(officer, "trust-console-grants")
    officer.get_by_role("link", name=reference).click()
    expect(officer.locator("dl.summary")).to_contain_text("Accordé par le parcours formé")
    found += axe_violations(officer, "trained-path request in the console")
    officer.get_by_label("Motif de la révocation").fill(REVOKE_REASON)
    officer.get_by_role("button", name="Révoquer l'accès maintenant").click()
    expect(officer.locator("p.status strong")).to_have_text("Accès révoqué")

    # Acceptance 2: the same person asks to publish; the pass is theirs now (the confirmation
    # proved the address), so no module, and the whole chain applies, each step asked.
    page.goto("/")
    fill_request(page, person, level="Publier au nom de l'organisation", why=PUBLISH_WHY,
                 purpose="Communications de l'organisation")  # fmt: skip
    expect(page.locator("main")).not_to_contain_text("seule votre gestionnaire décide")
    page.get_by_role("button", name="Envoyer la demande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Demande reçue : confirmez votre adresse"
    )
    confirm_from_mail(page, base_url, person, before=1)
    chain = [(person.manager_email, "Étape 1 sur 3"), (COMMUNICATIONS, "Étape 2 sur 3"),
             (OFFICERS[0], "Étape 3 sur 3")]  # fmt: skip
    for approver_email, badge in chain:
        mail = wait_for_mail(base_url, to=approver_email, kind="decide", about=person.email)
        approver = open_gated()
        approver.goto(decide_path(mail))
        expect(approver.locator(".step-badge")).to_contain_text(badge)
        approver.get_by_role("button", name="Approuver").click()
        expect(approver.get_by_role("heading", level=1)).to_have_text("Décision enregistrée")
    expect(approver.locator("main")).to_contain_text("Le demandeur est avisé de la décision.")
    assert not found, "\n".join(found)


def test_the_module_in_english_passes_axe_and_fits_360_px(open_gated: GatedPage) -> None:
    page = open_gated()
    page.goto("/awareness?lang=en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Awareness module")
    found = axe_violations(page, "awareness module (en)")
    shoot(page, "trust-awareness-en")
    page.get_by_role("button", name="Send my answers").click()
    expect(page.locator(".error-summary, .field-error").first).to_be_visible()
    found += axe_violations(page, "awareness module with an error (en)")
    assert not found, "\n".join(found)
