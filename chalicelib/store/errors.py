"""Turn DynamoDB's ClientError codes into domain errors, raised from the original."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.errors import Conflict, DomainError, ServiceUnavailable

_CONFLICT_REASONS = {"ConditionalCheckFailed", "TransactionConflict", "DuplicateItem"}
_RETRYABLE_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
}


def translate(error: ClientError | BotoCoreError) -> DomainError:
    """Map an AWS error to Conflict (someone else won) or ServiceUnavailable (retry later)."""
    if isinstance(error, BotoCoreError):
        return ServiceUnavailable(type(error).__name__)
    code = error.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        return Conflict(code)
    if code == "TransactionCanceledException":
        reasons = {r.get("Code", "") for r in error.response.get("CancellationReasons", [])}
        if reasons & _CONFLICT_REASONS:
            return Conflict(",".join(sorted(reasons - {"None"})))
        return ServiceUnavailable(",".join(sorted(reasons - {"None"})) or code)
    if code in _RETRYABLE_CODES:
        return ServiceUnavailable(code)
    # Anything else is a programming or configuration error: let it surface as a 500.
    raise error
