"""Logs of a whole journey through the browser hold no token and no justification text."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import new_person, read_outbox, wait_for_mail
from tests.browser.test_approval_journey import fill_form_fr, link_of
from tests.browser.test_console_journey import sign_in

pytestmark = pytest.mark.browser
JUSTIFICATION = "Veille quotidienne confidentielle du programme Accès numérique pour la ministre."


class Captured(logging.Handler):
    """Keep every formatted record, whatever the logger."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured_logs() -> Iterator[Captured]:
    # Chalice gives the app's logger ("sesame") its own handler and stops propagation there,
    # so that is where every log line of the app passes; the root logger catches the rest.
    handler = Captured()
    root, sesame = logging.getLogger(), logging.getLogger("sesame")
    previous = sesame.level
    sesame.setLevel(logging.DEBUG)
    for logger in (root, sesame):
        logger.addHandler(handler)
    yield handler
    for logger in (root, sesame):
        logger.removeHandler(handler)
    sesame.setLevel(previous)


def test_a_full_journey_leaves_no_token_or_justification_in_the_logs(
    page: Page, base_url: str, captured_logs: Captured
) -> None:
    person = new_person("Léa", "Roy")
    page.goto("/")
    fill_form_fr(page, person, justification=JUSTIFICATION)
    page.get_by_role("button", name="Envoyer la demande").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Demande reçue")
    confirmation = wait_for_mail(base_url, to=person.email, kind="confirm")
    page.goto(link_of(confirmation, "confirm"))
    page.get_by_role("button", name="Confirmer ma demande").click()
    to_manager = wait_for_mail(base_url, to=person.manager_email, kind="decide")
    page.goto(link_of(to_manager, "decide"))
    page.get_by_role("button", name="Approuver").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Décision enregistrée")
    page.goto("/decide/" + "x" * 43)  # an unknown token is not logged either

    # An officer signs in through the outbox link, opens the console, and signs out.
    sign_in(page, base_url, "rssi.demo@mcn.gouv.qc.ca")
    session = [c["value"] for c in page.context.cookies() if "sesame-session" in c["name"]]
    assert session and session[0]
    page.goto("/console")
    page.get_by_role("button", name="Se déconnecter").click()
    signin_mail = next(
        m for m in read_outbox(base_url) if "rssi.demo@mcn.gouv.qc.ca" in m["to"] and
        any("/login/" in link for link in m["links"])
    )  # fmt: skip

    tokens = {
        urlsplit(link).path.rsplit("/", 1)[1]
        for mail in (confirmation, to_manager, signin_mail)
        for link in mail["links"]
    } | {"x" * 43, session[0]}
    # The secret part of a `<request id>.<random>` token must not survive a redaction either.
    tokens |= {token.rsplit(".", 1)[-1] for token in tokens}
    text = "\n".join(captured_logs.lines)
    assert '"route": "/decide/{token}"' in text, "the access log did not run: the check is empty"
    assert '"route": "/login/{token}"' in text
    assert "[redacted]" in text
    for token in tokens:
        assert token not in text
    assert JUSTIFICATION not in text
    assert "Accès numérique" not in text
