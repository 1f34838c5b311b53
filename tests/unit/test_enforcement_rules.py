"""Enforcement rules without any directory: owned groups, desired members, repairs, backoff."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.enforcement import (
    ActiveGrant,
    Repair,
    backoff_delay,
    desired_members,
    group_key,
    groups_to_remove,
    owned_groups,
    repairs,
)
from chalicelib.domain.errors import InvalidPolicy
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit
POLICY = load_policy(PROJECT_ROOT / "policies")
CATALOGUE = POLICY.catalogue
BASE = "ou=groups,dc=mcn,dc=gouv,dc=qc,dc=ca"
LINKEDIN = f"cn=sesame-linkedin,{BASE}"
X = f"cn=sesame-x,{BASE}"
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
MARIE = "marie.tremblay@mcn.gouv.qc.ca"


def grant(request_id: str, *platforms: str, email: str = MARIE, days: int = 30) -> ActiveGrant:
    """A grant that started yesterday and ends in `days` days."""
    return ActiveGrant(
        request_id, email, platforms, NOW - timedelta(days=1), NOW + timedelta(days=days)
    )


def test_every_platform_of_the_catalogue_names_its_group_and_domains() -> None:
    groups = owned_groups(CATALOGUE, BASE)
    assert len(groups) == len(CATALOGUE.platforms)
    assert groups[LINKEDIN] == ("linkedin",)
    linkedin = next(p for p in CATALOGUE.platforms if p.id == "linkedin")
    assert linkedin.domains == ("linkedin.com", "licdn.com")


def test_a_group_outside_the_configured_base_is_not_owned() -> None:
    # The same catalogue read with another base owns nothing: no group would ever be changed.
    assert owned_groups(CATALOGUE, "ou=sesame,ou=groups,dc=mcn,dc=gouv,dc=qc,dc=ca") == {}
    # The base itself is not a group under it.
    assert owned_groups(CATALOGUE, LINKEDIN) == {}
    # Spelling does not matter: case and spaces after commas.
    spaced = "OU=Groups, DC=mcn, DC=gouv, DC=qc, DC=ca"
    assert group_key(LINKEDIN) in owned_groups(CATALOGUE, spaced)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ('domains = ["linkedin.com", "li nkedin.com"]', "domains"),
        ('domains = ["*.linkedin.com"]', "domains"),
        ('domains = ["com"]', "domains"),
        ('group = "not a dn"', "group"),
    ],
)
def test_a_bad_group_or_domain_is_refused_with_file_and_field(
    tmp_path: Path, change: str, field: str
) -> None:
    target = tmp_path / "policies"
    shutil.copytree(PROJECT_ROOT / "policies", target)
    catalogue = target / "catalogue.toml"
    text = catalogue.read_text(encoding="utf-8")
    start = change.split(" = ", maxsplit=1)[0] + " = "
    original = next(t for t in text.splitlines() if t.startswith(start) and "linkedin" in t)
    catalogue.write_text(text.replace(original, change, 1), encoding="utf-8")
    with pytest.raises(InvalidPolicy) as refused:
        load_policy(target)
    assert refused.value.file == "catalogue.toml"
    assert refused.value.field is not None and field in refused.value.field


def test_desired_members_follow_active_grants_only() -> None:
    ended = ActiveGrant("r3", "old@mcn.gouv.qc.ca", ("linkedin",), NOW - timedelta(days=9),
                        NOW - timedelta(seconds=1))  # fmt: skip
    future = ActiveGrant("r4", "later@mcn.gouv.qc.ca", ("linkedin",), NOW + timedelta(hours=1),
                         NOW + timedelta(days=9))  # fmt: skip
    jean = grant("r2", "x", email="Jean@MCN.gouv.qc.ca")
    desired = desired_members(
        [grant("r1", "linkedin", "x"), jean, ended, future], CATALOGUE, BASE, NOW
    )
    assert desired[LINKEDIN] == {MARIE}
    assert desired[X] == {MARIE, "jean@mcn.gouv.qc.ca"}
    assert desired[f"cn=sesame-tiktok,{BASE}"] == frozenset()


def test_repairs_add_the_missing_remove_the_extra_and_ignore_unowned_groups() -> None:
    desired = {LINKEDIN: frozenset({MARIE}), X: frozenset()}
    actual = {
        LINKEDIN: frozenset({"intrus@mcn.gouv.qc.ca"}),
        X: frozenset(),
        "cn=reseau-administrateurs,ou=groups,dc=mcn,dc=gouv,dc=qc,dc=ca": frozenset({"a@b.ca"}),
    }
    assert repairs(desired, actual) == [
        Repair(LINKEDIN, MARIE, "add"),
        Repair(LINKEDIN, "intrus@mcn.gouv.qc.ca", "remove"),
    ]
    assert repairs(desired, {LINKEDIN: frozenset({MARIE}), X: frozenset()}) == []


def test_an_ending_grant_keeps_the_groups_another_grant_of_the_person_needs() -> None:
    ending = grant("r1", "linkedin", "x")
    still = grant("r2", "x")
    someone_else = grant("r3", "linkedin", email="jean@mcn.gouv.qc.ca")
    assert groups_to_remove(ending, [ending, still, someone_else], CATALOGUE, BASE, NOW) == {
        LINKEDIN
    }
    over = ActiveGrant("r2", MARIE, ("x",), NOW - timedelta(days=2), NOW - timedelta(days=1))
    assert groups_to_remove(ending, [over], CATALOGUE, BASE, NOW) == {LINKEDIN, X}


def test_backoff_is_exponential_capped_and_jittered() -> None:
    assert [backoff_delay(n, 0.5, 4.0, 0.999999) for n in (1, 2, 3, 4, 5)] == pytest.approx(
        [0.5, 1.0, 2.0, 4.0, 4.0], rel=1e-5
    )
    assert backoff_delay(3, 0.5, 4.0, 0.0) == 0.0
    assert backoff_delay(3, 0.5, 4.0, 0.5) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="from 1"):
        backoff_delay(0, 0.5, 4.0, 0.5)


EMAILS = st.sampled_from([f"p{n}@mcn.gouv.qc.ca" for n in range(6)])
MEMBERS = st.frozensets(EMAILS, max_size=6)


@settings(max_examples=200)
@given(
    desired=st.dictionaries(st.sampled_from([LINKEDIN, X]), MEMBERS),
    actual=st.dictionaries(
        st.sampled_from([LINKEDIN, X, "cn=autre,ou=groups,dc=x,dc=ca"]), MEMBERS
    ),
)
def test_applying_the_repairs_makes_owned_groups_desired_and_leaves_the_rest(
    desired: dict[str, frozenset[str]], actual: dict[str, frozenset[str]]
) -> None:
    # Given any desired and actual members, when every repair is applied,
    # then each owned group equals its desired members and no other group changed.
    after = {group: set(members) for group, members in actual.items()}
    for fix in repairs(desired, actual):
        assert fix.group in desired
        members = after.setdefault(fix.group, set())
        assert (fix.email in members) == (fix.action == "remove")  # each repair changes something
        (members.add if fix.action == "add" else members.discard)(fix.email)
    for group, members in after.items():
        assert members == (desired[group] if group in desired else actual[group])
    assert all(after.get(group, set()) == want for group, want in desired.items())
