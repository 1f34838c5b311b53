"""The dashboard's bar charts, laid out as inline SVG (no script, no style attribute)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from ..domain.policy import Policy
from ..domain.stats import Dashboard
from ..rendering.i18n import Translator

# The SVG's own units: its width scales to the page (26rem at most, the phone's width below).
WIDTH = 360
BAR_AREA = 260
FONT = 14
LINE = 18
BAR_HEIGHT = 20
ROW_GAP = 12
# A label's characters per line: 14 px text averages well under 8.5 px a character, even in
# capitals, so a wrapped line stays inside WIDTH (the browser test measures the real boxes).
LABEL_CHARS = 40


@dataclass(frozen=True)
class Bar:
    """One bar: its label (one or more lines above it), the value shown, where it is drawn."""

    label: str
    lines: tuple[str, ...]
    value: str
    y: int
    width: int
    # A figure not shown (a median of fewer than 5 requests): no bar, the value says why.
    withheld: bool = False

    @property
    def bar_y(self) -> int:
        """Top of the bar, below the label's lines."""
        return self.y + len(self.lines) * LINE + 4


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart: each label on its own lines, its bar and value below."""

    bars: list[Bar]
    height: int
    width: int = WIDTH
    font: int = FONT
    line: int = LINE
    bar_height: int = BAR_HEIGHT

    @property
    def description(self) -> str:
        """The data in words, for screen readers."""
        return "; ".join(f"{bar.label}: {bar.value}" for bar in self.bars)


def bar_chart(rows: Sequence[tuple[str, float | None, str]]) -> BarChart:
    """Lay out `(label, value, value as shown)` rows; bars scale to the largest value.

    The value must be the one printed (rounded as shown), so equal texts get equal bars; a
    value of None is withheld: its row has no bar, only the text saying so.
    """
    top = max((value for _, value, _ in rows if value is not None), default=0.0) or 1.0
    bars, y = [], 4
    for label, value, shown in rows:
        lines = tuple(textwrap.wrap(label, LABEL_CHARS, break_long_words=True)) or ("",)
        width = 0 if value is None else round(BAR_AREA * value / top)
        bar = Bar(label, lines, shown, y, width, withheld=value is None)
        bars.append(bar)
        y = bar.bar_y + BAR_HEIGHT + ROW_GAP
    return BarChart(bars=bars, height=y)


def wait_shown(hours: float, t: Translator) -> tuple[float, str]:
    """Return a median wait as printed and the value its bar is drawn from (the same)."""
    minutes = hours * 60
    if minutes < 1:
        return 0.0, t("people.chart_under_a_minute")
    if hours < 1:
        whole = round(minutes)
        return whole / 60, t("console.minutes", minutes=whole)
    tenths = round(hours, 1)
    number = f"{tenths:.1f}".replace(".", "," if t.lang == "fr" else ".")
    return tenths, t("console.hours", hours=number)


@dataclass(frozen=True)
class DashboardCharts:
    """The dashboard's four charts, labelled in the page's language."""

    by_status: BarChart
    by_platform: BarChart
    waits: BarChart
    access: BarChart


def dashboard_charts(figures: Dashboard, t: Translator, policy: Policy) -> DashboardCharts:
    """Turn the figures into labelled bar charts (minutes under an hour, "< 1 min" under a
    minute; hours with a decimal comma in French)."""
    statuses = [
        (t(f"request_status.{status}"), float(count), str(count))
        for status, count in figures.by_status.most_common()
    ]
    platforms = [
        (policy.label("platforms", platform, t.lang), float(count), str(count))
        for platform, count in figures.by_platform.most_common()
    ]
    waits = []
    for role, hours in sorted(figures.median_hours().items()):
        value, shown = wait_shown(hours, t)
        label = t(f"role.{role}") if t.has(f"role.{role}") else role
        waits.append((label, value, shown))
    access: list[tuple[str, float | None, str]] = []
    for group, median in figures.median_access_hours().items():
        label = t(f"console.access_{group}")
        if median is None:
            access.append((label, None, t("console.access_withheld")))
        else:
            access.append((label, *wait_shown(median, t)))
    return DashboardCharts(
        bar_chart(statuses), bar_chart(platforms), bar_chart(waits), bar_chart(access)
    )
