"""The console's "digest now": written at once on the local stack; deployed, the API only asks
the digest function (it may not sign), and a refusal is a clean error, never a false 'done'."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.service.context import get_services
from chalicelib.service.digest import get_digest_deps
from chalicelib.service.digest_on_demand import request_digest
from local_stack.aws_setup import create_digest_anchor

pytestmark = pytest.mark.integration


class LambdaInvocations:
    """Stands in for Lambda's Invoke (moto runs functions only with Docker): records calls."""

    def __init__(self, status: int = 202) -> None:
        self.calls: list[dict[str, Any]] = []
        self.status = status

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"StatusCode": self.status}


def test_on_the_local_stack_the_digest_is_written_at_once(aws: None) -> None:
    create_digest_anchor(
        boto3.client("kms"),
        boto3.client("s3"),
        "sesame-test-audit-digests",
        "alias/sesame-test-audit-digest",
        1,
    )
    assert request_digest("test", get_services().clock()) == "written"
    assert len(get_digest_deps().digests.all().digests) == 1


def test_deployed_the_api_asks_the_digest_function_and_signs_nothing(
    monkeypatch: pytest.MonkeyPatch, aws: None
) -> None:
    monkeypatch.setenv("SESAME_DIGEST_FUNCTION", "sesame-prod-WriteAuditDigest")
    invocations = LambdaInvocations()
    now = get_services().clock()
    assert request_digest("prod", now, invocations) == "asked"
    (call,) = invocations.calls
    assert (call["FunctionName"], call["InvocationType"]) == (
        "sesame-prod-WriteAuditDigest",
        "Event",
    )
    assert json.loads(call["Payload"])["source"] == "console"
    with pytest.raises(ServiceUnavailable):
        request_digest("prod", now, LambdaInvocations(status=403))
    monkeypatch.delenv("SESAME_DIGEST_FUNCTION")
    with pytest.raises(ServiceUnavailable):
        request_digest("prod", now, LambdaInvocations())
