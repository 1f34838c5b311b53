"""The audit log's "type of event" filter offers every action the audit model records, each
named in French and in English, and selecting any of them is a valid filter."""

from __future__ import annotations

import re
from html import unescape
from typing import get_args

import pytest
from chalice.test import Client

from chalicelib.domain.models import AuditAction
from tests.integration.conftest import html
from tests.integration.people import OFFICER, get, sign_in

pytestmark = pytest.mark.integration


def action_options(page: str) -> dict[str, str]:
    """The (value, label) options of the audit filter's select, without "any"."""
    select = re.search(r'<select id="f-action" name="action">(.*?)</select>', page, re.S)
    assert select is not None, "the audit page has no action filter"
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(1))
    return {value: unescape(label) for value, label in options if value}


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_audit_filter_offers_every_action_of_the_model_named_in_each_language(
    client: Client, lang: str
) -> None:
    cookie = sign_in(client, OFFICER)
    page = html(get(client, f"/console/audit?lang={lang}", cookie + f"; lang={lang}"))
    options = action_options(page)

    assert list(options) == list(get_args(AuditAction))
    # Each is a real label: not a bare key, and no two actions read the same.
    for value, label in options.items():
        assert label.strip() and "audit." not in label and label != value, (value, label)
    assert len(set(options.values())) == len(options)


def test_the_english_and_french_labels_differ_and_every_action_filters(client: Client) -> None:
    cookie = sign_in(client, OFFICER)
    french = action_options(html(get(client, "/console/audit?lang=fr", cookie + "; lang=fr")))
    english = action_options(html(get(client, "/console/audit?lang=en", cookie + "; lang=en")))
    assert french["escalated"] != english["escalated"]
    for action in ("escalated", "expired", "delegated", "delegation_cancelled"):
        page = html(get(client, f"/console/audit?action={action}", cookie + "; lang=fr"))
        selected = re.search(r'<option value="([^"]*)" selected>', page)
        assert selected is not None and selected.group(1) == action
