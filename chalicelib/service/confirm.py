"""Confirm a request from the requester's e-mail link; the first approvers are asked only then."""

from __future__ import annotations

from ..domain.errors import Conflict, LinkUsed
from ..domain.models import AccessRequest, ClientInfo
from ..domain.workflow import confirm
from .audit import new_event
from .awareness import record_confirmed_pass
from .context import Services
from .link_views import open_confirmation
from .mail import deliver
from .steps import open_step


def confirm_request(services: Services, token: str, client: ClientInfo) -> AccessRequest:
    """Record the requester's confirmation and e-mail the manager (or their deputy) a link."""
    view = open_confirmation(services, token, client)
    now = services.clock()
    confirmed = confirm(view.request, now)
    links, emails = open_step(
        services, confirmed, 0, now, in_force=view.delegations, langs=view.langs
    )
    event = new_event(
        services,
        "confirmed",
        confirmed.content.email,
        "link",
        request_id=confirmed.id,
        client=client,
    )
    try:
        services.store.apply_transition(
            view.request,
            confirmed,
            event,
            view.link,
            now,
            links,
            [e.entry for e in emails],
            head=view.head,
        )
    except Conflict:
        raise LinkUsed("confirm") from None
    deliver(services, emails)
    if confirmed.unconfirmed_pass is not None:
        # The link reached the address: the pass taken without a sign-in is now theirs. A
        # write of its own (with its audit event) after the confirmation: if it fails, the
        # request keeps its path and the person only takes the module again next time.
        record_confirmed_pass(services, confirmed.unconfirmed_pass, client)
    return confirmed
