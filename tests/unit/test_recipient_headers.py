"""Only an address that passed the form's check reaches a message header (issue 13, item 4)."""

from __future__ import annotations

import email
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.submission import check_address
from chalicelib.notify.messages import RenderedEmail
from chalicelib.notify.ses import build_mime
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit
POLICY = load_policy(PROJECT_ROOT / "policies")
NOW = datetime(2026, 11, 29, 21, 5, tzinfo=UTC)
MAIL = RenderedEmail(subject="Objet", text="t", html="<p>h</p>", lang="fr")
NOT_ONE_BARE_ADDRESS = [
    "boss <evil@attacker.example>@mcn.gouv.qc.ca",
    "evil@attacker.example,x@mcn.gouv.qc.ca",
    "x@mcn.gouv.qc.ca\nBcc: evil@attacker.example",
    "x\n@mcn.gouv.qc.ca",
    "Evil <x@mcn.gouv.qc.ca>",
]


@pytest.mark.parametrize("address", NOT_ONE_BARE_ADDRESS)
def test_the_address_check_refuses_anything_but_one_bare_address(address: str) -> None:
    assert check_address(address, POLICY)[1] in {"invalid_email", "domain_not_allowed"}
    assert check_address("x@attacker.example", POLICY)[1] == "domain_not_allowed"
    assert check_address(" Adjointe@MCN.gouv.qc.ca ", POLICY) == ("adjointe@mcn.gouv.qc.ca", None)


@pytest.mark.parametrize("address", [*NOT_ONE_BARE_ADDRESS, "x@mcn.gouv.qc.ca\n"])
def test_no_message_is_built_for_a_recipient_that_is_not_one_bare_address(address: str) -> None:
    with pytest.raises(ValueError, match=r"recipient|linefeed|carriage"):
        build_mime("sesame@mcn.gouv.qc.ca", ["jean@mcn.gouv.qc.ca", address], MAIL, NOW)


def test_the_to_header_holds_exactly_the_recipients() -> None:
    raw = build_mime("sesame@mcn.gouv.qc.ca", ["a@mcn.gouv.qc.ca", "b@mcn.gouv.qc.ca"], MAIL, NOW)
    parsed = email.message_from_bytes(raw)
    assert parsed["To"] == "a@mcn.gouv.qc.ca, b@mcn.gouv.qc.ca"
    assert parsed["Cc"] is None and parsed["Bcc"] is None


def test_a_policy_naming_an_approver_outside_the_allowed_domains_is_refused() -> None:
    from chalicelib.domain.policy import Group, Person
    from chalicelib.domain.policy_checks import reference_errors

    organisation = POLICY.organisation.model_copy(
        update={"security_officers": (Person(email="rssi@attacker.example", name="X"),)}
    )
    group = Group(id="communications", name_fr="C", name_en="C", members=("c@gmail.com",))
    policy = POLICY.model_copy(
        update={
            "organisation": organisation,
            "rules": POLICY.rules.model_copy(update={"groups": (group,)}),
        }
    )
    problems = reference_errors(policy)
    assert ("organisation.toml", "security_officers.0.email", "domain not allowed") in problems
    assert ("rules.toml", "groups.communications.members", "domain not allowed: c@gmail.com") in (
        problems
    )
    assert reference_errors(POLICY) == []
