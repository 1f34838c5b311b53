"""The shipped policy is valid; a broken one is refused with the file, field and reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chalicelib.domain.errors import InvalidPolicy
from chalicelib.policy_check import main as policy_check
from chalicelib.policy_files import load_policy
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(PROJECT_ROOT / "policies", target)
    return target


def test_the_default_policy_matches_what_the_product_promises() -> None:
    policy = load_policy(PROJECT_ROOT / "policies")
    assert {p.id for p in policy.catalogue.platforms} == {
        "facebook",
        "instagram",
        "linkedin",
        "x",
        "youtube",
        "tiktok",
    }
    assert policy.email_domain_allowed("a@gouv.qc.ca")
    assert policy.email_domain_allowed("a@mcn.gouv.qc.ca")
    assert not policy.email_domain_allowed("a@gouv.qc.ca.evil.com")
    assert policy.rules.chain == ("manager", "security")
    assert policy.organisation.security_officers
    assert policy.organisation.link_lifetime_days == 7
    assert policy.usage_policy_text("fr") and policy.usage_policy_text("en")


def test_a_broken_field_is_named(policy_copy: Path) -> None:
    rules = policy_copy / "rules.toml"
    rules.write_text(rules.read_text().replace("max_duration_days = 180", "max_duration_days = 0"))
    with pytest.raises(InvalidPolicy) as refused:
        load_policy(policy_copy)
    assert (refused.value.file, refused.value.field) == ("rules.toml", "max_duration_days")


def test_invalid_toml_and_missing_files_are_named(policy_copy: Path) -> None:
    (policy_copy / "catalogue.toml").write_text("[[platforms]\n")
    with pytest.raises(InvalidPolicy) as refused:
        load_policy(policy_copy)
    assert refused.value.file == "catalogue.toml"
    (policy_copy / "usage-policy.en.md").unlink()
    shutil.copy(PROJECT_ROOT / "policies" / "catalogue.toml", policy_copy)
    with pytest.raises(InvalidPolicy) as missing:
        load_policy(policy_copy)
    assert missing.value.file == "usage-policy.en.md"


def test_unknown_fields_are_refused(policy_copy: Path) -> None:
    organisation = policy_copy / "organisation.toml"
    organisation.write_text('auto_approve = "everyone"\n' + organisation.read_text())
    with pytest.raises(InvalidPolicy) as refused:
        load_policy(policy_copy)
    assert refused.value.field == "auto_approve"


def test_the_check_command_exits_non_zero_and_says_why(
    policy_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert policy_check([str(policy_copy)]) == 0
    (policy_copy / "rules.toml").write_text('chain = ["security"]\n')
    assert policy_check([str(policy_copy)]) == 1
    assert "rules.toml" in capsys.readouterr().err
