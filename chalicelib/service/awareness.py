"""Use cases of the awareness module: take the quiz, record a pass, tell who is trained."""

from __future__ import annotations

from dataclasses import dataclass

from .. import aws
from ..domain.awareness import (
    Awareness,
    Completion,
    Grade,
    completion_for,
    grade,
    is_trained,
    person_ref,
)
from ..domain.errors import Conflict, NotFound
from ..domain.models import ClientInfo, RequestContent
from ..store.trust import TrustStore
from .audit import new_event
from .context import Services


def trust_store(services: Services) -> TrustStore:
    """Return the store of passes and acknowledgements (the main table, the same audit chain)."""
    return TrustStore(aws.dynamodb(), services.settings.main_table, services.store.audit)


def current_module(services: Services) -> Awareness:
    """Return the policy's awareness module; NotFound when this policy has none."""
    module = services.policy.awareness
    if module is None:
        raise NotFound("awareness module")
    return module


def grade_attempt(services: Services, answers: dict[str, str]) -> Grade:
    """Grade answers (question id -> choice id) against the current module; records nothing."""
    return grade(current_module(services), answers)


def record_pass(services: Services, person: str, result: Grade, client: ClientInfo) -> Completion:
    """Record a pass of the current version for a person, audited in the same write."""
    module = current_module(services)
    now = services.clock()
    completion = completion_for(person, result, module, now)
    event = new_event(
        services,
        "awareness_passed",
        person[:254],
        "form",
        at=now,
        client=client,
        comment=f"version {module.version}: {result.score}/{result.out_of}",
    )
    trust_store(services).record_pass(completion, event)
    return completion


@dataclass(frozen=True)
class QuizOutcome:
    """What the quiz page shows after an attempt: the grade, and the pass when recorded."""

    grade: Grade
    completion: Completion | None


def take_quiz(
    services: Services,
    person: str,
    answers: dict[str, str],
    client: ClientInfo,
    *,
    record: bool = True,
) -> QuizOutcome:
    """Grade an attempt; a pass is recorded, a fail shows the wrong answers' explanations.

    `record=False`: the person is not proven (no sign-in), so the pass is only returned, to
    ride the pages until the address is confirmed (`record_confirmed_pass`).
    """
    result = grade_attempt(services, answers)
    if not result.passed:
        return QuizOutcome(result, None)
    if not record:
        module = current_module(services)
        return QuizOutcome(result, completion_for(person, result, module, services.clock()))
    return QuizOutcome(result, record_pass(services, person, result, client))


def record_confirmed_pass(services: Services, completion: Completion, client: ClientInfo) -> None:
    """Record a pass taken before the address was proven, now that a confirmation proved it."""
    store = trust_store(services)
    latest = store.latest_pass(completion.person)
    if latest is not None and latest.passed_at >= completion.passed_at:
        return  # recorded already (a second request with it), or a newer pass is
    event = new_event(
        services,
        "awareness_passed",
        completion.person[:254],
        "link",
        client=client,
        comment=f"version {completion.version}: {completion.score}/{completion.out_of}; "
        f"passed {completion.passed_at.isoformat()}, address confirmed",
    )
    try:
        store.record_pass(completion, event)
    except Conflict:
        return  # the same pass recorded by a concurrent confirmation


def trained_pass(services: Services, person: str) -> Completion | None:
    """Return the person's pass when it is of the current version and still valid, else None."""
    completion = trust_store(services).latest_pass(person)
    if is_trained(completion, services.policy.awareness, services.clock()):
        return completion
    return None


def counted_pass(
    services: Services, content: RequestContent, held: Completion | None, holder: str
) -> tuple[Completion | None, Completion | None]:
    """Return the carried pass that counts (the holder's own) and the pass that shortens the chain.

    The stored pass is read only when a trained path would shorten the chain (issue 17), so
    other requests cost no extra read.
    """
    shorter = services.policy.route_for(content.platforms, content.level, trained=True)
    could_shorten = shorter is not None and shorter.trained_path
    if held is not None and held.person != person_ref(holder):
        held = None  # a pass of another address never counts for this one
    trained = (held or trained_pass(services, person_ref(content.email))) if could_shorten else None
    return held, trained


def has_passed_current(services: Services, person: str) -> bool:
    """Tell whether a person passed the current module within its validity period."""
    return trained_pass(services, person) is not None
