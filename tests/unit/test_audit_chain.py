"""The chain check names the first bad event, whatever was done to the stored events."""

from __future__ import annotations

import dataclasses
import json

import pytest

from chalicelib.domain.audit_chain import (
    GENESIS,
    ChainLink,
    StoredEvent,
    link_hash,
    next_link,
    verify_chain,
)

pytestmark = pytest.mark.unit


def chain(count: int) -> tuple[list[StoredEvent], ChainLink]:
    """A genuine chain of `count` events, as the store would read it back, and its head."""
    events: list[StoredEvent] = []
    head: ChainLink | None = None
    for n in range(1, count + 1):
        body = json.dumps({"n": n, "comment": f"event {n}"})
        head, prev = next_link(head, body)
        events.append(StoredEvent(n, f"SEQ#{n:012d}", n, prev, head.hash, body))
    assert head is not None
    return events, head


def at_position(event: StoredEvent, position: int) -> StoredEvent:
    """The same item stored under another key (what moving an item does)."""
    return dataclasses.replace(event, position=position, key=f"SEQ#{position:012d}")


def shifted(events: list[StoredEvent], by: int) -> list[StoredEvent]:
    """Move every item `by` positions (what renumbering after a removal or insertion does)."""
    return [at_position(e, (e.position or 0) + by) for e in events]


def test_an_untouched_chain_is_intact_with_its_count_and_last_hash() -> None:
    events, head = chain(5)
    verdict = verify_chain(events, head)
    assert verdict.intact
    assert verdict.summary() == f"intact, 5 events, last hash {head.hash}"


def test_an_empty_log_is_intact() -> None:
    assert verify_chain([], None).summary() == f"intact, 0 events, last hash {GENESIS}"


def test_an_edited_field_is_named() -> None:
    events, head = chain(6)
    events[2] = dataclasses.replace(events[2], body=events[2].body.replace("event", "évent"))
    problem = verify_chain(events, head).problem
    assert problem is not None and (problem.seq, problem.kind) == (3, "altered")


def test_an_edited_index_attribute_is_named() -> None:
    events, head = chain(4)
    events[1] = dataclasses.replace(events[1], index_ok=False)
    problem = verify_chain(events, head).problem
    assert problem is not None and (problem.seq, problem.kind) == (2, "altered")


def test_an_edit_with_a_recomputed_hash_is_named_by_the_next_link() -> None:
    events, head = chain(5)
    forged_body = events[1].body.replace("event 2", "rewritten")
    events[1] = dataclasses.replace(
        events[1], body=forged_body, hash=link_hash(2, events[1].prev, forged_body)
    )
    problem = verify_chain(events, head).problem
    assert problem is not None and (problem.seq, problem.kind) == (2, "altered")


def test_a_deleted_event_is_named() -> None:
    events, head = chain(6)
    del events[3]
    problem = verify_chain(events, head).problem
    assert problem is not None and (problem.seq, problem.kind) == (4, "missing")


def test_a_deleted_event_with_the_later_ones_moved_up_is_named() -> None:
    events, head = chain(6)
    moved = [*events[:3], *shifted(events[4:], -1)]
    problem = verify_chain(moved, head).problem
    assert problem is not None and (problem.seq, problem.kind) == (4, "missing")


def test_two_swapped_events_are_named() -> None:
    events, head = chain(6)
    events[2], events[3] = at_position(events[3], 3), at_position(events[2], 4)
    problem = verify_chain(events, head).problem
    assert problem is not None and (problem.seq, problem.kind) == (3, "reordered")


def test_a_forged_event_inserted_with_a_valid_hash_is_named() -> None:
    events, head = chain(5)
    body = json.dumps({"n": 3, "comment": "forged"})
    forged = StoredEvent(
        3, "SEQ#000000000003", 3, events[1].hash, link_hash(3, events[1].hash, body), body
    )
    moved = [*events[:2], forged, *shifted(events[2:], 1)]
    problem = verify_chain(moved, head).problem
    assert problem is not None and (problem.seq, problem.kind) == (3, "inserted")


def test_a_forged_event_inserted_with_a_made_up_hash_is_named() -> None:
    events, head = chain(5)
    forged = StoredEvent(3, "SEQ#000000000003", 3, events[1].hash, "f" * 64, "{}")
    moved = [*events[:2], forged, *shifted(events[2:], 1)]
    problem = verify_chain(moved, head).problem
    assert problem is not None and (problem.seq, problem.kind) == (3, "altered")


def test_an_item_that_is_not_a_chain_position_is_named() -> None:
    events, head = chain(3)
    stray = dataclasses.replace(events[1], position=None, key="SEQ#2-bis")
    problem = verify_chain([*events[:2], stray, events[2]], head).problem
    assert problem is not None and (problem.seq, problem.kind) == (3, "forged")


def test_a_cut_tail_is_named_by_the_head() -> None:
    events, head = chain(5)
    problem = verify_chain(events[:3], head).problem
    assert problem is not None and (problem.seq, problem.kind) == (4, "truncated")


def test_an_event_appended_outside_the_app_is_named_by_the_head() -> None:
    events, _ = chain(5)
    problem = verify_chain(events, ChainLink(4, events[3].hash)).problem
    assert problem is not None and (problem.seq, problem.kind) == (5, "forged")


def test_a_missing_head_is_reported() -> None:
    events, _ = chain(2)
    problem = verify_chain(events, None).problem
    assert problem is not None and problem.kind == "head_missing"


def test_a_history_rewritten_entirely_is_caught_by_an_anchor() -> None:
    events, _ = chain(4)
    anchor = ChainLink(2, events[1].hash)
    # Someone rewrites event 2 and recomputes every later hash (and the head).
    rewritten: list[StoredEvent] = events[:1]
    link: ChainLink | None = ChainLink(1, events[0].hash)
    for event in events[1:]:
        body = event.body.replace("event", "other")
        link, prev = next_link(link, body)
        rewritten.append(dataclasses.replace(event, prev=prev, hash=link.hash, body=body))
    assert link is not None
    assert verify_chain(rewritten, link).intact  # the chain alone cannot tell...
    problem = verify_chain(rewritten, link, anchor).problem  # ...the anchor can
    assert problem is not None and (problem.seq, problem.kind) == (2, "altered")
