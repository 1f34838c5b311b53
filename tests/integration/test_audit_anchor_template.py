"""The packaged template, statement by statement: only the digest function may sign digests
with the key and write them to the write-once bucket; the API and the other jobs may not."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from tests.integration.test_deployment import package, template  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration
DIGEST_ROLE = "WriteAuditDigestRole"
WRITES = ("s3:PutObject", "s3:PutObjectRetention", "s3:DeleteObject", "s3:DeleteObjectVersion")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allows(statement: dict[str, Any], action: str) -> bool:
    return statement.get("Effect") == "Allow" and any(
        fnmatch.fnmatchcase(action, pattern) for pattern in _as_list(statement["Action"])
    )


def _role_statements(packaged: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    roles: dict[str, list[dict[str, Any]]] = {}
    for name, resource in packaged["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            roles[name] = [
                statement
                for policy in resource["Properties"]["Policies"]
                for statement in policy["PolicyDocument"]["Statement"]
            ]
    return roles


def test_only_the_digest_functions_role_may_sign_with_the_key(
    template: dict[str, Any],  # noqa: F811
) -> None:
    key = template["Resources"]["AuditDigestKey"]["Properties"]
    assert (key["KeySpec"], key["KeyUsage"]) == ("RSA_2048", "SIGN_VERIFY")
    statements = key["KeyPolicy"]["Statement"]
    signers = [s for s in statements if _allows(s, "kms:Sign")]
    assert [s["Principal"] for s in signers] == [{"AWS": {"Fn::GetAtt": [DIGEST_ROLE, "Arn"]}}]
    # The account's administrators manage the key but cannot sign, so no IAM policy can
    # hand kms:Sign to another role (the key policy must allow the account first).
    (admin,) = [s for s in statements if "root" in json.dumps(s["Principal"])]
    assert not _allows(admin, "kms:Sign")
    roles = _role_statements(template)
    assert DIGEST_ROLE in roles and len(roles) >= 5, roles.keys()
    for role, found in roles.items():
        assert not [s for s in found if _allows(s, "kms:Sign")], role


def test_only_the_digest_function_writes_the_bucket_and_nothing_deletes(
    template: dict[str, Any],  # noqa: F811
) -> None:
    roles = _role_statements(template)
    for role, found in roles.items():
        for statement in found:
            writes = [a for a in WRITES if _allows(statement, a)]
            if role == DIGEST_ROLE and writes:
                assert writes == ["s3:PutObject"], statement
                assert "AuditDigestBucket" in json.dumps(statement["Resource"])
            else:
                assert not writes, (role, statement)
    digest = roles[DIGEST_ROLE]
    assert {a for s in digest for a in _as_list(s["Action"])} == {
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
        "dynamodb:GetItem", "s3:PutObject", "s3:GetObject", "s3:ListBucket",
    }  # fmt: skip
    policy = template["Resources"]["AuditDigestBucketPolicy"]["Properties"]["PolicyDocument"]
    (only,) = [s for s in policy["Statement"] if s["Sid"] == "OnlyTheDigestFunctionWrites"]
    assert only["Effect"] == "Deny" and only["Principal"] == "*"
    assert only["Condition"] == {
        "ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": [DIGEST_ROLE, "Arn"]}}
    }
    (replace,) = [s for s in policy["Statement"] if s["Sid"] == "NeverReplaceADigest"]
    assert replace["Condition"] == {"Null": {"s3:if-none-match": "true"}}


def test_the_bucket_is_write_once_versioned_and_private(
    template: dict[str, Any],  # noqa: F811
) -> None:
    bucket = template["Resources"]["AuditDigestBucket"]
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain" and props["ObjectLockEnabled"] is True
    retention = props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert retention == {"Mode": "COMPLIANCE", "Years": {"Ref": "DigestRetentionYears"}}
    assert template["Parameters"]["DigestRetentionYears"]["Default"] == 7
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}


def test_the_digest_function_runs_every_hour_with_its_own_role(
    template: dict[str, Any],  # noqa: F811
) -> None:
    function = template["Resources"]["WriteAuditDigest"]["Properties"]
    assert function["Role"] == {"Fn::GetAtt": [DIGEST_ROLE, "Arn"]}
    schedules = [e["Properties"]["Schedule"] for e in function["Events"].values()]
    assert schedules == ["rate(1 hour)"]
    others = [
        r["Properties"]["Role"]
        for name, r in template["Resources"].items()
        if r["Type"] == "AWS::Serverless::Function" and name != "WriteAuditDigest"
    ]
    assert others and {"Fn::GetAtt": [DIGEST_ROLE, "Arn"]} not in others


def test_the_api_may_only_ask_the_digest_function_for_a_digest(
    template: dict[str, Any],  # noqa: F811
) -> None:
    roles = _role_statements(template)
    for role, found in roles.items():
        invokers = [s for s in found if _allows(s, "lambda:InvokeFunction")]
        assert [s["Resource"] for s in invokers] in (
            [],
            [{"Fn::GetAtt": ["WriteAuditDigest", "Arn"]}],
        ), role
    assert [s for s in roles["ApiHandlerRole"] if _allows(s, "lambda:InvokeFunction")]
    variables = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert variables["SESAME_DIGEST_FUNCTION"] == {"Ref": "WriteAuditDigest"}
