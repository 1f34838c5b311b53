"""A real OpenLDAP `slapd` on a loopback port, from the project's config and seed, for tests and
the local stack.

No privileges needed: slapd runs as whoever starts it, on a port above 1024, from a state folder
of its own (configuration, mdb database, pid file). The first start seeds the database with
`slapadd` from `local_stack/ldap/seed.ldif`; later starts on the same folder keep its data.
Debian 12's `slapd` and `ldap-utils` (2.5) provide the programs (`make peer-slapd`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

LDAP_DIR = Path(__file__).resolve().parent / "ldap"
SEED_LDIF = LDAP_DIR / "seed.ldif"
BASE_DN = "dc=mcn,dc=gouv,dc=qc,dc=ca"
PEOPLE_DN = f"ou=people,{BASE_DN}"
GROUPS_DN = f"ou=groups,{BASE_DN}"
ROOT_DN = f"cn=admin,{BASE_DN}"
SERVICE_DN = f"cn=sesame,ou=services,{BASE_DN}"
# The seed's demo password of the service account: loopback test and demo data only.
SERVICE_PASSWORD = "sesame-demo"  # noqa: S105
PLACEHOLDER_DN = f"cn=nobody,ou=services,{BASE_DN}"
SBIN = ("/usr/sbin", "/usr/local/sbin")
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
PR_SET_PDEATHSIG = 1


class SlapdError(RuntimeError):
    """slapd is missing, or did not start or stop as asked; says what it printed."""


def find_program(name: str) -> str:
    """Return the path of an OpenLDAP program (slapd lives in /usr/sbin, often not on PATH)."""
    found = shutil.which(name) or next(
        (f"{d}/{name}" for d in SBIN if os.access(f"{d}/{name}", os.X_OK)), None
    )
    if found is None:
        raise SlapdError(f"{name} not found: run `make peer-slapd` (Debian: slapd ldap-utils)")
    return found


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """Ask Linux to stop slapd when the process that started it dies (even by SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


class SlapdProcess:
    """One slapd serving the project's seed on ldap://127.0.0.1:PORT/ until stopped."""

    def __init__(
        self, state_dir: Path, port: int | None = None, tls: tuple[Path, Path] | None = None
    ) -> None:
        self.state_dir = state_dir
        self._port_chosen = port is None
        self.port = port or free_port()
        # (certificate, key) in PEM: slapd then also listens for LDAPS and offers StartTLS.
        self.tls = tls
        self.tls_port = free_port() if tls else 0
        self._process: subprocess.Popen[bytes] | None = None
        self._root_password = ""

    @property
    def url(self) -> str:
        """Return the LDAP URL clients connect to."""
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        """Return the LDAPS URL (TLS from the first byte), when started with a certificate."""
        return f"ldaps://127.0.0.1:{self.tls_port}"

    @property
    def root_password(self) -> str:
        """Return the password of the directory's administrator (new at each start)."""
        return self._root_password

    @property
    def running(self) -> bool:
        """Tell whether the slapd process is alive."""
        return self._process is not None and self._process.poll() is None

    def _write_config(self) -> Path:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "data").mkdir(exist_ok=True)
        self._root_password = secrets.token_urlsafe(24)
        hashed = (
            subprocess.run(
                [find_program("slappasswd"), "-h", "{SSHA}", "-T", "/dev/stdin"],
                input=self._root_password.encode(),
                capture_output=True,
                check=True,
            )
            .stdout.decode()
            .strip()
        )
        text = (LDAP_DIR / "slapd.conf.in").read_text(encoding="utf-8")
        for key, value in {
            "@SCHEMA_DIR@": str(LDAP_DIR),
            "@STATE_DIR@": str(self.state_dir.resolve()),
            "@ROOT_PASSWORD_HASH@": hashed,
            "@TLS_SETTINGS@": (
                f"TLSCertificateFile {self.tls[0].resolve()}\n"
                f"TLSCertificateKeyFile {self.tls[1].resolve()}"
                if self.tls
                else ""
            ),
        }.items():
            text = text.replace(key, value)
        config = self.state_dir / "slapd.conf"
        config.write_text(text, encoding="utf-8")
        config.chmod(0o600)
        return config

    def _seed(self, config: Path) -> None:
        marker = self.state_dir / "data" / ".seeded"
        if marker.exists():
            return
        result = subprocess.run(
            [find_program("slapadd"), "-q", "-f", str(config), "-l", str(SEED_LDIF)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise SlapdError(f"slapadd refused the seed: {result.stderr.strip()[-2000:]}")
        marker.touch()

    def _listeners(self) -> str:
        return f"{self.url} {self.ldaps_url}" if self.tls else self.url

    def _launch(self, config: Path) -> bool:
        """Start slapd on self.port; True once it answers, False if it exited (port taken)."""
        pidfile = self.state_dir / "slapd.pid"
        pidfile.unlink(missing_ok=True)
        log = (self.state_dir / "slapd.log").open("ab")
        # -d 0 keeps slapd in the foreground (no fork), so this object owns the process; a test
        # run or local stack killed without clean-up takes its slapd with it (the death signal
        # follows the starting thread: start it from the main thread).
        self._process = subprocess.Popen(
            [find_program("slapd"), "-h", self._listeners(), "-f", str(config), "-d", "0"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        )
        log.close()
        pid = str(self._process.pid)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if not self.running:
                return False
            # slapd writes its pid file only once its listener is bound: whoever answers on the
            # port is then this slapd, not another program that took the port first.
            written = pidfile.read_text().strip() if pidfile.exists() else ""
            if written == pid and _accepts(self.port):
                return True
            time.sleep(0.05)
        self.stop()
        return False

    def start(self) -> SlapdProcess:
        """Write the config, seed an empty database, start slapd and wait until it answers."""
        if self.running:
            return self
        config = self._write_config()
        self._seed(config)
        # A port found free may be taken before slapd binds it (others run tests here too):
        # a port of our choosing is chosen again; a port the caller named is not.
        for _ in range(3 if self._port_chosen else 1):
            if self._launch(config):
                return self
            if self._port_chosen:
                self.port = free_port()
                self.tls_port = free_port() if self.tls else 0
        code = self._process.returncode if self._process else None
        self.stop()
        tail = (self.state_dir / "slapd.log").read_text(errors="replace")[-2000:]
        raise SlapdError(
            f"slapd did not start on {self.url} (exit status {code}; port taken? "
            f"`slaptest -f {config}` checks the configuration) {tail}".strip()
        )

    def stop(self) -> None:
        """Stop slapd cleanly (SIGTERM flushes the database), killing it only if it hangs."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)

    def __enter__(self) -> SlapdProcess:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def running_slapd(state_dir: Path, port: int | None = None) -> Iterator[SlapdProcess]:
    """Run slapd for the duration of a `with` block."""
    with SlapdProcess(state_dir, port) as slapd:
        yield slapd


def main() -> None:
    """Run the local directory until Ctrl-C: `python -m local_stack.ldap_process [PORT]`."""
    import sys

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 3890
    # SIGTERM (from a supervisor or `timeout`) stops slapd cleanly, as Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with SlapdProcess(Path(".local") / "slapd", port) as slapd:
        print(f"slapd on {slapd.url} (base {BASE_DN}); bind {SERVICE_DN} / {SERVICE_PASSWORD}")
        print("Ctrl-C stops it; its data stays in .local/slapd")
        with contextlib.suppress(KeyboardInterrupt):
            while slapd.running:
                time.sleep(0.5)


if __name__ == "__main__":
    main()
