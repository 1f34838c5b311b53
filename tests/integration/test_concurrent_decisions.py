"""Two officers pressing at the same instant, through HTTP against moto's server: one decision."""

from __future__ import annotations

import json
import os
import re
import threading
from html import unescape
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

import pytest

from tests.conftest import valid_form
from tests.integration.stack_process import fetch, form_token, running_stack

pytestmark = pytest.mark.integration
# The whole journey per round, over HTTP; the 200-round races seed their requests instead
# (test_races_at_scale.py), so a few rounds here are enough.
ROUNDS = int(os.environ.get("SESAME_RACE_ROUNDS_JOURNEY", "10"))
OFFICERS = ("securite.demo@mcn.gouv.qc.ca", "rssi.demo@mcn.gouv.qc.ca")


def post(url: str, fields: dict[str, str]) -> tuple[int, str]:
    """POST a form; return the status and the page, whatever the status."""
    request = Request(url, data=urlencode(fields).encode())  # noqa: S310
    try:
        with urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode()
    except HTTPError as error:
        return error.code, error.read().decode()


def mail_link(base_url: str, to: str, about: str | None, kind: str) -> str:
    """The path of the newest link of a kind in a mail to `to` (mentioning `about`, if given)."""
    mails = json.loads(fetch(f"{base_url}/dev/outbox.json?{urlencode({'to': to})}"))
    for mail in mails:
        if to in mail["to"] and (about is None or about in mail["text"]):
            for link in mail["links"]:
                if f"/{kind}/" in link:
                    return urlsplit(link).path
    raise AssertionError(f"no {kind} link to {to} about {about}")


def press(base_url: str, path: str, **fields: str) -> tuple[int, str]:
    page = fetch(f"{base_url}{path}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    return post(f"{base_url}{path}", {"csrf": csrf.group(1), **fields})


def decide_at_once(base_url: str, paths: list[str]) -> list[tuple[int, str]]:
    """Open both officers' pages, then press Approve and Refuse in two threads at once."""
    forms = []
    for path, verdict in zip(paths, ("approve", "refuse"), strict=True):
        csrf = re.search(r'name="csrf" value="([^"]+)"', fetch(f"{base_url}{path}"))
        assert csrf
        forms.append((path, {"csrf": csrf.group(1), "decision": verdict, "comment": "course"}))
    results: list[tuple[int, str]] = []
    both_ready = threading.Barrier(len(forms))

    def press_button(path: str, fields: dict[str, str]) -> None:
        both_ready.wait(timeout=10)
        results.append(post(f"{base_url}{path}", fields))

    threads = [threading.Thread(target=press_button, args=form) for form in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_officers_deciding_at_once_over_the_whole_journey_record_one_decision(
    tmp_path: Path,
) -> None:
    with running_stack(tmp_path / "state") as base_url:
        for round_number in range(ROUNDS):
            requester = f"course.{round_number}@mcn.gouv.qc.ca"
            fetch(
                f"{base_url}/",
                {**valid_form(email=requester), "form_token": [form_token(base_url)]},
            )
            confirm = mail_link(base_url, requester, None, "confirm")
            assert press(base_url, confirm)[0] == 200
            manager = mail_link(base_url, "jean.gestion@mcn.gouv.qc.ca", requester, "decide")
            assert press(base_url, manager, decision="approve")[0] == 200
            results = decide_at_once(
                base_url,
                [mail_link(base_url, officer, requester, "decide") for officer in OFFICERS],
            )
            statuses = sorted(status for status, _ in results)
            assert statuses == [200, 409], (round_number, results)
            loser_page = unescape(next(page for status, page in results if status == 409))
            assert "Décision déjà prise" in loser_page
            status_path = mail_link(base_url, requester, None, "status")
            timeline = unescape(fetch(f"{base_url}{status_path}"))
            decided_at_security = timeline.count("l'étape « Sécurité de l'information »")
            assert decided_at_security == 1, round_number
