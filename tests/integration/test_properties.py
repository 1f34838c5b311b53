"""Property-based tests: hostile values through every POST; inert output everywhere it shows.

Each example compares what is stored and sent before and after one hostile POST: a refusal
must be a 4xx with a page (never a 5xx or a traceback) and leave both unchanged.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from html import unescape
from urllib.parse import quote, urlsplit

import pytest
from chalice.test import Client
from hypothesis import event, given, settings
from hypothesis import strategies as st

from chalicelib.domain.text import unsafe_text
from chalicelib.service import console
from chalicelib.service.context import get_services
from tests.conftest import valid_form
from tests.integration.conftest import (
    file_request,
    hidden,
    html,
    link_with,
    outbox,
    post_form,
    press,
    state_counts,
)
from tests.integration.fuzz import (
    EXTRAS,
    NASTY,
    assert_clean_answer,
    assert_headers_intact,
    hostile_text,
    hostile_value,
    post_raw,
    raw_messages,
    requests_stored,
)
from tests.integration.people import OFFICER, OTHER_OFFICER, get, request_id_of, sign_in

pytestmark = pytest.mark.integration
PEOPLE = itertools.count()
TEXT_FIELDS = {"name": False, "organization": False, "justification": True}


@pytest.fixture(autouse=True)
def _sign_in_brakes_lifted(request: pytest.FixtureRequest) -> None:
    """Lift the sign-in limits: examples sign the same officer in from one source, many times
    in a minute. The brakes themselves are tested in test_limits.py; here only input is."""
    if "client" not in request.fixturenames:
        return
    request.getfixturevalue("client")
    services = get_services()
    rules = services.policy.rules
    lifted = rules.limits.model_copy(
        update={"max_signins_per_address_per_hour": 1000, "max_signins_per_source_per_hour": 1000}
    )
    services.policy = services.policy.model_copy(
        update={"rules": rules.model_copy(update={"limits": lifted})}
    )


def fresh_email() -> str:
    """A requester nobody used yet (the per-person limits stay out of the way)."""
    return f"fuzz.{next(PEOPLE)}@mcn.gouv.qc.ca"


def new_mail_headers_intact(since: int) -> None:
    """Every message sent since `since` has exactly its recipients and one of each header."""
    services = get_services()
    for raw in raw_messages()[since:]:
        to = re.search(rb"^To: (.*)$", raw, re.MULTILINE)
        assert to is not None
        recipients = [a.strip() for a in to.group(1).decode().split(",")]
        assert all(services.policy.email_domain_allowed(r) for r in recipients), recipients
        assert_headers_intact(raw, recipients)


@settings(max_examples=40)
@given(
    field=st.sampled_from([*valid_form().keys(), "lang", "action", "form_token"]),
    value=hostile_value(),
    extras=st.booleans(),
)
def test_any_value_in_any_form_field_is_refused_cleanly_or_filed_as_typed(
    client: Client, field: str, value: list[str], extras: bool
) -> None:
    requester = fresh_email()
    form = valid_form(email=requester)
    form["form_token"] = [hidden(html(client.http.get("/")), "form_token")]
    form[field] = value
    if extras:
        form.update(EXTRAS)
    before, sent, filed = state_counts(), len(raw_messages()), requests_stored()
    response = post_raw(client, "/", form)
    assert_clean_answer(response, (200, 400, 429))
    if requests_stored() == filed:
        # Refused, previewed or a language switch: nothing stored, nothing sent.
        event(f"not filed: {response.status_code}")
        assert (state_counts(), len(raw_messages())) == (before, sent)
        return
    assert response.status_code == 200
    event("filed")
    # Filed: only server-derived values, and no text a reader could be fooled by.
    stored = console.my_requests(get_services(), requester)
    assert [(r.status.value, r.version) for r in stored] == [("pending_confirmation", 1)]
    content = stored[0].content
    for name, multiline in TEXT_FIELDS.items():
        assert not unsafe_text(getattr(content, name), multiline=multiline)
    new_mail_headers_intact(sent)
    assert len(raw_messages()) == sent + 1


def _links(client: Client, kind: str) -> tuple[str, str]:
    """An unused link of one kind to a fresh request, and the same kind of link to another.

    (A decision link and its delegation link carry the same token: the holder's page token
    is good on both, so "another link" is always another request's.)
    """
    paths = []
    for _ in range(2):
        file_request(client, email=fresh_email())
        confirm = link_with(outbox()[0], "confirm")
        if kind != "confirm":
            assert press(client, confirm).status_code == 200
        paths.append(confirm if kind == "confirm" else link_with(outbox()[0], kind))
    return paths[0], paths[1]


LINK_FIELDS = ["decision", "comment", "deputy", "starts", "ends", "status", "lang", "csrf"]


@settings(max_examples=16)
@given(
    kind=st.sampled_from(["confirm", "decide", "delegate"]),
    # Mostly the genuine token, so that most examples reach the checks behind it.
    csrf=st.sampled_from(["valid"] * 4 + ["other link", "garbage", "missing"]),
    decision=st.sampled_from(["approve", "refuse", "maybe", ""]),
    fields=st.dictionaries(st.sampled_from(LINK_FIELDS), hostile_value(), max_size=3),
)
def test_any_form_on_an_email_link_is_refused_cleanly_or_acts_once(
    client: Client, kind: str, csrf: str, decision: str, fields: dict[str, list[str]]
) -> None:
    path, other = _links(client, kind)
    tokens = {
        "valid": hidden(html(client.http.get(path)), "csrf"),
        "other link": hidden(html(client.http.get(other)), "csrf"),
        "garbage": "x.1.y",
    }
    form = {"decision": [decision], **fields}
    form["csrf"] = [tokens[csrf]] if csrf in tokens else []
    before, sent = state_counts(), len(raw_messages())
    response = post_raw(client, path, form)
    assert_clean_answer(response, (200, 400, 403, 409, 410))
    if csrf != "valid":
        # Refused: 403, or 400 when the body cannot even be read (too many fields).
        assert response.status_code in (400, 403)
    event(f"{kind}: {response.status_code}")
    if response.status_code != 200:
        assert (state_counts(), len(raw_messages())) == (before, sent)
        return
    new_mail_headers_intact(sent)
    if kind == "decide":
        request = get_services().store.load_request(request_id_of(client, _status_of(client)))
        assert request is not None
        comment = request.steps[0].comment or ""
        assert not unsafe_text(comment, multiline=True)


def _status_of(client: Client) -> str:
    return next(link_with(m, "status") for m in outbox() if any("/status/" in x for x in m.links))


@pytest.fixture
def sessions(client: Client) -> dict[str, str]:
    """Two officers signed in (cookies)."""
    return {"own": sign_in(client, OFFICER), "other": sign_in(client, OTHER_OFFICER)}


SESSION_FIELDS = ["decision", "step", "comment", "reason", "status", "lang", "next"]


@settings(max_examples=12)
@given(
    target=st.sampled_from(["decide", "revoke", "step", "withdraw", "logout"]),
    csrf=st.sampled_from(["own"] * 4 + ["other session", "garbage", "missing"]),
    decision=st.sampled_from(["approve", "refuse", "x"]),
    step=st.sampled_from(["1", "0", "-1", "99", "x", "1.0"]),
    fields=st.dictionaries(st.sampled_from(SESSION_FIELDS), hostile_value(), max_size=3),
)
def test_any_form_on_a_signed_in_page_is_refused_cleanly_or_acts_once(
    client: Client,
    sessions: dict[str, str],
    target: str,
    csrf: str,
    decision: str,
    step: str,
    fields: dict[str, list[str]],
) -> None:
    from tests.integration.people import request_at_security_step

    request_id = request_at_security_step(client, email=fresh_email())
    path = {
        "decide": f"/console/requests/{request_id}/decide",
        "revoke": f"/console/requests/{request_id}/revoke",
        "step": f"/me/steps/{request_id}",
        "withdraw": f"/me/requests/{request_id}/withdraw",
        "logout": "/logout",
    }[target]
    cookie = sessions["own"]
    tokens = {
        "own": hidden(html(get(client, "/console", cookie)), "csrf"),
        "other session": hidden(html(get(client, "/console", sessions["other"])), "csrf"),
        "garbage": "x.1.y",
    }
    if target == "logout" and csrf == "own":
        csrf = "other session"  # a genuine logout would end the session the other examples use
    form = {"decision": [decision], "step": [step], **fields}
    form["csrf"] = [tokens[csrf]] if csrf in tokens else []
    before, sent = state_counts(), len(raw_messages())
    response = post_raw(client, path, form, Cookie=cookie)
    assert_clean_answer(response, (200, 303, 400, 403, 404, 409))
    if csrf != "own":
        assert response.status_code in (400, 403)
    event(f"{target}: {response.status_code}")
    if response.status_code != 303:
        assert (state_counts(), len(raw_messages())) == (before, sent)
        return
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//")
    new_mail_headers_intact(sent)


REDIRECTS = [
    "//evil.example",
    "/\\evil.example",
    "https://evil.example/",
    "/%2F%2Fevil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "/\t/evil.example",
    "/\r\nLocation: https://evil.example",
    " //evil.example",
    "/console/audit?x=1",
]


@settings(max_examples=20)
@given(target=st.one_of(st.sampled_from(REDIRECTS), hostile_text()))
def test_next_never_leads_off_the_site(client: Client, target: str) -> None:
    query = quote(target.encode("utf-8", "surrogatepass"), safe="")
    page = client.http.get(f"/login?next={query}")
    assert_clean_answer(page, (200, 400))
    if page.status_code == 200:
        kept = hidden(html(page), "next")
        assert kept == "" or (kept.startswith("/") and not kept.startswith("//")), kept
    form_token = hidden(html(client.http.get("/login")), "form_token")
    answer = post_raw(
        client, "/login", {"email": [OFFICER], "form_token": [form_token], "next": [target]}
    )
    assert_clean_answer(answer, (200,))
    login = link_with(outbox()[0], "login")
    csrf = hidden(html(client.http.get(login)), "csrf")
    signed = post_form(client, login, {"csrf": csrf})
    assert signed.status_code == 303
    location = signed.headers["Location"]
    parts = urlsplit(location)
    assert parts.scheme == "" and parts.netloc == "", location
    assert location.startswith("/") and not location.startswith("//"), location
    assert "\\" not in location and not any(ord(c) < 0x21 for c in location), location


# Payloads a form accepts (they are not control characters) and must show as typed.
INERT = [p for p in NASTY if p.strip() and not unsafe_text(p, multiline=False) and len(p) < 100]
RAW_MARKUP = re.compile(r"<script(?! src=\"[^\"]*/static/)|<svg", re.IGNORECASE)


@pytest.mark.parametrize("payload", INERT)
def test_typed_markup_and_template_syntax_show_literally_everywhere(
    client: Client, payload: str
) -> None:
    name = f"A {payload} Z"
    organization = f"Org {payload}"
    justification = f"Veille du programme Accès numérique et réponses aux citoyens {payload}"
    pages = [
        file_request(client, name=name, organization=organization, justification=justification)
    ]
    confirmation = outbox()[0]
    pages.append(client.http.get(link_with(confirmation, "confirm")))
    press(client, link_with(confirmation, "confirm"))
    manager_link = link_with(outbox()[0], "decide")
    pages.append(client.http.get(manager_link))
    press(client, manager_link, decision="approve", comment=f"ok {payload}")
    officer_link = link_with(outbox()[0], "decide")
    pages.append(client.http.get(officer_link))
    press(client, officer_link, decision="approve", comment=f"vu {payload}")
    pages.append(client.http.get(link_with(confirmation, "status")))
    request_id = request_id_of(client, link_with(confirmation, "status"))
    cookie = sign_in(client, OFFICER)
    for path in (
        f"/console/requests/{request_id}",
        "/console/requests",
        "/console/grants",
        f"/console/audit?request={request_id}",
    ):
        pages.append(get(client, path, cookie))
    shown = [(p.body.decode(), p.headers["Content-Type"]) for p in pages]
    shown += [(m.html, "text/html") for m in outbox()]
    for body, content_type in shown:
        assert "text/html" in content_type
        # Markup typed by a person never reaches a page or e-mail as markup ...
        assert not RAW_MARKUP.search(body), body[:500]
    # ... and what was typed is shown as typed (template syntax never evaluated): on the
    # confirmation page, both decision pages, the status page and the console's detail.
    for body, _ in shown[1:6]:
        assert name in unescape(body) and organization in unescape(body)
    texts = [m.text for m in outbox() if m.to == ["marie.tremblay@mcn.gouv.qc.ca"]]
    assert texts and all(name in text for text in texts[:1])
    for export in ("/console/grants.csv", "/console/audit.csv"):
        rows = list(csv.reader(io.StringIO(get(client, export, cookie).body.decode())))
        cells = [cell for row in rows[1:] for cell in row]
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")], export
        if export.startswith("/console/grants"):
            assert any(name.lstrip("=+-@") in cell for cell in cells)
