"""Figures for the console's dashboard, computed from requests (pure)."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from .models import AccessRequest, StepStatus
from .open_figures import GRANTED, THRESHOLD, decided_at


def step_opened_at(request: AccessRequest, index: int) -> datetime | None:
    """When a step started waiting: confirmation for the first, the previous decision after."""
    if index == 0:
        return request.confirmed_at
    return request.steps[index - 1].decided_at


@dataclass
class Dashboard:
    """Requests by status and by platform; median hours from a step's opening to its decision,
    and from filing to access on the trained path and off it."""

    total: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_platform: Counter[str] = field(default_factory=Counter)
    waits_by_role: dict[str, list[float]] = field(default_factory=dict)
    # Hours from filing to access of each granted request, on the trained path or not.
    access_hours: dict[str, list[float]] = field(
        default_factory=lambda: {"trained": [], "untrained": []}
    )

    def median_hours(self) -> dict[str, float]:
        """Return the median wait per step role, in hours (roles never decided are absent)."""
        return {role: statistics.median(waits) for role, waits in self.waits_by_role.items()}

    def median_access_hours(self) -> dict[str, float | None]:
        """Return the median hours to access, trained path and others (None under 5 grants).

        As in the open figures, a median of fewer than 5 requests is not shown.
        """
        return {
            group: statistics.median(hours) if len(hours) >= THRESHOLD else None
            for group, hours in self.access_hours.items()
        }


def dashboard(requests: Iterable[AccessRequest]) -> Dashboard:
    """Count requests by status and platform; collect how long each decided step waited."""
    figures = Dashboard()
    for request in requests:
        figures.total += 1
        figures.by_status[request.status.value] += 1
        figures.by_platform.update(set(request.content.platforms))
        granted = decided_at(request) if request.status in GRANTED else None
        if granted is not None:
            group = "trained" if request.trained_path else "untrained"
            hours = (granted - request.created_at).total_seconds() / 3600
            figures.access_hours[group].append(max(hours, 0.0))
        for index, step in enumerate(request.steps):
            opened = step_opened_at(request, index)
            if (
                step.status in (StepStatus.APPROVED, StepStatus.REFUSED)
                and opened
                and step.decided_at
            ):
                hours = (step.decided_at - opened).total_seconds() / 3600
                figures.waits_by_role.setdefault(step.role, []).append(max(hours, 0.0))
    return figures
