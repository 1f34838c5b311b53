"""Enforcement against the real slapd: grants open groups, ends close them, reconciliation repairs.

Requests go through HTTP as people file and approve them (in-process moto); the bus events
they publish are handed to the enforcement use case as the EventBridge rule would. The
session's slapd is shared: each test puts the groups back as it found them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client
from ldap3 import MODIFY_ADD, MODIFY_DELETE, Connection, Server

from chalicelib import aws
from chalicelib.adapters.directory_ldap import LdapDirectory, LdapSettings
from chalicelib.dev.events import published_events
from chalicelib.domain.models import AccessEvent
from chalicelib.service.context import get_services
from chalicelib.service.enforce import (
    NO_GRANT,
    Enforcer,
    access_of,
    apply_event,
    failures,
    reconcile,
    retry_failure,
)
from chalicelib.service.enforce_setup import reset_enforcer
from chalicelib.store.audit import AuditFilter
from chalicelib.store.enforcement import EnforcementStore
from local_stack.ldap_process import (
    GROUPS_DN,
    PEOPLE_DN,
    PLACEHOLDER_DN,
    ROOT_DN,
    SERVICE_DN,
    SERVICE_PASSWORD,
    SlapdProcess,
)
from tests.integration.conftest import BUS, link_with, outbox, press
from tests.integration.people import get, post, request_at_security_step, sign_in
from tests.peers.slapd import ldap_settings

pytestmark = pytest.mark.integration

MARIE = "marie.tremblay@mcn.gouv.qc.ca"
CAMILLE = "camille.demo@mcn.gouv.qc.ca"
OFFICER = "securite.demo@mcn.gouv.qc.ca"
LINKEDIN = f"cn=sesame-linkedin,{GROUPS_DN}"
X = f"cn=sesame-x,{GROUPS_DN}"
NOT_OURS = f"cn=reseau-administrateurs,{GROUPS_DN}"


def enforcer_for(url: str, sleeps: list[float]) -> Enforcer:
    """The enforcement use cases over the directory at `url`, recording instead of sleeping."""
    services = get_services()
    directory = LdapDirectory(LdapSettings.model_validate(ldap_settings(url)))
    store = EnforcementStore(aws.dynamodb(), services.settings.main_table)
    return Enforcer(services, directory, store, GROUPS_DN, sleep=sleeps.append)


def approved(client: Client) -> str:
    """File a request for LinkedIn and X as Marie; manager and officer approve it."""
    request_id = request_at_security_step(client)
    officer_mail = next(m for m in outbox() if m.to == [OFFICER])
    assert press(client, link_with(officer_mail, "decide"), decision="approve").status_code == 200
    return request_id


def bus_events() -> list[AccessEvent]:
    """The access events on the bus, as the EventBridge rule hands them to the function."""
    found = []
    for event in published_events(BUS):
        detail: dict[str, Any] = event["detail"]
        found.append(AccessEvent(detail_type=event["detail_type"], **detail))
    return found


def revoke(client: Client, request_id: str) -> None:
    """The officer revokes the grant from the console."""
    cookie = sign_in(client, OFFICER)
    page = get(client, f"/console/requests/{request_id}", cookie)
    answer = post(
        client, f"/console/requests/{request_id}/revoke", cookie, {"reason": "Fin."}, page
    )
    assert answer.status_code == 303


def members(url: str, group: str) -> set[str]:
    """The group's members as the directory holds them (the placeholder left out)."""
    directory = LdapDirectory(LdapSettings.model_validate(ldap_settings(url)))
    return set(directory.members(group))


def by_hand(server: SlapdProcess, group: str, uid: str, kind: str) -> None:
    """What an administrator does in the directory behind Sésame's back."""
    with Connection(Server(server.url), ROOT_DN, server.root_password, auto_bind=True) as conn:
        conn.modify(group, {"member": [(kind, [f"uid={uid},{PEOPLE_DN}"])]})
        assert conn.result["result"] == 0, conn.result


def audited(action: str) -> list[Any]:
    """The audit events of one action, oldest first."""
    found = get_services().store.audit.all_matching(AuditFilter(action=action))
    return sorted((c.event for c in found), key=lambda e: e.at)


@pytest.fixture
def clean_groups(slapd: SlapdProcess) -> Iterator[None]:
    """Leave the session's Sésame groups as the seed has them, whatever the test did."""
    yield
    directory = LdapDirectory(LdapSettings.model_validate(ldap_settings(slapd.url)))
    for group in (LINKEDIN, X):
        for email in directory.members(group):
            directory.remove_member(group, email)


def test_a_grant_adds_its_holder_and_a_revocation_removes_them_once_each(
    client: Client, slapd: SlapdProcess, clean_groups: None
) -> None:
    enforcer = enforcer_for(slapd.url, [])
    request_id = approved(client)
    assert MARIE not in members(slapd.url, LINKEDIN)
    (granted,) = bus_events()
    states = apply_event(enforcer, granted)
    assert {(s.group, s.state) for s in states} == {(LINKEDIN, "applied"), (X, "applied")}
    assert MARIE in members(slapd.url, LINKEDIN) and MARIE in members(slapd.url, X)
    # The console's grant detail: applied, and since when.
    shown = access_of(enforcer, request_id)
    assert {(s.group, s.action, s.state) for s in shown} == {
        (LINKEDIN, "add", "applied"), (X, "add", "applied"),
    }  # fmt: skip
    assert all(s.since >= granted.start for s in shown)
    # Delivered twice (at least once): nothing changes, nothing more is audited.
    apply_event(enforcer, granted)
    assert len(audited("access_applied")) == 2

    revoke(client, request_id)
    revoked = bus_events()[-1]
    assert revoked.detail_type == "AccessRevoked"
    apply_event(enforcer, revoked)
    assert MARIE not in members(slapd.url, LINKEDIN) | members(slapd.url, X)
    assert len(audited("access_applied")) == 4
    # A late copy of AccessGranted (delivered after the revocation) opens nothing.
    assert apply_event(enforcer, granted) == []
    assert MARIE not in members(slapd.url, LINKEDIN)


def test_reconciliation_removes_the_hand_added_adds_the_missing_and_never_touches_others(
    client: Client, slapd: SlapdProcess, clean_groups: None
) -> None:
    enforcer = enforcer_for(slapd.url, [])
    request_id = approved(client)
    apply_event(enforcer, bus_events()[0])
    # Behind Sésame's back: Camille added to LinkedIn, Marie taken out of X, Camille added
    # to the network administrators' group (not Sésame's).
    by_hand(slapd, LINKEDIN, "camille.demo", MODIFY_ADD)
    by_hand(slapd, X, "marie.tremblay", MODIFY_DELETE)
    by_hand(slapd, NOT_OURS, "camille.demo", MODIFY_ADD)
    try:
        not_ours_before = members(slapd.url, NOT_OURS)
        report = reconcile(enforcer)
        assert (report.added, report.removed, report.failed) == (1, 1, 0)
        assert members(slapd.url, LINKEDIN) == {MARIE}
        assert members(slapd.url, X) == {MARIE}
        assert members(slapd.url, NOT_OURS) == not_ours_before
        repairs = audited("access_repaired")
        assert sorted(e.comment for e in repairs) == [
            f"add {MARIE} {X}", f"remove {CAMILLE} {LINKEDIN}",
        ]  # fmt: skip
        # The re-added member is the grant's; the removed one belongs to no grant.
        assert {e.request_id for e in repairs} == {request_id, None}
        # A second run finds nothing to repair.
        assert reconcile(enforcer) == type(report)()
    finally:
        by_hand(slapd, NOT_OURS, "camille.demo", MODIFY_DELETE)


def test_directory_down_is_retried_applied_when_back_and_listed_when_it_stays_down(
    client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SlapdProcess(tmp_path / "slapd") as own:
        sleeps: list[float] = []
        enforcer = enforcer_for(own.url, sleeps)
        request_id = approved(client)
        (granted,) = bus_events()

        # Down at the first attempt, back before the second: applied after one retry.
        own.stop()

        def come_back(delay: float) -> None:
            sleeps.append(delay)
            own.start()

        enforcer.sleep = come_back
        states = apply_event(enforcer, granted)
        assert [s.state for s in states] == ["applied", "applied"]
        assert states[0].attempts == 2
        assert MARIE in members(own.url, LINKEDIN)
        assert len(sleeps) == 1 and 0 <= sleeps[0] <= enforcer.base_delay_s

        # Down for good: every attempt fails, then the failure is listed with its reason.
        own.stop()
        sleeps.clear()
        enforcer.sleep = sleeps.append
        capsys.readouterr()
        states = apply_event(enforcer, granted)
        assert [s.state for s in states] == ["failed", "failed"]
        assert len(sleeps) == 2 * (enforcer.attempts - 1)
        assert all(s <= enforcer.max_delay_s for s in sleeps)
        listed = failures(enforcer)
        assert {(f.request_id, f.group) for f in listed} == {
            (request_id, LINKEDIN),
            (request_id, X),
        }
        assert all(f.reason and "unavailable" in f.reason for f in listed)
        assert len(audited("access_failed")) == 2
        metric_lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert sum(line.get("EnforcementFailures", 0) for line in metric_lines) == 2

        # Retried from the console once the directory is back: applied, no longer listed.
        own.start()
        retried = retry_failure(enforcer, request_id, LINKEDIN, MARIE)
        assert retried is not None and retried.state == "applied"
        assert [f.group for f in failures(enforcer)] == [X]
        assert retry_failure(enforcer, NO_GRANT, LINKEDIN, MARIE) is None


def test_an_unreadable_group_is_left_alone_by_reconciliation(
    client: Client, tmp_path: Path
) -> None:
    with SlapdProcess(tmp_path / "slapd") as own:
        enforcer = enforcer_for(own.url, [])
        approved(client)
        own.stop()
        report = reconcile(enforcer)
        assert (report.added, report.removed) == (0, 0)
        assert LINKEDIN in report.unreadable_groups


@pytest.fixture
def app_directory(slapd: SlapdProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The deployed functions' settings, pointing at the session's slapd."""
    for name, value in {
        "SESAME_LDAP_URL": slapd.url,
        "SESAME_LDAP_BIND_DN": SERVICE_DN,
        "SESAME_LDAP_PASSWORD": SERVICE_PASSWORD,
        "SESAME_LDAP_PEOPLE_BASE": PEOPLE_DN,
        "SESAME_LDAP_GROUPS_BASE": GROUPS_DN,
        "SESAME_LDAP_PLACEHOLDER_DN": PLACEHOLDER_DN,
    }.items():
        monkeypatch.setenv(name, value)
    reset_enforcer()
    yield
    reset_enforcer()


def test_the_bus_rule_s_function_and_the_hourly_job_enforce_through_the_app(
    client: Client, slapd: SlapdProcess, clean_groups: None, app_directory: None
) -> None:
    approved(client)
    (granted,) = published_events(BUS)
    event = client.events.generate_cw_event(
        source="sesame", detail_type="AccessGranted", detail=granted["detail"], resources=[]
    )
    answer = client.lambda_.invoke("apply_access_event", event)
    assert answer.payload == {"applied": 2, "failed": 0}
    assert MARIE in members(slapd.url, LINKEDIN) and MARIE in members(slapd.url, X)
    by_hand(slapd, LINKEDIN, "camille.demo", MODIFY_ADD)
    hourly = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    report = client.lambda_.invoke("reconcile_groups", hourly).payload
    assert report == {"added": 0, "removed": 1, "failed": 0, "unreadable_groups": 0}
    assert members(slapd.url, LINKEDIN) == {MARIE}


def test_without_a_directory_the_functions_change_nothing_and_say_so(client: Client) -> None:
    reset_enforcer()
    event = client.events.generate_cw_event(
        source="sesame", detail_type="AccessGranted", detail={}, resources=[]
    )
    assert client.lambda_.invoke("apply_access_event", event).payload == {"skipped": 1}
    assert client.lambda_.invoke("reconcile_groups", event).payload == {"skipped": 1}
