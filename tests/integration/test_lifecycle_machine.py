"""A Hypothesis state machine over the request lifecycle, checked after every step.

Rules drive the use cases (submit, confirm, decide by the right and the wrong people, replay
a used link, withdraw, revoke, months passing (expiry, a grant's end), SES failing, the sweep)
against in-process moto. A small model
says what each rule should do; the invariants compare the store, the audit chain and the
outbox with it after each step. A new transition (expiry, a grant's end) is one more rule,
one more entry in ALLOWED and MAILS, and nothing else.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from moto import mock_aws

from chalicelib import aws
from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.errors import DomainError, LimitReached
from chalicelib.domain.models import ClientInfo, LinkKind, RequestStatus, StepStatus
from chalicelib.service import console, mail
from chalicelib.service.confirm import confirm_request
from chalicelib.service.context import Services, get_services, reset_services
from chalicelib.service.decide import decide_step
from chalicelib.service.links import fill_links, link_well_formed, token_hash
from chalicelib.service.submit import submit_request
from chalicelib.service.sweep import deliver_due
from chalicelib.service.timed import run_timed_jobs
from local_stack.aws_setup import create_event_bus, create_tables, verify_sender
from tests.conftest import PROJECT_ROOT, valid_form
from tests.integration.conftest import AUDIT, BUS, MAIN

pytestmark = pytest.mark.integration

S = RequestStatus
REQUESTERS = ("marie.tremblay@mcn.gouv.qc.ca", "paul.durand@mcn.gouv.qc.ca")
MANAGER = "jean.gestion@mcn.gouv.qc.ca"
OFFICERS = ("securite.demo@mcn.gouv.qc.ca", "rssi.demo@mcn.gouv.qc.ca")
COLLEAGUE = "luc.voisin@mcn.gouv.qc.ca"
# What each action may start from (the model's view of the workflow's transitions).
ALLOWED: dict[str, set[RequestStatus]] = {
    "confirm": {S.PENDING_CONFIRMATION},
    "decide": {S.PENDING_APPROVAL},
    "withdraw": {S.PENDING_CONFIRMATION, S.PENDING_APPROVAL},
    "revoke": {S.APPROVED},
}
# What months without a decision do (the scheduled lifecycle job): the most final action due.
AFTER_MONTHS = {
    S.PENDING_CONFIRMATION: S.EXPIRED,
    S.PENDING_APPROVAL: S.EXPIRED,
    S.APPROVED: S.ENDED,
}
# The audit action each transition writes, once.
AUDITED = {
    "submitted", "confirmed", "approved", "refused", "withdrawn", "revoked", "expired", "ended",
}  # fmt: skip
HREF = re.compile(r'href="([^"]+)"')
CLIENT = ClientInfo()
MAX_REQUESTS = 2
REACHED: set[RequestStatus] = set()  # every status some example reached (the run is not vacuous)


@dataclass
class Model:
    """What the machine expects of one request."""

    requester: str
    status: RequestStatus = S.PENDING_CONFIRMATION
    audited: Counter[str] = field(default_factory=Counter)
    mails: Counter[str] = field(default_factory=Counter)
    used: list[str] = field(default_factory=list)


class Lifecycle(RuleBasedStateMachine):
    """Requests moved through their lifecycle by people doing right and wrong things."""

    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        self._aws = mock_aws()
        self._aws.start()
        reset_services()
        create_tables(boto3.client("dynamodb"), {"main": MAIN, "audit": AUDIT})
        verify_sender(
            boto3.client("ses"), load_policy(PROJECT_ROOT / "policies").organisation.sender
        )
        create_event_bus(boto3.client("events"), boto3.client("logs"), BUS)
        self.services: Services = get_services()
        self.now: datetime = self.services.clock()
        self.services.clock = lambda: self.now
        self.model: dict[str, Model] = {}
        self.links: dict[str, list[str]] = {}  # request id -> raw tokens e-mailed
        self.ses_failures = 0
        self.keys = 0
        real_render = mail.render_email

        def render(templates: Any, name: str, langs: Any, context: Any) -> Any:
            message = real_render(templates, name, langs, context)
            # The message holds link placeholders; the tokens are derived as the sender does.
            filled = fill_links(self.services.settings.signing_secret, message.html)
            tokens = [u.rsplit("/", 1)[1].split("?")[0] for u in HREF.findall(filled)]
            self.links.setdefault(context["request"].id, []).extend(
                t for t in tokens if link_well_formed(t)
            )
            return message

        self._patches = [
            mock.patch("chalicelib.service.mail.render_email", render),
            mock.patch.object(aws.ses(), "send_raw_email", self._send(aws.ses().send_raw_email)),
        ]
        for patch in self._patches:
            patch.start()

    def teardown(self) -> None:
        for patch in self._patches:
            patch.stop()
        self._aws.stop()
        reset_services()

    def _send(self, real: Any) -> Any:
        def send(**kwargs: Any) -> Any:
            if self.ses_failures:
                self.ses_failures -= 1
                raise ClientError({"Error": {"Code": "Throttling"}}, "SendRawEmail")
            return real(**kwargs)

        return send

    # ----- helpers -----------------------------------------------------------------------
    def _link(self, request_id: str, kind: LinkKind, approver: str | None = None) -> str | None:
        """The newest e-mailed link of a kind (for an approver) that is not used yet."""
        for token in reversed(self.links.get(request_id, [])):
            record = self.services.store.load_link(token_hash(token))
            fits = record and record.kind == kind and record.used_at is None
            if fits and (approver is None or record.approver == approver):
                return token
        return None

    def _expect_failure(self, model: Model, action: str, attempt: Any) -> Any:
        """Run an attempt; it must fail exactly when the model says the action is not allowed."""
        try:
            result = attempt()
        except LimitReached:
            raise
        except DomainError:
            assert model.status not in ALLOWED[action], (action, model)
            return None
        assert model.status in ALLOWED[action], (action, model.status)
        return result

    # ----- rules -------------------------------------------------------------------------
    # A few requests per run, so that runs reach the end of the chain and beyond.
    @precondition(lambda self: len(self.model) < MAX_REQUESTS)
    @rule(target=requests, requester=st.sampled_from(REQUESTERS))
    def submit(self, requester: str) -> Any:
        self.keys += 1
        form = valid_form(email=requester)
        try:
            outcome = submit_request(self.services, form, f"key-{self.keys}", "fr", CLIENT)
        except LimitReached:
            return "limited"
        assert outcome.request is not None, outcome.errors
        self.model[outcome.request.id] = Model(requester=requester)
        self.model[outcome.request.id].audited["submitted"] += 1
        self.model[outcome.request.id].mails["confirm_request"] += 1
        return outcome.request.id

    @rule(request_id=requests)
    def confirm(self, request_id: str) -> None:
        model = self.model.get(request_id)
        token = self._link(request_id, LinkKind.CONFIRM)
        if model is None or token is None:
            return
        if self._expect_failure(
            model, "confirm", lambda: confirm_request(self.services, token, CLIENT)
        ):
            model.status = S.PENDING_APPROVAL
            model.audited["confirmed"] += 1
            model.mails["approval_needed"] += 1  # the manager
            model.used.append(token)

    @rule(request_id=requests)
    def approve(self, request_id: str) -> None:
        self.decide_by_the_approver(request_id, "approve")

    @rule(request_id=requests)
    def refuse(self, request_id: str) -> None:
        self.decide_by_the_approver(request_id, "refuse")

    def decide_by_the_approver(self, request_id: str, verdict: Any) -> None:
        model = self.model.get(request_id)
        request = self.services.store.load_request(request_id)
        if model is None or request is None or model.status != S.PENDING_APPROVAL:
            return
        index = request.current_step_index()
        assert index is not None
        approver = request.steps[index].approvers[0]
        token = self._link(request_id, LinkKind.DECIDE, approver)
        assert token is not None, f"no e-mailed link for {approver} at step {index}"
        decide_step(self.services, token, verdict, "motif donné", CLIENT)
        model.used.append(token)
        model.audited["approved" if verdict == "approve" else "refused"] += 1
        last = index == len(request.steps) - 1
        if verdict == "refuse":
            model.status = S.REFUSED
            model.mails["request_refused"] += 1
        elif last:
            model.status = S.APPROVED
            model.mails["request_approved"] += 1
            model.mails["AccessGranted"] += 1  # the event for provisioning, on the bus
        else:
            model.mails["approval_needed"] += len(request.steps[index + 1].approvers)

    @rule(request_id=requests, then_revoke=st.booleans())
    def everyone_approves_at_once(self, request_id: str, then_revoke: bool) -> None:
        """Confirm, then approve every step in turn, and maybe revoke (runs reach grants,
        revocations and ends, not only the first steps)."""
        if self.model.get(request_id) is None:
            return
        if self.model[request_id].status == S.PENDING_CONFIRMATION:
            self.confirm(request_id)
        while self.model[request_id].status == S.PENDING_APPROVAL:
            self.decide_by_the_approver(request_id, "approve")
        if then_revoke:
            self.revoke(request_id, OFFICERS[0])

    @rule(
        request_id=requests,
        person=st.sampled_from([*REQUESTERS, COLLEAGUE, MANAGER]),
        step=st.sampled_from([0, 1, 5]),
    )
    def decide_by_the_wrong_person(self, request_id: str, person: str, step: int) -> None:
        model = self.model.get(request_id)
        request = self.services.store.load_request(request_id)
        if model is None or request is None:
            return
        index = request.current_step_index()
        if index is not None and step == index and person in request.steps[index].approvers:
            return  # the right person after all
        with pytest.raises(DomainError):
            console.decide_in_console(
                self.services, request_id, step, person, "approve", "", CLIENT
            )

    @rule(request_id=requests)
    def replay_a_used_link(self, request_id: str) -> None:
        model = self.model.get(request_id)
        if model is None or not model.used:
            return
        token = model.used[-1]
        record = self.services.store.load_link(token_hash(token))
        assert record is not None and record.used_at is not None
        with pytest.raises(DomainError):
            if record.kind == LinkKind.CONFIRM:
                confirm_request(self.services, token, CLIENT)
            else:
                decide_step(self.services, token, "approve", "", CLIENT)

    @rule(request_id=requests, by_requester=st.booleans())
    def withdraw(self, request_id: str, by_requester: bool) -> None:
        model = self.model.get(request_id)
        if model is None:
            return
        person = model.requester if by_requester else COLLEAGUE
        request = self.services.store.load_request(request_id)
        assert request is not None
        if not by_requester:
            with pytest.raises(DomainError):
                console.withdraw_request(self.services, request_id, person, CLIENT)
            return
        done = self._expect_failure(
            model,
            "withdraw",
            lambda: console.withdraw_request(self.services, request_id, person, CLIENT),
        )
        if done:
            if model.status == S.PENDING_APPROVAL:
                index = request.current_step_index()
                assert index is not None
                model.mails["request_withdrawn"] += len(request.steps[index].approvers)
            model.status = S.WITHDRAWN
            model.audited["withdrawn"] += 1

    @rule(request_id=requests, officer=st.sampled_from(OFFICERS))
    def revoke(self, request_id: str, officer: str) -> None:
        model = self.model.get(request_id)
        if model is None:
            return
        done = self._expect_failure(
            model,
            "revoke",
            lambda: console.revoke_grant(self.services, request_id, officer, "fin", CLIENT),
        )
        if done:
            model.status = S.REVOKED
            model.audited["revoked"] += 1
            model.mails["access_revoked"] += 1
            model.mails["AccessRevoked"] += 1

    # Only while one request is granted and another still waits, so that runs reach the end
    # of the chain (and revocations) first, and time then both ends a grant and expires.
    @precondition(
        lambda self: (
            {m.status for m in self.model.values()} & {S.APPROVED}
            and {m.status for m in self.model.values()}
            & {S.PENDING_CONFIRMATION, S.PENDING_APPROVAL}
        )
    )
    @rule()
    def months_pass(self) -> None:
        """Half a year without anyone acting: the scheduled job expires or ends what is open."""
        self.now += timedelta(days=200)
        run_timed_jobs(self.services)
        for model in self.model.values():
            after = AFTER_MONTHS.get(model.status)
            if after == S.EXPIRED:
                model.audited["expired"] += 1
                model.mails["request_expired"] += 1
            elif after == S.ENDED:
                model.audited["ended"] += 1
                model.mails["access_ended"] += 1
                model.mails["AccessEnded"] += 1
            model.status = after or model.status

    @rule(times=st.integers(min_value=1, max_value=3))
    def ses_starts_failing(self, times: int) -> None:
        self.ses_failures = times

    @rule()
    def sweep(self) -> None:
        self.ses_failures = 0
        self.now += timedelta(hours=7)  # past the grace period and the longest backoff
        deliver_due(self.services)
        pending = [e for e in self._outbox() if e["status"] != "sent"]
        assert pending == [], pending

    # ----- invariants --------------------------------------------------------------------
    def _outbox(self) -> list[dict[str, Any]]:
        import json

        items = self.services.store._client.scan(TableName=MAIN)["Items"]
        return [
            {**json.loads(i["body"]["S"]), "status": i["status"]["S"]}
            for i in items
            if i["PK"]["S"].startswith("OUTBOX#")
        ]

    @invariant()
    def each_request_is_in_the_state_the_model_expects(self) -> None:
        for request_id, model in self.model.items():
            request = self.services.store.load_request(request_id)
            assert request is not None and request.status == model.status, (request, model)
            REACHED.add(model.status)

    @invariant()
    def a_grant_was_approved_at_every_step_by_distinct_people_none_the_requester(self) -> None:
        for request_id, model in self.model.items():
            if model.status not in (S.APPROVED, S.REVOKED):
                continue
            request = self.services.store.load_request(request_id)
            assert request is not None
            deciders = [s.decided_by for s in request.steps]
            assert all(s.status == StepStatus.APPROVED for s in request.steps)
            assert None not in deciders and len(set(deciders)) == len(deciders)
            assert model.requester not in deciders

    @invariant()
    def one_audit_event_per_transition_and_the_chain_holds(self) -> None:
        for request_id, model in self.model.items():
            actions = Counter(
                e.action for e in self.services.store.events_for(request_id) if e.action in AUDITED
            )
            assert actions == model.audited, (actions, model.audited)
        verdict = self.services.store.audit.verify()
        assert verdict.intact, verdict.summary()

    @invariant()
    def every_notification_a_transition_owes_is_in_the_outbox(self) -> None:
        written: dict[str, Counter[str]] = {}
        for entry in self._outbox():
            written.setdefault(entry["request_id"], Counter())[entry["template"]] += 1
        for request_id, model in self.model.items():
            assert written.get(request_id, Counter()) == model.mails, (request_id, written)


def _check(machine: Lifecycle) -> None:
    machine.each_request_is_in_the_state_the_model_expects()
    machine.a_grant_was_approved_at_every_step_by_distinct_people_none_the_requester()
    machine.one_audit_event_per_transition_and_the_chain_holds()
    machine.every_notification_a_transition_owes_is_in_the_outbox()


def _walk_through_every_status() -> None:
    """One fixed walk that visits every status, the invariants checked after each step."""
    machine = Lifecycle()
    try:
        granted = machine.submit(REQUESTERS[0])
        machine.everyone_approves_at_once(granted, then_revoke=False)
        _check(machine)
        refused = machine.submit(REQUESTERS[1])
        machine.confirm(refused)
        machine.refuse(refused)
        _check(machine)
        withdrawn = machine.submit(REQUESTERS[0])
        machine.withdraw(withdrawn, by_requester=True)
        revoked = machine.submit(REQUESTERS[1])
        machine.everyone_approves_at_once(revoked, then_revoke=True)
        _check(machine)
        machine.submit(REQUESTERS[0])  # still waiting for its confirmation
        waiting = machine.submit(REQUESTERS[1])
        machine.confirm(waiting)
        _check(machine)
        machine.months_pass()  # the grant ends, both waiting requests expire
        machine.sweep()
        _check(machine)
    finally:
        machine.teardown()


def test_the_lifecycle_holds_whatever_people_do(stage_env: None) -> None:
    REACHED.clear()
    run_state_machine_as_test(Lifecycle, settings=settings(max_examples=20, stateful_step_count=25))
    # The random runs explore the interleavings (not vacuously: requests get past the first
    # steps and close in at least two ways) ...
    assert len(REACHED - {S.PENDING_CONFIRMATION, S.PENDING_APPROVAL}) >= 2, REACHED
    # ... and one fixed walk makes sure every status is reached with the invariants holding.
    _walk_through_every_status()
    assert set(RequestStatus) <= REACHED, set(RequestStatus) - REACHED
