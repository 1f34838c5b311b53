"""The usage-policy campaign: grant holders acknowledge a new version, or lose the grant.

Driven by the lifecycle job (service/timed.py). A grant filed under the current version was
accepted on the form; any other active grant's holder is e-mailed at the campaign's start,
reminded every few working days, and at the deadline the grant ends (`AccessEnded`) or is
flagged to the officers, as `[trust]` in rules.toml says. Each action is one transaction on the
grant, conditioned on its version, so two runs at once act once.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from .. import aws
from ..domain.awareness import person_ref
from ..domain.errors import Conflict, DomainError
from ..domain.models import AccessRequest, AuditEvent, LinkToken
from ..domain.timers import end_grant
from ..domain.trust import (
    CampaignDue,
    acknowledgement_deadline,
    campaign_due,
    campaign_reminders,
)
from ..store.campaign import CampaignStore
from ..store.console import RequestFilter
from .acknowledge import has_acknowledged
from .audit import SYSTEM_ACTOR
from .context import Services, work_calendar
from .mail import PendingEmail, access_ended, compose, deliver, to_requester

log = logging.getLogger(__name__)
KEYS = ("campaign_ask", "campaign_remind", "campaign_end", "campaign_flag")


def _event(
    services: Services, grant: AccessRequest, action: str, now: datetime, reason: str
) -> AuditEvent:
    return AuditEvent.model_validate(
        {
            "request_id": grant.id,
            "event_id": services.new_id(),
            "at": now,
            "action": action,
            "actor": SYSTEM_ACTOR,
            "via": "schedule",
            "reason": reason[:200],
        }
    )


def _ask(
    services: Services, grant: AccessRequest, now: datetime, deadline: datetime, emails: int
) -> tuple[AccessRequest, AuditEvent, list[PendingEmail]]:
    """E-mail the holder; `emails` is the count to record (1 + the reminders due by now)."""
    version = services.policy.version
    asked = grant.model_copy(
        update={"ack_asked_version": version, "ack_emails": emails, "version": grant.version + 1}
    )
    context = {
        "policy_version": version,
        "deadline": deadline,
        "reminder": asked.ack_emails > 1,
        "ends": services.policy.rules.trust.on_no_acknowledgement == "end",
        "acknowledge_url": f"{services.settings.public_base_url}/usage-policy",
    }
    email = to_requester(services, asked, "usage_policy_acknowledge", now, context)
    reason = f"usage policy {version}: " + ("reminder" if context["reminder"] else "asked")
    return asked, _event(services, asked, "reminded", now, reason), [email]


def _end(
    services: Services, grant: AccessRequest, now: datetime
) -> tuple[AccessRequest, AuditEvent, list[PendingEmail], list[LinkToken]]:
    ended = end_grant(grant, now)
    links, emails = access_ended(services, ended, now)
    reason = f"usage policy {services.policy.version} not acknowledged"
    return ended, _event(services, ended, "ended", now, reason), emails, links


def _needs_acknowledgement(services: Services, grant: AccessRequest) -> bool:
    version = services.policy.version
    if grant.content.policy_version == version:
        return False  # accepted on the form when filed
    return not has_acknowledged(services, person_ref(grant.content.email), version)


def _act(services: Services, grant: AccessRequest, started: datetime, now: datetime) -> str | None:
    rules, calendar = services.policy.rules.trust, work_calendar(services.policy)
    version = services.policy.version
    deadline = acknowledgement_deadline(started, rules, calendar)
    asked_before = grant.ack_emails if grant.ack_asked_version == version else 0
    links: list[LinkToken] = []
    if asked_before == 0 and now < deadline:
        changed, event, emails = _ask(services, grant, now, deadline, 1)
        action = "campaign_ask"
    else:
        due = campaign_due(started, False, max(asked_before - 1, 0), rules, calendar, now)
        if due is None or (due == CampaignDue.FLAG and grant.ack_flagged_at is not None):
            return None
        if due == CampaignDue.REMIND:
            # One e-mail even when a run missed several reminders: it counts them all.
            due_now = sum(m <= now for m in campaign_reminders(started, rules, calendar))
            changed, event, emails = _ask(services, grant, now, deadline, 1 + due_now)
            action = "campaign_remind"
        elif due == CampaignDue.END:
            changed, event, emails, links = _end(services, grant, now)
            action = "campaign_end"
        else:
            changed = grant.model_copy(update={"ack_flagged_at": now, "version": grant.version + 1})
            reason = f"usage policy {version} not acknowledged by the deadline"
            event, emails, action = (
                _event(services, changed, "flagged", now, reason),
                [_flag_notice(services, changed, now)],
                "campaign_flag",
            )
    services.store.apply_transition(
        grant,
        changed,
        event,
        None,
        now,
        links,
        [e.entry for e in emails],
    )
    deliver(services, emails)
    return action


def _flag_notice(services: Services, grant: AccessRequest, now: datetime) -> PendingEmail:
    """The officers' e-mail for a grant kept open past the deadline: theirs to revoke or not."""
    return compose(
        services, grant, "campaign_flagged", list(services.policy.officer_emails()), ["fr", "en"],
        now, {
            "policy_version": services.policy.version,
            "console_url": f"{services.settings.public_base_url}/console/requests/{grant.id}",
        },
    )  # fmt: skip


def run_campaign(services: Services) -> dict[str, int]:
    """Act on every active grant whose holder has not acknowledged the current usage policy."""
    now = services.clock()
    version = services.policy.version
    if version in services.closed_campaigns:
        # The lifecycle's steady state: this process saw the campaign closed, nothing to read.
        return {key: 0 for key in KEYS}
    campaigns = CampaignStore(aws.dynamodb(), services.settings.main_table)
    started, closed = campaigns.start(version, now)
    done: Counter[str] = Counter()
    if closed:
        services.closed_campaigns.add(version)
        return {key: 0 for key in KEYS}
    waiting = 0
    for grant in list(services.store.console.all_grants(RequestFilter(), now)):
        if not _needs_acknowledgement(services, grant):
            continue
        waiting += 1
        try:
            action = _act(services, grant, started, now)
        except Conflict:
            continue  # another run (or a person) changed the grant first
        except DomainError as error:
            log.warning("campaign on %s failed: %s", grant.id, error)
            continue
        if action:
            done[action] += 1
    rules, calendar = services.policy.rules.trust, work_calendar(services.policy)
    past_deadline = now >= acknowledgement_deadline(started, rules, calendar)
    if waiting == 0 or (past_deadline and not done):
        # No grant left to ask (none at all under an older version, or the deadline dealt
        # with each): grants filed from now on accepted this version on the form.
        campaigns.close(version, now)
        services.closed_campaigns.add(version)
    return {key: done.get(key, 0) for key in KEYS}


def flagged_grants(services: Services) -> list[AccessRequest]:
    """The active grants flagged to the officers in the current version's campaign."""
    version = services.policy.version
    return [
        grant
        for grant in services.store.console.all_grants(RequestFilter(), services.clock())
        if grant.ack_asked_version == version
        and grant.ack_flagged_at is not None
        and not has_acknowledged(services, person_ref(grant.content.email), version)
    ]


def campaign_progress(services: Services) -> dict[str, int]:
    """Count the active grants by where they stand in the current version's campaign.

    `accepted`: filed under the current version; `acknowledged`: the holder acknowledged it
    since; `waiting`: asked, not acknowledged yet (`flagged` among them once past a "flag"
    deadline); `not_asked`: the campaign has not reached them yet. Grants already ended by
    the campaign are in the audit log (`ended`, reason "usage policy ... not acknowledged").
    """
    version = services.policy.version
    counts: Counter[str] = Counter()
    for grant in services.store.console.all_grants(RequestFilter(), services.clock()):
        if grant.content.policy_version == version:
            counts["accepted"] += 1
        elif has_acknowledged(services, person_ref(grant.content.email), version):
            counts["acknowledged"] += 1
        elif grant.ack_asked_version == version:
            counts["waiting"] += 1
            counts["flagged"] += grant.ack_flagged_at is not None
        else:
            counts["not_asked"] += 1
    return {
        key: counts.get(key, 0)
        for key in ("accepted", "acknowledged", "waiting", "flagged", "not_asked")
    }
