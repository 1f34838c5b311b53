"""What the policy files say of each other (checked after each file is validated)."""

from __future__ import annotations

from .catalogue import ANY, MANAGER, SECURITY, Route
from .policy import Policy


def _route_errors(policy: Policy, index: int, route: Route) -> list[tuple[str, str, str]]:
    catalogue, rules = policy.catalogue, policy.rules
    where = f"routes.{index}"
    problems = [
        ("rules.toml", f"{where}.platforms", f"unknown platform {platform_id!r}")
        for platform_id in route.platforms
        if policy.platform(platform_id) is None
    ]
    if route.risk not in (ANY, *catalogue.risks()):
        problems.append(("rules.toml", f"{where}.risk", f"no platform has risk {route.risk!r}"))
    if route.level not in (ANY, *(lv.id for lv in catalogue.levels)):
        problems.append(("rules.toml", f"{where}.level", f"unknown level {route.level!r}"))
    problems.extend(
        ("rules.toml", f"{where}.chain", f"unknown group {step!r}")
        for step in route.chain[1:-1]
        if policy.group(step) is None
    )
    if route.chain_when_trained is not None and policy.awareness is None:
        problems.append(("rules.toml", f"{where}.chain_when_trained", "no awareness module"))
    if route.min_justification_chars > rules.max_justification_chars:
        problems.append(("rules.toml", f"{where}.min_justification_chars", "above the maximum"))
    return problems


def reference_errors(policy: Policy) -> list[tuple[str, str, str]]:
    """Check what one file says about another; return (file, field, reason) for each problem."""
    problems: list[tuple[str, str, str]] = []
    catalogue, rules = policy.catalogue, policy.rules
    group_ids = {g.id for g in rules.groups}
    if len(group_ids) != len(rules.groups) or group_ids & {MANAGER, SECURITY}:
        problems.append(("rules.toml", "groups", "group ids must be unique, not manager/security"))
    for index, route in enumerate(rules.routes):
        problems.extend(_route_errors(policy, index, route))
    problems.extend(
        ("rules.toml", "routes", f"no route for {platform.id} at {level.id}")
        for platform in catalogue.platforms
        for level in catalogue.levels
        if not any(r.matches(platform, level.id) for r in rules.routes)
    )
    problems.extend(
        ("rules.toml", f"lifecycle.fallback.{role}", f"unknown role {target!r}")
        for role, target in rules.lifecycle.fallback.items()
        if target != SECURITY and policy.group(target) is None
    )
    problems.extend(
        ("directory.toml", f"employees.{index}.manager", "domain not allowed")
        for index, entry in enumerate(policy.directory)
        if not policy.email_domain_allowed(entry.manager)
    )
    # Every approver the policy names is sent e-mails, and a recipient outside the allowed
    # domains is refused at delivery (issue 13, item 4): say so when the policy is read.
    problems.extend(
        ("organisation.toml", f"security_officers.{index}.email", "domain not allowed")
        for index, officer in enumerate(policy.organisation.security_officers)
        if not policy.email_domain_allowed(officer.email)
    )
    problems.extend(
        ("rules.toml", f"groups.{group.id}.members", f"domain not allowed: {member}")
        for group in rules.groups
        for member in group.members
        if not policy.email_domain_allowed(member)
    )
    return problems
