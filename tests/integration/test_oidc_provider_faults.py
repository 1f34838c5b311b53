"""Sésame's OpenID Connect client when the provider changes under it: keys rotate, it goes down.

These tests start a provider of their own (they restart or stop it); the shared one is in
tests/peers/oidc_provider.py.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from chalicelib.domain.identity import SignInFailure
from local_stack.oidc_accounts import signing_keys
from tests.peers.oidc_provider import (
    MARIE,
    ProviderPeer,
    once,
    refused,
    signed_in,
    start_peer,
    tokens_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def own_provider(tmp_path: Path) -> Iterator[tuple[ProviderPeer, Path]]:
    """A provider of this test's own (it is restarted or stopped), on its own state folder."""
    peer = ProviderPeer(start_peer(tmp_path))
    try:
        yield peer, tmp_path
    finally:
        peer.running.stop()


def test_a_rotated_key_is_fetched_once_and_accepted_without_a_restart(
    own_provider: tuple[ProviderPeer, Path],
) -> None:
    peer, state_dir = own_provider
    client = peer.client()
    pending, tokens = tokens_for(client)
    client.verify(tokens, nonce=pending.nonce)
    old_kid = jwt.get_unverified_header(tokens["id_token"])["kid"]
    # The provider restarts on the same address with a new signing key; Sésame's client stays.
    peer.running.stop()
    signing_keys(state_dir, rotate=True)
    peer.running = start_peer(state_dir, port=peer.running.port)
    pending, tokens = tokens_for(client)
    assert jwt.get_unverified_header(tokens["id_token"])["kid"] != old_kid
    assert client.verify(tokens, nonce=pending.nonce).email == MARIE
    assert client.keys.fetches == 2  # the unknown kid refetched the key set once
    pending, tokens = tokens_for(client)
    client.verify(tokens, nonce=pending.nonce)
    assert client.keys.fetches == 2  # and the new key is cached from then on


def test_a_provider_that_is_down_is_reported_as_unreachable(
    own_provider: tuple[ProviderPeer, Path],
) -> None:
    peer, _ = own_provider
    client = peer.client(timeout_seconds=2)
    pending = client.begin()
    _, callback = signed_in(pending.authorization_url, MARIE)
    peer.running.stop()
    # The code is in hand, but the token endpoint no longer answers.
    refusal = refused(lambda: client.complete(pending, callback, first_use=once()))
    assert refusal.reason is SignInFailure.PROVIDER_UNREACHABLE
    # A client that never saw the provider cannot even begin.
    assert refused(peer.client().begin).reason is SignInFailure.PROVIDER_UNREACHABLE


def test_a_provider_that_never_answers_times_out_as_unreachable(
    oidc_provider: ProviderPeer,
) -> None:
    # A socket that accepts connections and never answers: the client's timeout ends the wait.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        client = oidc_provider.client(issuer=f"http://127.0.0.1:{port}", timeout_seconds=0.5)
        refusal = refused(client.begin)
    assert refusal.reason is SignInFailure.PROVIDER_UNREACHABLE
