"""Signing people in through the outbox link, and walking a request to a given step."""

from __future__ import annotations

from typing import Any

from chalice.test import Client

from tests.integration.conftest import (
    file_request,
    hidden,
    html,
    link_with,
    outbox,
    post_form,
    press,
)

OFFICER = "securite.demo@mcn.gouv.qc.ca"
OTHER_OFFICER = "rssi.demo@mcn.gouv.qc.ca"
REQUESTER = "marie.tremblay@mcn.gouv.qc.ca"
MANAGER = "jean.gestion@mcn.gouv.qc.ca"


def signin_link(client: Client, email: str, next_path: str = "") -> str:
    """Ask for a sign-in link on /login; return the path of the link e-mailed."""
    page = html(client.http.get("/login"))
    answer = post_form(
        client,
        "/login",
        {"email": email, "form_token": hidden(page, "form_token"), "next": next_path},
    )
    assert answer.status_code == 200, html(answer)
    mail = next(m for m in outbox() if m.to == [email] and "/login/" in " ".join(m.links))
    return link_with(mail, "login")


def sign_in(client: Client, email: str, *, cookie: str | None = None, next_path: str = "") -> str:
    """Sign in through the e-mailed link like a person; return the `name=value` cookie."""
    path = signin_link(client, email, next_path)
    page = html(client.http.get(path))
    headers = {"Cookie": cookie} if cookie else {}
    answer = post_form(client, path, {"csrf": hidden(page, "csrf")}, **headers)
    assert answer.status_code == 303, html(answer)
    return str(answer.headers["Set-Cookie"]).split(";", 1)[0]


def get(client: Client, path: str, cookie: str) -> Any:
    """GET a page with a session cookie."""
    return client.http.get(path, headers={"Cookie": cookie})


def post(client: Client, path: str, cookie: str, form: dict[str, Any], page: str) -> Any:
    """POST a form from a signed-in page (its session CSRF token comes from `page`)."""
    return post_form(client, path, {"csrf": hidden(html_of(page), "csrf"), **form}, Cookie=cookie)


def html_of(page: Any) -> str:
    return page if isinstance(page, str) else html(page)


def request_at_security_step(client: Client, **overrides: Any) -> str:
    """File, confirm and have the manager approve a request; return its id."""
    file_request(client, **overrides)
    confirmation = outbox()[0]
    press(client, link_with(confirmation, "confirm"))
    press(client, link_with(outbox()[0], "decide"), decision="approve")
    status_path = link_with(confirmation, "status")
    return request_id_of(client, status_path)


def request_id_of(client: Client, status_path: str) -> str:
    """The id of the request a status link is about."""
    from chalicelib.service.context import get_services
    from chalicelib.service.links import token_hash

    link = get_services().store.load_link(token_hash(status_path.rsplit("/", 1)[1]))
    assert link is not None
    return link.request_id
