"""Every page, in its states and both languages, passes the Nu Html Checker with no error."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

import pytest

from tests.browser.conftest import new_person, wait_for_mail
from tests.conftest import PROJECT_ROOT, valid_form

pytestmark = pytest.mark.browser
VNU_JAR = Path(
    os.environ.get(
        "SESAME_VNU_JAR", PROJECT_ROOT / ".venv/vnu/node_modules/vnu-jar/build/dist/vnu.jar"
    )
)


def get(url: str, data: dict[str, list[str]] | None = None) -> str:
    """Fetch a page's HTML source as the server sends it, whatever the status."""
    body = urlencode(data, doseq=True).encode() if data is not None else None
    try:
        with urlopen(Request(url, data=body), timeout=10) as response:  # noqa: S310
            return str(response.read().decode("utf-8"))
    except HTTPError as error:
        return str(error.read().decode("utf-8"))


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, name
    return found.group(1)


def collect_pages(base_url: str) -> dict[str, str]:
    """Walk a request through its states and keep each page's source."""
    pages: dict[str, str] = {}
    for lang in ("fr", "en"):
        form = get(f"{base_url}/?lang={lang}")
        pages[f"form-{lang}"] = form
        bad = {**valid_form(email="x@gmail.com", justification="court"), "lang": [lang]}
        pages[f"form-errors-{lang}"] = get(
            f"{base_url}/", {**bad, "form_token": [hidden(form, "form_token")]}
        )
        preview = {**valid_form(level="publish"), "action": ["preview"], "lang": [lang]}
        pages[f"form-preview-{lang}"] = get(
            f"{base_url}/", {**preview, "form_token": [hidden(form, "form_token")]}
        )
    person = new_person("Éloïse", "Gagnon")
    form = get(f"{base_url}/")
    filed = valid_form(email=person.email, manager_email=person.manager_email)
    pages["submitted"] = get(f"{base_url}/", {**filed, "form_token": [hidden(form, "form_token")]})
    confirm_path = _path(wait_for_mail(base_url, to=person.email, kind="confirm"), "confirm")
    pages["confirm"] = get(base_url + confirm_path)
    pages["confirmed"] = get(base_url + confirm_path, {"csrf": [hidden(pages["confirm"], "csrf")]})
    pages["used-link"] = get(base_url + confirm_path)
    decide_path = _path(wait_for_mail(base_url, to=person.manager_email, kind="decide"), "decide")
    pages["decide"] = get(base_url + decide_path)
    csrf = hidden(pages["decide"], "csrf")
    pages["decide-error"] = get(base_url + decide_path, {"csrf": [csrf], "decision": ["refuse"]})
    pages["delegate"] = get(base_url + decide_path.replace("/decide/", "/delegate/"))
    pages["decided"] = get(base_url + decide_path, {"csrf": [csrf], "decision": ["approve"]})
    pages["already-decided"] = get(base_url + decide_path)
    pages["not-found"] = get(f"{base_url}/decide/" + "Q" * 43)
    status_path = _path(wait_for_mail(base_url, to=person.email, kind="status"), "status")
    pages["status"] = get(base_url + status_path)
    pages["dev-outbox"] = get(f"{base_url}/dev/outbox")
    pages["dev-clock"] = get(f"{base_url}/dev/clock")
    pages["dev-clock-error"] = get(
        f"{base_url}/dev/clock",
        {"form_token": [hidden(pages["dev-clock"], "form_token")], "hours": ["-3"]},
    )
    pages["dev-events"] = get(f"{base_url}/dev/events")
    for lang in ("fr", "en"):
        pages[f"login-{lang}"] = get(f"{base_url}/login?lang={lang}")
        pages[f"status-{lang}"] = get(f"{base_url}{status_path}?lang={lang}")
        pages[f"decided-link-{lang}"] = get(f"{base_url}{decide_path}?lang={lang}")
        # The trust pages (issue 17): the module, a failed attempt, the usage policy.
        module = get(f"{base_url}/awareness?lang={lang}")
        pages[f"awareness-{lang}"] = module
        attempt = {"form_token": [hidden(module, "form_token")], "lang": [lang],
                   "email": [person.email]}  # fmt: skip
        pages[f"awareness-failed-{lang}"] = get(f"{base_url}/awareness", attempt)
        pages[f"usage-policy-{lang}"] = get(f"{base_url}/usage-policy?lang={lang}")
    return pages


def _path(mail: dict[str, object], kind: str) -> str:
    links = mail["links"]
    assert isinstance(links, list)
    return next(urlsplit(str(link)).path for link in links if f"/{kind}/" in str(link))


def vnu_errors(pages: dict[str, str], folder: Path) -> list[str]:
    """Run the Nu Html Checker on page sources; return its errors (file:line: message)."""
    files = []
    for name, source in pages.items():
        assert source.startswith("<!doctype html>"), name
        path = folder / f"{name}.html"
        path.write_text(source, encoding="utf-8")
        files.append(str(path))
    result = subprocess.run(
        ["java", "-jar", str(VNU_JAR), "--errors-only", "--format", "json", "--exit-zero-always",
         *files],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )  # fmt: skip
    messages = json.loads(result.stderr or result.stdout)["messages"]
    return [
        f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m.get('message')}"
        for m in messages
        if m.get("type") == "error"
    ]


def test_every_page_is_valid_html(base_url: str, tmp_path: Path) -> None:
    assert VNU_JAR.exists(), f"{VNU_JAR} is missing: run `make browser` (it installs vnu-jar)"
    pages = collect_pages(base_url)
    assert len(pages) >= 18
    errors = vnu_errors(pages, tmp_path)
    assert errors == [], "\n".join(errors)
