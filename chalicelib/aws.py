"""boto3 clients, created once per process on first use.

boto3 reads AWS_ENDPOINT_URL itself, so the same code reaches the local emulator and AWS.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ses import SESClient
    from mypy_boto3_ssm import SSMClient


def _config() -> Config:
    """Short timeouts and standard retries: a Lambda call should fail fast and cleanly.

    SESAME_AWS_READ_TIMEOUT lengthens the read timeout where the endpoint is slow on purpose
    (the local emulator answers one call at a time): a retried transaction after a timeout
    would otherwise meet its own first write. In AWS, transactions carry an idempotency token.
    """
    return Config(
        connect_timeout=3,
        read_timeout=int(os.environ.get("SESAME_AWS_READ_TIMEOUT", "5")),
        retries={"max_attempts": 3, "mode": "standard"},
    )


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "ca-central-1"


@functools.cache
def _client(service: str) -> Any:
    """Return the process's client of one AWS service, by boto3's name for it."""
    return boto3.client(service, region_name=_region(), config=_config())  # type: ignore[call-overload]


# One accessor per service the code calls, typed as boto3-stubs types that service's client.
dynamodb: Callable[[], DynamoDBClient] = functools.partial(_client, "dynamodb")
ses: Callable[[], SESClient] = functools.partial(_client, "ses")
ssm: Callable[[], SSMClient] = functools.partial(_client, "ssm")  # the signing secret
events: Callable[[], EventBridgeClient] = functools.partial(_client, "events")  # grants' changes
kms: Callable[[], KMSClient] = functools.partial(_client, "kms")  # audit digests' signing key
s3: Callable[[], S3Client] = functools.partial(_client, "s3")  # the write-once digest bucket
lambda_client: Callable[[], Any] = functools.partial(_client, "lambda")  # the digest function


def reset_clients() -> None:
    """Forget cached clients (tests switch emulators between cases)."""
    _client.cache_clear()
