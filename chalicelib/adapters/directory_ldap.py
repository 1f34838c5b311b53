"""The directory over LDAP (ldap3, pure Python): Active Directory or OpenLDAP.

Reads a person's display name, manager (the `manager` DN resolved to an address) and groups;
adds and removes group members. One connection per call, bound as Sésame's service account,
with short timeouts: a directory that is down, slow or refuses the bind raises
DirectoryUnavailable quickly, never hangs a request.
"""

from __future__ import annotations

import contextlib
import re
import ssl
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urlsplit

from ldap3 import BASE, MODIFY_ADD, MODIFY_DELETE, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ..domain.directory import EMAIL_PATTERN, DirectoryError, DirectoryUnavailable, Person
from ..domain.people import person_key

# LDAP result codes (RFC 4511 §4.1.9) that the adapter tells apart.
SUCCESS = 0
NO_SUCH_ATTRIBUTE = 16
VALUE_EXISTS = 20
NO_SUCH_OBJECT = 32
INVALID_CREDENTIALS = 49
BUSY = 51
UNAVAILABLE = 52
OBJECT_CLASS_VIOLATION = 65
_TRANSIENT = {BUSY, UNAVAILABLE, 3, 11}  # plus timeLimitExceeded and adminLimitExceeded
MAX_EMAIL = 254
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# An attribute or class name (RFC 4512 descr): it goes into filters as written, so no syntax.
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9-]{0,63}$"
_SPACED = re.compile(r"(?<!\\)\s*,\s*")


class LdapSettings(BaseModel):
    """Where the directory is, how Sésame binds to it and which schema it follows."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    url: str = Field(pattern=r"^ldaps?://[^\s/]+/?$")
    bind_dn: str = Field(min_length=3)
    # Read from SSM by the caller in AWS; never logged (SecretStr hides it in reprs).
    bind_password: SecretStr
    people_base_dn: str = Field(min_length=3)
    groups_base_dn: str = Field(min_length=3)
    flavour: Literal["ad", "openldap"] = "openldap"
    # Attributes that hold a person's address, in order of preference; None: the flavour's.
    email_attributes: tuple[str, ...] | None = None
    display_name_attribute: str = Field(default="displayName", pattern=NAME_PATTERN)
    manager_attribute: str = Field(default="manager", pattern=NAME_PATTERN)
    member_attribute: str = Field(default="member", pattern=NAME_PATTERN)
    member_of_attribute: str = Field(default="memberOf", pattern=NAME_PATTERN)
    # None: the flavour's (`user` and `group` in AD, `inetOrgPerson` and `groupOfNames`).
    person_object_class: str | None = Field(default=None, pattern=NAME_PATTERN)
    group_object_class: str | None = Field(default=None, pattern=NAME_PATTERN)
    # groupOfNames needs one member: this DN stays in emptied groups and is never reported.
    placeholder_member_dn: str | None = None
    start_tls: bool = False
    # PEM file of the CA that signed the directory's certificate; None: the system's CAs.
    # Certificates are always verified, host name included (ldap3 alone verifies nothing).
    ca_certs_file: str | None = None
    connect_timeout_s: float = Field(default=3.0, gt=0, le=30)
    # Whole seconds: ldap3 packs it into SO_RCVTIMEO as an integer.
    receive_timeout_s: int = Field(default=5, ge=1, le=60)

    @field_validator("url")
    @classmethod
    def _no_slash(cls, value: str) -> str:
        # ldap3 reads "host:389/" as a port named "389/": keep scheme, host and port only.
        return value.rstrip("/")

    @field_validator("email_attributes")
    @classmethod
    def _some(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and not value:
            raise ValueError("name at least one attribute")
        if value is not None and not all(re.match(NAME_PATTERN, name) for name in value):
            raise ValueError("not an attribute name")
        return value

    @model_validator(mode="after")
    def _encrypted(self) -> LdapSettings:
        # The bind password must not cross a network in clear: plain ldap:// is for loopback.
        parts = urlsplit(self.url)
        if parts.scheme == "ldap" and not self.start_tls and parts.hostname not in LOOPBACK:
            raise ValueError("ldap:// outside loopback needs start_tls (or use ldaps://)")
        return self

    @property
    def emails(self) -> tuple[str, ...]:
        """Return the address attributes: AD finds people by `mail` or `userPrincipalName`."""
        if self.email_attributes:
            return self.email_attributes
        return ("mail", "userPrincipalName") if self.flavour == "ad" else ("mail",)

    @property
    def person_class(self) -> str:
        """Return the object class of people."""
        return self.person_object_class or ("user" if self.flavour == "ad" else "inetOrgPerson")

    @property
    def group_class(self) -> str:
        """Return the object class of groups."""
        return self.group_object_class or ("group" if self.flavour == "ad" else "groupOfNames")


def normal_dn(dn: str) -> str:
    """Return a DN in one spelling (lower case, no spaces around separators) for comparisons."""
    try:
        # Some servers and operators write "cn=a, ou=b": ldap3 refuses a space before a type.
        parts = parse_dn(_SPACED.sub(",", dn.strip()))
    except LDAPException as error:
        raise DirectoryError(f"not a distinguished name: {dn[:200]!r}") from error
    return ",".join(f"{kind.strip().lower()}={value.strip().lower()}" for kind, value, _ in parts)


def _values(entry: dict[str, Any], attribute: str) -> list[str]:
    """Return an attribute's values as text, whatever case the server spelled its name in."""
    raw = entry.get("raw_attributes", {})
    for name, values in raw.items():
        if name.lower() == attribute.lower():
            return [v.decode("utf-8", "replace") for v in values if v]
    return []


class LdapDirectory:
    """The Directory and GroupDirectory ports over one LDAP server."""

    def __init__(self, settings: LdapSettings) -> None:
        self.settings = settings
        self._groups_base = normal_dn(settings.groups_base_dn)
        self._placeholder = (
            normal_dn(settings.placeholder_member_dn) if settings.placeholder_member_dn else None
        )

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Connection]:
        s = self.settings
        host = urlsplit(s.url).hostname
        try:
            tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=s.ca_certs_file, sni=host)
            server = Server(s.url, connect_timeout=s.connect_timeout_s, get_info=NONE, tls=tls)
        except LDAPException as error:  # e.g. the CA file is missing
            raise DirectoryUnavailable(f"{type(error).__name__}: {error}") from error
        connection = Connection(  # nothing is sent before open()
            server,
            user=s.bind_dn,
            password=s.bind_password.get_secret_value(),
            receive_timeout=s.receive_timeout_s,
            raise_exceptions=False,
            auto_bind=False,
            # Active Directory answers searches at a domain root with referrals: not followed.
            auto_referrals=False,
        )
        try:
            connection.open()
            # Never bind in clear after a StartTLS the server declined.
            if s.start_tls and not connection.start_tls():
                raise DirectoryUnavailable("StartTLS refused by the directory")
            if not connection.bind():
                code = connection.result.get("result")
                what = "credentials refused" if code == INVALID_CREDENTIALS else "bind refused"
                raise DirectoryUnavailable(f"{what}: {connection.result.get('description')}")
            yield connection
        except LDAPException as error:
            # Socket errors and timeouts, at bind or mid-operation: the directory is unreachable.
            raise DirectoryUnavailable(f"{type(error).__name__}: {error}") from error
        finally:
            with contextlib.suppress(LDAPException):
                connection.unbind()

    def _search(
        self,
        connection: Connection,
        base: str,
        query: str,
        attributes: list[str],
        scope: Literal["BASE", "SUBTREE"],
    ) -> list[dict[str, Any]]:
        connection.search(base, query, search_scope=scope, attributes=attributes or ["1.1"])
        code = connection.result.get("result")
        if code == NO_SUCH_OBJECT:
            return []
        self._check(connection, "search")
        return [e for e in connection.response or [] if e.get("type") == "searchResEntry"]

    @staticmethod
    def _check(connection: Connection, operation: str) -> None:
        code = connection.result.get("result")
        if code == SUCCESS:
            return
        reason = f"{operation}: {connection.result.get('description')} ({code})"
        raise (DirectoryUnavailable if code in _TRANSIENT else DirectoryError)(reason)

    def _email_of(self, entry: dict[str, Any]) -> str | None:
        """Return the entry's first usable address (directory data is not trusted to be one)."""
        for attribute in self.settings.emails:
            for value in _values(entry, attribute):
                address = value.strip().lower()
                if len(address) <= MAX_EMAIL and re.match(EMAIL_PATTERN, address):
                    return address
        return None

    def _find_entry(self, connection: Connection, email: str) -> dict[str, Any] | None:
        """Return the one entry with this address; several are an error, never a guess."""
        address = email.strip().lower()
        if not address or len(address) > MAX_EMAIL or "@" not in address:
            return None
        wanted = dict.fromkeys((address, person_key(address)))
        alternatives = "".join(
            f"({attribute}={escape_filter_chars(value)})"
            for attribute in self.settings.emails
            for value in wanted
        )
        query = f"(&(objectClass={self.settings.person_class})(|{alternatives}))"
        s = self.settings
        attributes = [*s.emails, s.display_name_attribute, s.manager_attribute]
        if s.flavour == "ad":
            attributes.append(s.member_of_attribute)
        found = self._search(connection, s.people_base_dn, query, attributes, SUBTREE)
        if len(found) > 1:
            raise DirectoryError("several people in the directory have this address")
        return found[0] if found else None

    def _email_at(self, connection: Connection, dn: str) -> str | None:
        found = self._search(connection, dn, "(objectClass=*)", list(self.settings.emails), BASE)
        return self._email_of(found[0]) if found else None

    def _groups_of(self, connection: Connection, entry: dict[str, Any]) -> frozenset[str]:
        s = self.settings
        if s.flavour == "ad":
            # Active Directory keeps the back-link on the person: one read, no group search.
            return frozenset(normal_dn(dn) for dn in _values(entry, s.member_of_attribute))
        query = (
            f"(&(objectClass={s.group_class})"
            f"({s.member_attribute}={escape_filter_chars(entry['dn'])}))"
        )
        found = self._search(connection, s.groups_base_dn, query, [], SUBTREE)
        return frozenset(normal_dn(group["dn"]) for group in found)

    def find_person(self, email: str) -> Person | None:
        """Return the person with this address, their manager's address and their groups."""
        s = self.settings
        with self._connection() as connection:
            entry = self._find_entry(connection, email)
            if entry is None:
                return None
            managers = _values(entry, s.manager_attribute)
            manager = self._email_at(connection, managers[0]) if managers else None
            names = _values(entry, s.display_name_attribute)
            address = self._email_of(entry)
            if address is None:
                raise DirectoryError("the directory's entry has no usable address")
            return Person(
                email=address,
                display_name=names[0][:256] if names else None,
                manager_email=manager,
                groups=self._groups_of(connection, entry),
            )

    def _group_dn(self, group: str) -> str:
        """Refuse a group outside the configured groups base before any call is made."""
        dn = normal_dn(group)
        if not (dn == self._groups_base or dn.endswith("," + self._groups_base)):
            raise DirectoryError("the group is outside the configured groups base")
        return group

    def members(self, group: str) -> frozenset[str]:
        """Return the addresses of a group's members (members without an address are left out)."""
        dn = self._group_dn(group)
        attribute = self.settings.member_attribute
        with self._connection() as connection:
            found = self._search(connection, dn, "(objectClass=*)", [attribute], BASE)
            if not found:
                raise DirectoryError("no such group")
            emails = set()
            for member in _values(found[0], attribute):
                if self._placeholder and normal_dn(member) == self._placeholder:
                    continue
                email = self._email_at(connection, member)
                if email:
                    emails.add(email)
            return frozenset(emails)

    def _modify(self, connection: Connection, dn: str, changes: list[tuple[str, str]]) -> int:
        attribute = self.settings.member_attribute
        # types-ldap3 leaves `modify` unannotated.
        connection.modify(  # type: ignore[no-untyped-call]
            dn, {attribute: [(kind, [value]) for kind, value in changes]}
        )
        return int(connection.result.get("result", -1))

    def _member_dn(self, connection: Connection, email: str) -> str | None:
        entry = self._find_entry(connection, email)
        return str(entry["dn"]) if entry else None

    def add_member(self, group: str, email: str) -> bool:
        """Add a person to a group; False when they were a member already."""
        dn = self._group_dn(group)
        with self._connection() as connection:
            member = self._member_dn(connection, email)
            if member is None:
                raise DirectoryError("no person in the directory has this address")
            code = self._modify(connection, dn, [(MODIFY_ADD, member)])
            if code == VALUE_EXISTS:
                return False
            self._check(connection, "add member")
            return True

    def remove_member(self, group: str, email: str) -> bool:
        """Remove a person from a group; False when they were not a member (or are unknown)."""
        dn = self._group_dn(group)
        with self._connection() as connection:
            member = self._member_dn(connection, email)
            if member is None:
                return False
            code = self._modify(connection, dn, [(MODIFY_DELETE, member)])
            if code == NO_SUCH_ATTRIBUTE:
                return False
            if code == OBJECT_CLASS_VIOLATION and self.settings.placeholder_member_dn:
                # The last member of a groupOfNames: swap it for the placeholder in one change.
                placeholder = self.settings.placeholder_member_dn
                self._modify(connection, dn, [(MODIFY_DELETE, member), (MODIFY_ADD, placeholder)])
            self._check(connection, "remove member")
            return True
