"""Open figures: monthly aggregates of requests, with every count below 5 withheld as "< 5"."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .models import AccessRequest, RequestStatus, StepStatus

# Counts below this are published as "< 5", never as a number (small counts can name people).
THRESHOLD = 5
WITHHELD = "< 5"
LICENCE = (
    "Licence: CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/); "
    "source: Sésame, aggregates only"
)
GRANTED = {RequestStatus.APPROVED, RequestStatus.REVOKED, RequestStatus.ENDED}
Published = int | str


def published(count: int) -> Published:
    """Return a count as published: the number from 5 up, "< 5" below."""
    return count if count >= THRESHOLD else WITHHELD


def decided_at(request: AccessRequest) -> datetime | None:
    """Return when the request's outcome was decided (last approval, or the refusal)."""
    if request.status in GRANTED:
        times = [s.decided_at for s in request.steps if s.decided_at is not None]
        return max(times) if times else None
    if request.status == RequestStatus.REFUSED:
        refusal = next((s for s in request.steps if s.status == StepStatus.REFUSED), None)
        return refusal.decided_at if refusal else None
    return None


def days_to_decision(request: AccessRequest) -> float | None:
    """Return the days from filing to the outcome (None while undecided)."""
    moment = decided_at(request)
    if moment is None:
        return None
    return (moment - request.created_at).total_seconds() / 86400


def _median(values: list[float]) -> float | None:
    # A median of fewer than 5 requests is withheld like a small count.
    return round(statistics.median(values), 1) if len(values) >= THRESHOLD else None


@dataclass(frozen=True)
class Tally:
    """Raw counts of one group of requests (before small counts are withheld)."""

    filed: int
    granted: int
    refused: int
    expired: int
    trained_path: int
    median_days_to_decision: float | None
    median_days_to_access_trained: float | None
    median_days_to_access_untrained: float | None

    def as_published(self) -> dict[str, Published | float | None]:
        """Return the tally as published (counts below 5 withheld, share only from 5 filed)."""
        share = round(self.trained_path / self.filed, 3) if self.filed >= THRESHOLD else None
        return {
            "filed": published(self.filed),
            "granted": published(self.granted),
            "refused": published(self.refused),
            "expired": published(self.expired),
            "median_days_to_decision": self.median_days_to_decision,
            "trained_path_share": share,
        }


def tally(requests: Iterable[AccessRequest]) -> Tally:
    """Count a group of requests: filed, granted, refused, expired, trained path, medians."""
    chosen = list(requests)
    decisions = [d for r in chosen if (d := days_to_decision(r)) is not None]
    granted = [r for r in chosen if r.status in GRANTED]
    trained = [d for r in granted if r.trained_path and (d := days_to_decision(r)) is not None]
    untrained = [
        d for r in granted if not r.trained_path and (d := days_to_decision(r)) is not None
    ]
    return Tally(
        filed=len(chosen),
        granted=len(granted),
        refused=sum(r.status == RequestStatus.REFUSED for r in chosen),
        expired=sum(r.status == RequestStatus.EXPIRED for r in chosen),
        trained_path=sum(r.trained_path for r in chosen),
        median_days_to_decision=_median(decisions),
        median_days_to_access_trained=_median(trained),
        median_days_to_access_untrained=_median(untrained),
    )


def month_figures(
    month: str, requests: Iterable[AccessRequest], awareness_completions: int
) -> dict[str, object]:
    """Return one month's published figures: totals, then one row per platform and level.

    A request is counted in the month it was filed; a request for two platforms counts in
    each platform's row, and once in the totals.
    """
    chosen = list(requests)
    groups: dict[tuple[str, str], list[AccessRequest]] = {}
    for request in chosen:
        for platform in request.content.platforms:
            groups.setdefault((platform, request.content.level), []).append(request)
    total = tally(chosen)
    return {
        "month": month,
        "totals": {
            **total.as_published(),
            "median_days_to_access_trained": total.median_days_to_access_trained,
            "median_days_to_access_untrained": total.median_days_to_access_untrained,
            "awareness_completions": published(awareness_completions),
        },
        "rows": [
            {"platform": platform, "level": level, **tally(group).as_published()}
            for (platform, level), group in sorted(groups.items())
        ],
    }
