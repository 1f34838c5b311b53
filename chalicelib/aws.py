"""boto3 clients, created once per process on first use.

boto3 reads AWS_ENDPOINT_URL itself, so the same code reaches the local emulator and AWS.
"""

from __future__ import annotations

import functools
import os
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
def dynamodb() -> DynamoDBClient:
    """Return the process's DynamoDB client."""
    return boto3.client("dynamodb", region_name=_region(), config=_config())


@functools.cache
def ses() -> SESClient:
    """Return the process's SES client."""
    return boto3.client("ses", region_name=_region(), config=_config())


@functools.cache
def ssm() -> SSMClient:
    """Return the process's SSM client (read once per cold start, for the signing secret)."""
    return boto3.client("ssm", region_name=_region(), config=_config())


@functools.cache
def events() -> EventBridgeClient:
    """Return the process's EventBridge client (access granted, revoked, ended)."""
    return boto3.client("events", region_name=_region(), config=_config())


@functools.cache
def kms() -> KMSClient:
    """Return the process's KMS client (the digest function signs; verification reads the key)."""
    return boto3.client("kms", region_name=_region(), config=_config())


@functools.cache
def s3() -> S3Client:
    """Return the process's S3 client (the write-once bucket of audit digests)."""
    return boto3.client("s3", region_name=_region(), config=_config())


@functools.cache
def lambda_client() -> Any:
    """Return the process's Lambda client (the console asks the digest function for a digest)."""
    return boto3.client("lambda", region_name=_region(), config=_config())


def reset_clients() -> None:
    """Forget cached clients (tests switch emulators between cases)."""
    dynamodb.cache_clear()
    ses.cache_clear()
    ssm.cache_clear()
    events.cache_clear()
    kms.cache_clear()
    s3.cache_clear()
    lambda_client.cache_clear()
