"""Check the audit log against its signed digests and the requests' current items.

One walk of the chain (strongly consistent reads) collects, beside the chain check itself,
the hash at each position a digest recorded and each request's last fingerprint; the digests
are read once with the key's public key; request items are read by BatchGetItem. The pure
rules in domain/digest_check.py decide. Read-only: this needs no permission to write.
"""

from __future__ import annotations

import json

from ..domain.audit_chain import StoredEvent
from ..domain.audit_digest import parse_digest
from ..domain.digest_check import AnchorVerdict, RequestState, verify_anchored
from ..domain.state_fingerprint import request_fingerprint
from ..store.request_items import request_items
from .digest import DigestDeps


class _Collector:
    """Keep what the anchored checks need from one walk of the chain."""

    def __init__(self, wanted: set[int]) -> None:
        self.wanted = wanted
        self.hashes: dict[int, str] = {}
        self.logged: dict[str, str] = {}

    def __call__(self, event: StoredEvent) -> None:
        if event.seq in self.wanted:
            self.hashes[event.seq] = event.hash
        if '"state":"' not in event.body:
            return  # cheap skip: most events (link opened, sign-in) change no request
        try:
            fields = json.loads(event.body)
        except ValueError:
            return  # unreadable: the chain check names it
        request_id, state = fields.get("request_id"), fields.get("state")
        if isinstance(request_id, str) and isinstance(state, str):
            self.logged[request_id] = state


def check_integrity(deps: DigestDeps) -> AnchorVerdict:
    """Verify chain, digests, chain against digests, then request fingerprints; in order."""
    stored = deps.digests.all()
    key = deps.digests.public_key()
    wanted: set[int] = set()
    for signed in stored.digests:
        try:
            wanted.add(parse_digest(signed.payload).head_seq)
        except ValueError:
            continue  # its signature check fails first
    collector = _Collector(wanted)
    chain = deps.log.verify(observe=collector)
    items = request_items(deps.client, deps.main_table, sorted(collector.logged))
    states = [
        RequestState(
            request_id=request_id,
            logged=logged,
            current=request_fingerprint(items[request_id]) if request_id in items else None,
        )
        for request_id, logged in sorted(collector.logged.items())
    ]
    return verify_anchored(chain, stored.digests, key, collector.hashes, states, stored.overwritten)
