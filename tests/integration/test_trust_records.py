"""Awareness passes and usage-policy acknowledgements, recorded per person and audited."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.awareness import person_ref
from chalicelib.domain.models import ClientInfo
from chalicelib.service.acknowledge import acknowledge_policy, has_acknowledged
from chalicelib.service.awareness import has_passed_current, take_quiz, trained_pass, trust_store
from chalicelib.service.context import Services, get_services
from chalicelib.store.audit import AuditFilter

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
PERSON = person_ref("Employe.Demo+veille@mcn.gouv.qc.ca")
CLIENT = ClientInfo(source_ip="203.0.113.9", user_agent="pytest")


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def services(aws: None) -> Iterator[tuple[Services, Clock]]:
    found = get_services()
    real, clock = found.clock, Clock(NOW)
    found.clock = clock
    yield found, clock
    found.clock = real


def right_answers(services: Services) -> dict[str, str]:
    module = services.policy.awareness
    assert module is not None
    return {q.id: q.answer for q in module.questions}


def events(services: Services, action: str) -> list[tuple[str, str | None]]:
    found = services.store.audit.all_matching(AuditFilter(action=action))
    return [(e.event.actor, e.event.comment) for e in found]


def test_a_failed_attempt_shows_explanations_and_records_nothing(
    services: tuple[Services, Clock],
) -> None:
    found, _ = services
    answers = right_answers(found) | {"phishing": "click", "code": "colleague"}
    outcome = take_quiz(found, PERSON, answers, CLIENT)
    assert not outcome.grade.passed and outcome.completion is None
    assert [w.question_id for w in outcome.grade.wrong] == ["phishing", "code"]
    assert "type the platform's address" in outcome.grade.wrong[0].explanation("en")
    assert not has_passed_current(found, PERSON)
    assert events(found, "awareness_passed") == []


def test_a_pass_is_recorded_with_version_score_and_date_and_audited(
    services: tuple[Services, Clock],
) -> None:
    found, clock = services
    answers = right_answers(found) | {"scope": "yes"}
    outcome = take_quiz(found, PERSON, answers, CLIENT)
    assert outcome.grade.passed and outcome.completion is not None
    completion = trained_pass(found, PERSON)
    assert completion is not None
    assert (completion.version, completion.score, completion.out_of) == ("2026-12-01", 4, 5)
    assert completion.passed_at == NOW
    assert has_passed_current(found, "email:employe.demo@mcn.gouv.qc.ca")
    assert not has_passed_current(found, person_ref("other.demo@mcn.gouv.qc.ca"))
    assert events(found, "awareness_passed") == [(PERSON, "version 2026-12-01: 4/5")]
    assert found.store.audit.verify().intact
    assert trust_store(found).passes_between(NOW, NOW + timedelta(seconds=1)) == 1
    assert trust_store(found).passes_between(NOW + timedelta(seconds=1), NOW + timedelta(1)) == 0

    # Valid for the policy's 365 days, then the person takes the module again.
    clock.now = NOW + timedelta(days=364, hours=23)
    assert has_passed_current(found, PERSON)
    clock.now = NOW + timedelta(days=365)
    assert not has_passed_current(found, PERSON)


def test_a_new_module_version_asks_everyone_again(services: tuple[Services, Clock]) -> None:
    found, _ = services
    assert take_quiz(found, PERSON, right_answers(found), CLIENT).completion
    module = found.policy.awareness
    assert module is not None
    newer = found.policy.model_copy(
        update={"awareness": module.model_copy(update={"version": "2027-01"})}
    )
    elsewhere = replace(found)  # the same process's services under the newer module
    elsewhere.policy = newer
    assert not has_passed_current(elsewhere, PERSON)


def test_an_acknowledgement_is_recorded_once_per_policy_version(
    services: tuple[Services, Clock],
) -> None:
    found, clock = services
    assert not has_acknowledged(found, PERSON)
    first = acknowledge_policy(found, PERSON, CLIENT)
    clock.now = NOW + timedelta(minutes=5)
    again = acknowledge_policy(found, PERSON, CLIENT)
    assert first == again and first.at == NOW and first.policy_version == found.policy.version
    assert has_acknowledged(found, PERSON)
    assert events(found, "policy_acknowledged") == [(PERSON, "usage policy 2026-11-01")]
    assert not has_acknowledged(found, PERSON, "2027-01-01")
    assert found.store.audit.verify().intact
