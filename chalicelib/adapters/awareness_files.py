"""Read policies/awareness/ (module.toml, quiz.toml, the screens' Markdown) into Awareness."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..domain.awareness import Awareness
from ..domain.errors import InvalidPolicy

FOLDER = "awareness"
MODULE_FILE = "module.toml"
QUIZ_FILE = "quiz.toml"
LANGS = ("fr", "en")


def _read(path: Path, shown: str) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise InvalidPolicy(shown, "-", "file is missing") from None
    except tomllib.TOMLDecodeError as error:
        raise InvalidPolicy(shown, "-", f"not valid TOML: {error}") from None


def _screens(folder: Path, raw: list[Any]) -> list[dict[str, Any]]:
    """Replace each screen's file_fr/file_en by the Markdown it names."""
    screens = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise InvalidPolicy(f"{FOLDER}/{MODULE_FILE}", f"screens.{index}", "not a table")
        screen = dict(entry)
        for lang in LANGS:
            name = screen.pop(f"file_{lang}", None)
            where = f"screens.{index}.file_{lang}"
            if name is None:
                raise InvalidPolicy(f"{FOLDER}/{MODULE_FILE}", where, "missing translation")
            if not isinstance(name, str) or "/" in name or name.startswith("."):
                raise InvalidPolicy(f"{FOLDER}/{MODULE_FILE}", where, "must be a file name")
            path = folder / name
            if not path.is_file():
                raise InvalidPolicy(f"{FOLDER}/{name}", "-", "file is missing")
            screen[f"text_{lang}"] = path.read_text(encoding="utf-8").strip()
        screens.append(screen)
    return screens


def _answer_errors(questions: list[Any]) -> None:
    """Say which question has no right answer, before the models' generic messages."""
    for index, question in enumerate(questions):
        if not isinstance(question, dict):
            raise InvalidPolicy(f"{FOLDER}/{QUIZ_FILE}", f"questions.{index}", "not a table")
        where = f"questions.{index}.answer"
        if "answer" not in question:
            raise InvalidPolicy(f"{FOLDER}/{QUIZ_FILE}", where, "no right answer")
        choices = [c.get("id") for c in question.get("choices", []) if isinstance(c, dict)]
        if question["answer"] not in choices:
            reason = f"the right answer {question['answer']!r} is not one of the choices"
            raise InvalidPolicy(f"{FOLDER}/{QUIZ_FILE}", where, reason)


def _refusal(error: ValidationError) -> InvalidPolicy:
    detail = error.errors()[0]
    loc = [str(part) for part in detail["loc"]]
    field = ".".join(loc) or "-"
    file = QUIZ_FILE if loc and loc[0] == "questions" else MODULE_FILE
    reason = detail["msg"]
    if detail["type"] == "missing" and loc and loc[-1].endswith(("_fr", "_en")):
        reason = "missing translation"
    return InvalidPolicy(f"{FOLDER}/{file}", field, reason)


def load_awareness(policy_folder: Path) -> Awareness | None:
    """Read and validate the awareness module of a policy folder (None when it has none)."""
    folder = policy_folder / FOLDER
    if not folder.is_dir():
        return None
    raw = _read(folder / MODULE_FILE, f"{FOLDER}/{MODULE_FILE}")
    quiz = _read(folder / QUIZ_FILE, f"{FOLDER}/{QUIZ_FILE}")
    unknown = set(quiz) - {"questions"}
    if unknown:
        raise InvalidPolicy(f"{FOLDER}/{QUIZ_FILE}", sorted(unknown)[0], "unknown field")
    if "questions" in raw:
        raise InvalidPolicy(f"{FOLDER}/{MODULE_FILE}", "questions", f"belong in {QUIZ_FILE}")
    questions = quiz.get("questions", [])
    if not isinstance(questions, list):
        raise InvalidPolicy(f"{FOLDER}/{QUIZ_FILE}", "questions", "must be a list of tables")
    _answer_errors(questions)
    screens = raw.get("screens", [])
    if not isinstance(screens, list):
        raise InvalidPolicy(f"{FOLDER}/{MODULE_FILE}", "screens", "must be a list of tables")
    merged = {**raw, "screens": _screens(folder, screens), "questions": questions}
    try:
        return Awareness.model_validate(merged)
    except ValidationError as error:
        raise _refusal(error) from None
