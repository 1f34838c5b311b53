"""The officers' console in real Chromium: sign in through the outbox link, queue, decide,
revoke, exports; employees get 403 everywhere; signed-out visitors are sent to sign in.
axe-core runs on every page of sign-in, "my requests" and the console.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from local_stack.runner import LocalStack
from tests.browser.conftest import (
    OFFICERS,
    OpenPage,
    axe_violations,
    link_path,
    new_person,
    shoot,
    unique_email,
    wait_for_mail,
)
from tests.browser.test_approval_journey import link_of, submit_french_request
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.browser
OFFICER = OFFICERS[0]
CONSOLE_PAGES = (
    "/console",
    "/console/requests",
    "/console/grants",
    "/console/grants.csv",
    "/console/grants.json",
    "/console/dashboard",
    "/console/audit",
    "/console/audit.csv",
    "/console/audit.json",
    "/console/audit/verify",
)


def sign_in(page: Page, base_url: str, email: str, start: str = "/login") -> None:
    """Sign in like a person: ask for a link, open it from the outbox, press the button."""
    page.goto(start)
    expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter à Sésame")
    before = {m["time"] + m["subject"] for m in _login_mails(base_url, email)}
    page.get_by_label("Courriel professionnel").fill(email)
    page.get_by_role("button", name="Recevoir un lien de connexion").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez vos courriels")
    mail = wait_for_mail(base_url, to=email, kind="login", subject="lien de connexion")
    if mail["time"] + mail["subject"] in before and len(before) > 1:
        mail = _login_mails(base_url, email)[0]
    path = link_path(mail, "login")
    assert path is not None
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirmer la connexion")
    page.get_by_role("button", name="Me connecter").click()


def _login_mails(base_url: str, email: str) -> list[dict[str, Any]]:
    from tests.browser.conftest import read_outbox

    return [m for m in read_outbox(base_url) if email in m["to"] and link_path(m, "login")]


def request_waiting_for_security(page: Page, open_page: OpenPage, base_url: str) -> str:
    """File and confirm a request, have the manager approve it; return its reference."""
    person = new_person("Hélène", "Côté")
    confirmation = submit_french_request(page, base_url, person)
    reference = page.locator("main strong").first.inner_text().strip()
    page.goto(link_of(confirmation, "confirm"))
    page.get_by_role("button", name="Confirmer ma demande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demande confirmée")
    manager_mail = wait_for_mail(base_url, to=person.manager_email, kind="decide")
    manager = open_page()
    manager.goto(link_of(manager_mail, "decide"))
    manager.get_by_role("button", name="Approuver").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Décision enregistrée")
    return reference


def download(page: Page, link_name: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    path = info.value.path()
    with open(path, "rb") as handle:
        return handle.read()


def test_an_officer_signs_in_decides_revokes_and_exports(
    page: Page, open_page: OpenPage, base_url: str
) -> None:
    found: list[str] = []
    reference = request_waiting_for_security(page, open_page, base_url)

    # Signed out, the console sends the officer to sign in, then back to where they were going.
    officer = open_page()
    officer.goto("/console")
    expect(officer).to_have_url(re.compile(r"/login\?next=%2Fconsole$"))
    found += axe_violations(officer, "sign-in page")
    shoot(officer, "login-fr")
    sign_in(officer, base_url, OFFICER, start=officer.url)
    expect(officer).to_have_url(re.compile(r"/console$"))
    expect(officer.get_by_role("heading", level=1)).to_have_text("File d'attente")

    # The queue lists the request, with its age; the officer opens it.
    row = officer.locator("tr", has=officer.get_by_role("link", name=reference))
    expect(row).to_contain_text("Hélène Côté")
    expect(row).to_contain_text("0 j 0 h")
    found += axe_violations(officer, "queue")
    shoot(officer, "console-queue")
    officer.get_by_role("link", name=reference).click()
    expect(officer.get_by_role("heading", level=1)).to_have_text(f"Demande {reference}")
    expect(officer.locator("dl.summary")).to_contain_text("Accès numérique")
    expect(officer.locator("table.events")).to_contain_text("Lien de courriel ouvert")
    found += axe_violations(officer, "request detail")
    shoot(officer, "console-request")

    # A refusal without a comment is refused, then the officer approves.
    officer.get_by_role("button", name="Refuser").click()
    expect(officer.locator(".error-summary")).to_contain_text("Un commentaire est obligatoire")
    found += axe_violations(officer, "request detail with an error")
    officer.get_by_label("Commentaire").fill("Conforme à la politique ; lecture seulement.")
    officer.get_by_role("button", name="Approuver").click()
    expect(officer.locator(".notice")).to_have_text("Votre approbation est enregistrée.")
    expect(officer.locator("p.status strong")).to_have_text("Approuvée")
    expect(officer.locator("table").first).to_contain_text(f"{OFFICER}, le")
    expect(officer.locator("table").first).to_contain_text("(console)")

    # It is an active grant: listed, and exportable for the proxy team.
    officer.get_by_role("link", name="Accès actifs").click()
    expect(officer.get_by_role("link", name=reference)).to_be_visible()
    found += axe_violations(officer, "grants")
    shoot(officer, "console-grants")
    grants = download(officer, "CSV (tableur)")
    assert grants.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(grants.decode("utf-8-sig"))))
    ours = [r for r in rows if r["reference"] == reference]
    assert ours and ours[0]["name"].startswith("Hélène Côté")

    # The officer revokes it, with a reason.
    officer.get_by_role("link", name=reference).click()
    officer.get_by_label("Motif de la révocation").fill(
        "Le poste a changé : accès plus nécessaire."
    )
    officer.get_by_role("button", name="Révoquer l'accès maintenant").click()
    expect(officer.locator(".notice")).to_contain_text("L'accès est révoqué")
    expect(officer.locator("p.status strong")).to_have_text("Accès révoqué")
    officer.get_by_role("link", name="Accès actifs").click()
    expect(officer.get_by_role("link", name=reference)).to_have_count(0)

    # The audit log shows what happened, exports as CSV, and checks out intact.
    officer.get_by_role("link", name="Journal d'audit").click()
    expect(officer.locator("table.events")).to_contain_text("Accès révoqué")
    found += axe_violations(officer, "audit log")
    shoot(officer, "console-audit")
    audit = download(officer, "CSV (tableur)").decode("utf-8-sig")
    assert "revoked" in audit and "Le poste a changé" in audit
    assert not [c for r in csv.reader(io.StringIO(audit)) for c in r if c and c[0] in "=+-@"]
    officer.get_by_role("link", name="Vérifier l'intégrité du journal").click()
    # Checked against the signed digests too (issue 18): "Intègre : N événements, M empreintes".
    expect(officer.locator(".verdict")).to_contain_text("Intègre")
    found += axe_violations(officer, "integrity check")
    officer.get_by_role("button", name="Écrire une empreinte maintenant").click()
    expect(officer.locator(".notice")).to_contain_text("L'empreinte est écrite")
    expect(officer.locator(".verdict")).to_contain_text("Intègre")
    officer.get_by_role("link", name="Tableau de bord").click()
    expect(officer.locator("svg")).to_have_count(4)  # the four charts, time to access included
    found += axe_violations(officer, "dashboard")
    shoot(officer, "console-dashboard")
    officer.get_by_role("link", name="Demandes", exact=True).click()
    officer.get_by_label("État").select_option("revoked")
    officer.get_by_role("button", name="Filtrer").click()
    expect(officer.get_by_role("link", name=reference)).to_be_visible()
    found += axe_violations(officer, "requests, filtered")
    shoot(officer, "console-requests")

    # Signing out ends the session: the console asks to sign in again.
    officer.get_by_role("button", name="Se déconnecter").click()
    expect(officer.get_by_role("heading", level=1)).to_have_text("Vous êtes déconnecté")
    found += axe_violations(officer, "signed out")
    officer.goto("/console")
    expect(officer).to_have_url(re.compile(r"/login\?next="))
    assert not found, "axe-core violations:\n" + "\n".join(found)


def test_employees_get_403_on_the_console_and_see_their_own_requests(
    page: Page, open_page: OpenPage, base_url: str
) -> None:
    found: list[str] = []
    person = new_person("Luc", "Gagnon")
    submit_french_request(page, base_url, person)

    # The requester signs in: "my requests" shows the request, which they withdraw.
    sign_in(page, base_url, person.email)
    expect(page).to_have_url(re.compile(r"/me$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes demandes")
    expect(page.locator("table")).to_contain_text("En attente de votre confirmation")
    found += axe_violations(page, "my requests")
    shoot(page, "my-requests")
    page.get_by_role("button", name=re.compile("^Retirer la demande")).click()
    expect(page.locator(".notice")).to_contain_text("Votre demande est retirée")
    expect(page.locator("table")).to_contain_text("Retirée par le demandeur")

    # Every console page answers 403 with nothing but the refusal.
    for path in CONSOLE_PAGES:
        response = page.goto(path)
        assert response is not None and response.status == 403, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Accès réservé")
        expect(page.locator("main table")).to_have_count(0)
    found += axe_violations(page, "403 page")

    # A signed-out visitor is sent to sign in from every console page.
    stranger = open_page()
    for path in CONSOLE_PAGES:
        stranger.goto(path)
        expect(stranger).to_have_url(re.compile(r"/login\?next=%2Fconsole"))

    # The sign-in pages themselves, in English too.
    stranger.goto("/login?lang=en")
    stranger.get_by_label("Work e-mail").fill(unique_email("nobody"))
    stranger.get_by_role("button", name="Get a sign-in link").click()
    expect(stranger.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    found += axe_violations(stranger, "sign-in link sent (en)")
    stranger.goto("/login/" + "A" * 43)
    found += axe_violations(stranger, "unknown sign-in link")
    assert not found, "axe-core violations:\n" + "\n".join(found)


def test_a_manager_decides_from_my_requests(page: Page, open_page: OpenPage, base_url: str) -> None:
    person = new_person("Zoé", "Lavoie")
    confirmation = submit_french_request(page, base_url, person)
    page.goto(link_of(confirmation, "confirm"))
    page.get_by_role("button", name="Confirmer ma demande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demande confirmée")

    manager = open_page()
    sign_in(manager, base_url, person.manager_email)
    expect(
        manager.get_by_role("heading", name="Étapes qui attendent votre décision")
    ).to_be_visible()
    manager.locator("table").first.get_by_role("link").first.click()
    expect(manager.locator(".step-badge")).to_have_text("Étape 1 sur 2 : Gestionnaire")
    violations = axe_violations(manager, "manager's step page")
    shoot(manager, "my-step")
    manager.get_by_role("button", name="Approuver").click()
    expect(manager.get_by_role("status")).to_have_text("Votre approbation est enregistrée.")
    for officer in OFFICERS:
        wait_for_mail(base_url, to=officer, kind="decide", about=person.email)
    assert not violations, violations


def test_verify_audit_reports_the_local_stack_intact(stack: LocalStack) -> None:
    # What `make verify-audit` runs, against the running local stack's emulator.
    env = {**os.environ, "AWS_ENDPOINT_URL": stack.emulator_url}
    result = subprocess.run(
        [sys.executable, "-m", "ops.verify_audit", "--stage", "local"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.fullmatch(
        r"Audit log sesame-local-audit: intact, \d+ events, last hash [0-9a-f]{64}\n", result.stdout
    ), result.stdout
