"""Working days in Québec: weekends and the policy's public holidays do not count in delays."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

QUEBEC = ZoneInfo("America/Toronto")
SATURDAY = 5


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are worked, in the organisation's time zone."""

    holidays: frozenset[date] = frozenset()
    zone: tzinfo = field(default=QUEBEC)

    def is_working_day(self, day: date) -> bool:
        """Tell whether a day is worked (Monday to Friday, not a listed holiday)."""
        return day.weekday() < SATURDAY and day not in self.holidays

    def _next_working_day(self, day: date) -> date:
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """Return the instant `days` working days after `start`, at the same local time.

        A start on a day off counts from the beginning of the next working day: a request
        confirmed on Saturday afternoon has waited two working days on Wednesday at midnight.
        """
        local = start.astimezone(self.zone)
        day = local.date()
        wall = (local.hour, local.minute, local.second, local.microsecond)
        if not self.is_working_day(day):
            day = self._next_working_day(day)
            wall = (0, 0, 0, 0)
        for _ in range(days):
            day = self._next_working_day(day)
        moment = datetime(day.year, day.month, day.day, *wall, tzinfo=self.zone)
        return moment.astimezone(UTC)
