"""Who may press Approve or Refuse on a link when decisions are bound to a verified person."""

from __future__ import annotations

import pytest

from chalicelib.domain.decider import NotTheLinksApprover, SignInRequired, decider_for_link
from chalicelib.domain.identity import VerifiedPerson

pytestmark = pytest.mark.unit
JEAN = "jean.gestion@mcn.gouv.qc.ca"
DEPUTY = "direction.demo@mcn.gouv.qc.ca"
OTHER = "communications.demo@mcn.gouv.qc.ca"


def person(email: str) -> VerifiedPerson:
    return VerifiedPerson(issuer="https://idp.example", subject=f"oid-{email}", email=email)


def test_without_a_provider_the_link_is_the_credential() -> None:
    decider = decider_for_link(JEAN, None, None, deputy=None, required=False)
    assert (decider.approver, decider.on_behalf_of, decider.person) == (JEAN, None, None)
    # Even a session of someone else changes nothing: today's behaviour.
    decider = decider_for_link(JEAN, None, person(OTHER), deputy=None, required=False)
    assert (decider.approver, decider.person) == (JEAN, None)


def test_with_a_provider_nobody_signed_in_must_sign_in_first() -> None:
    with pytest.raises(SignInRequired):
        decider_for_link(JEAN, None, None, deputy=None, required=True)


def test_the_links_approver_decides_under_their_verified_identity() -> None:
    # The address as the provider spells it may differ in case or +tag.
    jean = person("Jean.Gestion+sesame@mcn.gouv.qc.ca")
    decider = decider_for_link(JEAN, None, jean, deputy=DEPUTY, required=True)
    assert (decider.approver, decider.on_behalf_of, decider.person) == (JEAN, None, jean)


def test_the_deputy_in_force_decides_on_the_approvers_behalf() -> None:
    deputy = person(DEPUTY)
    decider = decider_for_link(JEAN, None, deputy, deputy=DEPUTY, required=True)
    assert (decider.approver, decider.on_behalf_of, decider.person) == (DEPUTY, JEAN, deputy)
    # A deputy's own link: the deputy decides for whom the link says.
    decider = decider_for_link(DEPUTY, JEAN, deputy, deputy=None, required=True)
    assert (decider.approver, decider.on_behalf_of) == (DEPUTY, JEAN)


@pytest.mark.parametrize(
    ("approver", "on_behalf_of", "deputy"),
    [(JEAN, None, None), (JEAN, None, DEPUTY), (DEPUTY, JEAN, OTHER)],
    ids=["no deputy", "another deputy", "a deputy's link is not re-delegated"],
)
def test_anyone_else_is_told_the_link_was_sent_to_another_person(
    approver: str, on_behalf_of: str | None, deputy: str | None
) -> None:
    with pytest.raises(NotTheLinksApprover) as refused:
        decider_for_link(approver, on_behalf_of, person(OTHER), deputy=deputy, required=True)
    assert refused.value.signed_in_as == OTHER
