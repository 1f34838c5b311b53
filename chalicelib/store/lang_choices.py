"""Each person's chosen language, in one item read with an e-mail link (no extra call).

The approvers of the next step are known only once the request is read, so their choices
cannot be asked for by key in the link's BatchGetItem; one item with an attribute per
person can, like the delegations in force. It is written (in the decision's transaction)
only when a person's choice changes, which keeps contention on it rare.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import get_args

from ..domain.models import Lang
from . import keys
from .dynamo import Item

PREFIX = keys.partition(keys.LANGUAGE, "")


def lang_choices_from(item: Item | None) -> dict[str, Lang]:
    """Return each person's chosen language from the item (empty when nobody chose)."""
    choices: dict[str, Lang] = {}
    for name, value in (item or {}).items():
        chosen = value.get("S")
        if name.startswith(PREFIX) and chosen in get_args(Lang):
            choices[name.removeprefix(PREFIX)] = chosen
    return choices


def lang_choice_write(table: str, person: str, lang: Lang) -> Item:
    """The transaction item that records a person's chosen language."""
    return {
        "Update": {
            "TableName": table,
            "Key": keys.language_choices_key(),
            "UpdateExpression": "SET #person = :lang",
            "ExpressionAttributeNames": {"#person": keys.language_attribute(person)},
            "ExpressionAttributeValues": {":lang": {"S": lang}},
        }
    }


def chosen(choices: Mapping[str, Lang] | None, person: str) -> Lang | None:
    """Return the language a person chose, if any."""
    return (choices or {}).get(person.strip().lower())
