"""local_stack/ldap_process.py: slapd starts on a free loopback port and stops without leftovers."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from local_stack.ldap_process import SlapdError, SlapdProcess, find_program

pytestmark = pytest.mark.integration


def _taken_port() -> socket.socket:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    return holder


def test_a_port_taken_before_slapd_binds_it_is_chosen_again(tmp_path: Path) -> None:
    # Another program answers on the port: readiness must not mistake it for slapd.
    with _taken_port() as holder:
        taken = holder.getsockname()[1]
        slapd = SlapdProcess(tmp_path / "slapd")
        slapd.port = taken
        with slapd:
            assert slapd.running
            assert slapd.port != taken


def test_a_port_the_caller_named_is_not_replaced(tmp_path: Path) -> None:
    with _taken_port() as holder:
        taken = holder.getsockname()[1]
        slapd = SlapdProcess(tmp_path / "slapd", taken)
        with pytest.raises(SlapdError, match=f"did not start on ldap://127.0.0.1:{taken}"):
            slapd.start()
        assert not slapd.running


def test_stopping_ends_the_process_and_frees_the_port(tmp_path: Path) -> None:
    slapd = SlapdProcess(tmp_path / "slapd").start()
    process = slapd._process
    assert process is not None and slapd.running
    slapd.stop()
    assert process.returncode is not None
    with socket.socket() as probe:
        # SO_REUSEADDR ignores closed connections in TIME_WAIT, never a listener still open.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", slapd.port))


def test_a_missing_program_names_the_command_that_installs_it() -> None:
    with pytest.raises(SlapdError, match="make peer-slapd"):
        find_program("slapd-that-does-not-exist")
