"""Read the identity settings out of the policy files: [sign_in], [directory] and the rules.

`load_identity(raw)` takes the raw TOML of organisation.toml and rules.toml (as
chalicelib.adapters.policy_files reads them), removes the identity tables from them (so the other
models never see them) and returns the validated IdentityPolicy, or raises InvalidPolicy
with the file, the field and the reason.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from ..domain.catalogue import SECURITY
from ..domain.errors import InvalidPolicy
from ..domain.identity_policy import DirectorySettings, IdentityPolicy, SignInSettings

ORGANISATION, RULES = "organisation.toml", "rules.toml"
# The LDAP fields Sésame reads from the policy; the password comes from SSM, never a file.
PASSWORD_FIELD = "bind_password"  # noqa: S105  # nosec B105  (a field name, not a secret)


def _validated(model: type[BaseModel], value: Any, file: str, prefix: str) -> Any:
    if not isinstance(value, dict):
        raise InvalidPolicy(file, prefix, "must be a table")
    try:
        return model.model_validate(value)
    except ValidationError as error:
        detail = error.errors()[0]
        where = ".".join(str(part) for part in detail["loc"])
        raise InvalidPolicy(file, f"{prefix}.{where}" if where else prefix, detail["msg"]) from None


def _check_ldap(directory: DirectorySettings) -> None:
    """Check the LDAP table with the adapter's own model (ldap3 is imported only then)."""
    if directory.kind != "ldap":
        if directory.ldap is not None:
            raise InvalidPolicy(ORGANISATION, "directory.ldap", "only with kind = ldap")
        return
    if directory.ldap is None:
        raise InvalidPolicy(ORGANISATION, "directory.ldap", "required with kind = ldap")
    if PASSWORD_FIELD in directory.ldap:
        raise InvalidPolicy(
            ORGANISATION, f"directory.ldap.{PASSWORD_FIELD}", "use bind_password_parameter (SSM)"
        )
    if directory.bind_password_parameter is None:
        raise InvalidPolicy(ORGANISATION, "directory.bind_password_parameter", "required")
    from .directory_ldap import LdapSettings

    # A stand-in password: the real one is read from SSM when the directory is first used.
    _validated(
        LdapSettings, {**directory.ldap, PASSWORD_FIELD: "-"}, ORGANISATION, "directory.ldap"
    )


def _check_roles(identity: IdentityPolicy, rules: dict[str, Any]) -> None:
    """Every role a provider role or a directory group maps to must exist in the policy."""
    groups = rules.get("groups") or []
    known = {SECURITY} | {g.get("id") for g in groups if isinstance(g, dict)}
    mappings = [("directory.groups", identity.directory.groups)]
    if identity.sign_in is not None:
        mappings.append(("sign_in.roles", identity.sign_in.roles))
    for where, mapping in mappings:
        for source, role in mapping.items():
            if role not in known:
                raise InvalidPolicy(ORGANISATION, f"{where}.{source}", f"unknown role {role!r}")


def load_identity(raw: dict[str, Any]) -> IdentityPolicy:
    """Take the identity tables out of the raw policy and validate them."""
    organisation, rules = raw["organisation"], raw["rules"]
    sign_in = organisation.pop("sign_in", None)
    directory = organisation.pop("directory", {})
    require = rules.pop("require_directory_manager", False)
    if not isinstance(require, bool):
        raise InvalidPolicy(RULES, "require_directory_manager", "must be true or false")
    identity = IdentityPolicy(
        sign_in=(
            None
            if sign_in is None
            else _validated(SignInSettings, sign_in, ORGANISATION, "sign_in")
        ),
        directory=_validated(DirectorySettings, directory, ORGANISATION, "directory"),
        require_directory_manager=require,
    )
    _check_ldap(identity.directory)
    _check_roles(identity, rules)
    return identity
