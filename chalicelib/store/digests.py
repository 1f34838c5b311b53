"""The write-once store of audit digests: KMS signs, S3 (Object Lock, compliance) keeps.

Only the digest function's role may `kms:Sign` with the key and `s3:PutObject` in the bucket;
everyone who verifies needs only the key's public key (read once) and read access to the
bucket. An object is never replaced by this code; listing every version shows one that was.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.audit_digest import SIGNING_ALGORITHM, Digest, SignedDigest, digest_name
from ..domain.errors import ServiceUnavailable
from ..domain.rsa_pss import RsaPublicKey, public_key_from_der

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_s3 import S3Client

RECENT = timedelta(days=3)  # where the latest digest is looked for first (they are hourly)


@dataclass(frozen=True)
class StoredDigests:
    """Every digest as first written, in time order, and the names written more than once."""

    digests: list[SignedDigest]
    overwritten: list[str]


@contextmanager
def _aws_errors() -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise ServiceUnavailable(f"digest store: {error}") from error


def _signed(name: str, body: bytes) -> SignedDigest:
    """Read a stored object; an unreadable one keeps its bytes and fails its signature."""
    try:
        document = json.loads(body)
        return SignedDigest(
            name=name,
            payload=str(document["payload"]).encode("ascii"),
            signature=base64.b64decode(str(document["signature"]), validate=True),
        )
    except (ValueError, KeyError, TypeError, UnicodeEncodeError):
        return SignedDigest(name=name, payload=body, signature=b"")


class DigestStore:
    """Sign, write and read back the digests of one chain."""

    def __init__(
        self, s3: S3Client, kms: KMSClient, bucket: str, key_id: str, chain: str = "main"
    ) -> None:
        self._s3 = s3
        self._kms = kms
        self.bucket = bucket
        self.key_id = key_id
        self.chain = chain

    def _prefix(self) -> str:
        return f"digests/{self.chain}/"

    def _names(self, start_after: str = "") -> Iterator[str]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self._prefix()}
        if start_after:
            kwargs["StartAfter"] = start_after
        with _aws_errors():
            while True:
                page = self._s3.list_objects_v2(**kwargs)
                yield from (o["Key"] for o in page.get("Contents", []))
                if not page.get("IsTruncated"):
                    return
                kwargs["ContinuationToken"] = page["NextContinuationToken"]

    def _read(self, name: str, version: str | None = None) -> SignedDigest:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": name}
        if version:
            kwargs["VersionId"] = version
        with _aws_errors():
            body = self._s3.get_object(**kwargs)["Body"].read()
        return _signed(name, body)

    def latest(self, now: datetime) -> SignedDigest | None:
        """Return the newest digest (a listing of the last days first, else the whole list)."""
        recent = digest_name(self.chain, now - RECENT)
        name = max(self._names(recent), default=None) or max(self._names(), default=None)
        return self._read(name) if name else None

    def write(self, digest: Digest) -> SignedDigest:
        """Sign a digest with the KMS key and store it (refused if the name exists)."""
        payload = digest.payload()
        name = digest_name(self.chain, digest.at)
        with _aws_errors():
            signature = self._kms.sign(
                KeyId=self.key_id,
                Message=payload,
                MessageType="RAW",
                SigningAlgorithm="RSASSA_PSS_SHA_256",  # SIGNING_ALGORITHM, as a literal
            )["Signature"]
            document = {
                "payload": payload.decode("ascii"),
                "signature": base64.b64encode(signature).decode("ascii"),
                "key_id": self.key_id,
                "signing_algorithm": SIGNING_ALGORITHM,
            }
            self._s3.put_object(
                Bucket=self.bucket,
                Key=name,
                Body=json.dumps(document, indent=1).encode("ascii"),
                ContentType="application/json",
                IfNoneMatch="*",  # never a second version under one name
            )
        return SignedDigest(name=name, payload=payload, signature=signature)

    def public_key(self) -> RsaPublicKey:
        """Return the key's public half (one KMS call for a whole verification)."""
        with _aws_errors():
            der = self._kms.get_public_key(KeyId=self.key_id)["PublicKey"]
        return public_key_from_der(der)

    def all(self) -> StoredDigests:
        """Return every digest as FIRST written (oldest version), and the names overwritten."""
        first: dict[str, str] = {}
        counts: dict[str, int] = {}
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self._prefix()}
        with _aws_errors():
            while True:
                page = self._s3.list_object_versions(**kwargs)
                for version in page.get("Versions", []):
                    name = version["Key"]
                    counts[name] = counts.get(name, 0) + 1
                    # Versions of a key are listed newest first: the last one seen is the oldest.
                    first[name] = version["VersionId"]
                for marker in page.get("DeleteMarkers", []):
                    counts[marker["Key"]] = counts.get(marker["Key"], 0) + 1
                if not page.get("IsTruncated"):
                    break
                kwargs["KeyMarker"] = page["NextKeyMarker"]
                kwargs["VersionIdMarker"] = page["NextVersionIdMarker"]
        names = sorted(first)
        digests = [self._read(name, first[name]) for name in names]
        overwritten = [name for name in sorted(counts) if counts[name] > 1 or name not in first]
        return StoredDigests(digests=digests, overwritten=overwritten)
