"""What the local OpenID Provider knows: demo accounts from policies/, clients and signing keys."""

from __future__ import annotations

import json
import secrets
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.adapters.policy_files import load_policy

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROVIDER_DIR = Path(__file__).resolve().parent / "oidc"
DEMO_PASSWORD = "demo"  # noqa: S105  (the local provider's published demo password)
SECURITY_OFFICER_ROLE = "Sesame.SecurityOfficer"
# The local tenant: Entra ID names the organisation by a `tid`, the person by an `oid`.
LOCAL_TENANT = str(uuid.uuid5(uuid.NAMESPACE_DNS, "sesame.local.tenant"))


@dataclass(frozen=True)
class DemoAccount:
    """One person of the local provider; `roles` are the provider's app roles (Entra style)."""

    email: str
    name: str
    roles: tuple[str, ...] = ()
    password: str = DEMO_PASSWORD

    @property
    def object_id(self) -> str:
        """Return the person's stable id (the same at every start, like an Entra `oid`)."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sesame-local:{self.email.lower()}"))

    def as_json(self) -> dict[str, Any]:
        """Return the account as provider.mjs reads it."""
        return {
            "sub": self.object_id,
            "oid": self.object_id,
            "tid": LOCAL_TENANT,
            "email": self.email,
            "name": self.name,
            "roles": list(self.roles),
            "password": self.password,
        }


@dataclass(frozen=True)
class ClientRegistration:
    """A relying party registered at the local provider (client_secret_post, code + PKCE)."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        """Return the client as oidc-provider's `clients` configuration takes it."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": list(self.redirect_uris),
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris),
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_post",
            "id_token_signed_response_alg": "RS256",
            "require_auth_time": True,
        }


def group_role(group_id: str) -> str:
    """Return the app role of a group of rules.toml (communications: Sesame.Communications)."""
    return "Sesame." + "".join(part.capitalize() for part in group_id.replace("_", "-").split("-"))


def _display_name(email: str) -> str:
    local = email.split("@", 1)[0]
    return " ".join(part.capitalize() for part in local.replace("-", ".").split("."))


def demo_accounts(policies: Path | None = None) -> tuple[DemoAccount, ...]:
    """Return an account for every person of demo-accounts.toml and of the policy files."""
    policy = load_policy(policies or PROJECT_ROOT / "policies")
    names: dict[str, str] = {}
    roles: dict[str, list[str]] = {}

    def add(email: str, name: str | None = None, role: str | None = None) -> None:
        key = email.strip().lower()
        names.setdefault(key, name or _display_name(key))
        roles.setdefault(key, [])
        if role and role not in roles[key]:
            roles[key].append(role)

    listed = tomllib.loads((PROVIDER_DIR / "demo-accounts.toml").read_text("utf-8"))
    for entry in listed.get("accounts", []):
        add(entry["email"], entry.get("name"))
    for officer in policy.organisation.security_officers:
        add(officer.email, officer.name, SECURITY_OFFICER_ROLE)
    for group in policy.rules.groups:
        for member in group.members:
            add(member, role=group_role(group.id))
    for entry in policy.directory:
        add(entry.email)
        add(entry.manager)
    return tuple(DemoAccount(email, names[email], tuple(roles[email])) for email in names)


def signing_keys(state_dir: Path, *, rotate: bool = False) -> dict[str, Any]:
    """Return the provider's private key set, kept in the state folder (a new key if rotating)."""
    path = state_dir / "oidc-signing-keys.json"
    if path.exists() and not rotate:
        return dict(json.loads(path.read_text("utf-8")))
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = dict(RSAAlgorithm.to_jwk(key, as_dict=True))
    # PyJWT marks a private key `key_ops: ["sign"]`; the provider also verifies with it (its
    # own ID tokens, given back as `id_token_hint` at logout), so `use: sig` says it all.
    jwk.pop("key_ops", None)
    jwk.update({"kid": secrets.token_urlsafe(12), "use": "sig", "alg": "RS256"})
    key_set = {"keys": [jwk]}
    state_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(key_set), "utf-8")
    path.chmod(0o600)
    return key_set


def cookie_keys(state_dir: Path) -> list[str]:
    """Return the keys that sign the provider's cookies, kept across restarts."""
    path = state_dir / "oidc-cookie-keys.json"
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([secrets.token_urlsafe(32)]), "utf-8")
        path.chmod(0o600)
    return list(json.loads(path.read_text("utf-8")))
