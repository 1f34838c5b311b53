"""Sign in without a password (a one-time link by e-mail), stay signed in, sign out."""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime

from .. import aws
from ..domain.errors import Conflict, DomainError, LimitReached, LinkExpired, LinkUsed, NotFound
from ..domain.identity import VerifiedPerson
from ..domain.models import ClientInfo, Lang
from ..domain.next_path import safe_next_path
from ..domain.sessions import (
    Session,
    SessionState,
    SigninLink,
    needs_touch,
    new_signin_link,
    session_state,
    signin_link_expired,
)
from ..notify.messages import render_email
from ..notify.ses import DeliveryFailed, send_email
from ..store.limits import Kind
from ..store.sessions import SessionStore
from .audit import new_event, refused_attempt
from .context import Services
from .directory_lookup import sign_in_roles
from .links import link_url, new_token, token_hash, well_formed

log = logging.getLogger(__name__)
EMAIL_RE = re.compile(r"^[a-z0-9._%+'-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")
MAX_EMAIL = 254


def _sessions(services: Services) -> SessionStore:
    return services.store.sessions


def valid_email(value: str) -> bool:
    """Tell whether a typed address looks like an e-mail address (the only error /login shows)."""
    return len(value) <= MAX_EMAIL and bool(EMAIL_RE.match(value))


def _brake_signin(services: Services, email: str, client: ClientInfo) -> None:
    """Count a sign-in request per source IP and per typed address; LimitReached over either.

    Counted before anything depends on the address, so the answer is the same whether the
    address is known, of another domain or made up. Once a counter is over, the read alone
    answers (no write); the request that crosses a limit is audited once (the summary).
    """
    limits = services.policy.rules.limits
    wanted: list[tuple[Kind, str, int]] = [
        ("signin_source", client.source_ip, limits.max_signins_per_source_per_hour),
        ("signin_address", email, limits.max_signins_per_address_per_hour),
    ]
    now = services.clock()
    counters = services.store.limits
    current = counters.current([(kind, who) for kind, who, _ in wanted], now)
    if any(value > limit for value, (_, _, limit) in zip(current, wanted, strict=True)):
        raise LimitReached("signin")
    for kind, who, limit in wanted:
        count = counters.count((kind, who), limit, now)
        if count is None:  # another request crossed the limit meanwhile
            raise LimitReached("signin")
        if count > limit:
            refused_attempt(services, None, who or "unknown", f"{kind}_limit:{limit}", client)
            raise LimitReached("signin")


def request_signin(
    services: Services, email: str, next_path: str, lang: Lang, client: ClientInfo
) -> None:
    """E-mail a one-time sign-in link if the address may sign in; say nothing either way.

    Whoever has a work address of an allowed domain may sign in (to follow their requests);
    what they then see depends on who they are. Raises LimitReached (nothing sent) when the
    source or the address asked too often this hour.
    """
    if not valid_email(email):
        return
    _brake_signin(services, email, client)
    if not services.policy.email_domain_allowed(email):
        return
    now = services.clock()
    token = new_token()
    link = new_signin_link(token_hash(token), email, now, safe_next_path(next_path), lang)
    _sessions(services).add_signin_link(link)
    message = render_email(
        services.settings.templates_dir,
        "signin",
        [lang],
        {
            "policy": services.policy,
            "signin_url": link_url(services.settings.public_base_url, "login", token),
            "link": link,
        },
    )
    try:
        send_email(
            aws.ses(),
            services.policy.organisation.sender,
            [email],
            message,
            now,
            services.settings.ses_configuration_set,
        )
    except DeliveryFailed as error:
        # The person asks again; the page does not tell known from unknown addresses.
        log.warning("sign-in e-mail not accepted: %s", error)


def open_signin(services: Services, token: str) -> SigninLink:
    """Return a sign-in link that can still be used, or raise why not (changes nothing)."""
    if not well_formed(token):
        raise NotFound("sign-in link")
    link = _sessions(services).load_signin_link(token_hash(token))
    if link is None:
        raise NotFound("sign-in link")
    if link.used_at is not None:
        raise LinkUsed("sign-in")
    if signin_link_expired(link, services.clock()):
        raise LinkExpired("sign-in")
    return link


@dataclass(frozen=True)
class SignedIn:
    """A new session: the cookie value (given once, never stored) and where to go next."""

    cookie_value: str
    session: Session
    next_path: str


def sign_in(
    services: Services, token: str, previous_cookie: str | None, client: ClientInfo
) -> SignedIn:
    """Use a sign-in link once: start a new session (replacing any previous one) and audit."""
    link = open_signin(services, token)
    now = services.clock()
    # The directory's groups, read once for every page after.
    cookie_value, session = new_session(link.email, now, sign_in_roles(services, link.email))
    event = new_event(services, "signed_in", link.email, "link", at=now, client=client)
    try:
        _sessions(services).open_session(link, session, event, replaced(previous_cookie))
    except Conflict:
        raise LinkUsed("sign-in") from None
    return SignedIn(cookie_value=cookie_value, session=session, next_path=link.next_path)


def new_session(
    email: str, now: datetime, roles: tuple[str, ...], identity: VerifiedPerson | None = None
) -> tuple[str, Session]:
    """Draw a new session: the cookie value (given once) and the session kept under its hash."""
    cookie_value = new_token()
    session = Session(
        session_hash=token_hash(cookie_value),
        email=email,
        created_at=now,
        last_seen_at=now,
        identity=identity,
        roles=roles,
    )
    return cookie_value, session


def replaced(previous_cookie: str | None) -> str | None:
    """Return the hash of the session a new sign-in replaces (None without a well-formed cookie)."""
    if previous_cookie and well_formed(previous_cookie):
        return token_hash(previous_cookie)
    return None


def current_session(services: Services, cookie_value: str | None) -> Session | None:
    """Return the session a cookie stands for, if it is still active; record the activity."""
    if not cookie_value or not well_formed(cookie_value):
        return None
    store = _sessions(services)
    session = store.load_session(token_hash(cookie_value))
    if session is None:
        return None
    now = services.clock()
    if session_state(session, now) != SessionState.ACTIVE:
        try:
            store.drop_session(session.session_hash)
        except DomainError as error:
            log.warning("timed-out session not dropped: %s", error)
        return None
    if needs_touch(session, now):
        try:
            store.touch_session(session.session_hash, now)
        except DomainError as error:  # the page still works; the idle clock is a minute late
            log.warning("session activity not recorded: %s", error)
    return session


def sign_out(services: Services, session: Session, client: ClientInfo) -> None:
    """End a session server-side (its cookie no longer works anywhere) and audit it."""
    event = new_event(services, "signed_out", session.email, "console", client=client)
    with contextlib.suppress(Conflict):  # already ended (two tabs signing out)
        _sessions(services).end_session(session.session_hash, event)
