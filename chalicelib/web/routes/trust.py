"""From control to trust (issue 17): the awareness module, the usage policy, the open figures."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from chalice.app import Request, Response

from ...domain.errors import NotFound
from ...service.context import Services, get_services
from ...settings import PROJECT_ROOT
from ..context import client_info, page_lang
from ..forms import BadForm
from ..lazy import LazyModule, lazy_function
from ..pages import render_page
from ..session import Visitor, read_cookie, signed_in
from ..trust_pages import carried_form, carry_of, carry_seal, pass_proof, text_blocks
from .common import SignedForm, blueprint, console_page, first, form_or_empty, read_form

if TYPE_CHECKING:
    from ...domain.awareness import Grade, person_ref
    from ...domain.models import Lang
    from ...service import campaign, signin
    from ...service.acknowledge import acknowledge_policy
    from ...service.awareness import current_module, take_quiz
    from ...service.open_data import open_figures_csv, open_figures_json
else:
    # Imported on first use: serving the form needs none of these (cold start, issue 9).
    acknowledge_policy = lazy_function("chalicelib.service.acknowledge", "acknowledge_policy")
    campaign = LazyModule("chalicelib.service.campaign")
    current_module = lazy_function("chalicelib.service.awareness", "current_module")
    take_quiz = lazy_function("chalicelib.service.awareness", "take_quiz")
    open_figures_csv = lazy_function("chalicelib.service.open_data", "open_figures_csv")
    open_figures_json = lazy_function("chalicelib.service.open_data", "open_figures_json")
    signin = LazyModule("chalicelib.service.signin")
    # The awareness models are pydantic's: defined when a person is identified, not before.
    person_ref = lazy_function("chalicelib.domain.awareness", "person_ref")

bp, current, route = blueprint(__name__)
officer = signed_in(current, form_or_empty, officers_only=True)
QUIZ_FORM = SignedForm("awareness", "awareness-quiz")
ACK_FORM = SignedForm("usage-policy", "usage-policy-form")
OPEN_DATA_TYPES = {
    "requests.csv": "text/csv; charset=utf-8",
    "requests.json": "application/json; charset=utf-8",
    # The JSON Schema the files are published against (its $id names this address).
    "requests.schema.json": "application/schema+json",
}
OPEN_DATA_SCHEMA = PROJECT_ROOT / "templates" / "static" / "open-data.schema.json"


def work_address(services: Services, typed: str) -> str | None:
    """Return the typed address when it is an address of the organisation, else None."""
    email = typed.strip().lower()
    if not signin.valid_email(email) or not services.policy.email_domain_allowed(email):
        return None
    return email


def awareness_page(
    services: Services,
    lang: Lang,
    *,
    email: str = "",
    answers: dict[str, str] | None = None,
    grade: Grade | None = None,
    error: str | None = None,
    carry: str = "",
    signed_in_as: str | None = None,
    status: int = 200,
) -> Response:
    """Render the module's screens then its quiz (the explanations of a failed attempt)."""
    module = current_module(services)
    wrong = {w.question_id: w.explanation(lang) for w in grade.wrong} if grade else {}
    return render_page(
        "trust/awareness.html",
        lang,
        status=status,
        module=module,
        blocks={
            s.id: text_blocks(s.text_fr if lang == "fr" else s.text_en) for s in module.screens
        },
        form_token=QUIZ_FORM.token(),
        email=email,
        signed_in_as=signed_in_as,
        answers=answers or {},
        grade=grade,
        wrong=wrong,
        error=error,
        carry=carry,
        seal=carry_seal(services, carry) if carry else "",
    )


@route("/awareness", "GET", "HEAD")
def awareness() -> Response:
    """Show the awareness module and its quiz."""
    return _for_visitor(awareness_page)


@route("/awareness", "POST")
def answer_quiz() -> Response:
    """Grade the quiz: a pass is recorded; a fail shows why each wrong answer was wrong."""
    request = current()
    services = get_services()
    try:
        form = read_form(request)
    except BadForm:
        return awareness_page(services, page_lang(request), error="form", status=400)
    lang = page_lang(request, first(form, "lang"))
    carry = first(form, "carry")
    if carry and carried_form(services, carry, first(form, "seal")) is None:
        carry = ""  # forged or stale: the quiz still works, the form starts empty
    module = current_module(services)
    answers = {q.id: first(form, f"q-{q.id}") for q in module.questions if first(form, f"q-{q.id}")}
    signed = _signed_in_address(services, request)
    email = signed or work_address(services, first(form, "email"))
    typed = first(form, "email").strip()
    if QUIZ_FORM.key(form) is None or email is None:
        problem = "expired" if email is not None else "email"
        return awareness_page(
            services, lang, email=typed, answers=answers, error=problem, carry=carry,
            signed_in_as=signed, status=400,
        )  # fmt: skip
    # A typed address proves nothing: without a sign-in the pass is not recorded, it rides
    # the pages (signed) to the request, and counts once its confirmation link is opened.
    outcome = take_quiz(
        services, person_ref(email), answers, client_info(request), record=signed is not None
    )
    if outcome.completion is None:
        return awareness_page(
            services, lang, email=email, answers=answers, grade=outcome.grade, carry=carry,
            signed_in_as=signed,
        )  # fmt: skip
    proof, proof_seal = ("", "") if signed else pass_proof(services, outcome.completion)
    carry = carry or carry_of({"email": [email]})
    return render_page(
        "trust/awareness_passed.html",
        lang,
        completion=outcome.completion,
        # A pass may still hold a wrong answer: its explanation is shown there too.
        review=[
            (q.text_fr if lang == "fr" else q.text_en, wrong.explanation(lang))
            for wrong in outcome.grade.wrong
            for q in module.questions
            if q.id == wrong.question_id
        ],
        carry=carry,
        seal=carry_seal(services, carry),
        held_pass=proof,
        held_seal=proof_seal,
    )


def _signed_in_address(services: Services, request: Request) -> str | None:
    """The address a session proves (a provider's sign-in or an e-mail sign-in link)."""
    cookie = read_cookie(request, services.settings)
    session = signin.current_session(services, cookie) if cookie else None
    return session.email if session is not None else None


def _for_visitor(page: Callable[..., Response]) -> Response:
    """A trust page as first shown: in the page's language, for whoever a session proves."""
    request, services = current(), get_services()
    return page(services, page_lang(request), signed_in_as=_signed_in_address(services, request))


def _usage_policy_page(
    services: Services, lang: Lang, *, signed_in_as: str | None, error: str | None = None,
    done: bool = False, status: int = 200,
) -> Response:  # fmt: skip
    return render_page(
        "trust/usage_policy.html",
        lang,
        status=status,
        policy=services.policy,
        form_token=ACK_FORM.token(),
        signed_in_as=signed_in_as,
        sign_in_url=f"/login?next=/usage-policy&lang={lang}",
        error=error,
        done=done,
    )


@route("/usage-policy", "GET", "HEAD")
def usage_policy() -> Response:
    """Show the usage policy in force; a signed-in person may acknowledge it."""
    return _for_visitor(_usage_policy_page)


@route("/usage-policy", "POST")
def acknowledge() -> Response:
    """Record that a signed-in person read the usage policy in force (once per version)."""
    request = current()
    services = get_services()
    # The acknowledgement keeps a grant through a policy campaign: it must be the holder's own,
    # so it is recorded under the address a session proves, never under a typed one.
    signed = _signed_in_address(services, request)
    try:
        form = read_form(request)
    except BadForm:
        lang = page_lang(request)
        return _usage_policy_page(services, lang, signed_in_as=signed, error="form", status=400)
    lang = page_lang(request, first(form, "lang"))
    if signed is None:
        return _usage_policy_page(services, lang, signed_in_as=None, error="signin", status=403)
    if ACK_FORM.key(form) is None:
        return _usage_policy_page(services, lang, signed_in_as=signed, error="expired", status=400)
    acknowledge_policy(services, person_ref(signed), client_info(request))
    return _usage_policy_page(services, lang, signed_in_as=signed, done=True)


@route("/open-data/{name}", "GET", "HEAD")
def open_data(name: str) -> Response:
    """Publish the monthly aggregates (no person; counts below 5 withheld), CC BY 4.0."""
    if name not in OPEN_DATA_TYPES:
        raise NotFound("open data file")
    services = get_services()
    if name == "requests.schema.json":
        body = OPEN_DATA_SCHEMA.read_text(encoding="utf-8")
    elif name.endswith(".csv"):
        body = open_figures_csv(services)
    else:
        body = open_figures_json(services)
    headers: dict[str, str | list[str]] = {
        "Content-Type": OPEN_DATA_TYPES[name],
        "Cache-Control": "public, max-age=3600",
    }
    return Response(body=body, headers=headers)


@route("/console/campaign")
@officer
def console_campaign(visitor: Visitor) -> Response:
    """Show where the active grants stand in the current usage policy's campaign."""
    services = get_services()
    return console_page(
        current(),
        visitor,
        "campaign",
        policy=services.policy,
        progress=campaign.campaign_progress(services),
        flagged=campaign.flagged_grants(services),
    )
