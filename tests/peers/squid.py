"""A real Squid (Debian's squid 5.7) with Sésame's helper, for the tests and the bench.

Loaded as a pytest plugin from tests/conftest.py. Each world (a Squid, its helper's options and
its own grants feed) starts once per test session, on a free loopback port, the first time a
test asks for it, and stops at the end. Squid authenticates with basic_ncsa_auth (a password
file made here by htpasswd) and resolves the platforms' domains through a `hosts_file` to a
local origin server, so that "allowed" is the origin's real 200 and "refused" Squid's 403.
`make peer-squid` installs squid and htpasswd when missing.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from tests.peers.grants_feed import CLIENT_ID, CLIENT_SECRET, GrantsFeed, OriginServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HELPER = PROJECT_ROOT / "proxy" / "sesame_squid_helper.py"
SQUID = "/usr/sbin/squid"
NCSA_AUTH = "/usr/lib/squid/basic_ncsa_auth"
PASSWORD = "mot-de-passe-de-test"
USERS = [f"personne{n:02d}@mcn.gouv.qc.ca" for n in range(1, 41)]
# Every name the tests ask Squid for resolves to the origin on loopback (nothing leaves it).
HOSTS = [
    "linkedin.com",
    "www.linkedin.com",
    "media.licdn.com",
    "evillinkedin.com",
    "www.evillinkedin.com",
    "linkedin.com.evil.example",
    "x.com",
    "www.youtube.com",
]
CACHE_TTL = 2  # the helper's answers are cached this long (ttl= and negative_ttl=)


def system_python() -> str:
    """The system's python3: what the proxy team runs the helper with (no virtualenv)."""
    return "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: object, deadline_s: float = 60.0, every_s: float = 0.1) -> float:
    """Poll `condition()` until it is true; return the seconds it took (fail at the deadline)."""
    assert callable(condition)
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > deadline_s:
            raise AssertionError(f"not true within {deadline_s} s: {condition}")
        time.sleep(every_s)
    return time.monotonic() - started


@dataclass
class SquidProxy:
    """One Squid process with Sésame's helper, configured in a folder of its own."""

    feed_url: str
    origin_port: int
    helper_options: list[str]
    cache_ttl: int = CACHE_TTL
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sesame-squid-")))
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def _write_files(self) -> Path:
        password_file = self.folder / "passwd"
        for index, user in enumerate(USERS):
            create = ["-c"] if index == 0 else []
            subprocess.run(
                ["htpasswd", "-b", "-m", *create, str(password_file), user, PASSWORD],
                check=True,
                capture_output=True,
            )
        (self.folder / "hosts").write_text("".join(f"127.0.0.1 {h}\n" for h in HOSTS))
        secret_file = self.folder / "client-secret"
        secret_file.write_text(CLIENT_SECRET + "\n")
        secret_file.chmod(0o600)
        helper = [system_python(), "-I", str(HELPER), "--feed", self.feed_url]
        helper += ["--client-id", CLIENT_ID, *self.helper_options]
        if "--client-secret" not in self.helper_options:
            helper += ["--client-secret-file", str(secret_file)]
        conf = self.folder / "squid.conf"
        conf.write_text(
            f"""http_port 127.0.0.1:{self.port}
visible_hostname sesame-test
pid_filename {self.folder}/squid.pid
cache_log {self.folder}/cache.log
access_log stdio:{self.folder}/access.log
cache_store_log none
coredump_dir {self.folder}
netdb_filename none
pinger_enable off
icp_port 0
htcp_port 0
cache deny all
cache_mem 8 MB
shutdown_lifetime 0 seconds
hosts_file {self.folder}/hosts
dns_nameservers 127.0.0.1
udp_incoming_address 127.0.0.1
auth_param basic program {NCSA_AUTH} {password_file}
auth_param basic children 2 startup=1
auth_param basic realm sesame-test
external_acl_type sesame_grant ttl={self.cache_ttl} negative_ttl={self.cache_ttl} children-max=2 \
children-startup=1 concurrency=20 %LOGIN %DST {" ".join(helper)}
acl authenticated proxy_auth REQUIRED
acl sesame_grant external sesame_grant
http_access deny !authenticated
# The helper is asked about every destination here (no dstdomain list in front of it, unlike
# proxy/squid.conf.sample), so that the tests see its own domain matching through Squid.
http_access allow sesame_grant
http_access deny all
"""
        )
        if os.geteuid() == 0:
            # Squid drops root for its effective user, which must read and write this folder.
            conf.write_text(conf.read_text() + "cache_effective_user proxy\n")
            for path in [self.folder, *self.folder.iterdir()]:
                shutil.chown(path, "proxy", "proxy")
        return conf

    def start(self) -> None:
        """Start Squid in the foreground (-N) and wait until it accepts connections."""
        for _attempt in range(3):  # the free port may be taken between probe and bind
            self.port = free_port()
            conf = self._write_files()
            log = (self.folder / "squid.out").open("wb")
            self.process = subprocess.Popen(
                [SQUID, "-N", "-f", str(conf)], stdout=log, stderr=subprocess.STDOUT
            )
            log.close()
            if self._wait_listening():
                return
            self.stop()
        raise RuntimeError(f"Squid did not start; see {self.folder}/cache.log")

    def _wait_listening(self, deadline_s: float = 30.0) -> bool:
        # Our Squid's own log must say it bound the port: a connection alone could reach
        # another process that took the same free port (a second test run on the machine).
        bound = "Accepting HTTP Socket connections at"
        ours = f" local=127.0.0.1:{self.port} "
        started = time.monotonic()
        while time.monotonic() - started < deadline_s:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            if any(bound in line and ours in line for line in self.cache_log().splitlines()):
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        return True
                except OSError:
                    pass
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        """Stop Squid (its helpers see standard input close and exit)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def cache_log(self) -> str:
        """Squid's cache.log, where the helper's standard error goes."""
        path = self.folder / "cache.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def get(self, user: str | None, host: str, password: str = PASSWORD) -> requests.Response:
        """GET http://host:origin-port/ through Squid as `user` (None: no credentials)."""
        session = requests.Session()
        session.trust_env = False  # no proxy or netrc from the environment
        credentials = f"{quote(user, safe='')}:{quote(password, safe='')}@" if user else ""
        proxy = f"http://{credentials}127.0.0.1:{self.port}"
        with session:
            try:
                return session.get(
                    f"http://{host}:{self.origin_port}/", proxies={"http": proxy}, timeout=15
                )
            except requests.ConnectionError as error:
                # Say why Squid hung up: the test's own failure is then readable without the
                # folder, which the session removes.
                alive = self.process is not None and self.process.poll() is None
                tail = "\n".join(self.cache_log().splitlines()[-30:])
                raise AssertionError(
                    f"Squid closed the connection (running: {alive}); cache.log ends:\n{tail}"
                ) from error

    def status(self, user: str, host: str) -> int:
        """The status a person gets for a platform's page through Squid."""
        return self.get(user, host).status_code

    def connect(self, user: str, host: str) -> tuple[int, bytes]:
        """Open a CONNECT tunnel (what HTTPS does) and GET / through it; (status, body)."""
        token = base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()
        target = f"{host}:{self.origin_port}"
        with socket.create_connection(("127.0.0.1", self.port), timeout=15) as sock:
            sock.sendall(
                f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
                f"Proxy-Authorization: Basic {token}\r\n\r\n".encode()
            )
            reply = sock.makefile("rb")
            status = int(reply.readline().split()[1])
            while reply.readline() not in (b"\r\n", b""):
                pass
            if status != 200:
                return status, b""
            sock.sendall(f"GET / HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n".encode())
            return status, reply.read()


@dataclass
class ProxyWorld:
    """A Squid with its helper and its own grants feed; people handed out once each."""

    squid: SquidProxy
    feed: GrantsFeed
    _next_user: int = 0

    def person(self) -> str:
        """A person no earlier test used here (Squid caches answers per person and domain)."""
        self._next_user += 1
        return USERS[self._next_user - 1]


def start_world(
    origin: OriginServer, helper_options: list[str], cache_ttl: int = CACHE_TTL
) -> ProxyWorld:
    """Start a feed and a Squid whose helper pulls it with `helper_options`."""
    feed = GrantsFeed()
    squid = SquidProxy(feed.url, origin.port, helper_options, cache_ttl)
    try:
        squid.start()
    except BaseException:
        feed.stop()
        raise
    return ProxyWorld(squid, feed)


def stop_world(world: ProxyWorld) -> None:
    """Stop the Squid, then its feed, and remove its folder."""
    world.squid.stop()
    world.feed.stop()
    shutil.rmtree(world.squid.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def origin_server() -> Iterator[OriginServer]:
    """The platforms' origin server on loopback (200 "origin")."""
    origin = OriginServer()
    yield origin
    origin.stop()


def _world(origin: OriginServer, options: list[str]) -> Iterator[ProxyWorld]:
    world = start_world(origin, options)
    try:
        yield world
    finally:
        log = world.squid.cache_log()
        stop_world(world)
        assert CLIENT_SECRET not in log, "the helper logged its secret"


@pytest.fixture(scope="session")
def squid_session(origin_server: OriginServer) -> Iterator[ProxyWorld]:
    """Squid + helper failing closed, pulling every 0.5 s, a long staleness limit."""
    options = ["--client-secret", CLIENT_SECRET, "--refresh", "0.5", "--max-stale", "3600"]
    yield from _world(origin_server, options)


@pytest.fixture(scope="session")
def squid_stale_closed(origin_server: OriginServer) -> Iterator[ProxyWorld]:
    """Squid + helper failing closed once its copy is older than 3 s."""
    yield from _world(origin_server, ["--refresh", "0.5", "--max-stale", "3"])


@pytest.fixture(scope="session")
def squid_stale_open(origin_server: OriginServer) -> Iterator[ProxyWorld]:
    """Squid + helper failing open once its copy is older than 3 s."""
    yield from _world(origin_server, ["--refresh", "0.5", "--max-stale", "3", "--fail", "open"])
