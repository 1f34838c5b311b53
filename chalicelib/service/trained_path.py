"""The notice the security officers get when a grant took the trained path (issue 17)."""

from __future__ import annotations

from datetime import datetime

from ..domain.models import AccessRequest, RequestStatus
from .context import Services
from .mail import PendingEmail, compose


def trained_path_notice(
    services: Services, granted: AccessRequest, now: datetime
) -> list[PendingEmail]:
    """Tell the officers of a grant decided without them (none when they decided it)."""
    if granted.status != RequestStatus.APPROVED or not granted.trained_path:
        return []
    # The officers decide nothing here, but they still see every grant and may revoke it
    # from the console, so the message names the requester's pass (version, score, date).
    return [
        compose(
            services,
            granted,
            "trained_path_notice",
            list(services.policy.officer_emails()),
            ["fr", "en"],
            now,
            {
                "completion": granted.trained_pass,
                "console_url": f"{services.settings.public_base_url}/console/requests/{granted.id}",
            },
        )
    ]
