"""The local stand-in for the EventBridge rule that hands access events to enforcement.

Locally nothing runs Lambda from EventBridge (moto has no targets that invoke code). The
local bus's rule copies every `sesame` event to a log group (chalicelib/dev/events.py);
this relay reads it back on each jobs period and calls the same use case the deployed
function calls (`on_access_event`), once per event: the events already handed over are
remembered by fingerprint in the state folder, so a restart of `make run` replays nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

RELAYED_NAME = "access-events-relayed.json"


def fingerprint(event: dict[str, Any]) -> str:
    """Return what identifies one bus event (its type, time and detail)."""
    raw = json.dumps([event["detail_type"], event["time"], event["detail"]], sort_keys=True)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class AccessEventRelay:
    """Hand each new access event of the local bus to enforcement, once."""

    def __init__(self, state_file: Path, bus: str) -> None:
        self._file = state_file
        self._bus = bus
        self._seen: set[str] = (
            set(json.loads(state_file.read_text("utf-8"))) if state_file.exists() else set()
        )

    def relay(self) -> dict[str, int]:
        """Apply the events not handed over yet, oldest first; return the summed counts."""
        from chalicelib.dev.events import published_events
        from chalicelib.service.enforce_setup import on_access_event

        totals: dict[str, int] = {}
        for event in published_events(self._bus):
            key = fingerprint(event)
            if key in self._seen or not isinstance(event["detail"], dict):
                continue
            counts = on_access_event(str(event["detail_type"]), event["detail"])
            for name, count in counts.items():
                totals[name] = totals.get(name, 0) + count
            # Remembered once applied (or skipped): a failure is listed by enforcement itself.
            self._seen.add(key)
            self._file.write_text(json.dumps(sorted(self._seen)), "utf-8")
        return totals
