"""The shipped policy is valid; a broken one is refused with the file, field and reason."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.errors import InvalidPolicy
from ops.check_policy import main as policy_check
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(PROJECT_ROOT / "policies", target)
    return target


def edit(folder: Path, name: str, change: Callable[[str], str]) -> None:
    path = folder / name
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")


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
    read_low = policy.route_for(("linkedin",), "read")
    publish = policy.route_for(("linkedin",), "publish")
    assert read_low and read_low.chain == ("manager", "security")
    assert publish and publish.chain == ("manager", "communications", "security")
    assert policy.organisation.security_officers
    assert policy.organisation.link_lifetime_days == 7
    assert policy.usage_policy_text("fr") and policy.usage_policy_text("en")
    assert policy.pinned_manager("Camille.Demo@mcn.gouv.qc.ca") == "direction.demo@mcn.gouv.qc.ca"


def test_several_platforms_take_the_strictest_bounds_and_every_step() -> None:
    policy = load_policy(PROJECT_ROOT / "policies")
    routing = policy.route_for(("linkedin", "tiktok"), "read")
    assert routing is not None
    assert routing.chain == ("manager", "security")
    assert routing.max_duration_days == 30  # TikTok is high risk
    assert routing.min_justification_chars == 100


BROKEN: list[tuple[str, str, Callable[[str], str], str, str]] = [
    (
        "unknown platform in a rule",
        "rules.toml",
        lambda t: t.replace('risk = "high"\n', 'platforms = ["myspace"]\n', 1),
        "rules.toml",
        "routes.3.platforms",
    ),
    (
        "empty chain",
        "rules.toml",
        lambda t: t.replace('chain = ["manager", "communications", "security"]', "chain = []"),
        "rules.toml",
        "routes.0.chain",
    ),
    (
        "negative duration",
        "rules.toml",
        lambda t: t.replace("max_duration_days = 90", "max_duration_days = -5"),
        "rules.toml",
        "routes.0.max_duration_days",
    ),
    (
        "bad domain pattern",
        "organisation.toml",
        lambda t: t.replace('"*.gouv.qc.ca"', '"*.gouv..qc.ca"'),
        "organisation.toml",
        "allowed_email_domains",
    ),
    (
        "missing French name",
        "catalogue.toml",
        lambda t: t.replace('name_fr = "LinkedIn"\n', ""),
        "catalogue.toml",
        "platforms.2.name_fr",
    ),
    (
        "unknown group in a chain",
        "rules.toml",
        lambda t: t.replace('"communications", "security"]', '"legal", "security"]'),
        "rules.toml",
        "routes.0.chain",
    ),
    (
        "chain not ending with security",
        "rules.toml",
        lambda t: t.replace(
            'chain = ["manager", "communications", "security"]', 'chain = ["manager"]'
        ),
        "rules.toml",
        "routes.0.chain",
    ),
    (
        "unknown field",
        "organisation.toml",
        lambda t: 'auto_approve = "everyone"\n' + t,
        "organisation.toml",
        "auto_approve",
    ),
    (
        "escalation after expiry",
        "rules.toml",
        lambda t: t.replace("escalate_after_working_days = 6", "escalate_after_working_days = 20"),
        "rules.toml",
        "lifecycle",
    ),
    (
        "fallback to an unknown group",
        "rules.toml",
        lambda t: t.replace('manager = "security", communications', 'manager = "helpdesk", x'),
        "rules.toml",
        "lifecycle.fallback.manager",
    ),
    (
        "a holiday that is not a date",
        "holidays.toml",
        lambda t: t.replace("date = 2026-06-24", 'date = "24 juin"'),
        "holidays.toml",
        "holidays.5.date",
    ),
    (
        "directory manager outside the domains",
        "directory.toml",
        lambda t: t.replace(
            'manager = "direction.demo@mcn.gouv.qc.ca"', 'manager = "boss@gmail.com"', 1
        ),
        "directory.toml",
        "employees.0.manager",
    ),
]


@pytest.mark.parametrize(
    ("case", "file", "change", "expected_file", "expected_field"),
    BROKEN,
    ids=[b[0] for b in BROKEN],
)
def test_a_broken_policy_names_the_file_and_field(
    policy_copy: Path,
    case: str,
    file: str,
    change: Callable[[str], str],
    expected_file: str,
    expected_field: str,
) -> None:
    edit(policy_copy, file, change)
    with pytest.raises(InvalidPolicy) as refused:
        load_policy(policy_copy)
    assert (refused.value.file, refused.value.field) == (expected_file, expected_field), case
    assert refused.value.reason


def test_missing_texts_and_invalid_toml_are_named(policy_copy: Path) -> None:
    (policy_copy / "usage-policy.fr.md").unlink()
    with pytest.raises(InvalidPolicy) as missing:
        load_policy(policy_copy)
    assert missing.value.file == "usage-policy.fr.md"
    (policy_copy / "catalogue.toml").write_text("[[platforms]\n")
    with pytest.raises(InvalidPolicy) as refused:
        load_policy(policy_copy)
    assert refused.value.file == "catalogue.toml"


def test_the_check_command_exits_non_zero_and_says_why(
    policy_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert policy_check([str(policy_copy)]) == 0
    edit(
        policy_copy,
        "rules.toml",
        lambda t: t.replace("max_duration_days = 90", "max_duration_days = 0"),
    )
    assert policy_check([str(policy_copy)]) == 1
    err = capsys.readouterr().err
    assert "rules.toml" in err and "routes.0.max_duration_days" in err


def test_the_brakes_of_the_default_policy_and_a_bad_one_named(policy_copy: Path) -> None:
    limits = load_policy(PROJECT_ROOT / "policies").rules.limits
    assert (limits.max_signins_per_address_per_hour, limits.max_signins_per_source_per_hour) == (
        5,
        30,
    )
    assert limits.max_refused_attempts_per_hour == 20
    assert limits.max_submissions_per_source_per_hour == 60
    edit(
        policy_copy,
        "rules.toml",
        lambda t: t.replace(
            "max_signins_per_address_per_hour = 5", "max_signins_per_address_per_hour = 0"
        ),
    )
    with pytest.raises(InvalidPolicy) as refused:
        load_policy(policy_copy)
    assert (refused.value.file, refused.value.field) == (
        "rules.toml",
        "limits.max_signins_per_address_per_hour",
    )
    assert refused.value.reason
