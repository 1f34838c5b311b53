"""Enforcement as the deployed functions run it: the directory from the environment, lazily.

Enforcement is on when `SESAME_LDAP_URL` is set. The bind password comes from SSM
(`SESAME_LDAP_PASSWORD_PARAMETER`, a SecureString) when deployed, or `SESAME_LDAP_PASSWORD`
locally. `SESAME_OWNED_GROUPS_BASE` (default: the groups base) bounds the groups Sésame
owns. ldap3 is imported only here, on the first event, never by the web pages.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

from pydantic import SecretStr

from ..domain.errors import DomainError
from ..domain.models import AccessEvent
from .context import get_services
from .enforce import Enforcer, apply_event, reconcile

log = logging.getLogger(__name__)


def _password() -> str:
    parameter = os.environ.get("SESAME_LDAP_PASSWORD_PARAMETER")
    if parameter:
        from .. import aws

        answer = aws.ssm().get_parameter(Name=parameter, WithDecryption=True)
        return str(answer["Parameter"]["Value"])
    return os.environ.get("SESAME_LDAP_PASSWORD", "")


@functools.cache
def get_enforcer() -> Enforcer | None:
    """Build the enforcer once per process; None when no directory is configured."""
    url = os.environ.get("SESAME_LDAP_URL")
    if not url:
        return None
    from .. import aws
    from ..adapters.directory_ldap import LdapDirectory, LdapSettings
    from ..store.enforcement import EnforcementStore

    groups_base = os.environ.get("SESAME_LDAP_GROUPS_BASE", "")
    settings = LdapSettings(
        url=url,
        bind_dn=os.environ.get("SESAME_LDAP_BIND_DN", ""),
        bind_password=SecretStr(_password()),
        people_base_dn=os.environ.get("SESAME_LDAP_PEOPLE_BASE", ""),
        groups_base_dn=groups_base,
        flavour="ad" if os.environ.get("SESAME_LDAP_FLAVOUR") == "ad" else "openldap",
        placeholder_member_dn=os.environ.get("SESAME_LDAP_PLACEHOLDER_DN") or None,
        start_tls=os.environ.get("SESAME_LDAP_START_TLS") == "true",
        connect_timeout_s=2.0,
        receive_timeout_s=3,
    )
    services = get_services()
    return Enforcer(
        services,
        LdapDirectory(settings),
        EnforcementStore(aws.dynamodb(), services.settings.main_table),
        os.environ.get("SESAME_OWNED_GROUPS_BASE") or groups_base,
        # Bounded so that a down directory is recorded well within the function's timeout.
        attempts=3,
        base_delay_s=0.25,
        max_delay_s=1.0,
    )


def on_access_event(detail_type: str, detail: dict[str, Any]) -> dict[str, int]:
    """Apply one bus event (the EventBridge rule's target); counts of what happened."""
    enforcer = get_enforcer()
    if enforcer is None:
        log.warning("enforcement is off (SESAME_LDAP_URL unset): %s not applied", detail_type)
        return {"skipped": 1}
    try:
        event = AccessEvent.model_validate({"detail_type": detail_type, **detail})
    except ValueError:
        log.error("not an access event: %s", detail_type)
        return {"refused": 1}
    states = apply_event(enforcer, event)
    return {
        "applied": sum(s.state == "applied" for s in states),
        "failed": sum(s.state == "failed" for s in states),
    }


def run_reconciliation() -> dict[str, int]:
    """Reconcile the owned groups with the active grants (hourly, and on demand)."""
    enforcer = get_enforcer()
    if enforcer is None:
        return {"skipped": 1}
    try:
        report = reconcile(enforcer)
    except DomainError as error:  # the table could not be read: nothing was changed
        log.error("reconciliation did not run: %s", error)
        raise
    return {
        "added": report.added,
        "removed": report.removed,
        "failed": report.failed,
        "unreadable_groups": len(report.unreadable_groups),
    }


def reset_enforcer() -> None:
    """Forget the cached enforcer (tests change the environment)."""
    get_enforcer.cache_clear()
