"""The local stack's movable clock: /dev/clock moves it forward so that reminders, escalations
and expiries can be watched in minutes. Never used outside the local stages."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

OFFSET_FILE = "clock-offset-seconds"
_lock = threading.Lock()
_offset: list[timedelta] = []  # loaded once; a list so the lock guards one shared cell


def _offset_file() -> Path | None:
    state_dir = os.environ.get("SESAME_STATE_DIR")
    return Path(state_dir) / OFFSET_FILE if state_dir else None


def offset() -> timedelta:
    """Return how far the clock was moved forward (kept under .local/, so a restart keeps it)."""
    with _lock:
        if not _offset:
            path = _offset_file()
            seconds = float(path.read_text(encoding="ascii")) if path and path.exists() else 0.0
            _offset.append(timedelta(seconds=seconds))
        return _offset[0]


def advance(hours: int) -> timedelta:
    """Move the clock forward by whole hours; return the new offset."""
    moved = offset() + timedelta(hours=hours)
    with _lock:
        _offset[:] = [moved]
        path = _offset_file()
        if path is not None:
            path.write_text(str(moved.total_seconds()), encoding="ascii")
    return moved


def now() -> datetime:
    """Return the local stack's time: the real UTC time plus the offset."""
    return datetime.now(UTC) + offset()


def forget() -> None:
    """Forget the loaded offset (tests switch state folders)."""
    with _lock:
        _offset.clear()
