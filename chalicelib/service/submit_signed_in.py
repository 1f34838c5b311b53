"""File a request signed in with the provider: the address is proven, so no confirmation link.

The request is created already confirmed, its first approvers asked, in the one transaction
that stores it (issue 15): the sign-in did what the confirmation e-mail does for a signed-out
requester. The requester's address is the session's, whatever the form says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..domain.awareness import Completion
from ..domain.errors import NoApprover
from ..domain.identity import ProviderRef
from ..domain.models import AccessRequest, ClientInfo, Lang
from ..domain.sessions import Session
from ..domain.workflow import confirm, new_request
from .audit import new_event
from .awareness import record_confirmed_pass
from .context import Services
from .directory_lookup import validate_with_directory
from .steps import open_step
from .submit import SubmitOutcome, _refused, counted_pass, request_id_for, store_new


def proven_by_sign_in(session: Session | None) -> bool:
    """Tell whether a session proves its address (a provider's sign-in, not an e-mail link)."""
    return session is not None and session.identity is not None


def submit_signed_in(
    services: Services,
    form: Mapping[str, Sequence[str]],
    submission_key: str,
    lang: Lang,
    client: ClientInfo,
    session: Session,
    renews: AccessRequest | None = None,
    held: Completion | None = None,
) -> SubmitOutcome:
    """Validate and file a signed-in person's request, confirmed; e-mail its first approvers.

    `held`: a pass taken before signing in, carried by the form; the sign-in proves its
    address, so it counts and is recorded as the person's. Raises LimitReached when the
    requester or the source is over a limit (nothing stored).
    """
    form = {**form, "email": [session.email]}  # the proven address, never a typed one
    result, manager_source = validate_with_directory(services, form)
    if result.content is None:
        if result.errors.get("manager_email") == "same_as_requester":
            return _refused(services, session.email, "self_approval", client, result.errors, result)
        return SubmitOutcome(errors=result.errors, result=result)
    now = services.clock()
    # As for a signed-out requester (issue 17): a pass of the awareness module may shorten it.
    content = result.content
    held, trained = counted_pass(services, content, held, session.email)
    try:
        filed = new_request(
            request_id_for(submission_key), content, services.policy, lang, now, trained
        )
    except NoApprover as error:
        errors = {"form": "no_approver"}
        reason = f"no_approver:{error.role}"
        return _refused(services, session.email, reason, client, errors, result)
    update: dict[str, object] = {"manager_source": manager_source}
    if session.identity is not None:
        identity = session.identity
        update["requester_identity"] = ProviderRef(issuer=identity.issuer, subject=identity.subject)
    if renews is not None:
        update["renews"] = renews.id
    filed = filed.model_copy(update=update)
    confirmed = confirm(filed, now)
    links, emails = open_step(services, confirmed, 0, now)
    person = session.identity
    event = new_event(
        services,
        "submitted",
        session.email,
        "form",
        at=now,
        request_id=confirmed.id,
        client=client,
        reason=f"policy {services.policy.version}; chain {' > '.join(confirmed.chain)}"
        + (f"; renews {renews.reference}" if renews else "")
        + "; address proven by sign-in",
    )
    if person is not None:
        event = event.model_copy(update={"identity": person})
    replayed = store_new(services, confirmed, event, links, emails, client, result)
    if replayed is not None:
        return replayed
    if held is not None:
        record_confirmed_pass(services, held, client)
    return SubmitOutcome(request=confirmed, result=result)
