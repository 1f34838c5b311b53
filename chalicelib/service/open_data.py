"""Open figures: monthly aggregates published as CSV and JSON under CC BY 4.0 (issue 17)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from .. import aws
from ..domain.open_figures import LICENCE, month_figures
from ..store.figures import FigureQueries
from .awareness import trust_store
from .context import Services

CSV_COLUMNS = (
    "month", "platform", "level", "filed", "granted", "refused", "expired",
    "median_days_to_decision", "trained_path_share", "median_days_to_access_trained",
    "median_days_to_access_untrained", "awareness_completions",
)  # fmt: skip
# The month's totals are the row whose platform and level are "*".
ALL = "*"


def _month_bounds(month: str) -> tuple[datetime, datetime]:
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


def months_until(now: datetime, count: int) -> list[str]:
    """Return the `count` whole months before `now` (UTC), oldest first, as "YYYY-MM"."""
    year, month = now.astimezone(UTC).year, now.astimezone(UTC).month
    found = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        found.append(f"{year:04d}-{month:02d}")
    return found[::-1]


def open_figures(services: Services, months: list[str] | None = None) -> dict[str, object]:
    """Compute the published figures of some months (default: the last 12 whole months)."""
    chosen = months or months_until(services.clock(), 12)
    queries = FigureQueries(aws.dynamodb(), services.settings.main_table)
    passes = trust_store(services)
    figures = []
    for month in chosen:
        start, end = _month_bounds(month)
        requests = list(queries.filed_between(start, end))
        figures.append(month_figures(month, requests, passes.passes_between(start, end)))
    return {"licence": LICENCE, "generated_at": services.clock().isoformat(), "months": figures}


def open_figures_json(services: Services, months: list[str] | None = None) -> str:
    """Return /open-data/requests.json: the figures with their licence line."""
    return json.dumps(open_figures(services, months), ensure_ascii=False, indent=1)


def open_figures_csv(services: Services, months: list[str] | None = None) -> str:
    """Return /open-data/requests.csv: a licence line, a header, totals then rows per month."""
    data = open_figures(services, months)
    out = io.StringIO()
    out.write(f"# {data['licence']}\n")
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n", restval="")
    writer.writeheader()
    for month in data["months"]:  # type: ignore[attr-defined]
        writer.writerow({"month": month["month"], "platform": ALL, "level": ALL, **month["totals"]})
        for row in month["rows"]:
            writer.writerow({"month": month["month"], **row})
    return out.getvalue()
