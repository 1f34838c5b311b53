"""The console at work: queue, decide, revoke, withdraw, exports that open cleanly in a
spreadsheet, filters of the audit log, and an audit table that is only ever appended to."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import aws
from chalicelib.domain.models import RequestStatus
from chalicelib.rendering.i18n import LOCAL_ZONE
from chalicelib.service.context import get_services
from chalicelib.store.audit import AuditFilter
from tests.integration.conftest import AUDIT, html, link_with, outbox
from tests.integration.people import (
    MANAGER,
    OFFICER,
    OTHER_OFFICER,
    REQUESTER,
    get,
    post,
    request_at_security_step,
    sign_in,
)

pytestmark = pytest.mark.integration


def status_of(request_id: str) -> RequestStatus:
    request = get_services().store.load_request(request_id)
    assert request is not None
    return request.status


def test_an_officer_approves_from_the_queue_then_revokes(client: Client) -> None:
    request_id = request_at_security_step(client)
    officer_links = [link_with(m, "decide") for m in outbox()[:2]]
    cookie = sign_in(client, OFFICER)

    # The queue shows the request waiting for security, with its age.
    queue = html(get(client, "/console", cookie))
    assert request_id[:8].upper() in queue
    assert "0 j 0 h" in queue

    # The detail page shows the justification, the chain and the timeline; the officer approves.
    detail = get(client, f"/console/requests/{request_id}", cookie)
    page = html(detail)
    for text in ("Accès numérique", "Gestionnaire", "Sécurité de l'information", "2026-11-01"):
        assert text in page
    assert "Demande déposée" in page and "Lien de courriel ouvert" in page
    approved = post(
        client, f"/console/requests/{request_id}/decide", cookie,
        {"decision": "approve", "step": "1", "comment": "Conforme."}, detail,
    )  # fmt: skip
    assert approved.status_code == 303
    assert status_of(request_id) == RequestStatus.APPROVED
    outcome = outbox()[0]
    assert outcome.to == [REQUESTER] and "est approuvé" in outcome.subject

    # How it was decided shows: who, when, through the console; e-mail links now say so.
    page = html(get(client, approved.headers["Location"], cookie))
    assert "Votre approbation est enregistrée." in page
    assert f"{OFFICER}, le" in page and "(console)" in page
    for link in officer_links:
        assert client.http.get(link).status_code == 409

    # The grant is listed; a revocation needs a reason.
    grants = html(get(client, "/console/grants", cookie))
    assert request_id[:8].upper() in grants
    detail = get(client, f"/console/requests/{request_id}", cookie)
    no_reason = post(
        client, f"/console/requests/{request_id}/revoke", cookie, {"reason": " "}, detail
    )
    assert no_reason.status_code == 400
    assert "Un motif est obligatoire pour révoquer un accès." in html(no_reason)
    assert status_of(request_id) == RequestStatus.APPROVED

    revoked = post(
        client, f"/console/requests/{request_id}/revoke", cookie,
        {"reason": "Poste changé le 1er décembre."}, detail,
    )  # fmt: skip
    assert revoked.status_code == 303
    assert status_of(request_id) == RequestStatus.REVOKED
    mail = outbox()[0]
    assert mail.to == [REQUESTER] and "révoqué" in mail.subject
    assert "Poste changé le 1er décembre." in mail.text
    assert request_id[:8].upper() not in html(get(client, "/console/grants", cookie))
    status_page = html(client.http.get(link_with(mail, "status")))
    assert "Accès révoqué" in status_page

    events = get_services().store.audit.events_for_request(request_id)
    decided = [e.event for e in events if e.event.action in ("approved", "revoked")]
    assert [(e.action, e.actor, e.via) for e in decided[-2:]] == [
        ("approved", OFFICER, "console"),
        ("revoked", OFFICER, "console"),
    ]


def test_a_manager_decides_from_my_requests(client: Client) -> None:
    from tests.integration.conftest import file_request, press

    file_request(client)
    press(client, link_with(outbox()[0], "confirm"))
    manager_link = link_with(outbox()[0], "decide")
    cookie = sign_in(client, MANAGER)
    mine = html(get(client, "/me", cookie))
    assert "Étapes qui attendent votre décision" in mine
    step_path = re.search(r'href="(/me/steps/[a-z0-9]+)"', mine)
    assert step_path
    # Nobody else sees the manager's step: it is not theirs.
    someone = sign_in(client, REQUESTER)
    assert get(client, step_path.group(1), someone).status_code == 403
    page = get(client, step_path.group(1), cookie)
    assert "Étape 1 sur 2 : Gestionnaire" in html(page)
    refused = post(client, step_path.group(1), cookie, {"decision": "refuse", "step": "0"}, page)
    assert refused.status_code == 400  # a refusal needs a comment
    approved = post(client, step_path.group(1), cookie, {"decision": "approve", "step": "0"}, page)
    assert approved.status_code == 303
    assert sorted(m.to[0] for m in outbox()[:2]) == sorted([OFFICER, OTHER_OFFICER])
    assert client.http.get(manager_link).status_code == 409  # the e-mail link says it is done


def test_the_requester_withdraws_and_the_links_stop_working(client: Client) -> None:
    from tests.integration.conftest import file_request, press

    file_request(client)
    press(client, link_with(outbox()[0], "confirm"))
    manager_link = link_with(outbox()[0], "decide")
    # The manager opened the page before the withdrawal (and holds its form token).
    manager_csrf = re.search(r'name="csrf" value="([^"]+)"', html(client.http.get(manager_link)))
    assert manager_csrf
    cookie = sign_in(client, REQUESTER)
    page = get(client, "/me", cookie)
    action = re.search(r'action="(/me/requests/([a-z0-9]+)/withdraw)"', html(page))
    assert action
    other = sign_in(client, MANAGER)  # someone else cannot withdraw it
    assert post(client, action.group(1), other, {}, get(client, "/me", other)).status_code == 403
    done = post(client, action.group(1), cookie, {}, page)
    assert done.status_code == 303
    assert status_of(action.group(2)) == RequestStatus.WITHDRAWN
    assert "Retirée par le demandeur" in html(get(client, "/me", cookie))
    # The manager is told, and the link says the request was withdrawn, changing nothing.
    notice = outbox()[0]
    assert notice.to == ["jean.gestion@mcn.gouv.qc.ca"] and "retirée" in notice.subject
    opened = client.http.get(manager_link)
    assert opened.status_code == 410
    assert "Demande retirée" in html(opened)
    pressed = client.http.post(
        manager_link,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=f"decision=approve&csrf={manager_csrf.group(1)}",
    )
    assert pressed.status_code == 410
    assert status_of(action.group(2)) == RequestStatus.WITHDRAWN


FORMULAS = {
    "name": '=HYPERLINK("http://evil.example","Chloé")',
    "organization": "+Ministère de l'Économie",
    "justification": "-2+3 puis @SUM(A1:A9) : je dois répondre aux citoyens sur le programme.",
}


def rows_of(response: Any) -> list[list[str]]:
    body: bytes = response.body
    assert body.startswith("\ufeff".encode()), "a byte-order mark lets spreadsheets read UTF-8"
    text = body.decode("utf-8-sig")
    assert "\r\n" in text
    return list(csv.reader(io.StringIO(text)))


def test_exports_open_cleanly_in_a_spreadsheet(client: Client) -> None:
    request_id = request_at_security_step(client, **FORMULAS)
    cookie = sign_in(client, OFFICER)
    detail = get(client, f"/console/requests/{request_id}", cookie)
    post(
        client, f"/console/requests/{request_id}/decide", cookie,
        {"decision": "approve", "step": "1", "comment": "=1+1 ok, Hélène"}, detail,
    )  # fmt: skip

    grants = get(client, "/console/grants.csv", cookie)
    assert grants.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="sesame-grants.csv"' in grants.headers["Content-Disposition"]
    header, row = rows_of(grants)
    record = dict(zip(header, row, strict=True))
    assert record["name"] == "'" + FORMULAS["name"]
    assert record["organisation"] == "'" + FORMULAS["organization"]
    assert record["email"] == REQUESTER and record["platforms"] == "linkedin x"

    audit_csv = rows_of(get(client, f"/console/audit.csv?request={request_id}", cookie))
    cells = [cell for row in audit_csv for cell in row]
    assert "'=1+1 ok, Hélène" in cells
    # No cell of either export starts like a formula.
    for cell in cells + [c for c in row]:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell

    exported = json.loads(get(client, "/console/grants.json", cookie).body)
    assert exported[0]["name"] == FORMULAS["name"]  # JSON keeps the value as typed
    audit_json = json.loads(get(client, "/console/audit.json?action=approved", cookie).body)
    assert {e["action"] for e in audit_json} == {"approved"}
    assert all(len(e["hash"]) == 64 for e in audit_json)

    exports = get_services().store.audit.all_matching(AuditFilter(action="exported"))
    what = [str(e.event.comment).split(" ")[0] for e in exports]
    assert what == ["audit.json", "grants.json", "audit.csv", "grants.csv"]  # newest first


def test_the_audit_log_filters_by_type_person_request_and_dates(client: Client) -> None:
    first = request_at_security_step(client)
    second = request_at_security_step(client, email="chloe.roy@mcn.gouv.qc.ca")
    cookie = sign_in(client, OFFICER)

    def seqs(query: str) -> list[int]:
        page = html(get(client, f"/console/audit?{query}", cookie))
        return [int(n) for n in re.findall(r"<tr>\s*<td>(\d+)</td>", page)]

    everything = seqs("")
    assert everything == sorted(everything, reverse=True) and len(everything) >= 12
    by_request = seqs(f"request={second}")
    assert by_request and set(by_request) < set(everything)
    assert not set(by_request) & set(seqs(f"request={first}"))
    assert len(seqs("action=submitted")) == 2
    assert len(seqs("actor=chloe.roy@mcn.gouv.qc.ca&action=confirmed")) == 1
    today = get_services().clock().astimezone(LOCAL_ZONE).date()
    assert seqs(f"from={today:%Y-%m-%d}&to={today:%Y-%m-%d}") == everything
    assert seqs("to=2020-01-01") == []


def test_the_dashboard_draws_inline_svg_charts(client: Client) -> None:
    request_at_security_step(client)
    cookie = sign_in(client, OFFICER)
    page = html(get(client, "/console/dashboard", cookie))
    assert page.count("<svg") == 4
    assert "<script" not in page and "style=" not in page
    assert "En cours d'approbation: 1" in page  # the description screen readers get
    assert "LinkedIn: 1" in page and "Gestionnaire:" in page


def test_the_app_only_ever_appends_to_the_audit_table(client: Client) -> None:
    writes: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        name = model.name
        if name in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"):
            writes.append((name, params))
        elif name == "TransactWriteItems":
            for entry in params["TransactItems"]:
                ((kind, body),) = entry.items()
                writes.append((kind, body))

    aws.dynamodb().meta.events.register("provide-client-params.dynamodb.*", record)
    # A full life: file, confirm, approve twice (link and console), revoke, sign in and out.
    request_id = request_at_security_step(client)
    cookie = sign_in(client, OFFICER)
    detail = get(client, f"/console/requests/{request_id}", cookie)
    post(
        client,
        f"/console/requests/{request_id}/decide",
        cookie,
        {"decision": "approve", "step": "1"},
        detail,
    )
    detail = get(client, f"/console/requests/{request_id}", cookie)
    post(
        client,
        f"/console/requests/{request_id}/revoke",
        cookie,
        {"reason": "Fin du mandat."},
        detail,
    )
    get(client, "/console/audit.csv", cookie)
    post(client, "/logout", cookie, {}, detail)

    on_audit = [(kind, body) for kind, body in writes if body.get("TableName") == AUDIT]
    assert on_audit, "the audit table was never written"
    assert {kind for kind, _ in on_audit} <= {"Put", "PutItem"}
    assert all(body["ConditionExpression"] == "attribute_not_exists(PK)" for _, body in on_audit)
    verdict = get_services().store.audit.verify()
    assert verdict.intact, verdict.summary()
