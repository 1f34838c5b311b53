"""The relying party's rules that need no provider: PKCE, settings, ID token claims, demo accounts.

The protocol against the real provider is in tests/integration/test_oidc_protocol.py.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from pydantic import SecretStr, ValidationError

from chalicelib.adapters.oidc_client import OidcClientConfig, pkce_challenge
from chalicelib.adapters.oidc_tokens import KeySet, identity_from_claims, verify_id_token
from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.identity import SignInFailure, SignInRefused
from local_stack.oidc_accounts import SECURITY_OFFICER_ROLE, demo_accounts
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit

ISSUER = "https://login.example.gouv.qc.ca/tenant/v2.0"
CLIENT = "sesame-client"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_JWK = {**RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True), "kid": "k1", "use": "sig"}


def token(**changes: Any) -> str:
    """An ID token signed with the test key; a claim set to None is left out."""
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "pairwise-sub",
        "aud": CLIENT,
        "exp": int((NOW + timedelta(minutes=10)).timestamp()),
        "iat": int(NOW.timestamp()),
        "nonce": "n" * 43,
    }
    claims.update(changes)
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None}, KEY, "RS256", headers={"kid": "k1"}
    )


def verify(id_token: str, now: datetime = NOW) -> dict[str, Any]:
    return verify_id_token(
        id_token,
        keys=KeySet(lambda: {"keys": [PUBLIC_JWK]}),
        issuer=ISSUER,
        client_id=CLIENT,
        nonce="n" * 43,
        now=now,
        leeway_seconds=0,
        max_age_seconds=600,
    )


def reason(id_token: str, now: datetime = NOW) -> SignInFailure:
    with pytest.raises(SignInRefused) as caught:
        verify(id_token, now)
    return caught.value.reason


def test_the_pkce_challenge_is_rfc_7636s_example() -> None:
    # RFC 7636, Appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.parametrize(
    ("issuer", "accepted"),
    [
        ("https://login.microsoftonline.com/tid/v2.0", True),
        ("http://127.0.0.1:8002", True),
        ("http://localhost:8002", True),
        ("http://login.example.gouv.qc.ca", False),
        ("file:///etc/passwd", False),
        ("javascript:alert(1)", False),
    ],
)
def test_the_provider_is_reached_over_https_except_on_loopback(issuer: str, accepted: bool) -> None:
    def config() -> OidcClientConfig:
        return OidcClientConfig(
            issuer=issuer,
            client_id=CLIENT,
            client_secret=SecretStr("secret"),
            redirect_uri="https://sesame.example.gouv.qc.ca/login/oidc/callback",
        )

    if accepted:
        assert config().issuer == issuer
    else:
        with pytest.raises(ValidationError):
            config()


def test_the_client_secret_never_shows_in_the_settings_text() -> None:
    config = OidcClientConfig(
        issuer=ISSUER,
        client_id=CLIENT,
        client_secret=SecretStr("very-secret-value"),
        redirect_uri="https://sesame.example.gouv.qc.ca/cb",
    )
    assert "very-secret-value" not in repr(config) + str(config.model_dump())


def test_a_valid_token_verifies_and_each_broken_claim_names_its_reason() -> None:
    assert verify(token())["sub"] == "pairwise-sub"
    assert reason(token(iss="https://elsewhere.example/v2.0")) is SignInFailure.WRONG_ISSUER
    assert reason(token(aud="another-client")) is SignInFailure.WRONG_AUDIENCE
    assert reason(token(nonce="m" * 43)) is SignInFailure.WRONG_NONCE
    assert reason(token(nonce=None)) is SignInFailure.MALFORMED
    assert reason(token(exp=None)) is SignInFailure.MALFORMED
    assert reason(token(exp="tomorrow")) is SignInFailure.MALFORMED


def test_the_authorized_party_must_be_sesame_when_there_are_several_audiences() -> None:
    assert verify(token(aud=[CLIENT, "api"], azp=CLIENT))["azp"] == CLIENT
    assert reason(token(aud=[CLIENT, "api"])) is SignInFailure.WRONG_AUDIENCE
    assert reason(token(azp="another-client")) is SignInFailure.WRONG_AUDIENCE


def test_times_are_judged_against_the_clock_passed_in() -> None:
    expires = NOW + timedelta(minutes=10)
    assert verify(token(), now=expires - timedelta(seconds=1))
    assert reason(token(), now=expires) is SignInFailure.EXPIRED
    assert reason(token(), now=NOW - timedelta(seconds=1)) is SignInFailure.NOT_YET_VALID
    later = int((NOW + timedelta(minutes=5)).timestamp())
    assert reason(token(nbf=later)) is SignInFailure.NOT_YET_VALID
    assert verify(token(nbf=later), now=NOW + timedelta(minutes=5))
    # A token kept for long is refused even with a far exp: it is not this sign-in's.
    late = NOW + timedelta(seconds=601)
    far = int((NOW + timedelta(days=1)).timestamp())
    assert reason(token(exp=far), now=late) is SignInFailure.EXPIRED


def test_entra_claims_identify_the_person_by_object_id_and_tenant() -> None:
    claims = {
        "iss": ISSUER,
        "sub": "pairwise-sub",
        "oid": "00000000-0000-0000-0000-0000000000aa",
        "tid": "11111111-1111-1111-1111-111111111111",
        "preferred_username": "marie.tremblay@mcn.gouv.qc.ca",
        "name": "Marie Tremblay",
        "roles": "Sesame.SecurityOfficer",
        "auth_time": int(NOW.timestamp()),
    }
    identity = identity_from_claims(claims, id_token="t", roles_claim="roles")
    assert identity.subject == claims["oid"] and identity.tenant == claims["tid"]
    assert identity.email == "marie.tremblay@mcn.gouv.qc.ca"
    assert identity.roles == ("Sesame.SecurityOfficer",)
    assert identity.auth_time == NOW
    assert identity.method == "oidc"
    with pytest.raises(SignInRefused) as caught:
        identity_from_claims({**claims, "roles": {"a": 1}}, id_token="t", roles_claim="roles")
    assert caught.value.reason is SignInFailure.MALFORMED


def test_importing_the_client_loads_neither_pyjwt_nor_cryptography() -> None:
    # They weigh megabytes and move to a Lambda layer: only the sign-in callback may load them.
    code = (
        "import sys, chalicelib.adapters.oidc_client\n"
        "print(sorted(n for n in ('jwt', 'cryptography') if n in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_local_provider_has_an_account_for_everyone_in_the_policies() -> None:
    accounts = {account.email: account for account in demo_accounts()}
    policy = load_policy(PROJECT_ROOT / "policies")
    for officer in policy.organisation.security_officers:
        assert SECURITY_OFFICER_ROLE in accounts[officer.email].roles
        assert accounts[officer.email].name == officer.name
    for member in policy.members_of("communications"):
        assert "Sesame.Communications" in accounts[member].roles
    for entry in policy.directory:
        assert entry.email in accounts and entry.manager in accounts
    for email in ("marie.tremblay@mcn.gouv.qc.ca", "jean.gestion@mcn.gouv.qc.ca"):
        assert accounts[email].roles == ()
    assert {account.password for account in accounts.values()} == {"demo"}
    # Each person has a stable id of their own.
    assert len({account.object_id for account in accounts.values()}) == len(accounts)
    assert [a.object_id for a in demo_accounts()] == [a.object_id for a in accounts.values()]


def test_without_node_the_stack_is_told_in_one_line_and_gets_no_provider(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from local_stack import oidc_process

    # A machine without Node.js where nothing can be installed (not root).
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(oidc_process.os, "geteuid", lambda: 1000)
    assert oidc_process.start_provider(tmp_path / "state") is None
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and "Node.js" in said[0]
    assert not (tmp_path / "state").exists()  # nothing written, nothing started


def test_the_adapters_import_nothing_of_ours_but_the_domain() -> None:
    import ast

    ours: set[str] = set()
    for module in (PROJECT_ROOT / "chalicelib" / "adapters").glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                ours.add(node.module)
            elif isinstance(node, ast.Import):
                ours.update(alias.name for alias in node.names)
    ours = {name for name in ours if name.split(".")[0] in ("chalicelib", "app", "local_stack")}
    assert ours, "the adapters import the domain at least"
    assert {
        name for name in ours if not name.startswith(("chalicelib.domain", "chalicelib.adapters"))
    } == set()
