"""Security headers on every status the app answers; cookie flags; cross-site forms refused."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client

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
from tests.integration.people import OFFICER, OTHER_OFFICER, get, request_at_security_step, sign_in
from tests.integration.test_headers_and_errors import assert_security_headers

pytestmark = pytest.mark.integration


def assert_page_headers(response: Any) -> None:
    """The security headers, and pages (every non-asset answer) never cached."""
    headers = dict(response.headers)
    if response.status_code == 303:
        assert response.body in (b"", "")  # a redirect has no body, so no type to declare
        headers.setdefault("Content-Type", "charset=utf-8")
    assert_security_headers(headers)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_every_status_the_app_answers_carries_the_headers(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    file_request(client)
    confirm = link_with(outbox()[0], "confirm")
    answers: dict[int, Any] = {
        200: client.http.get("/"),
        400: post_form(client, "/", {**valid_form(), "form_token": ["forged"]}),
        403: post_form(client, confirm, {"csrf": "forged"}),
        404: client.http.get("/status/" + "A" * 43),
    }
    press(client, confirm)
    answers[409] = client.http.get(confirm)
    oversize = post_form(client, "/", {"justification": "x" * 40_000})
    assert "trop volumineux" in html(oversize)
    answers[413] = oversize  # too large: answered 400 with its message (API Gateway's is 413)
    cookie = sign_in(client, OFFICER)
    answers[303] = get(client, "/console", cookie="sesame-session=unknown")
    answers[429] = _limited(client)
    for status, response in answers.items():
        assert response.status_code == (400 if status == 413 else status), status
        assert_page_headers(response)
    for method, path in (("DELETE", "/"), ("PUT", "/login"), ("POST", "/status/x")):
        refused = client.http.request(method, path, headers={"Cookie": cookie}, body=b"")
        assert refused.status_code == 405
        assert_security_headers({"Content-Type": "charset=utf-8", **refused.headers})
    wrong_type = client.http.post("/", headers={"Content-Type": "application/json"}, body=b"{}")
    assert wrong_type.status_code == 415
    assert_security_headers({"Content-Type": "charset=utf-8", **wrong_type.headers})

    from chalicelib.store.requests import RequestStore

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("internal")

    monkeypatch.setattr(RequestStore, "read_for_link", broken)
    failed = client.http.get(link_with(outbox()[-1], "status"))
    assert failed.status_code == 500
    assert_page_headers(failed)


def _limited(client: Client) -> Any:
    """File until the open-request limit answers 429."""
    for _ in range(get_services().policy.rules.limits.max_open_requests + 1):
        response = file_request(client, email="limite@mcn.gouv.qc.ca")
    return response


def test_the_session_cookie_is_httponly_lax_and_host_bound(client: Client) -> None:
    cookie = sign_in(client, OFFICER)
    page = get(client, "/console", cookie)
    logout = post_form(client, "/logout", {"csrf": hidden(html(page), "csrf")}, Cookie=cookie)
    assert logout.status_code == 200
    assert_page_headers(logout)
    cleared = str(logout.headers["Set-Cookie"])
    for flag in ("HttpOnly", "SameSite=Lax", "Secure", "Path=/", "Max-Age=0"):
        assert flag in cleared
    assert cleared.startswith("__Host-sesame-session=;")
    assert "Domain=" not in cleared
    # The session is over on the server: the old cookie leads to sign-in.
    assert get(client, "/console", cookie).status_code == 303


def test_a_form_the_browser_says_came_from_another_site_is_refused(client: Client) -> None:
    file_request(client)
    confirm = link_with(outbox()[0], "confirm")
    csrf = hidden(html(client.http.get(confirm)), "csrf")
    before = state_counts()
    cross = post_form(client, confirm, {"csrf": csrf}, **{"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert_page_headers(cross)
    assert state_counts() == before
    # From the page itself (or from a browser sending no fetch metadata) the same form works.
    same = post_form(client, confirm, {"csrf": csrf}, **{"Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 200


def test_signed_in_forms_refuse_other_sites_and_other_sessions_tokens(client: Client) -> None:
    request_id = request_at_security_step(client)
    own, other = sign_in(client, OFFICER), sign_in(client, OTHER_OFFICER)
    own_token = hidden(html(get(client, "/console", own)), "csrf")
    other_token = hidden(html(get(client, "/console", other)), "csrf")
    path = f"/console/requests/{request_id}/decide"
    form = {"decision": "approve", "step": "1"}
    before = state_counts()
    attempts = [
        post_form(client, path, form, Cookie=own),
        post_form(client, path, {**form, "csrf": other_token}, Cookie=own),
        post_form(
            client,
            path,
            {**form, "csrf": own_token},
            Cookie=own,
            **{"Sec-Fetch-Site": "cross-site"},
        ),
        post_form(client, "/login", {"email": OFFICER}, **{"Sec-Fetch-Site": "cross-site"}),
    ]
    assert [a.status_code for a in attempts] == [403, 403, 403, 403]
    assert state_counts() == before
    done = post_form(client, path, {**form, "csrf": own_token}, Cookie=own)
    assert done.status_code == 303
