"""One structured log line per request: never a token, a session id or typed text."""

from __future__ import annotations

import json
import logging

from chalice.app import Request

log = logging.getLogger("sesame.access")
log.setLevel(logging.INFO)


def log_request(request: Request, status: int, seconds: float) -> None:
    """Log route template (not the path, which may hold a token), outcome and latency."""
    context: dict[str, object] = request.context or {}
    log.info(
        json.dumps(
            {
                "request_id": str(context.get("requestId", "")),
                "method": request.method,
                # The route template, e.g. /decide/{token}: the token itself never reaches a log.
                "route": str(context.get("resourcePath", "")),
                "status": status,
                "latency_ms": round(seconds * 1000, 1),
            }
        )
    )
