"""The awareness module and quiz: the shipped files are valid, broken ones are refused."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.errors import InvalidPolicy
from ops.check_policy import main as policy_check
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(PROJECT_ROOT / "policies", target)
    return target


def edit(folder: Path, name: str, change: Callable[[str], str]) -> None:
    path = folder / "awareness" / name
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")


def refusal(folder: Path) -> InvalidPolicy:
    with pytest.raises(InvalidPolicy) as caught:
        load_policy(folder)
    return caught.value


def test_the_shipped_module_has_screens_and_a_quiz_in_both_languages() -> None:
    module = load_policy(PROJECT_ROOT / "policies").awareness
    assert module is not None
    assert {s.id for s in module.screens} == {"policy", "never-post", "phishing", "incident"}
    assert len(module.questions) == 5
    assert module.pass_mark == 4 and module.valid_days == 365
    for question in module.questions:
        assert question.answer in {c.id for c in question.choices}
        assert question.explanation_fr != question.explanation_en
    assert "two-step verification" in module.screens[2].text_en
    assert "hameçonnage" in module.screens[2].title_fr.lower()


def test_a_question_without_a_right_answer_is_refused_with_file_and_field(
    policy_copy: Path,
) -> None:
    edit(policy_copy, "quiz.toml", lambda text: text.replace('answer = "redirect"\n', "", 1))
    error = refusal(policy_copy)
    assert (error.file, error.field, error.reason) == (
        "awareness/quiz.toml",
        "questions.1.answer",
        "no right answer",
    )


def test_a_right_answer_that_is_not_a_choice_is_refused(policy_copy: Path) -> None:
    edit(policy_copy, "quiz.toml", lambda text: text.replace('answer = "type"', 'answer = "z"'))
    error = refusal(policy_copy)
    assert error.file == "awareness/quiz.toml" and error.field == "questions.2.answer"
    assert "not one of the choices" in error.reason


def test_a_missing_translation_of_an_explanation_is_refused(policy_copy: Path) -> None:
    edit(
        policy_copy,
        "quiz.toml",
        lambda text: "\n".join(
            line for line in text.splitlines() if not line.startswith('explanation_en = "No:')
        ),
    )
    error = refusal(policy_copy)
    assert (error.file, error.field, error.reason) == (
        "awareness/quiz.toml",
        "questions.0.explanation_en",
        "missing translation",
    )


def test_a_missing_translation_of_a_choice_is_refused(policy_copy: Path) -> None:
    edit(
        policy_copy,
        "quiz.toml",
        lambda text: text.replace(', text_en = "Yes, if the comment is useful"', ""),
    )
    error = refusal(policy_copy)
    assert error.field == "questions.0.choices.0.text_en"
    assert error.reason == "missing translation"


def test_a_screen_without_its_english_file_is_refused(policy_copy: Path) -> None:
    (policy_copy / "awareness" / "03-phishing.en.md").unlink()
    error = refusal(policy_copy)
    assert (error.file, error.reason) == ("awareness/03-phishing.en.md", "file is missing")


def test_a_pass_mark_above_the_questions_is_refused(policy_copy: Path) -> None:
    edit(policy_copy, "module.toml", lambda text: text.replace("pass_mark = 4", "pass_mark = 6"))
    error = refusal(policy_copy)
    assert error.file == "awareness/module.toml"
    assert "pass_mark" in error.reason


def test_check_policy_names_file_field_and_reason(
    policy_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(policy_copy, "quiz.toml", lambda text: text.replace('answer = "never"\n', ""))
    assert policy_check([str(policy_copy)]) == 1
    err = capsys.readouterr().err
    assert "awareness/quiz.toml" in err and "questions.3.answer" in err
    assert "no right answer" in err


def test_a_trained_chain_without_a_module_is_refused(policy_copy: Path) -> None:
    shutil.rmtree(policy_copy / "awareness")
    error = refusal(policy_copy)
    assert (error.file, error.field) == ("rules.toml", "routes.1.chain_when_trained")


def test_a_trained_chain_naming_a_step_outside_the_chain_is_refused(policy_copy: Path) -> None:
    path = policy_copy / "rules.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace('chain_when_trained = ["manager"]', 'chain_when_trained = ["communications"]'),
        encoding="utf-8",
    )
    error = refusal(policy_copy)
    assert error.file == "rules.toml" and error.field.startswith("routes.1")
    assert "chain_when_trained" in error.reason
