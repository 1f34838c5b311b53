"""The identity settings of the policy: [sign_in], [directory], require_directory_manager."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.errors import InvalidPolicy
from chalicelib.domain.identity_policy import IdentityPolicy, SignInSettings
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit
LDAP_TABLE = """
[directory]
kind = "ldap"
bind_password_parameter = "/sesame/prod/ldap-bind-password"

[directory.ldap]
url = "ldaps://annuaire.mcn.gouv.qc.ca:636"
bind_dn = "cn=sesame,ou=services,dc=mcn,dc=gouv,dc=qc,dc=ca"
people_base_dn = "ou=people,dc=mcn,dc=gouv,dc=qc,dc=ca"
groups_base_dn = "ou=groups,dc=mcn,dc=gouv,dc=qc,dc=ca"
flavour = "ad"

[directory.groups]
"CN=Securite-Information,OU=Groups,DC=mcn,DC=gouv,DC=qc,DC=ca" = "security"
"""


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(PROJECT_ROOT / "policies", target)
    return target


def replace(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def without_directory_table(folder: Path) -> None:
    replace(folder, "organisation.toml", '[directory]\nkind = "toml"\n', "")


def refusal(folder: Path) -> InvalidPolicy:
    with pytest.raises(InvalidPolicy) as caught:
        load_policy(folder)
    return caught.value


def test_the_demo_policy_names_the_local_provider_for_the_local_stage_only() -> None:
    identity = load_policy(PROJECT_ROOT / "policies").identity
    local = identity.sign_in_for("local")
    assert local is not None and local.issuer == "http://127.0.0.1:8002"
    assert local.client_id == "sesame-local"
    for stage in ("test", "dev", "prod"):
        assert identity.sign_in_for(stage) is None
        # Without a provider the link stays the credential, and e-mail sign-in stays.
        assert not identity.decisions_require_sign_in(stage)
        assert identity.email_links_allowed(stage)
    # Not set in the demo: on by default where the provider serves (issue 15).
    assert local.decisions_require_sign_in is None
    assert identity.decisions_require_sign_in("local")
    assert identity.roles_from_provider("local", ["Sesame.SecurityOfficer", "Other.Role"]) == {
        "security"
    }
    assert identity.roles_from_provider("local", ["Sesame.Communications"]) == {"communications"}
    assert identity.roles_from_provider("prod", ["Sesame.SecurityOfficer"]) == frozenset()
    assert identity.directory.kind == "toml"
    assert identity.require_directory_manager is False


def test_decisions_require_sign_in_defaults_to_on_when_a_provider_is_configured() -> None:
    settings = SignInSettings(
        stages=("prod",),
        issuer="https://login.microsoftonline.com/t/v2.0",
        client_id="c",
        client_secret_parameter="/sesame/prod/oidc",
    )
    assert IdentityPolicy(sign_in=settings).decisions_require_sign_in("prod")
    off = settings.model_copy(update={"decisions_require_sign_in": False, "email_links": False})
    assert not IdentityPolicy(sign_in=off).decisions_require_sign_in("prod")
    assert not IdentityPolicy(sign_in=off).email_links_allowed("prod")


def test_a_policy_without_identity_tables_keeps_todays_behaviour(policies: Path) -> None:
    text = (policies / "organisation.toml").read_text(encoding="utf-8")
    (policies / "organisation.toml").write_text(text.split("\n# Signing in with")[0] + "\n")
    identity = load_policy(policies).identity
    assert identity.sign_in is None and identity.directory.kind == "toml"
    assert not identity.decisions_require_sign_in("local")


def test_an_ldap_directory_is_read_with_its_groups(policies: Path) -> None:
    without_directory_table(policies)
    (policies / "organisation.toml").write_text(
        (policies / "organisation.toml").read_text(encoding="utf-8") + LDAP_TABLE
    )
    identity = load_policy(policies).identity
    assert identity.directory.kind == "ldap"
    assert identity.directory.ldap is not None and identity.directory.ldap["flavour"] == "ad"
    # A DN is compared in one spelling, whatever case and spaces the directory uses.
    group = "cn=securite-information, ou=groups,dc=mcn,dc=gouv,dc=qc,dc=ca"
    assert identity.roles_from_groups([group, "cn=other,dc=x"]) == {"security"}


@pytest.mark.parametrize(
    ("file", "old", "new", "field", "reason"),
    [
        ("rules.toml", "require_directory_manager = false", "require_directory_manager = 1",
         "require_directory_manager", "true or false"),
        ("organisation.toml", 'stages = ["local"]', 'stages = []', "sign_in.stages", "at least 1"),
        ("organisation.toml", 'stages = ["local"]', 'stages = ["staging"]', "sign_in.stages.0",
         "Input should be"),
        ("organisation.toml", 'issuer = "http://127.0.0.1:8002"', 'issuer = "login"',
         "sign_in.issuer", "pattern"),
        ("organisation.toml", 'client_secret_parameter = "/sesame/local/oidc-client-secret"',
         'client_secret_parameter = "the secret itself"', "sign_in.client_secret_parameter",
         "pattern"),
        ("organisation.toml", '"Sesame.Communications" = "communications"',
         '"Sesame.Communications" = "comms"', "sign_in.roles.Sesame.Communications",
         "unknown role 'comms'"),
        ("organisation.toml", '"Sesame.Communications" = "communications"',
         '"Sesame.Communications" = "Not A Role"', "sign_in.roles", "not a Sésame role"),
        ("organisation.toml", "email_links = true", 'email_links = "yes"', "sign_in.email_links",
         "boolean"),
        ("organisation.toml", "email_links = true", "email_link = true", "sign_in.email_link",
         "Extra inputs"),
        ("organisation.toml", 'kind = "toml"', 'kind = "nis"', "directory.kind", "Input should be"),
        ("organisation.toml", 'kind = "toml"', 'kind = "ldap"', "directory.ldap",
         "required with kind = ldap"),
    ],
)  # fmt: skip
def test_a_broken_identity_setting_names_the_file_field_and_reason(
    policies: Path, file: str, old: str, new: str, field: str, reason: str
) -> None:
    replace(policies, file, old, new)
    error = refusal(policies)
    assert (error.file, error.field) == (file, field)
    assert reason in error.reason


@pytest.mark.parametrize(
    ("old", "new", "field", "reason"),
    [
        ('url = "ldaps://annuaire.mcn.gouv.qc.ca:636"', 'url = "ldap://annuaire.mcn.gouv.qc.ca"',
         "directory.ldap", "start_tls"),
        ('flavour = "ad"', 'flavour = "novell"', "directory.ldap.flavour", "Input should be"),
        ('bind_password_parameter = "/sesame/prod/ldap-bind-password"\n', "",
         "directory.bind_password_parameter", "required"),
        ('flavour = "ad"', 'flavour = "ad"\nbind_password = "hunter2"',
         "directory.ldap.bind_password", "SSM"),
        ('= "security"', '= "auditors"', "directory.groups.CN=Securite-Information,OU=Groups,"
         "DC=mcn,DC=gouv,DC=qc,DC=ca", "unknown role"),
    ],
)  # fmt: skip
def test_a_broken_ldap_setting_names_the_field_and_reason(
    policies: Path, old: str, new: str, field: str, reason: str
) -> None:
    without_directory_table(policies)
    (policies / "organisation.toml").write_text(
        (policies / "organisation.toml").read_text(encoding="utf-8")
        + LDAP_TABLE.replace(old, new, 1)
    )
    error = refusal(policies)
    assert (error.file, error.field) == ("organisation.toml", field)
    assert reason in error.reason
