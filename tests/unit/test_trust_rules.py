"""Pure trust rules: grading an attempt, a pass's validity, the trained person's chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.awareness import completion_for, grade, is_trained, person_ref
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit
POLICY = load_policy(PROJECT_ROOT / "policies")
MODULE = POLICY.awareness
assert MODULE is not None
RIGHT = {q.id: q.answer for q in MODULE.questions}
NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


def test_all_right_passes_with_full_score() -> None:
    result = grade(MODULE, RIGHT)
    assert (result.score, result.out_of, result.passed, result.wrong) == (5, 5, True, ())


def test_one_wrong_answer_shows_its_explanation_and_still_passes_at_four() -> None:
    result = grade(MODULE, {**RIGHT, "phishing": "click"})
    assert result.passed and result.score == 4
    (wrong,) = result.wrong
    assert wrong.question_id == "phishing" and wrong.given == "click"
    assert "phishing" in wrong.explanation("en") and "hameçonnage" in wrong.explanation("fr")


def test_two_wrong_or_missing_answers_fail() -> None:
    answers = {k: v for k, v in RIGHT.items() if k != "code"} | {"scope": "yes"}
    result = grade(MODULE, answers)
    assert not result.passed and result.score == 3
    assert [w.question_id for w in result.wrong] == ["scope", "code"]
    assert result.wrong[1].given is None


def test_a_pass_is_valid_for_the_period_and_only_for_the_current_version() -> None:
    completion = completion_for("email:a@gouv.qc.ca", grade(MODULE, RIGHT), MODULE, NOW)
    assert is_trained(completion, MODULE, NOW + timedelta(days=364))
    assert not is_trained(completion, MODULE, NOW + timedelta(days=365))
    newer = MODULE.model_copy(update={"version": "2027-06-01"})
    assert not is_trained(completion, newer, NOW)
    assert not is_trained(None, MODULE, NOW)


def test_a_failed_attempt_cannot_be_recorded_as_a_pass() -> None:
    with pytest.raises(ValueError):
        completion_for("email:a@gouv.qc.ca", grade(MODULE, {}), MODULE, NOW)


def test_a_person_is_the_provider_identity_when_given_else_the_address() -> None:
    assert person_ref("A+news@Gouv.qc.ca") == "email:a@gouv.qc.ca"
    assert person_ref("a@gouv.qc.ca", "https://login/tid", "oid") == "oidc:https://login/tid|oid"


def test_trained_people_reading_low_risk_platforms_need_only_their_manager() -> None:
    routing = POLICY.route_for(("linkedin",), "read", trained=True)
    assert routing and routing.chain == ("manager",) and routing.trained_path
    untrained = POLICY.route_for(("linkedin",), "read")
    assert untrained and untrained.chain == ("manager", "security")
    assert not untrained.trained_path


def test_publishing_and_other_risks_keep_the_whole_chain_when_trained() -> None:
    publish = POLICY.route_for(("linkedin",), "publish", trained=True)
    assert publish and publish.chain == ("manager", "communications", "security")
    high = POLICY.route_for(("tiktok",), "read", trained=True)
    assert high and high.chain == ("manager", "security") and not high.trained_path
    mixed = POLICY.route_for(("linkedin", "x"), "read", trained=True)
    assert mixed and mixed.chain == ("manager", "security") and not mixed.trained_path


def test_a_route_review_period_is_copied_onto_the_request_when_filed() -> None:
    from chalicelib.domain.submission import validate_submission
    from chalicelib.domain.workflow import new_request
    from tests.conftest import valid_form

    routes = list(POLICY.rules.routes)
    routes[0] = routes[0].model_copy(update={"review_every_days": 30})  # publishing
    rules = POLICY.rules.model_copy(update={"routes": tuple(routes)})
    policy = POLICY.model_copy(update={"rules": rules})
    justification = (
        "Je publie les annonces du programme Accès numérique au nom du ministère "
        "et je réponds aux questions des citoyens."
    )
    form = valid_form(level="publish", platforms=["linkedin"], justification=justification)
    content = validate_submission(form, policy).content
    assert content is not None
    assert (
        new_request("0123456789abcdef01234567", content, policy, "fr", NOW).review_every_days == 30
    )
    routing = POLICY.route_for(("linkedin",), "read")
    assert routing is not None and routing.review_every_days is None
