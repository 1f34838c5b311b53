"""Services on the test stage wired to the real local OpenID Provider (tests/peers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib.domain.identity_policy import SignInSettings
from chalicelib.service.context import Services, get_services, reset_services
from chalicelib.service.provider_signin import LOCAL_SECRET_VARIABLE
from tests.integration.conftest import AUDIT, MAIN
from tests.peers.oidc_provider import SESAME, ProviderPeer
from tests.peers.slapd import ldap_settings

BASE_URL = "http://127.0.0.1:9"  # the test client's registered callback is under it
OFFICERS_DN = "cn=securite-information,ou=groups,dc=mcn,dc=gouv,dc=qc,dc=ca"
COMMUNICATIONS_DN = "cn=direction-communications,ou=groups,dc=mcn,dc=gouv,dc=qc,dc=ca"
ROLES = {"Sesame.SecurityOfficer": "security", "Sesame.Communications": "communications"}


def with_provider(services: Services, issuer: str, **settings: Any) -> Services:
    """Give the services a policy whose [sign_in] names this provider for the test stage."""
    sign_in = SignInSettings(
        stages=("test",),
        issuer=issuer,
        client_id=SESAME.client_id,
        client_secret_parameter="/sesame/test/oidc-client-secret",
        roles=ROLES,
        **settings,
    )
    identity = services.policy.identity.model_copy(update={"sign_in": sign_in})
    services.policy = services.policy.model_copy(update={"identity": identity})
    return services


@pytest.fixture
def provider_env(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test stage with the public base URL and secret of the provider's test client."""
    monkeypatch.setenv("SESAME_PUBLIC_BASE_URL", BASE_URL)
    monkeypatch.setenv(LOCAL_SECRET_VARIABLE, SESAME.client_secret)
    reset_services()
    yield
    reset_services()


@pytest.fixture
def signin_services(provider_env: None, oidc_provider: ProviderPeer) -> Services:
    """Services whose policy signs people in at the shared test provider."""
    return with_provider(get_services(), oidc_provider.issuer)


def sessions_stored() -> int:
    """Count the sessions in the main table (test-only; the app never scans)."""
    found = boto3.client("dynamodb").scan(
        TableName=MAIN,
        Select="COUNT",
        FilterExpression="begins_with(PK, :session)",
        ExpressionAttributeValues={":session": {"S": "SESSION#"}},
    )
    return int(found["Count"])


def audit_bodies(action: str) -> list[str]:
    """Return the stored bodies of the audit events of one action (test-only scan)."""
    found = boto3.client("dynamodb").scan(
        TableName=AUDIT,
        FilterExpression="#action = :action",
        ExpressionAttributeNames={"#action": "action"},
        ExpressionAttributeValues={":action": {"S": action}},
    )
    return [item["body"]["S"] for item in found["Items"]]


def with_directory(services: Services, **directory: Any) -> Services:
    """Give the services a policy whose [directory] (and rules) say these things."""
    from chalicelib.domain.identity_policy import DirectorySettings

    require = directory.pop("require_directory_manager", False)
    settings = DirectorySettings(**directory) if directory else services.policy.identity.directory
    identity = services.policy.identity.model_copy(
        update={"directory": settings, "require_directory_manager": require}
    )
    services.policy = services.policy.model_copy(update={"identity": identity})
    return services


def over_ldap(services: Services, url: str, **extra: Any) -> Services:
    """Give the services a policy that reads people from the seeded slapd at `url`."""
    settings = ldap_settings(url)
    del settings["bind_password"]
    return with_directory(
        services,
        kind="ldap",
        ldap=settings,
        bind_password_parameter="/sesame/test/ldap-bind-password",
        groups={OFFICERS_DN: "security", COMMUNICATIONS_DN: "communications"},
        **extra,
    )
