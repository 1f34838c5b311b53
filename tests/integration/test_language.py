"""Language: French by default, English on demand, remembered, switched without losing input."""

from __future__ import annotations

import pytest
from chalice.test import Client

from tests.conftest import valid_form
from tests.integration.conftest import hidden, html, outbox, post_form

pytestmark = pytest.mark.integration


def test_french_by_default_english_from_the_browser_then_remembered(client: Client) -> None:
    assert '<html lang="fr">' in html(client.http.get("/"))
    english = client.http.get("/", headers={"Accept-Language": "en-CA,en;q=0.9"})
    assert '<html lang="en">' in html(english)
    chosen = client.http.get("/?lang=en")
    cookie = chosen.headers["Set-Cookie"]
    assert cookie.startswith("lang=en;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    remembered = client.http.get("/", headers={"Cookie": "lang=en", "Accept-Language": "fr"})
    assert '<html lang="en">' in html(remembered)


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
