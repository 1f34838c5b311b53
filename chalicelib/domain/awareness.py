"""The awareness module and its quiz as validated models, and how an attempt is graded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .people import person_key

TEXT = Field(min_length=1, max_length=4000)
SHORT = Field(min_length=1, max_length=400)
ID = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Screen(_Strict):
    """One screen of the module, read before the quiz (Markdown, in both languages)."""

    id: str = ID
    title_fr: str = SHORT
    title_en: str = SHORT
    text_fr: str = Field(min_length=1, max_length=20000)
    text_en: str = Field(min_length=1, max_length=20000)


class Choice(_Strict):
    """One possible answer to a question."""

    id: str = ID
    text_fr: str = SHORT
    text_en: str = SHORT


class Question(_Strict):
    """A quiz question: its choices, the right one, and why (shown after a wrong answer)."""

    id: str = ID
    text_fr: str = TEXT
    text_en: str = TEXT
    choices: tuple[Choice, ...] = Field(min_length=2, max_length=6)
    answer: str = ID
    explanation_fr: str = TEXT
    explanation_en: str = TEXT

    @model_validator(mode="after")
    def _answer_is_a_choice(self) -> Question:
        ids = [c.id for c in self.choices]
        if len(ids) != len(set(ids)):
            raise ValueError("choice ids must be unique")
        if self.answer not in ids:
            raise ValueError(f"the right answer {self.answer!r} is not one of the choices")
        return self


class Awareness(_Strict):
    """The module: its version, pass mark, validity period, screens and questions."""

    version: str = Field(min_length=1, max_length=40)
    # Right answers needed to pass, out of the number of questions.
    pass_mark: int = Field(ge=1, le=50)
    # A pass stays valid this many calendar days (then the person takes the module again).
    valid_days: int = Field(ge=1, le=1830)
    # True: the request form sends a person without a valid pass of this version here first.
    required_before_request: bool = False
    screens: tuple[Screen, ...] = Field(min_length=1, max_length=20)
    questions: tuple[Question, ...] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _consistent(self) -> Awareness:
        for kind in ("screens", "questions"):
            ids = [entry.id for entry in getattr(self, kind)]
            if len(ids) != len(set(ids)):
                raise ValueError(f"{kind}: ids must be unique")
        if self.pass_mark > len(self.questions):
            raise ValueError("pass_mark is above the number of questions")
        return self


@dataclass(frozen=True)
class WrongAnswer:
    """A question answered wrongly (or not at all), with its explanation."""

    question_id: str
    given: str | None
    explanation_fr: str
    explanation_en: str

    def explanation(self, lang: str) -> str:
        """Return the explanation in a language."""
        return self.explanation_fr if lang == "fr" else self.explanation_en


@dataclass(frozen=True)
class Grade:
    """The outcome of one attempt: score, pass or fail, and what was wrong."""

    version: str
    score: int
    out_of: int
    passed: bool
    wrong: tuple[WrongAnswer, ...]


def grade(module: Awareness, answers: dict[str, str]) -> Grade:
    """Grade an attempt: one point per right answer; unknown question ids are ignored."""
    wrong = tuple(
        WrongAnswer(q.id, answers.get(q.id), q.explanation_fr, q.explanation_en)
        for q in module.questions
        if answers.get(q.id) != q.answer
    )
    score = len(module.questions) - len(wrong)
    return Grade(module.version, score, len(module.questions), score >= module.pass_mark, wrong)


def person_ref(email: str, issuer: str | None = None, subject: str | None = None) -> str:
    """Identify a person: issuer and subject when signed in, else the confirmed address."""
    if issuer and subject:
        return f"oidc:{issuer}|{subject}"
    return f"email:{person_key(email)}"


class Completion(_Strict):
    """A person passed one version of the module, with this score, at this instant."""

    person: str = Field(min_length=3, max_length=600)
    version: str = Field(min_length=1, max_length=40)
    score: int = Field(ge=0)
    out_of: int = Field(ge=1)
    passed_at: datetime
    valid_until: datetime


def completion_for(person: str, result: Grade, module: Awareness, at: datetime) -> Completion:
    """Build the record of a pass (valid for the module's period from `at`)."""
    if not result.passed or result.version != module.version:
        raise ValueError("only a pass of the current version is recorded")
    return Completion(
        person=person,
        version=module.version,
        score=result.score,
        out_of=result.out_of,
        passed_at=at,
        valid_until=at + timedelta(days=module.valid_days),
    )


def is_trained(completion: Completion | None, module: Awareness | None, now: datetime) -> bool:
    """Tell whether a completion is of the current version and still valid at `now`."""
    if completion is None or module is None:
        return False
    return completion.version == module.version and now < completion.valid_until


class Acknowledgement(_Strict):
    """A person acknowledged one version of the usage policy at this instant."""

    person: str = Field(min_length=3, max_length=600)
    policy_version: str = Field(min_length=1, max_length=40)
    at: datetime
