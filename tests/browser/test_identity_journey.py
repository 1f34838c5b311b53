"""Acceptance 1 of issue 15 in a browser, through the real local OpenID Provider.

Marie (whom the directory knows) signs in with the provider and files without the
confirmation e-mail, her manager Jean shown from the directory; Jean opens the approval
e-mail's link, presses Approve, signs in at the provider, presses Approve again and the
decision is recorded under his verified identity; an officer signs in with the provider and
approves from the console; the timeline shows the issuer and subject behind each of these
events (the subject is the person's `oid` at the provider).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from chalicelib.adapters.policy_files import cached_policy
from chalicelib.service.context import NO_PROVIDER_VARIABLE, get_services
from chalicelib.service.provider_signin import LOCAL_SECRET_VARIABLE
from local_stack.oidc_accounts import ClientRegistration, DemoAccount
from local_stack.oidc_process import LOCAL_CLIENT, RunningProvider, start_provider
from local_stack.runner import LocalStack
from tests.browser.conftest import OpenPage, axe_violations, wait_for_mail
from tests.browser.test_approval_journey import link_of

pytestmark = pytest.mark.browser
MARIE = "marie.tremblay@mcn.gouv.qc.ca"
JEAN = "jean.gestion@mcn.gouv.qc.ca"  # Marie's manager in policies/directory.toml
OFFICER = "rssi.demo@mcn.gouv.qc.ca"
PROVIDER_PORT = 8002  # the issuer the demo policy names for the local stage


@pytest.fixture
def provider(stack: LocalStack, tmp_path: Path) -> Iterator[RunningProvider]:
    """The local provider with the demo client registered at the stack's port, and the app told
    it runs (as `make run` does when it starts it): the demo policy as shipped, decisions
    bound to sign-in by default. The session's other tests run the stack without it."""
    client = ClientRegistration(
        client_id=LOCAL_CLIENT.client_id,
        client_secret=LOCAL_CLIENT.client_secret,
        redirect_uris=(f"{stack.base_url}/login/oidc/callback",),
        post_logout_redirect_uris=(f"{stack.base_url}/login",),
    )
    running = start_provider(tmp_path, port=PROVIDER_PORT, clients=(client,))
    if running is None:
        pytest.fail("the local OpenID Provider could not start")
    os.environ[LOCAL_SECRET_VARIABLE] = LOCAL_CLIENT.client_secret
    services = get_services()
    # Read before the switch: the policy restored after is the stack's own, without the
    # provider, even when this test is the session's first to load it.
    policy = services.policy
    os.environ[NO_PROVIDER_VARIABLE] = ""
    shipped = cached_policy(services.settings.policy_dir).identity
    assert shipped.decisions_require_sign_in("local")  # the demo's default, not set here
    services.policy = policy.model_copy(update={"identity": shipped})
    try:
        yield running
    finally:
        os.environ[NO_PROVIDER_VARIABLE] = "1"
        services.policy = policy
        running.stop()


def sign_in_at_provider(page: Page, email: str) -> None:
    """On the provider's login page: the address and the demo password."""
    page.wait_for_url(f"http://127.0.0.1:{PROVIDER_PORT}/**")  # the click navigates there
    page.locator("#login").fill(email)
    page.locator("#password").fill("demo")
    page.locator("#password").press("Enter")


def test_sign_in_file_approve_and_decide_under_verified_identities(
    open_page: OpenPage, base_url: str, provider: RunningProvider
) -> None:
    requester = open_page()
    requester.goto("/login")
    with_provider = requester.get_by_role("link", name="Se connecter avec votre organisation")
    expect(with_provider).to_be_visible()
    # The other browser tests run the stack without its provider: the provider's variants of
    # the pages are checked here.
    assert axe_violations(requester, "login-with-provider") == []
    with_provider.click()
    sign_in_at_provider(requester, MARIE)
    expect(requester).to_have_url(f"{base_url}/me")
    requester.goto("/")
    expect(requester.locator("#email")).to_contain_text(MARIE)
    expect(requester.locator("#manager_email")).to_contain_text(JEAN)
    requester.locator("#name").fill("Marie Tremblay")
    requester.locator("#organization").fill("Ministère de la Culture et des Communications")
    requester.locator("#platform-youtube").check()
    requester.locator("#purpose-citizen_service").check()
    requester.locator("#level-read").check()
    requester.locator("#justification").fill(
        "Répondre aux citoyens qui commentent les vidéos du ministère sur notre chaîne officielle."
    )
    requester.locator("#duration_days").fill("30")
    requester.locator("#accept_policy").check()
    requester.locator("form#request-form button[type=submit]:not([value])").click()
    expect(requester.get_by_role("main")).to_contain_text("aucun courriel de confirmation")

    manager = open_page()
    decide = link_of(wait_for_mail(base_url, to=JEAN, kind="decide", about=MARIE), "decide")
    manager.goto(decide)
    manager.locator("button[value=approve]").click()
    # Not yet: the page asks for the sign-in that says who decides.
    to_sign_in = manager.get_by_role("link", name="Se connecter pour décider")
    expect(to_sign_in).to_be_visible()
    assert axe_violations(manager, "decide-sign-in-required") == []
    to_sign_in.click()
    sign_in_at_provider(manager, JEAN)
    expect(manager).to_have_url(f"{base_url}{decide}")
    manager.locator("button[value=approve]").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Décision enregistrée")

    officer = open_page()
    officer.goto("/login")
    officer.get_by_role("link", name="Se connecter avec votre organisation").click()
    sign_in_at_provider(officer, OFFICER)
    expect(officer).to_have_url(f"{base_url}/console")
    mail = wait_for_mail(base_url, to=OFFICER, kind="decide", about=MARIE)
    request_id = link_of(mail, "decide").rsplit("/", 1)[1].split(".", 1)[0]
    officer.goto(f"/console/requests/{request_id}")
    officer.locator("form.decision button[value=approve]").first.click()
    expect(officer.locator("p.notice[role=status]")).to_be_visible()
    # The timeline names the issuer and subject behind the filing and each decision.
    events = officer.locator("table.events")
    issuer = f"http://127.0.0.1:{PROVIDER_PORT}"
    for action, email in (
        ("Demande déposée", MARIE),
        ("Étape approuvée (Étape 1)", JEAN),
        ("Étape approuvée (Étape 2)", OFFICER),
    ):
        subject = DemoAccount(email, "").object_id  # the person's `oid` at the provider
        row = events.locator("tr", has_text=action)
        expect(row).to_contain_text(email)
        expect(row).to_contain_text(f"vérifié par {issuer}, sujet {subject}")
