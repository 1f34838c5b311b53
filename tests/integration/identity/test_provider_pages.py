"""Signing in with the organisation's provider through the pages (issue 15, the wiring).

A browser's journey over HTTP with Chalice's test client and the real local provider: the
login page offers the provider first, /login/oidc hands the browser over with an attempt
cookie, the provider's callback opens the session; a refused callback answers a clear page in
the person's language, stores no session and is audited.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from chalice.test import Client

from chalicelib.service.context import Services
from tests.integration.conftest import html, post_form
from tests.integration.identity.conftest import audit_bodies, sessions_stored
from tests.peers.oidc_provider import MARIE, OUTSIDER, ProviderPeer, signed_in

pytestmark = pytest.mark.integration
OFFICER = "securite.demo@mcn.gouv.qc.ca"


def cookie_of(response: Any, name: str) -> str:
    """Return the `name=value` pair a response sets for one cookie ('' when it sets none)."""
    values = response.headers.get("Set-Cookie", "")
    for value in values if isinstance(values, list) else [values]:
        if value.startswith(name + "="):
            return str(value.split(";", 1)[0])
    return ""


def all_cookies(response: Any) -> list[str]:
    values = response.headers.get("Set-Cookie", "")
    return [str(v) for v in (values if isinstance(values, list) else [values]) if v]


def start(client: Client, next_path: str = "/me", lang: str = "fr") -> tuple[str, str]:
    """Press "Sign in with your organisation": the provider's URL and the attempt cookie."""
    answer = client.http.get("/login/oidc?" + urlencode({"next": next_path, "lang": lang}))
    assert answer.status_code == 303, html(answer)
    attempt = cookie_of(answer, "sesame-oidc-attempt")
    assert attempt, answer.headers
    return answer.headers["Location"], attempt


def callback(client: Client, params: dict[str, str], cookie: str) -> Any:
    return client.http.get("/login/oidc/callback?" + urlencode(params), headers={"Cookie": cookie})


def test_the_login_page_offers_the_organisation_first_then_the_email_link(
    client: Client, signin_services: Services
) -> None:
    page = html(client.http.get("/login?next=/me"))
    provider = page.index("Se connecter avec votre organisation")
    assert provider < page.index('name="email"')
    assert 'href="/login/oidc?next=%2Fme&lang=fr"' in page  # entities decoded by html()
    english = html(client.http.get("/login?lang=en"))
    assert "Sign in with your organisation" in english


def test_without_a_provider_the_login_page_has_the_email_link_only(client: Client) -> None:
    page = html(client.http.get("/login"))
    assert "Se connecter avec votre organisation" not in page and 'name="email"' in page
    assert client.http.get("/login/oidc").status_code == 404


def test_marie_signs_in_with_the_provider_and_lands_on_her_requests(
    client: Client, signin_services: Services, oidc_provider: ProviderPeer
) -> None:
    url, attempt = start(client)
    query = dict(parse_qsl(urlsplit(url).query))
    assert url.startswith(oidc_provider.issuer) and query["code_challenge_method"] == "S256"
    _, params = signed_in(url, MARIE)
    answer = callback(client, params, attempt)
    assert answer.status_code == 303, html(answer)
    assert answer.headers["Location"] == "/me"
    session = cookie_of(answer, "sesame-session")
    # The attempt cookie is spent and removed; the session cookie is HttpOnly and SameSite.
    assert any(c.startswith("sesame-oidc-attempt=;") and "Max-Age=0" in c
               for c in all_cookies(answer))  # fmt: skip
    assert any("HttpOnly" in c and "SameSite=Lax" in c for c in all_cookies(answer))
    me = client.http.get("/me", headers={"Cookie": session})
    assert me.status_code == 200 and MARIE in html(me)
    assert sessions_stored() == 1
    # The same callback again (a replayed code) opens nothing more.
    again = callback(client, params, attempt)
    assert again.status_code == 400
    assert "Cette connexion a déjà été utilisée" in html(again)
    assert sessions_stored() == 1


def test_an_officer_signed_in_with_the_provider_goes_to_the_console(
    client: Client, signin_services: Services
) -> None:
    url, attempt = start(client, next_path="")
    _, params = signed_in(url, OFFICER)
    answer = callback(client, params, attempt)
    assert answer.status_code == 303 and answer.headers["Location"] == "/console"
    console = client.http.get("/console", headers={"Cookie": cookie_of(answer, "sesame-session")})
    assert console.status_code == 200


def test_a_tampered_state_gets_a_clear_page_in_both_languages_and_no_session(
    client: Client, signin_services: Services
) -> None:
    url, attempt = start(client)
    _, params = signed_in(url, MARIE)
    last = params["state"][-1]
    tampered = {**params, "state": params["state"][:-1] + ("B" if last == "A" else "A")}
    answer = callback(client, tampered, attempt)
    assert answer.status_code == 400
    page = html(answer)
    assert "Connexion refusée" in page and 'href="/login"' in page
    english = callback(client, {**tampered, "lang": "en"}, attempt)
    assert "Sign-in refused" in html(english)
    assert "matches no sign-in started in this browser" in html(english)
    # No cookie at all (a callback in a browser that started nothing) is refused the same way.
    assert callback(client, params, "").status_code == 400
    assert sessions_stored() == 0
    assert len(audit_bodies("signin_refused")) == 3


def test_a_replayed_callback_gets_a_clear_page_in_both_languages_and_no_second_session(
    client: Client, signin_services: Services
) -> None:
    url, attempt = start(client)
    _, params = signed_in(url, MARIE)
    assert callback(client, params, attempt).status_code == 303  # the genuine one signs in
    again = callback(client, params, attempt)
    assert again.status_code == 400 and "sesame-session" not in str(again.headers)
    assert "Connexion refusée" in html(again) and "déjà été utilisée" in html(again)
    english = callback(client, {**params, "lang": "en"}, attempt)
    assert "Sign-in refused" in html(english) and "used already" in html(english)
    assert sessions_stored() == 1
    refusals = audit_bodies("signin_refused")
    assert len(refusals) == 2 and all("replayed_code" in body for body in refusals)


def test_an_address_outside_the_allowed_domains_is_refused_and_audited(
    client: Client, signin_services: Services
) -> None:
    # The provider vouches for invite.externe@exemple.com; the policy allows *.gouv.qc.ca only.
    url, attempt = start(client)
    _, params = signed_in(url, OUTSIDER.email)
    answer = callback(client, params, attempt)
    assert answer.status_code == 403
    page = html(answer)
    assert "Connexion refusée" in page and "aucun domaine autorisé" in page
    assert not cookie_of(answer, "sesame-session")
    url, attempt = start(client, lang="en")
    _, params = signed_in(url, OUTSIDER.email)
    english = callback(client, {**params, "lang": "en"}, attempt)
    assert english.status_code == 403
    assert "outside the domains Sésame accepts" in html(english)
    assert sessions_stored() == 0
    refusals = audit_bodies("signin_refused")
    assert len(refusals) == 2
    assert all("domain_not_allowed" in body and OUTSIDER.email in body for body in refusals)


def test_a_provider_that_does_not_answer_gives_a_503_page(
    client: Client, signin_services: Services
) -> None:
    from tests.integration.identity.conftest import with_provider

    with_provider(signin_services, "http://127.0.0.1:9")  # nothing listens on port 9
    answer = client.http.get("/login/oidc")
    assert answer.status_code == 503
    assert "ne répond pas" in html(answer) and answer.headers.get("Retry-After")
    assert sessions_stored() == 0 and not cookie_of(answer, "sesame-oidc-attempt")


def test_sign_out_ends_the_session_and_the_providers(
    client: Client, signin_services: Services, oidc_provider: ProviderPeer
) -> None:
    url, attempt = start(client)
    _, params = signed_in(url, MARIE)
    session = cookie_of(callback(client, params, attempt), "sesame-session")
    me = html(client.http.get("/me", headers={"Cookie": session}))
    csrf = me.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    out = post_form(client, "/logout", {"csrf": csrf}, Cookie=session)
    # The provider's sign-out is reached by a navigation from the page, not a 303: browsers
    # stop a form's redirect to another origin under the CSP's form-action 'self'.
    assert out.status_code == 200 and "Vous êtes déconnecté" in html(out)
    end_session = re.search(r'<p id="provider-logout"><a href="([^"]+)"', html(out))
    assert end_session and end_session.group(1).startswith(oidc_provider.issuer + "/session/end?")
    assert f'<meta http-equiv="refresh" content="0;url={end_session.group(1)}">' in html(out)
    assert "sesame-session=;" in str(out.headers["Set-Cookie"]).replace(" ", "")
    assert client.http.get("/me", headers={"Cookie": session}).status_code == 303
    assert sessions_stored() == 0


def test_email_links_turned_off_are_refused(client: Client, signin_services: Services) -> None:
    from tests.integration.identity.conftest import with_provider

    with_provider(signin_services, signin_services.policy.identity.sign_in.issuer,  # type: ignore[union-attr]
                  email_links=False)  # fmt: skip
    page = html(client.http.get("/login"))
    assert "Se connecter avec votre organisation" in page and 'name="email"' not in page
    answer = post_form(client, "/login", {"email": MARIE, "form_token": "x"})
    assert answer.status_code == 403
    assert "aucun lien n'est envoyé" in html(answer)
