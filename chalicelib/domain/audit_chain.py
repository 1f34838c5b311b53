"""The audit log's hash chain: how a link is computed, and how a stored chain is checked.

One chain holds every audit event. Event n stores `prev` (the hash of event n-1, or GENESIS
for the first) and `hash` = SHA-256 over a version tag, n, `prev` and the event's body exactly
as stored. Changing, removing, re-ordering or inserting an event therefore breaks either the
event's own hash or the link to its neighbour; the check below says which, and where.
Pure: the store reads the items and hands them over in key order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

GENESIS = "0" * 64
HASH_VERSION = "sesame-audit-1"

ProblemKind = Literal[
    "altered", "missing", "reordered", "inserted", "forged", "truncated", "head_missing"
]


@dataclass(frozen=True)
class ChainLink:
    """A position in the chain: its sequence number and hash (also the chain's head)."""

    seq: int
    hash: str


def link_hash(seq: int, prev: str, body: str) -> str:
    """Return the hash of event `seq` whose predecessor's hash is `prev`."""
    material = f"{HASH_VERSION}\n{seq}\n{prev}\n{body}".encode()
    return hashlib.sha256(material).hexdigest()


def next_link(head: ChainLink | None, body: str) -> tuple[ChainLink, str]:
    """Return the link an event with this body gets after `head`, and the hash it chains to."""
    prev = head.hash if head else GENESIS
    seq = (head.seq if head else 0) + 1
    return ChainLink(seq=seq, hash=link_hash(seq, prev, body)), prev


@dataclass(frozen=True)
class StoredEvent:
    """One audit item as read back: where it sits (from its key) and what it claims."""

    position: int | None  # the sequence number in the item's key; None if the key is not one
    key: str
    seq: int | None  # the sequence number stored in the item
    prev: str
    hash: str
    body: str
    index_ok: bool = True  # the item's index attributes agree with its body


@dataclass(frozen=True)
class Problem:
    """The first place where the chain does not hold."""

    seq: int
    kind: ProblemKind
    detail: str


@dataclass(frozen=True)
class Verdict:
    """What the check found: intact with N events and the last hash, or the first problem."""

    count: int
    last: ChainLink | None
    problem: Problem | None = None

    @property
    def intact(self) -> bool:
        """Tell whether every event checked out."""
        return self.problem is None

    def summary(self) -> str:
        """Say it in one line, as `make verify-audit` prints it."""
        if self.problem is None:
            last = self.last.hash if self.last else GENESIS
            return f"intact, {self.count} events, last hash {last}"
        problem = self.problem
        return f"NOT intact: event {problem.seq} {problem.kind}: {problem.detail}"


def _self_consistent(event: StoredEvent) -> bool:
    return (
        event.seq is not None
        and event.index_ok
        and event.hash == link_hash(event.seq, event.prev, event.body)
    )


def _with_next(events: Iterable[StoredEvent]) -> Iterator[tuple[StoredEvent, StoredEvent | None]]:
    iterator = iter(events)
    current = next(iterator, None)
    while current is not None:
        following = next(iterator, None)
        yield current, following
        current = following


def _misplaced(
    event: StoredEvent, following: StoredEvent | None, before_previous: str | None
) -> Problem:
    """Explain an event whose own hash holds but which sits at another position."""
    assert event.seq is not None and event.position is not None
    position = event.position
    if event.seq == position - 1 and event.prev == before_previous:
        return Problem(
            position - 1,
            "inserted",
            f"the event at {position - 1} is not part of the chain: "
            f"the next event follows event {position - 2} directly",
        )
    moved_back = following is not None and following.seq is not None and following.seq < event.seq
    if event.seq > position and not moved_back:
        return Problem(
            position,
            "missing",
            f"event {position} was removed and the later events moved up",
        )
    return Problem(position, "reordered", f"event {event.seq} is stored at position {position}")


def verify_chain(
    events: Iterable[StoredEvent],
    head: ChainLink | None,
    anchor: ChainLink | None = None,
) -> Verdict:
    """Walk the stored events in key order; return the verdict with the first bad event.

    `head` is the chain's head as recorded beside the requests (the same transaction writes
    both), so a cut tail or an event appended outside the app shows. `anchor` is a position
    and hash noted earlier (printed by a previous check): a rewritten history shows there.
    """
    expected = 1
    previous, before_previous = GENESIS, None
    last: ChainLink | None = None
    for event, following in _with_next(events):
        problem = _problem_at(event, following, expected, previous, before_previous)
        off_anchor = anchor is not None and anchor.seq == expected and anchor.hash != event.hash
        if problem is None and off_anchor:
            problem = Problem(expected, "altered", "it differs from the anchor noted earlier")
        if problem is not None:
            return Verdict(problem.seq - 1, None, problem)
        before_previous, previous = previous, event.hash
        last = ChainLink(seq=expected, hash=event.hash)
        expected += 1
    count = expected - 1
    return Verdict(count, last, _check_ends(count, last, head, anchor))


def _problem_at(
    event: StoredEvent,
    following: StoredEvent | None,
    expected: int,
    previous: str,
    before_previous: str | None,
) -> Problem | None:
    """Judge one event against the position it should hold and its predecessor's hash."""
    if event.position is None or event.position < expected:
        return Problem(expected, "forged", f"unexpected item {event.key!r}")
    if event.position > expected:
        missing = str(expected)
        if event.position > expected + 1:
            missing += f" to {event.position - 1}"
        return Problem(expected, "missing", f"event(s) {missing} not found")
    if not _self_consistent(event):
        return Problem(expected, "altered", "its content does not match its hash")
    if event.seq != event.position:
        return _misplaced(event, following, before_previous)
    if event.prev != previous:
        # The event itself is genuine and in place: its predecessor was replaced.
        detail = "it was replaced: the next event is chained to other content"
        return Problem(expected - 1, "altered", detail)
    return None


def _check_ends(
    count: int, last: ChainLink | None, head: ChainLink | None, anchor: ChainLink | None
) -> Problem | None:
    if head is None and count > 0:
        return Problem(count, "head_missing", "the head kept beside the requests is missing")
    head_seq = head.seq if head else 0
    if head_seq > count:
        return Problem(count + 1, "truncated", f"the head records {head_seq} events")
    if head_seq < count:
        detail = f"the head records {head_seq} events: later ones were not written by the app"
        return Problem(head_seq + 1, "forged", detail)
    if head is not None and last is not None and head.hash != last.hash:
        return Problem(count, "altered", "the last event differs from the recorded head")
    if anchor is not None and anchor.seq > count:
        return Problem(count + 1, "truncated", f"the anchor names event {anchor.seq}")
    return None
