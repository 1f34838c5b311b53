"""Validation of the request form against the default policy."""

from __future__ import annotations

import pytest

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.policy import Policy
from chalicelib.domain.submission import validate_submission
from tests.conftest import PROJECT_ROOT, UNLISTED, valid_form

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(PROJECT_ROOT / "policies")


def test_a_valid_form_gives_content_with_the_policy_version(policy: Policy) -> None:
    result = validate_submission(valid_form(email="Marie.Tremblay@MCN.gouv.qc.ca"), policy)
    assert result.errors == {}
    assert result.content is not None
    assert result.content.email == "marie.tremblay@mcn.gouv.qc.ca"
    assert result.content.platforms == ("linkedin", "x")
    assert result.content.policy_version == policy.version


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"name": ""}, "name", "required"),
        ({"name": "x" * 121}, "name", "too_long"),
        ({"name": "Marie\x00"}, "name", "invalid_characters"),
        ({"name": "Marie \u202eevil"}, "name", "invalid_characters"),
        ({"name": "Marie \ud800"}, "name", "invalid_characters"),
        ({"email": None}, "email", "required"),
        ({"email": "not-an-address"}, "email", "invalid_email"),
        ({"email": "marie@gmail.com"}, "email", "domain_not_allowed"),
        ({"email": "marie@evilgouv.qc.ca"}, "email", "domain_not_allowed"),
        (
            {"email": UNLISTED, "manager_email": "luc.autre@mcn.gouv.qc.ca"},
            "manager_email",
            "same_as_requester",
        ),
        ({"organization": ""}, "organization", "required"),
        ({"platforms": []}, "platforms", "required"),
        ({"platforms": ["linkedin", "myspace"]}, "platforms", "unknown_choice"),
        ({"purpose": "fun"}, "purpose", "unknown_choice"),
        ({"level": "admin"}, "level", "unknown_choice"),
        ({"level": None}, "level", "required"),
        ({"justification": "Trop court."}, "justification", "too_short"),
        ({"justification": "x" * 2001}, "justification", "too_long"),
        ({"justification": "x" * 50 + "\x07"}, "justification", "invalid_characters"),
        ({"duration_days": "0"}, "duration_days", "out_of_range"),
        ({"duration_days": "181"}, "duration_days", "out_of_range"),
        ({"duration_days": "-3"}, "duration_days", "not_a_number"),
        ({"duration_days": "٣"}, "duration_days", "not_a_number"),
        ({"duration_days": "abc"}, "duration_days", "not_a_number"),
        ({"accept_policy": None}, "accept_policy", "required"),
        ({"policy_version": "1999-01-01"}, "accept_policy", "policy_changed"),
    ],
)
def test_each_bad_field_gets_its_own_error_and_no_content(
    policy: Policy, overrides: dict[str, object], field: str, code: str
) -> None:
    result = validate_submission(valid_form(**overrides), policy)
    assert result.content is None
    assert result.errors == {field: code}


def test_subdomains_are_allowed_and_lists_deduplicated(policy: Policy) -> None:
    form = valid_form(email="a.b@sous.domaine.gouv.qc.ca", platforms=["x", "x", "youtube"])
    result = validate_submission(form, policy)
    assert result.content is not None
    assert result.content.platforms == ("x", "youtube")


def test_an_empty_form_reports_every_required_field(policy: Policy) -> None:
    result = validate_submission({}, policy)
    assert set(result.errors) == {
        "name",
        "email",
        "organization",
        "manager_email",
        "platforms",
        "purpose",
        "level",
        "justification",
        "duration_days",
        "accept_policy",
    }
