"""The LDAP adapter's settings and DN spelling: what an operator configures, checked offline."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.adapters.directory_ldap import LdapDirectory, LdapSettings, normal_dn
from chalicelib.domain.directory import DirectoryError, Person

pytestmark = pytest.mark.unit

BASE = {
    "url": "ldaps://annuaire.mcn.gouv.qc.ca:636/",
    "bind_dn": "cn=sesame,ou=services,dc=mcn,dc=gouv,dc=qc,dc=ca",
    "bind_password": "s3cret-from-ssm",
    "people_base_dn": "ou=people,dc=mcn,dc=gouv,dc=qc,dc=ca",
    "groups_base_dn": "ou=groups,dc=mcn,dc=gouv,dc=qc,dc=ca",
}


def test_each_flavour_has_its_schema_defaults() -> None:
    openldap = LdapSettings.model_validate(BASE)
    ad = LdapSettings.model_validate({**BASE, "flavour": "ad"})
    assert (openldap.emails, openldap.person_class, openldap.group_class) == (
        ("mail",),
        "inetOrgPerson",
        "groupOfNames",
    )
    assert (ad.emails, ad.person_class, ad.group_class) == (
        ("mail", "userPrincipalName"),
        "user",
        "group",
    )
    custom = LdapSettings.model_validate({**BASE, "email_attributes": ["proxyAddress"]})
    assert custom.emails == ("proxyAddress",)


def test_the_bind_password_never_shows_in_a_repr_or_a_dump() -> None:
    settings = LdapSettings.model_validate(BASE)
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in settings.model_dump_json()
    assert settings.bind_password.get_secret_value() == "s3cret-from-ssm"


@pytest.mark.parametrize(
    "change",
    [
        {"url": "http://annuaire.mcn.gouv.qc.ca"},
        {"url": "ldap://annuaire/ou=x"},
        {"flavour": "novell"},
        {"email_attributes": []},
        {"email_attributes": ["mail)(uid=*"]},
        {"person_object_class": "*"},
        {"member_attribute": "member;range=0-1499"},
        {"receive_timeout_s": 0},
        {"connect_timeout_s": 120},
        {"unknown": "field"},
    ],
)
def test_a_broken_setting_is_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        LdapSettings.model_validate({**BASE, **change})


@pytest.mark.parametrize("host", ["annuaire.mcn.gouv.qc.ca", "10.0.0.5"])
def test_plain_ldap_off_loopback_is_refused_without_start_tls(host: str) -> None:
    # The bind password would cross the network in clear.
    with pytest.raises(ValidationError, match="start_tls"):
        LdapSettings.model_validate({**BASE, "url": f"ldap://{host}:389"})
    allowed = LdapSettings.model_validate({**BASE, "url": f"ldap://{host}", "start_tls": True})
    assert allowed.start_tls
    assert LdapSettings.model_validate({**BASE, "url": "ldap://127.0.0.1:3890"}).url


def test_the_url_loses_its_trailing_slash() -> None:
    # ldap3 would read "636/" as the port.
    assert LdapSettings.model_validate(BASE).url == "ldaps://annuaire.mcn.gouv.qc.ca:636"


def test_a_dn_has_one_spelling() -> None:
    assert (
        normal_dn("CN=Sesame-LinkedIn, OU=Groups,DC=mcn") == "cn=sesame-linkedin,ou=groups,dc=mcn"
    )
    assert normal_dn("cn=Tremblay\\, Marie,ou=people") == "cn=tremblay\\, marie,ou=people"
    with pytest.raises(DirectoryError):
        normal_dn("pas un DN")


def test_a_group_outside_the_base_is_refused_without_a_connection() -> None:
    directory = LdapDirectory(LdapSettings.model_validate(BASE))
    with pytest.raises(DirectoryError, match="outside"):
        directory.members("cn=domain admins,cn=users,dc=mcn,dc=gouv,dc=qc,dc=ca")
    with pytest.raises(DirectoryError, match="outside"):
        # A suffix that only looks like the base is not inside it.
        directory.members("cn=x,ou=mygroups,dc=mcn,dc=gouv,dc=qc,dc=ca")


def test_a_person_keeps_addresses_in_lower_case_and_forbids_extra_fields() -> None:
    person = Person(email="Marie.Tremblay@MCN.gouv.qc.ca", manager_email="Jean@MCN.gouv.qc.ca")
    assert (person.email, person.manager_email) == (
        "marie.tremblay@mcn.gouv.qc.ca",
        "jean@mcn.gouv.qc.ca",
    )
    with pytest.raises(ValidationError):
        Person.model_validate({"email": "a@b.ca", "roles": ["security"]})
    with pytest.raises(ValidationError):
        Person(email="pas une adresse")
