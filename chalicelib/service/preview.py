"""Tell a requester, before filing, which chain and bounds their selection gets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..domain.submission import SubmissionResult, validate_submission
from .context import Services


def preview_submission(services: Services, form: Mapping[str, Sequence[str]]) -> SubmissionResult:
    """Validate without storing anything: the routing and pinned manager are what matter."""
    return validate_submission(form, services.policy)
