"""`python -m local_stack` (what `make run` starts): serves the form, and keeps state on restart."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import valid_form
from tests.integration.stack_process import fetch, running_stack

pytestmark = pytest.mark.integration


def test_requests_and_outbox_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running_stack(state) as base_url:
        form_page = fetch(f"{base_url}/")
        assert "Demander l'accès" in unescape(form_page)
        token = re.search(r'name="form_token" value="([^"]+)"', form_page)
        assert token
        fetch(f"{base_url}/", {**valid_form(), "form_token": [token.group(1)]})
        first = json.loads(fetch(f"{base_url}/dev/outbox.json"))
        assert len(first) == 1
        assert all(link.startswith(base_url) for link in first[0]["links"])

    with running_stack(state) as base_url:
        after = json.loads(fetch(f"{base_url}/dev/outbox.json"))
        assert [m["subject"] for m in after] == [m["subject"] for m in first]
        status_path = next(urlsplit(link).path for link in after[0]["links"] if "/status/" in link)
        status_page = unescape(fetch(f"{base_url}{status_path}"))
        assert "En attente de votre confirmation" in status_page
        assert "Marie Tremblay" in status_page
