"""An approver who decides in English gets their next approval e-mails in English alone;
every other approver still reads French first with the English text below."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from chalice.test import Client

from chalicelib.dev.outbox import SentEmail
from tests.integration.conftest import file_request, hidden, html, link_with, outbox, post_form
from tests.integration.people import (
    MANAGER,
    OFFICER,
    OTHER_OFFICER,
    get,
    post,
    request_at_security_step,
    sign_in,
)

pytestmark = pytest.mark.integration


def approval_mails_to(person: str) -> list[SentEmail]:
    """The e-mails asking this person to decide, newest first."""
    return [m for m in outbox() if m.to == [person] and "/decide/" in " ".join(m.links)]


def decide_langs(mail: SentEmail) -> list[str]:
    links = [urlsplit(link) for link in mail.links if "/decide/" in link]
    return [parse_qs(link.query)["lang"][0] for link in links]


def confirm_latest(client: Client) -> None:
    confirmation = outbox()[0]
    path = link_with(confirmation, "confirm")
    page = html(client.http.get(path))
    assert post_form(client, path, {"csrf": hidden(page, "csrf")}).status_code == 200


def test_an_approver_who_decides_in_english_gets_english_alone_next_time(client: Client) -> None:
    file_request(client)
    confirm_latest(client)
    (first,) = approval_mails_to(MANAGER)
    assert first.text.index("Bonjour") < first.text.index("Hello")

    # Only looking at the English page records nothing (a GET never changes anything).
    english_link = next(urlsplit(link) for link in first.links if "lang=en" in link)
    page = client.http.get(f"{english_link.path}?{english_link.query}")
    assert '<html lang="en">' in html(page)

    # The manager decides in English (the English link, the cookie it set).
    decided = post_form(
        client,
        f"{english_link.path}?{english_link.query}",
        {"csrf": hidden(html(page), "csrf"), "decision": "approve"},
        Cookie="lang=en",
    )
    assert decided.status_code == 200 and '<html lang="en">' in html(decided)

    # The officers, who chose nothing, still read French first, then English.
    (to_officer,) = approval_mails_to(OFFICER)
    assert to_officer.text.index("Bonjour") < to_officer.text.index("Hello")
    assert decide_langs(to_officer) == ["fr", "en"]

    # The manager's next request to decide comes in English alone.
    file_request(
        client, justification="Je réponds aux citoyens sur le compte officiel du programme"
    )
    confirm_latest(client)
    latest = approval_mails_to(MANAGER)[0]
    assert latest is not first
    assert "Hello" in latest.text and "Bonjour" not in latest.text
    assert "Bonjour" not in latest.html
    assert decide_langs(latest) == ["en"]
    assert first.subject.startswith("Demande d'accès")
    assert latest.subject.startswith("Access request") and "Demande" not in latest.subject


def test_an_approver_who_goes_back_to_french_reads_both_again(client: Client) -> None:
    file_request(client)
    confirm_latest(client)
    (first,) = approval_mails_to(MANAGER)
    english_link = next(urlsplit(link) for link in first.links if "lang=en" in link)
    page = html(client.http.get(f"{english_link.path}?{english_link.query}"))
    refused = post_form(
        client,
        f"{english_link.path}?{english_link.query}",
        {"csrf": hidden(page, "csrf"), "decision": "refuse", "comment": "Not for this programme."},
        Cookie="lang=en",
    )
    assert refused.status_code == 200
    file_request(
        client, justification="Je réponds aux citoyens sur le compte officiel du programme"
    )
    confirm_latest(client)
    english_only = approval_mails_to(MANAGER)[0]
    assert decide_langs(english_only) == ["en"]
    french_link = urlsplit(next(link for link in english_only.links if "/decide/" in link))
    page = html(client.http.get(f"{french_link.path}?lang=fr"))
    assert (
        post_form(
            client,
            f"{french_link.path}?lang=fr",
            {
                "csrf": hidden(page, "csrf"),
                "decision": "refuse",
                "comment": "Pas pour ce programme.",
            },
            Cookie="lang=fr",
        ).status_code
        == 200
    )
    file_request(client, justification="Je publie sur le compte officiel du programme Accès")
    confirm_latest(client)
    assert decide_langs(approval_mails_to(MANAGER)[0]) == ["fr", "en"]


def test_an_officer_who_decides_in_the_console_in_english_gets_english_alone_next_time(
    client: Client,
) -> None:
    request_id = request_at_security_step(client)
    (asked,) = approval_mails_to(OFFICER)
    assert decide_langs(asked) == ["fr", "en"]
    cookie = sign_in(client, OFFICER)
    detail = get(client, f"/console/requests/{request_id}?lang=en", cookie)
    decided = post(
        client,
        f"/console/requests/{request_id}/decide?lang=en",
        f"{cookie}; lang=en",
        {"decision": "approve", "step": "1", "comment": "Fine."},
        detail,
    )
    assert decided.status_code == 303, html(decided)
    request_at_security_step(
        client, justification="Je réponds aux citoyens sur le compte officiel du programme"
    )
    latest = approval_mails_to(OFFICER)[0]
    assert latest is not asked
    assert decide_langs(latest) == ["en"] and "Bonjour" not in latest.text
    # The other officer, who chose nothing, still reads French first.
    assert decide_langs(approval_mails_to(OTHER_OFFICER)[0]) == ["fr", "en"]
