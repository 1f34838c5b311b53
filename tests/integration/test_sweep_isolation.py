"""The sweep isolates every entry (issue 13, item 4): an entry that cannot be built or sent is
marked failed with its reason, shown to the officers, and the later entries still go out."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from chalice.test import Client

from chalicelib.domain.models import OutboxEntry, OutboxMessage
from chalicelib.service.context import get_services
from tests.integration.conftest import (
    file_request,
    hidden,
    html,
    link_with,
    outbox,
    post_form,
    press,
)
from tests.integration.people import OFFICER, REQUESTER, get, sign_in
from tests.integration.test_outbox import sweep

pytestmark = pytest.mark.integration
POISONED = "deputy@mcn.gouv.qc.ca\nBcc: evil@attacker.example"


def store_poisoned_entry(recipient: str = POISONED, subject: str = "Objet") -> str:
    """Write an older pending e-mail whose recipient carries a line break (as main let in)."""
    services = get_services()
    entry = OutboxEntry(
        id="00000000poisoned",
        request_id="0123456789abcdef01234567",
        template="approval_needed",
        recipients=(recipient,),
        created_at=services.clock() - timedelta(hours=1),
        message=OutboxMessage(subject=subject, text="Texte", html="<p>Texte</p>", lang="fr"),
    )
    services.store.add_links([], [entry])
    return entry.id


@pytest.mark.parametrize(
    ("recipient", "subject"),
    [
        (POISONED, "Objet"),  # refused before any header is built
        ("deputy@mcn.gouv.qc.ca", "Objet\nBcc: evil@attacker.example"),  # the MIME build raises
    ],
)
def test_a_poisoned_entry_fails_alone_and_the_next_one_is_still_delivered(
    client: Client, monkeypatch: pytest.MonkeyPatch, recipient: str, subject: str
) -> None:
    poisoned = store_poisoned_entry(recipient, subject)
    # The good e-mail waits for the sweep too (as after a crash between commit and send).
    monkeypatch.setattr("chalicelib.service.submit.deliver", lambda *_: None)
    assert file_request(client).status_code == 200
    monkeypatch.undo()

    assert sweep(client) == {"sent": 1, "retry": 0, "failed": 1, "skipped": 0}
    (delivered,) = outbox()
    assert delivered.to == [REQUESTER]
    assert not [m for m in outbox() if "attacker" in " ".join(m.to)]
    status, reason = get_services().store.outbox_status(poisoned) or ("", "")
    assert status == "failed" and reason.startswith("not deliverable")
    # The next sweep does not trip on it again.
    assert sweep(client, hours=14) == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    assert press(client, link_with(delivered, "confirm")).status_code == 200

    # The officers see it in "Échecs" with its reason; a retry answers a page, not 500.
    cookie = sign_in(client, OFFICER)
    page = get(client, "/console/failures", cookie)
    text = html(page)
    assert page.status_code == 200 and "not deliverable" in text
    (action,) = re.findall(r'action="(/console/failures/email/[0-9a-z]+/retry)"', text)
    retried = post_form(client, action, {"csrf": hidden(text, "csrf")}, Cookie=cookie)
    assert retried.status_code == 303
    after = get(client, retried.headers["Location"], cookie)
    assert after.status_code == 200 and "not deliverable" in html(after)
    assert "envoi est relancé" in html(after)
    assert get_services().store.outbox_status(poisoned) == (status, reason)


@pytest.mark.parametrize(
    "recipient",
    [
        "boss <evil@attacker.example>@mcn.gouv.qc.ca",
        "evil@attacker.example,x@mcn.gouv.qc.ca",
        "evil@attacker.example",
        "deputy@mcn.gouv.qc.ca\r\nBcc: evil@attacker.example",
    ],
)
def test_an_address_the_form_would_refuse_never_reaches_ses(client: Client, recipient: str) -> None:
    poisoned = store_poisoned_entry(recipient)
    assert sweep(client) == {"sent": 0, "retry": 0, "failed": 1, "skipped": 0}
    assert outbox() == []
    assert get_services().store.outbox_status(poisoned) == (
        "failed",
        "not deliverable: recipient refused",
    )
