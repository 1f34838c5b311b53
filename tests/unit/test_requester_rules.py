"""The directory's answer about a requester: verified manager, typed manager, or refusal."""

from __future__ import annotations

import pytest

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.directory import Person
from chalicelib.domain.identity_policy import DirectorySettings
from chalicelib.domain.requester import (
    MANAGER_NOT_IN_DIRECTORY,
    MANAGER_OUTSIDE_DOMAINS,
    choose_manager,
    roles_of,
)
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit
MARIE = "marie.tremblay@mcn.gouv.qc.ca"
JEAN = "jean.gestion@mcn.gouv.qc.ca"


def test_a_manager_the_directory_names_is_taken_as_verified() -> None:
    person = Person(email=MARIE, manager_email=JEAN)
    for required in (False, True):
        choice = choose_manager(person, required)
        assert (choice.manager_email, choice.source, choice.error) == (JEAN, "directory", None)


@pytest.mark.parametrize("person", [None, Person(email=MARIE)], ids=["unknown", "no manager"])
def test_without_the_directorys_manager_the_typed_one_is_not_verified_or_refused(
    person: Person | None,
) -> None:
    kept = choose_manager(person, require_directory_manager=False)
    assert (kept.manager_email, kept.source, kept.error) == (None, "typed", None)
    refused = choose_manager(person, require_directory_manager=True)
    assert refused.error == MANAGER_NOT_IN_DIRECTORY


def test_a_directory_manager_outside_the_allowed_domains_is_never_taken() -> None:
    policy = load_policy(PROJECT_ROOT / "policies")
    person = Person(email=MARIE, manager_email="gestion@prestataire.example.com")
    kept = choose_manager(person, False, policy.email_domain_allowed)
    assert (kept.manager_email, kept.source, kept.error) == (None, "typed", None)
    refused = choose_manager(person, True, policy.email_domain_allowed)
    assert (refused.manager_email, refused.error) == (None, MANAGER_OUTSIDE_DOMAINS)
    # A look-alike domain is outside too; the organisation's own sub-domains are inside.
    lookalike = Person(email=MARIE, manager_email="jean@mcn-gouv.qc.ca.example.com")
    assert choose_manager(lookalike, False, policy.email_domain_allowed).manager_email is None
    inside = Person(email=MARIE, manager_email=JEAN)
    assert choose_manager(inside, True, policy.email_domain_allowed).manager_email == JEAN


def test_roles_come_from_the_lists_the_id_token_and_the_directory_groups() -> None:
    policy = load_policy(PROJECT_ROOT / "policies")
    # The policy's lists, as today.
    assert roles_of(policy, "securite.demo@mcn.gouv.qc.ca") == {"security"}
    assert roles_of(policy, "communications.demo@mcn.gouv.qc.ca") == {"communications"}
    assert roles_of(policy, MARIE) == frozenset()
    # The ID token's (mapped at sign-in); a role the policy does not define gives nothing.
    assert roles_of(policy, MARIE, session_roles=("security", "admin")) == {"security"}
    # LDAP groups, mapped by the policy's [directory.groups].
    directory = DirectorySettings(
        kind="ldap",
        ldap={},
        bind_password_parameter="/p",
        groups={"cn=securite-information,ou=groups,dc=mcn,dc=gouv,dc=qc,dc=ca": "security"},
    )
    over_ldap = policy.model_copy(
        update={"identity": policy.identity.model_copy(update={"directory": directory})}
    )
    member = Person(
        email=MARIE,
        groups=frozenset({"cn=securite-information,ou=groups,dc=mcn,dc=gouv,dc=qc,dc=ca"}),
    )
    assert roles_of(over_ldap, MARIE, person=member) == {"security"}
    outsider = Person(email=MARIE, groups=frozenset({"cn=reseau-administrateurs,dc=x"}))
    assert roles_of(over_ldap, MARIE, person=outsider) == frozenset()


def test_every_identity_text_exists_in_both_languages() -> None:
    from chalicelib.domain.decider import NotTheLinksApprover
    from chalicelib.domain.identity import SignInFailure
    from chalicelib.domain.requester import DIRECTORY_UNAVAILABLE
    from chalicelib.rendering.i18n import catalogue

    wanted = {MANAGER_NOT_IN_DIRECTORY, MANAGER_OUTSIDE_DOMAINS, DIRECTORY_UNAVAILABLE}
    wanted.add("identity.manager_not_verified")
    wanted |= {f"identity.refused.{reason.value}" for reason in SignInFailure}
    wanted |= {"identity.audit.signin_refused", "identity.decision.other_person"}
    assert NotTheLinksApprover("x").reason == "not_the_links_approver"
    for lang in ("fr", "en"):
        assert wanted - set(catalogue(lang)) == set(), lang
    french = catalogue("fr")
    assert "{email}" in french["identity.decision.other_person"]
