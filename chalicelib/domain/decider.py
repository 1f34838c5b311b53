"""Who decides from an approval link when decisions are bound to a verified person (pure).

With `decisions_require_sign_in`, the link says which request and step; the provider's
session says who decides. Only the link's approver, or the deputy in force for them, may
press Approve or Refuse; anyone else is told the link was sent to another person.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import DomainError
from .people import same_person

if TYPE_CHECKING:
    from .identity import VerifiedPerson


class SignInRequired(DomainError):
    """Approve and Refuse need a session from the organisation's provider; nothing changed."""


class NotTheLinksApprover(DomainError):
    """The signed-in person is not the one the link was sent to (nor their deputy)."""

    def __init__(self, signed_in_as: str) -> None:
        super().__init__("not_the_links_approver")
        self.signed_in_as = signed_in_as
        self.reason = "not_the_links_approver"


@dataclass(frozen=True)
class Decider:
    """Who the decision is recorded under, for whom, and who the provider vouched for."""

    approver: str
    on_behalf_of: str | None
    person: VerifiedPerson | None


def decider_for_link(
    link_approver: str,
    link_on_behalf_of: str | None,
    person: VerifiedPerson | None,
    *,
    deputy: str | None,
    required: bool,
) -> Decider:
    """Bind a link's decision to the verified person, or refuse.

    - not required (no provider): the link is the credential; the link's approver decides;
    - required and nobody signed in with the provider: SignInRequired;
    - the signed-in person is the link's approver: they decide (as the link says);
    - they are `deputy`, the deputy in force for the link's approver (a link sent to an
      approver in person): they decide on the approver's behalf;
    - anyone else: NotTheLinksApprover, and nothing changes.
    """
    if not required:
        return Decider(link_approver, link_on_behalf_of, None)
    if person is None:
        raise SignInRequired("decision")
    if same_person(person.email, link_approver):
        return Decider(link_approver, link_on_behalf_of, person)
    if deputy is not None and link_on_behalf_of is None and same_person(person.email, deputy):
        return Decider(deputy, link_approver, person)
    raise NotTheLinksApprover(person.email)
