"""The sign-in and LDAP libraries are deployed, in a layer; the roles read their secrets only.

Over what `make package STAGE=dev` builds (the fixtures of test_deployment.py): the function
zip, the layer `signin-layer.zip` and the SAM template that joins them, and the IAM roles of
that template against the SSM parameters the policy files name (ops/check_grants.py).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.identity_policy import DirectorySettings, SignInSettings
from chalicelib.domain.policy import Policy
from ops.build_layer import RUNTIME_GLIBC, architecture
from ops.check_grants import missing_grants, parameters_granted, parameters_needed
from tests.conftest import PROJECT_ROOT
from tests.integration.test_deployment import package, template

pytestmark = pytest.mark.integration
__all__ = ["package", "template"]  # the fixtures, shared with test_deployment.py
# What sign-in (PyJWT with cryptography) and the LDAP adapters (ldap3, pyasn1) import.
NEEDED = ("jwt", "cryptography", "ldap3", "pyasn1")
# Heavy or sign-in-only libraries that must never sit in the function zip.
LAYER_ONLY = (*NEEDED, "cffi", "_cffi_backend", "pycparser")
SECRETS = {
    "/sesame/dev/signing-secret",
    "/sesame/dev/oidc-client-secret",
    "/sesame/dev/ldap-bind-password",
}


def top_level(archive: Path, prefix: str = "") -> set[str]:
    """Return the importable top-level names of a zip (packages, modules, extension modules)."""
    with zipfile.ZipFile(archive) as opened:
        names = [n[len(prefix) :] for n in opened.namelist() if n.startswith(prefix)]
    return {re.split(r"[/.]", name, maxsplit=1)[0] for name in names if name}


def test_the_signin_and_ldap_libraries_are_in_the_layer_and_not_in_the_function_zip(
    package: Path,
) -> None:
    function = top_level(package / "deployment.zip")
    layer = top_level(package / "signin-layer.zip", "python/")
    assert {"app", "chalicelib", "pydantic", "jinja2"} <= function  # the check reads names
    missing = [name for name in NEEDED if name not in function | layer]
    assert missing == [], f"deployed nowhere: {missing}"
    assert [name for name in LAYER_ONLY if name in function] == []
    assert set(NEEDED) <= layer


def test_every_function_runs_with_the_layer_built_for_its_runtime_and_architecture(
    package: Path, template: dict[str, Any]
) -> None:
    layer = template["Resources"]["SignInLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert (package / layer["Properties"]["ContentUri"]).is_file()
    assert {"Ref": "SignInLayer"} in template["Globals"]["Function"]["Layers"]
    functions = [r for r in template["Resources"].values() if r["Type"].endswith("::Function")]
    assert len(functions) >= 2
    arch = architecture("dev")
    for function in functions:
        properties = function["Properties"]
        assert properties["Runtime"] in layer["Properties"]["CompatibleRuntimes"]
        assert properties.get("Architectures", ["x86_64"]) == [arch]
        assert layer["Properties"]["CompatibleArchitectures"] == [arch]
    # Every compiled wheel is a manylinux one the runtime's glibc can load (python3.11: 2.26).
    runtime = functions[0]["Properties"]["Runtime"].removeprefix("python")
    machine = {"x86_64": "x86_64", "arm64": "aarch64"}[arch]
    with zipfile.ZipFile(package / "signin-layer.zip") as opened:
        wheels = [n for n in opened.namelist() if n.endswith(".dist-info/WHEEL")]
        tags = {n: re.findall(r"^Tag: (\S+)$", opened.read(n).decode(), re.M) for n in wheels}
    compiled = {n: t for n, t in tags.items() if not any(tag.endswith("-any") for tag in t)}
    assert any("cryptography" in n for n in compiled), tags
    for name, wheel_tags in compiled.items():
        usable = [
            tag
            for tag in wheel_tags
            if (found := re.search(r"manylinux_(\d+)_(\d+)_(\w+)$", tag))
            and found.group(3) == machine
            and (int(found.group(1)), int(found.group(2))) <= (2, RUNTIME_GLIBC[runtime])
        ]
        assert usable, (name, wheel_tags)


def test_the_unpacked_function_and_layer_verify_an_id_token_and_load_ldap3(
    package: Path, tmp_path: Path
) -> None:
    task, opt = tmp_path / "task", tmp_path / "opt"
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        archive.extractall(task)
    with zipfile.ZipFile(package / "signin-layer.zip") as archive:
        archive.extractall(opt)
    script = r"""
import sys
from datetime import datetime, timedelta, timezone
root = sys.argv[1]
import jwt, cryptography, ldap3, pyasn1
for module in (jwt, cryptography, ldap3, pyasn1):
    assert module.__file__.startswith(root + "/opt/python/"), module.__file__
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
now = datetime.now(timezone.utc)
token = jwt.encode({"sub": "s", "aud": "a", "exp": now + timedelta(minutes=5)}, key, "RS256")
assert jwt.decode(token, key.public_key(), ["RS256"], audience="a")["sub"] == "s"
ldap3.Server("ldap://127.0.0.1:9", connect_timeout=1)
import chalicelib.adapters.directory_ldap, chalicelib.adapters.oidc_tokens
print("ok")
"""
    # -S: no site-packages of the test's virtualenv, only the two zips (as in Lambda, where
    # /var/task comes before /opt/python).
    python = [sys.executable, "-S", "-c", script, str(tmp_path)]
    environment = {"PYTHONPATH": f"{task}:{opt / 'python'}", "SESAME_STAGE": "test"}
    done = subprocess.run(python, env=environment, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")
    # Without the layer the function zip cannot verify a token: the layer is what carries it.
    alone = {**environment, "PYTHONPATH": str(task)}
    without = subprocess.run(python, env=alone, capture_output=True, text=True, check=False)
    assert without.returncode != 0 and "No module named 'jwt'" in without.stderr


def test_the_roles_read_the_signin_and_directory_secrets_and_nothing_wider(
    template: dict[str, Any],
) -> None:
    assert parameters_granted(template) == SECRETS
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"]
                actions = actions if isinstance(actions, list) else [actions]
                ssm = [a for a in actions if a.startswith("ssm:")]
                assert set(ssm) <= {"ssm:GetParameter"}, (name, statement)  # no ByPath, no *
                # SecureStrings under the AWS managed key aws/ssm: its key policy lets SSM
                # decrypt for whoever may read the parameter, so no role holds kms:Decrypt.
                assert "kms:Decrypt" not in actions, (name, statement)
    # The digest function reads no sign-in or directory secret.
    assert parameters_granted(template, "WriteAuditDigestRole") & SECRETS == set()


def _stage_policy(**identity: Any) -> Policy:
    policy = load_policy(PROJECT_ROOT / "policies")
    changed = policy.identity.model_copy(update=identity)
    return policy.model_copy(update={"identity": changed})


def _sign_in(parameter: str) -> SignInSettings:
    return SignInSettings(
        stages=("dev",),
        issuer="https://login.microsoftonline.com/tenant/v2.0",
        client_id="sesame",
        client_secret_parameter=parameter,
    )


def test_the_parameters_a_policy_names_for_a_stage_must_be_granted(
    template: dict[str, Any],
) -> None:
    # The demo policy serves the local stage only and reads people from TOML: nothing needed.
    assert parameters_needed(load_policy(PROJECT_ROOT / "policies"), "dev") == set()
    ldap = DirectorySettings(
        kind="ldap", ldap={}, bind_password_parameter="/sesame/dev/ldap-bind-password"
    )
    granted = _stage_policy(sign_in=_sign_in("/sesame/dev/oidc-client-secret"), directory=ldap)
    assert parameters_needed(granted, "dev") == SECRETS - {"/sesame/dev/signing-secret"}
    assert missing_grants(granted, "dev", template) == set()
    elsewhere = DirectorySettings(kind="ldap", ldap={}, bind_password_parameter="/shared/ldap")
    refused = _stage_policy(sign_in=_sign_in("/sesame/prod/oidc"), directory=elsewhere)
    assert missing_grants(refused, "dev", template) == {"/sesame/prod/oidc", "/shared/ldap"}


def test_make_package_refuses_a_policy_whose_secret_the_role_cannot_read(
    package: Path, tmp_path: Path
) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(PROJECT_ROOT / "policies", policies)
    organisation = policies / "organisation.toml"
    text = organisation.read_text(encoding="utf-8")
    assert 'stages = ["local"]' in text
    organisation.write_text(
        text.replace('stages = ["local"]', 'stages = ["local", "dev"]').replace(
            '"http://127.0.0.1:8002"', '"https://login.microsoftonline.com/t/v2.0"'
        ),
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "ops.check_grants", "dev", str(package / "sam.json")]
    done = subprocess.run(
        [*command, "--policies", str(policies)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "/sesame/local/oidc-client-secret" in done.stderr
    assert "policy-dev.json" in done.stderr
    ok = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert json.loads((package / "sam.json").read_text())["Resources"]["SignInLayer"]
