"""The deployment package and template, proven offline: contents, IAM, tables, refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from local_stack.aws_setup import table_definitions
from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import AUDIT, MAIN

pytestmark = pytest.mark.integration
BUILD = PROJECT_ROOT / "build" / "dev"
# Statements allowed a "*" resource, each because AWS has no resource-level permission for it.
STAR_ALLOWED: set[str] = set()
AUDIT_ACTIONS = {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"}


@pytest.fixture(scope="module")
def package() -> Path:
    """The dev package that `make package STAGE=dev` built (built now when missing)."""
    template = BUILD / "sam.json"
    sources = [
        PROJECT_ROOT / "infra" / "template.json",
        PROJECT_ROOT / "app.py",
        PROJECT_ROOT / "Makefile",
        PROJECT_ROOT / "chalicelib" / "adapters" / "policy_files.py",
        PROJECT_ROOT / "requirements.txt",
        PROJECT_ROOT / "requirements-layer.txt",
        PROJECT_ROOT / "ops" / "build_layer.py",
        *(PROJECT_ROOT / ".chalice").glob("*.json"),
        *(PROJECT_ROOT / "chalicelib" / "web" / "routes").glob("*.py"),
    ]
    if not template.exists() or any(s.stat().st_mtime > template.stat().st_mtime for s in sources):
        subprocess.run(["make", "package", "STAGE=dev"], cwd=PROJECT_ROOT, check=True)
    return BUILD


@pytest.fixture(scope="module")
def template(package: Path) -> dict[str, Any]:
    return dict(json.loads((package / "sam.json").read_text()))


def test_the_unpacked_package_alone_serves_the_form_and_renders_an_email(
    package: Path, tmp_path: Path
) -> None:
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        archive.extractall(tmp_path)
    script = r"""
import json, sys
import app, chalicelib, jinja2, pydantic
root = sys.argv[1]
for module in (app, chalicelib, jinja2, pydantic):
    assert module.__file__.startswith(root), module.__file__
event = {
    "resource": "/", "path": "/", "httpMethod": "GET", "body": None, "isBase64Encoded": False,
    "headers": {"accept-language": "fr-CA"}, "multiValueHeaders": {},
    "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": None, "stageVariables": None,
    "requestContext": {"resourcePath": "/", "httpMethod": "GET", "requestId": "r1",
                       "path": "/api/", "identity": {"sourceIp": "127.0.0.1"}},
}
response = app.app(event, None)
assert response["statusCode"] == 200, response
assert "Demander l" in response["body"], response["body"][:300]
from chalicelib.notify.messages import render_email
from chalicelib.adapters.policy_files import load_policy
from chalicelib.settings import get_settings
policy = load_policy(get_settings().policy_dir)
assert get_settings().templates_dir.as_posix().startswith(root)
from chalicelib.domain.submission import validate_submission
from chalicelib.domain.workflow import new_request
from datetime import datetime, timezone
form = {"name": ["A"], "email": ["a@mcn.gouv.qc.ca"], "organization": ["O"],
        "manager_email": ["b@mcn.gouv.qc.ca"], "platforms": ["x"], "purpose": ["monitoring"],
        "level": ["read"], "justification": ["j" * 60], "duration_days": ["10"],
        "accept_policy": ["yes"]}
content = validate_submission(form, policy).content
request = new_request("abcdef0123456789", content, policy, "fr", datetime.now(timezone.utc))
mail = render_email(get_settings().templates_dir, "confirm_request", ["fr"],
                    {"request": request, "policy": policy, "confirm_url": "u", "status_url": "s"})
assert mail.text and "<html" in mail.html
print("ok")
"""
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(tmp_path),
        "SESAME_STAGE": "test",
        "SESAME_SIGNING_SECRET": "s" * 40,
        "SESAME_STATE_DIR": str(tmp_path / "state"),
    }
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


def test_the_packaged_app_serves_the_form_from_the_validated_snapshot_and_bytecode(
    package: Path, tmp_path: Path
) -> None:
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path)
    assert "policies/.validated.json" in names
    assert "__pycache__/app.cpython-311.pyc" in names
    assert "chalicelib/adapters/__pycache__/policy_files.cpython-311.pyc" in names
    script = r"""
import importlib.util, json, sys
from pathlib import Path
import app
from chalicelib.domain import policy as models
from chalicelib.adapters.policy_files import SNAPSHOT, policy_digest
root = Path(sys.argv[1])
# The shipped bytecode is what runs (hash-checked against the shipped sources).
assert app.__cached__ and Path(app.__cached__).is_file(), app.__cached__
data = Path(app.__cached__).read_bytes()
assert int.from_bytes(data[4:8], "little") & 0b11 == 0b11, "not a checked-hash .pyc"
assert data[8:16] == importlib.util.source_hash(Path(app.__file__).read_bytes())
event = {
    "resource": "/", "path": "/", "httpMethod": "GET", "body": None, "isBase64Encoded": False,
    "headers": {}, "multiValueHeaders": {},
    "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": None, "stageVariables": None,
    "requestContext": {"resourcePath": "/", "httpMethod": "GET", "requestId": "r1",
                       "path": "/api/", "identity": {"sourceIp": "127.0.0.1"}},
}
response = app.app(event, None)
assert response["statusCode"] == 200, response
assert "LinkedIn" in response["body"]
snapshot = json.loads((root / "policies" / SNAPSHOT).read_text("utf-8"))
assert snapshot["digest"] == policy_digest(root / "policies")
# Served from the snapshot: no policy model built its validator.
built = [n for n in ("Policy", "Organisation", "Catalogue", "Rules")
         if getattr(models, n).__pydantic_complete__]
assert not built, built
print("ok")
"""
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(tmp_path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "SESAME_STAGE": "test",
        "SESAME_SIGNING_SECRET": "s" * 40,
        "SESAME_STATE_DIR": str(tmp_path / "state"),
    }
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")
    assert "validating the files" not in result.stderr


def _statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            for policy in resource["Properties"]["Policies"]:
                for statement in policy["PolicyDocument"]["Statement"]:
                    found.append((name, statement))
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_deployed_api_has_no_development_route(template: dict[str, Any]) -> None:
    # app.py registers /dev/* only with SESAME_DEV_ROUTES=1 (local stack, tests); the package
    # is built without it, even from this test run, which sets it.
    assert os.environ.get("SESAME_DEV_ROUTES") == "1"
    paths = set(template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"])
    assert {"/", "/confirm/{token}", "/console", "/static/{name}"} <= paths
    assert [p for p in paths if p == "/dev" or p.startswith("/dev/")] == []


def test_the_dev_routes_exist_only_in_a_process_that_asks_for_them() -> None:
    script = "import app\nprint(sorted(p for p in app.app.routes if p.startswith('/dev')))"
    found = {}
    for value in ("", "1"):
        env = {**os.environ, "SESAME_DEV_ROUTES": value}
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        found[value] = done.stdout.strip().splitlines()[-1]
    assert found[""] == "[]"
    assert "/dev/outbox" in found["1"] and "/dev/clock" in found["1"]


def test_every_iam_statement_names_its_resources(template: dict[str, Any]) -> None:
    statements = _statements(template)
    assert statements, "no role found: the check would pass vacuously"
    for role, statement in statements:
        if statement.get("Sid") in STAR_ALLOWED:
            continue
        assert "*" not in _as_list(statement["Resource"]), (role, statement)
        assert not any(action.endswith(":*") for action in _as_list(statement["Action"]))


def test_nothing_may_update_or_delete_audit_events(template: dict[str, Any]) -> None:
    for _role, statement in _statements(template):
        resources = json.dumps(statement["Resource"])
        if "AuditTable" in resources:
            assert set(_as_list(statement["Action"])) <= AUDIT_ACTIONS, statement


def test_every_function_gets_the_table_names(template: dict[str, Any]) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["SESAME_MAIN_TABLE"] == {"Ref": "MainTable"}
    assert variables["SESAME_AUDIT_TABLE"] == {"Ref": "AuditTable"}
    functions = [r for r in template["Resources"].values() if r["Type"].endswith("::Function")]
    assert len(functions) >= 2
    for function in functions:
        assert function["Properties"]["Environment"]["Variables"]["SESAME_STAGE"] == "dev"


def test_the_tables_deployed_are_the_tables_the_local_stack_creates(
    template: dict[str, Any], aws: None
) -> None:
    from local_stack.aws_setup import create_tables

    create_tables(boto3.client("dynamodb"), {"main": MAIN, "audit": AUDIT})
    for logical_id, name in (("MainTable", MAIN), ("AuditTable", AUDIT)):
        deployed = template["Resources"][logical_id]["Properties"]
        local = boto3.client("dynamodb").describe_table(TableName=name)["Table"]
        assert local["KeySchema"] == deployed["KeySchema"]
        assert sorted(local["AttributeDefinitions"], key=str) == sorted(
            deployed["AttributeDefinitions"], key=str
        )
        assert {i["IndexName"] for i in local.get("GlobalSecondaryIndexes", [])} == {
            i["IndexName"] for i in deployed.get("GlobalSecondaryIndexes", [])
        }
        assert deployed["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
        assert deployed["DeletionProtectionEnabled"]
    assert set(table_definitions()) == {"main", "audit"}


def _static_value(mapping: str) -> str:
    """Read an API Gateway static mapping value: between single quotes, inner ones escaped."""
    assert mapping.startswith("'") and mapping.endswith("'") and len(mapping) >= 2, mapping
    inner = mapping[1:-1]
    assert "'" not in inner.replace("\\'", ""), f"unescaped quote in {mapping}"
    return inner.replace("\\'", "'")


def test_the_gateways_own_answers_carry_the_apps_security_headers(
    template: dict[str, Any],
) -> None:
    # Issue 13, item 10: API Gateway answers unknown paths (403 "Missing Authentication
    # Token"), its throttling (429) and its own 5xx itself, without the app's middleware.
    from chalicelib.web.headers import BASE_HEADERS, HSTS

    expected = {**BASE_HEADERS, "Cache-Control": "no-store", "Strict-Transport-Security": HSTS}
    (api,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Api"]
    responses = api["Properties"]["GatewayResponses"]
    assert set(responses) == {"DEFAULT_4XX", "DEFAULT_5XX"}
    for kind, response in responses.items():
        headers = response["ResponseParameters"]["Headers"]
        decoded = {name: _static_value(value) for name, value in headers.items()}
        assert decoded == expected, kind
    assert "frame-ancestors 'none'" in expected["Content-Security-Policy"]


def test_the_local_stage_is_never_deployed() -> None:
    result = subprocess.run(
        ["make", "deploy", "STAGE=local"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "The local stage is never deployed" in result.stdout


def test_the_signing_secret_comes_from_ssm_once(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.service.context import reset_services
    from chalicelib.settings import get_settings

    boto3.client("ssm").put_parameter(
        Name="/sesame/dev/signing-secret", Value="p" * 48, Type="SecureString"
    )
    monkeypatch.delenv("SESAME_SIGNING_SECRET")
    monkeypatch.setenv("SESAME_SIGNING_SECRET_PARAMETER", "/sesame/dev/signing-secret")
    reset_services()
    assert get_settings().signing_secret == b"p" * 48
