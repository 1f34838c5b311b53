"""What the trust pages need beside their use cases: the module's text, the carry, the pass."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import signing

if TYPE_CHECKING:
    from ..domain.awareness import Completion
    from ..service.context import Services

# A person's typed request waits at most this long while they take the module.
CARRY_LIFETIME_SECONDS = 2 * 3600
CARRY_PURPOSE = "awareness-carry"
CARRY_FIELDS = (
    "name", "email", "organization", "manager_email", "platforms", "purpose", "level",
    "justification", "duration_days", "accept_policy", "renew", "renew_reference",
)  # fmt: skip
MAX_CARRY_CHARS = 12000
_BOLD = re.compile(r"\*\*(.+?)\*\*")


@dataclass(frozen=True)
class Block:
    """A paragraph or a list of the module's text; each piece is (text, bold)."""

    kind: str  # "p" or "ul"
    items: tuple[tuple[tuple[str, bool], ...], ...]


def _pieces(line: str) -> tuple[tuple[str, bool], ...]:
    parts = _BOLD.split(line)
    # re.split alternates plain text and the captured bold text.
    return tuple((part, index % 2 == 1) for index, part in enumerate(parts) if part)


def text_blocks(markdown: str) -> list[Block]:
    """Cut the reviewed Markdown (paragraphs, "- " lists, **bold**) into escaped-later blocks."""
    blocks = []
    for chunk in re.split(r"\n\s*\n", markdown.strip()):
        lines = [line.strip() for line in chunk.splitlines() if line.strip()]
        if lines and all(line.startswith("- ") for line in lines):
            blocks.append(Block("ul", tuple(_pieces(line[2:]) for line in lines)))
        elif lines:
            blocks.append(Block("p", (_pieces(" ".join(lines)),)))
    return blocks


def carry_of(form: dict[str, list[str]]) -> str:
    """Pack what a person typed on the request form (nothing is stored: it rides the pages)."""
    kept = {name: form[name][:20] for name in CARRY_FIELDS if form.get(name)}
    raw = json.dumps(kept, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii")[:MAX_CARRY_CHARS]


def _digest(carry: str) -> str:
    return hashlib.sha256(carry.encode("ascii", "replace")).hexdigest()


def carry_seal(services: Services, carry: str) -> str:
    """Sign a carry for a short while, so the form takes back only what it handed out."""
    return signing.issue(services.settings.signing_secret, CARRY_PURPOSE, _digest(carry),
                         services.clock())  # fmt: skip


def carried_form(services: Services, carry: str, seal: str) -> dict[str, list[str]] | None:
    """Unpack a genuine, fresh carry into form fields; None when forged, stale or unreadable."""
    if not carry or len(carry) > MAX_CARRY_CHARS:
        return None
    nonce = signing.verify(
        services.settings.signing_secret, CARRY_PURPOSE, _digest(carry), seal,
        services.clock(), CARRY_LIFETIME_SECONDS,
    )  # fmt: skip
    if nonce is None:
        return None
    try:
        found = json.loads(base64.urlsafe_b64decode(carry.encode("ascii")))
    except ValueError:
        return None
    if not isinstance(found, dict):
        return None
    return {
        name: [str(value) for value in values][:20]
        for name, values in found.items()
        if name in CARRY_FIELDS and isinstance(values, list)
    }


HELD_PURPOSE = "awareness-pass"
MAX_HELD_CHARS = 2000


def pass_proof(services: Services, completion: Completion) -> tuple[str, str]:
    """Pack a pass taken without a sign-in, signed, to ride the pages to the request form."""
    proof = base64.urlsafe_b64encode(completion.model_dump_json().encode("utf-8")).decode("ascii")
    seal = signing.issue(
        services.settings.signing_secret, HELD_PURPOSE, _digest(proof), services.clock()
    )
    return proof, seal


def held_pass(services: Services, proof: str, seal: str, email: str) -> Completion | None:
    """Unpack a genuine, fresh pass of this address and of the module in force; else None."""
    # Imported here: the awareness models are pydantic's, and the empty form needs none.
    from pydantic import ValidationError

    from ..domain.awareness import Completion, is_trained, person_ref

    if not proof or len(proof) > MAX_HELD_CHARS or not email:
        return None
    now = services.clock()
    nonce = signing.verify(
        services.settings.signing_secret, HELD_PURPOSE, _digest(proof), seal, now,
        CARRY_LIFETIME_SECONDS,
    )  # fmt: skip
    if nonce is None:
        return None
    try:
        completion = Completion.model_validate_json(base64.urlsafe_b64decode(proof))
    except (ValueError, ValidationError):
        return None
    if completion.person != person_ref(email):
        return None  # a pass of another address never counts for this one
    return completion if is_trained(completion, services.policy.awareness, now) else None
