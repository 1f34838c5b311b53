"""The directory adapters: one contract for the TOML file and LDAP, then LDAP against real slapd.

The slapd of tests/peers/slapd.py serves local_stack/ldap/seed.ldif for the whole session; tests
that change a group put it back as they found it, and the fault tests start their own slapd.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ldap3 import BASE, MODIFY_DELETE, MODIFY_REPLACE, Connection, Server

from chalicelib.adapters.directory_ldap import LdapDirectory, LdapSettings
from chalicelib.adapters.directory_toml import TomlDirectory
from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.directory import Directory, DirectoryError, DirectoryUnavailable
from local_stack.ldap_process import (
    BASE_DN,
    GROUPS_DN,
    PEOPLE_DN,
    PLACEHOLDER_DN,
    ROOT_DN,
    SERVICE_DN,
    SERVICE_PASSWORD,
    SlapdProcess,
    free_port,
)
from tests.conftest import PROJECT_ROOT
from tests.peers.slapd import TlsDirectory, ldap_settings

pytestmark = pytest.mark.integration

MARIE = "marie.tremblay@mcn.gouv.qc.ca"
JEAN = "jean.gestion@mcn.gouv.qc.ca"
CAMILLE = "camille.demo@mcn.gouv.qc.ca"
DIRECTION = "direction.demo@mcn.gouv.qc.ca"
OFFICER = "securite.demo@mcn.gouv.qc.ca"
COMMUNICATIONS = "communications.demo@mcn.gouv.qc.ca"
RSSI = "rssi.demo@mcn.gouv.qc.ca"
OFFICERS_DN = f"cn=securite-information,{GROUPS_DN}"
COMMUNICATIONS_DN = f"cn=direction-communications,{GROUPS_DN}"
NOT_OURS_DN = f"cn=reseau-administrateurs,{GROUPS_DN}"
LINKEDIN_DN = f"cn=sesame-linkedin,{GROUPS_DN}"
INJECTIONS = (
    "*",
    "*)(uid=*",
    "*@mcn.gouv.qc.ca",
    "*)(|(mail=*)@mcn.gouv.qc.ca",
    f"{CAMILLE})(mail=*",
    "\\2a@mcn.gouv.qc.ca",
)


def ldap(url: str, **overrides: object) -> LdapDirectory:
    """Return the adapter over the seeded directory at `url`."""
    return LdapDirectory(LdapSettings.model_validate(ldap_settings(url, **overrides)))


def raw_members(url: str, group: str) -> set[str]:
    """Read a group's `member` values over a connection of its own (not the adapter's)."""
    with Connection(Server(url), SERVICE_DN, SERVICE_PASSWORD, auto_bind=True) as conn:
        conn.search(group, "(objectClass=*)", search_scope=BASE, attributes=["member"])
        return {str(dn).lower() for dn in conn.entries[0].member.values}


@dataclass(frozen=True)
class World:
    """One directory and what it is expected to say of the demo people."""

    directory: Directory
    officers_group: str
    communications_group: str
    employee_name: str | None


@pytest.fixture(params=["toml", "ldap"])
def world(request: pytest.FixtureRequest) -> World:
    """The TOML directory of policies/ and the LDAP one of the seed, which name the same people."""
    if request.param == "toml":
        toml = TomlDirectory(load_policy(PROJECT_ROOT / "policies"))
        return World(toml, "security", "communications", None)
    slapd: SlapdProcess = request.getfixturevalue("slapd")
    return World(ldap(slapd.url), OFFICERS_DN, COMMUNICATIONS_DN, "Camille Roy")


class TestDirectoryContract:
    """What every Directory adapter says, the embedded TOML file and LDAP alike."""

    def test_an_employee_s_manager_comes_from_the_directory(self, world: World) -> None:
        person = world.directory.find_person(CAMILLE)
        assert person is not None
        assert (person.email, person.manager_email) == (CAMILLE, DIRECTION)
        assert person.display_name == world.employee_name

    def test_an_officer_has_a_name_and_the_officers_group(self, world: World) -> None:
        person = world.directory.find_person(OFFICER)
        assert person is not None
        assert person.display_name == "Camille Tremblay"
        assert world.officers_group in person.groups
        assert world.communications_group not in person.groups

    def test_a_communications_member_is_in_that_group_only(self, world: World) -> None:
        person = world.directory.find_person(COMMUNICATIONS)
        assert person is not None
        assert person.groups == {world.communications_group}

    def test_case_and_a_plus_tag_name_the_same_person(self, world: World) -> None:
        person = world.directory.find_person("Camille.Demo+veille@MCN.gouv.qc.ca")
        assert person is not None
        assert (person.email, person.manager_email) == (CAMILLE, DIRECTION)

    @pytest.mark.parametrize("email", ["inconnu@mcn.gouv.qc.ca", "camille.demo@ailleurs.ca", ""])
    def test_someone_the_directory_does_not_know_is_none(self, world: World, email: str) -> None:
        assert world.directory.find_person(email) is None

    @pytest.mark.parametrize("email", INJECTIONS)
    def test_filter_syntax_in_an_address_finds_nobody(self, world: World, email: str) -> None:
        assert world.directory.find_person(email) is None


def test_an_openldap_entry_gives_manager_name_and_groups(slapd: SlapdProcess) -> None:
    directory = ldap(slapd.url)
    marie = directory.find_person(MARIE)
    assert marie is not None
    assert (marie.display_name, marie.manager_email, marie.groups) == (
        "Marie Tremblay",
        JEAN,
        frozenset(),
    )
    sophie = directory.find_person(COMMUNICATIONS)
    assert sophie is not None and sophie.display_name == "Sophie Bélanger"
    jean = directory.find_person(JEAN)
    assert jean is not None
    assert jean.groups == {NOT_OURS_DN}
    assert jean.manager_email == DIRECTION


def test_an_active_directory_entry_is_found_by_its_user_principal_name(
    slapd: SlapdProcess,
) -> None:
    # cn=Alex Gagnon is a `user` with userPrincipalName and no mail; groups from memberOf.
    directory = ldap(slapd.url, flavour="ad")
    alex = directory.find_person("RSSI.demo@mcn.gouv.qc.ca")
    assert alex is not None
    assert (alex.email, alex.display_name, alex.manager_email) == (RSSI, "Alex Gagnon", DIRECTION)
    assert alex.groups == {OFFICERS_DN}
    # The OpenLDAP flavour looks for inetOrgPerson entries with a mail: it does not know Alex.
    assert ldap(slapd.url).find_person(RSSI) is None


def test_member_of_and_a_group_search_give_the_same_groups(slapd: SlapdProcess) -> None:
    by_search = ldap(slapd.url).find_person(OFFICER)
    by_member_of = ldap(slapd.url, flavour="ad", person_object_class="inetOrgPerson")
    from_back_link = by_member_of.find_person(OFFICER)
    assert by_search is not None and from_back_link is not None
    assert by_search.groups == from_back_link.groups == {OFFICERS_DN}


def test_a_wildcard_address_would_match_everyone_unescaped(slapd: SlapdProcess) -> None:
    # What the injection tests guard against: the raw filter matches every person.
    with Connection(Server(slapd.url), SERVICE_DN, SERVICE_PASSWORD, auto_bind=True) as conn:
        conn.search(PEOPLE_DN, "(mail=*@mcn.gouv.qc.ca)", attributes=["mail"])
        assert len(conn.entries) > 5
    assert ldap(slapd.url).find_person("*@mcn.gouv.qc.ca") is None


def test_adding_and_removing_a_member_is_idempotent_and_seen_by_others(
    slapd: SlapdProcess,
) -> None:
    directory = ldap(slapd.url)
    marie_dn = f"uid=marie.tremblay,{PEOPLE_DN}"
    assert directory.members(LINKEDIN_DN) == frozenset()
    try:
        assert directory.add_member(LINKEDIN_DN, "Marie.Tremblay@mcn.gouv.qc.ca") is True
        assert directory.add_member(LINKEDIN_DN, MARIE) is False
        assert raw_members(slapd.url, LINKEDIN_DN) == {marie_dn, PLACEHOLDER_DN}
        assert ldap(slapd.url).members(LINKEDIN_DN) == {MARIE}
        marie = ldap(slapd.url).find_person(MARIE)
        assert marie is not None and marie.groups == {LINKEDIN_DN}
    finally:
        assert directory.remove_member(LINKEDIN_DN, MARIE) is True
    assert directory.remove_member(LINKEDIN_DN, MARIE) is False
    assert raw_members(slapd.url, LINKEDIN_DN) == {PLACEHOLDER_DN}
    assert directory.members(LINKEDIN_DN) == frozenset()


def test_removing_the_last_member_leaves_the_placeholder(slapd: SlapdProcess) -> None:
    group = f"cn=sesame-tiktok,{GROUPS_DN}"
    directory = ldap(slapd.url)
    directory.add_member(group, JEAN)
    with Connection(Server(slapd.url), ROOT_DN, slapd.root_password, auto_bind=True) as conn:
        assert conn.modify(group, {"member": [(MODIFY_DELETE, [PLACEHOLDER_DN])]})
    assert raw_members(slapd.url, group) == {f"uid=jean.gestion,{PEOPLE_DN}"}
    # groupOfNames may not be empty: the adapter swaps the last member for the placeholder.
    assert directory.remove_member(group, JEAN) is True
    assert raw_members(slapd.url, group) == {PLACEHOLDER_DN}
    assert directory.members(group) == frozenset()


def test_a_group_sesame_does_not_own_is_refused_and_unchanged(slapd: SlapdProcess) -> None:
    directory = ldap(slapd.url)
    with pytest.raises(DirectoryError, match="insufficientAccessRights"):
        directory.add_member(NOT_OURS_DN, MARIE)
    with pytest.raises(DirectoryError, match="insufficientAccessRights"):
        directory.remove_member(NOT_OURS_DN, JEAN)
    assert directory.members(NOT_OURS_DN) == {JEAN}


def test_a_group_outside_the_groups_base_is_refused_before_any_call() -> None:
    # Nothing listens on this port: an error other than DirectoryUnavailable means no call.
    directory = ldap(f"ldap://127.0.0.1:{free_port()}")
    for group in (f"cn=admins,{BASE_DN}", "cn=x,ou=groups,dc=ailleurs,dc=ca", "pas un DN"):
        with pytest.raises(DirectoryError) as raised:
            directory.add_member(group, MARIE)
        assert not isinstance(raised.value, DirectoryUnavailable)


def test_an_unknown_person_cannot_be_added_and_is_never_a_member(slapd: SlapdProcess) -> None:
    directory = ldap(slapd.url)
    with pytest.raises(DirectoryError, match="no person"):
        directory.add_member(LINKEDIN_DN, "inconnu@mcn.gouv.qc.ca")
    assert directory.remove_member(LINKEDIN_DN, "inconnu@mcn.gouv.qc.ca") is False
    with pytest.raises(DirectoryError, match="no such group"):
        directory.members(f"cn=sesame-inexistant,{GROUPS_DN}")


@pytest.fixture
def own_slapd(tmp_path: Path) -> Iterator[SlapdProcess]:
    """A slapd of this test alone, to stop and restart."""
    with SlapdProcess(tmp_path / "slapd") as server:
        yield server


def test_a_stopped_directory_is_unavailable(own_slapd: SlapdProcess) -> None:
    directory = ldap(own_slapd.url)
    assert directory.find_person(MARIE) is not None
    own_slapd.stop()
    for call in (
        lambda: directory.find_person(MARIE),
        lambda: directory.members(LINKEDIN_DN),
        lambda: directory.add_member(LINKEDIN_DN, MARIE),
        lambda: directory.remove_member(LINKEDIN_DN, MARIE),
    ):
        with pytest.raises(DirectoryUnavailable, match="Connection refused"):
            call()


def test_a_restart_keeps_what_was_changed(own_slapd: SlapdProcess) -> None:
    # The local stack keeps its state across restarts: the folder is seeded once.
    assert ldap(own_slapd.url).add_member(LINKEDIN_DN, MARIE) is True
    own_slapd.stop()
    own_slapd.port = free_port()
    own_slapd.start()
    assert ldap(own_slapd.url).members(LINKEDIN_DN) == {MARIE}


def test_a_closed_port_is_unavailable() -> None:
    with pytest.raises(DirectoryUnavailable, match="Connection refused"):
        ldap(f"ldap://127.0.0.1:{free_port()}").find_person(MARIE)


def test_a_directory_that_never_answers_times_out() -> None:
    # A listening socket that never reads: the connection opens, the bind gets no answer.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        port = silent.getsockname()[1]
        with pytest.raises(DirectoryUnavailable):
            ldap(f"ldap://127.0.0.1:{port}", receive_timeout_s=1).find_person(MARIE)


def test_a_wrong_bind_password_is_unavailable_and_not_repeated(slapd: SlapdProcess) -> None:
    with pytest.raises(DirectoryUnavailable, match="credentials refused") as raised:
        ldap(slapd.url, bind_password="mauvais-mot-de-passe").find_person(MARIE)
    assert "mauvais" not in str(raised.value)
    with pytest.raises(DirectoryUnavailable, match="credentials refused"):
        ldap(slapd.url, bind_dn=f"cn=inconnu,ou=services,{BASE_DN}").find_person(MARIE)


def test_ldaps_and_start_tls_work_with_the_directory_s_ca(slapd_tls: TlsDirectory) -> None:
    server, ca = slapd_tls.server, str(slapd_tls.ca_file)
    assert ldap(server.ldaps_url, ca_certs_file=ca).find_person(MARIE) is not None
    assert ldap(server.url, start_tls=True, ca_certs_file=ca).find_person(MARIE) is not None


@pytest.mark.parametrize("start_tls", [False, True], ids=["ldaps", "start_tls"])
def test_a_certificate_from_another_ca_is_refused(slapd_tls: TlsDirectory, start_tls: bool) -> None:
    # No bind (so no password) goes to a server whose certificate Sésame cannot verify.
    server = slapd_tls.server
    url = server.url if start_tls else server.ldaps_url
    for ca in (str(slapd_tls.other_ca_file), None):
        with pytest.raises(DirectoryUnavailable, match=r"(?i)certificate"):
            ldap(url, start_tls=start_tls, ca_certs_file=ca).find_person(MARIE)


def test_a_certificate_for_another_host_name_is_refused(slapd_tls: TlsDirectory) -> None:
    # The certificate names IP 127.0.0.1; "localhost" reaches the same server by another name.
    url = slapd_tls.server.ldaps_url.replace("127.0.0.1", "localhost")
    with pytest.raises(DirectoryUnavailable, match="doesn't match"):
        ldap(url, ca_certs_file=str(slapd_tls.ca_file)).find_person(MARIE)


def test_a_directory_that_declines_start_tls_gets_no_bind(slapd: SlapdProcess) -> None:
    # The session's slapd has no certificate: StartTLS fails, and nothing is sent in clear.
    with pytest.raises(DirectoryUnavailable, match=r"(?i)tls"):
        ldap(slapd.url, start_tls=True).find_person(MARIE)


@pytest.mark.parametrize(
    "manager", [PLACEHOLDER_DN, f"uid=parti.depuis,{PEOPLE_DN}"], ids=["no address", "gone"]
)
def test_a_manager_without_an_address_is_no_manager(own_slapd: SlapdProcess, manager: str) -> None:
    # The form will then ask for the manager instead of trusting an unusable entry.
    with Connection(Server(own_slapd.url), ROOT_DN, own_slapd.root_password, auto_bind=True) as c:
        assert c.modify(
            f"uid=marie.tremblay,{PEOPLE_DN}", {"manager": [(MODIFY_REPLACE, [manager])]}
        )
    marie = ldap(own_slapd.url).find_person(MARIE)
    assert marie is not None and marie.manager_email is None
