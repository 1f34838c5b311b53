"""Bind a link's decision to the person signed in with the organisation's provider (issue 15)."""

from __future__ import annotations

from ..domain.decider import Decider, NotTheLinksApprover, decider_for_link
from ..domain.identity import VerifiedPerson
from ..domain.models import ClientInfo
from ..domain.sessions import Session
from .audit import refused_attempt
from .context import Services
from .link_views import LinkView
from .steps import deputy_for, deputy_may_decide


def decisions_need_sign_in(services: Services) -> bool:
    """Tell whether Approve and Refuse need a provider session in this stage."""
    return services.policy.identity.decisions_require_sign_in(services.settings.stage)


def verified_person(services: Services, session: Session | None) -> VerifiedPerson | None:
    """Return who the provider vouched for in a session (None: no session, or an e-mail one)."""
    person = session.identity if session is not None else None
    settings = services.policy.identity.sign_in_for(services.settings.stage)
    if person is None or settings is None or person.issuer != settings.issuer:
        return None  # an e-mail link's session, or one from a provider no longer configured
    return person


def link_decider(
    services: Services, view: LinkView, session: Session | None, client: ClientInfo
) -> Decider:
    """Return who decides (or answers a review) from this link; refuse and audit someone else.

    Raises SignInRequired when a provider session is needed and there is none (nothing
    audited: the view sends the person to sign in and back), NotTheLinksApprover otherwise.
    """
    link = view.link
    assert link.approver is not None
    required = decisions_need_sign_in(services)
    deputy = None
    # A deputy in force may sign in on an approver's decision link; a review link (no step)
    # is answered by whom it was sent to, as a deputy in force gets a review link of their own.
    if required and link.on_behalf_of is None and link.step is not None:
        delegation = deputy_for(services, link.approver, services.clock(), view.delegations)
        if delegation and deputy_may_decide(view.request, link.step, delegation):
            deputy = delegation.deputy
    try:
        return decider_for_link(
            link.approver,
            link.on_behalf_of,
            verified_person(services, session) if required else None,
            deputy=deputy,
            required=required,
        )
    except NotTheLinksApprover as refused:
        refused_attempt(
            services, view.request.id, refused.signed_in_as, refused.reason, client, step=link.step
        )
        raise
