"""Ask for a digest now (the console's button): the digest function writes it.

The API's role may not sign with the digest key nor write the bucket; it may only invoke the
digest function, asynchronously, which then writes a genuine digest of the chain as it
stands. On the local stack (one process, no separate role) the digest is written here.
A view calls `request_digest(get_settings().stage, clock())` and shows "asked" or "written".
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any, Literal, Protocol

from .. import aws
from ..domain.errors import ServiceUnavailable
from ..settings import LOCAL_STAGES
from .digest import get_digest_deps, write_digest

FUNCTION_VARIABLE = "SESAME_DIGEST_FUNCTION"


class Invoker(Protocol):
    """The one Lambda call this needs."""

    def invoke(self, **kwargs: Any) -> Any:
        """Invoke a function."""


def request_digest(
    stage: str, now: datetime, invoker: Invoker | None = None
) -> Literal["written", "asked"]:
    """Write a digest now (local stages) or ask the digest function for one (deployed)."""
    if stage in LOCAL_STAGES:
        write_digest(get_digest_deps(), now)
        return "written"
    function = os.environ.get(FUNCTION_VARIABLE)
    if not function:
        raise ServiceUnavailable(f"{FUNCTION_VARIABLE} is not set: the template names it")
    client = invoker if invoker is not None else aws.lambda_client()
    answer = client.invoke(
        FunctionName=function,
        InvocationType="Event",  # the function runs under its own role, after this returns
        Payload=json.dumps({"source": "console", "requested_at": now.isoformat()}).encode(),
    )
    if int(answer.get("StatusCode", 0)) != 202:
        raise ServiceUnavailable("the digest function did not accept the request")
    return "asked"
