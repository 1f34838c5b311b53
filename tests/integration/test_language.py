"""Language: French by default, English on demand, remembered, switched without losing input."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from chalice.test import Client

from tests.conftest import valid_form
from tests.integration.conftest import (
    file_request,
    hidden,
    html,
    link_with,
    outbox,
    path_of,
    post_form,
    press,
)

pytestmark = pytest.mark.integration


ENGLISH_BROWSER = {"Accept-Language": "en-CA,en;q=0.9"}


def test_french_by_default_whatever_the_browser_says_english_once_chosen(client: Client) -> None:
    # Issue 13, item 9: Chromium's default English settings used to get the English form.
    assert '<html lang="fr">' in html(client.http.get("/"))
    english_browser = client.http.get("/", headers=ENGLISH_BROWSER)
    assert '<html lang="fr">' in html(english_browser)
    assert english_browser.headers["Content-Language"] == "fr"
    assert "lang=" not in str(english_browser.headers.get("Set-Cookie", ""))
    chosen = client.http.get("/?lang=en", headers={"Accept-Language": "fr-CA"})
    assert '<html lang="en">' in html(chosen)
    cookie = chosen.headers["Set-Cookie"]
    assert cookie.startswith("lang=en;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert f"Max-Age={365 * 24 * 3600}" in cookie and "Path=/" in cookie
    remembered = client.http.get("/", headers={"Cookie": "lang=en", "Accept-Language": "fr"})
    assert '<html lang="en">' in html(remembered)
    back = client.http.get("/?lang=fr", headers={"Cookie": "lang=en"})
    assert '<html lang="fr">' in html(back) and back.headers["Set-Cookie"].startswith("lang=fr;")


def _lang_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["lang"][0]


def test_an_approver_reads_french_first_and_the_english_links_open_english_pages(
    client: Client,
) -> None:
    file_request(client)
    press(client, link_with(outbox()[0], "confirm"))
    manager_mail = outbox()[0]
    assert manager_mail.text.index("Bonjour") < manager_mail.text.index("Hello")
    decide = [link for link in manager_mail.links if path_of(link).startswith("/decide/")]
    assert [_lang_of(link) for link in decide] == ["fr", "en"]
    french_link, english_link = (urlsplit(link) for link in decide)

    # An English browser following the French text's link reads French.
    french = client.http.get(french_link.path, headers=ENGLISH_BROWSER)
    assert french.status_code == 200 and '<html lang="fr">' in html(french)
    # The English text's link opens English and remembers it (a token page sets the cookie).
    english = client.http.get(f"{english_link.path}?{english_link.query}")
    assert english.status_code == 200 and '<html lang="en">' in html(english)
    assert english.headers["Set-Cookie"].startswith("lang=en;")
    # The decision posted with that cookie answers in English too.
    csrf = hidden(html(english), "csrf")
    decided = post_form(
        client, english_link.path, {"csrf": csrf, "decision": "approve"}, Cookie="lang=en"
    )
    assert decided.status_code == 200 and '<html lang="en">' in html(decided)


def test_the_requester_links_carry_the_language_they_filed_in(client: Client) -> None:
    file_request(client, lang="en")
    (confirmation,) = outbox()
    kinds = {path_of(link).split("/")[1]: _lang_of(link) for link in confirmation.links}
    assert kinds == {"confirm": "en", "status": "en"}


def test_the_switch_keeps_what_was_typed_and_files_nothing(client: Client) -> None:
    page = html(client.http.get("/"))
    form = {**valid_form(organization="Ministère X"), "action": ["lang:en"]}
    form["form_token"] = [hidden(page, "form_token")]
    switched = post_form(client, "/", form)
    text = html(switched)
    assert switched.status_code == 200
    assert '<html lang="en">' in text
    assert 'value="Ministère X"' in text
    assert "lang=en;" in switched.headers["Set-Cookie"]
    assert outbox() == []
