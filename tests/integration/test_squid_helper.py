"""Through a real Squid: a grant in the feed opens the platform, its removal or end closes it.

Squid (Debian's 5.7, tests/peers/squid.py) authenticates each person, asks Sésame's helper about
every destination, and forwards what it allows to a local origin server that answers 200
"origin"; what it refuses is Squid's own 403. Each test takes people no other test used, since
Squid caches the helper's answers per person and domain (2 s here).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import PROJECT_ROOT
from tests.peers.grants_feed import grant
from tests.peers.squid import CACHE_TTL, HELPER, SQUID, ProxyWorld, system_python, wait_for

pytestmark = pytest.mark.integration
WITHIN = 60.0  # the promise: access follows the grant within a minute


def _reset(world: ProxyWorld) -> Iterator[ProxyWorld]:
    world.feed.reset()
    yield world
    world.feed.reset()


@pytest.fixture
def proxy(squid_session: ProxyWorld) -> Iterator[ProxyWorld]:
    """The session's Squid (fail closed, long staleness limit), its feed emptied and healthy."""
    yield from _reset(squid_session)


@pytest.fixture
def proxy_closed(squid_stale_closed: ProxyWorld) -> Iterator[ProxyWorld]:
    """A Squid whose helper fails closed 3 s after the feed's last good answer."""
    yield from _reset(squid_stale_closed)


@pytest.fixture
def proxy_open(squid_stale_open: ProxyWorld) -> Iterator[ProxyWorld]:
    """A Squid whose helper fails open 3 s after the feed's last good answer."""
    yield from _reset(squid_stale_open)


def test_squid_asks_for_credentials_before_anything(proxy: ProxyWorld) -> None:
    assert proxy.squid.get(None, "www.linkedin.com").status_code == 407
    assert proxy.squid.get(proxy.person(), "www.linkedin.com", password="wrong").status_code == 407


def test_squid_listens_and_resolves_on_loopback_only(proxy: ProxyWorld) -> None:
    sockets = [line for line in proxy.squid.cache_log().splitlines() if "Socket" in line]
    assert any(f"local=127.0.0.1:{proxy.squid.port} " in line for line in sockets), sockets
    assert any("DNS Socket created at 127.0.0.1," in line for line in sockets), sockets
    # What Squid writes for a socket bound to every interface (it did before udp_incoming_address)
    wildcard = ("created at 0.0.0.0,", "created at [::],", "local=0.0.0.0:", "local=[::]:")
    assert not [line for line in sockets if any(mark in line for mark in wildcard)], sockets


def test_a_grant_opens_the_platform_and_its_removal_closes_it_within_a_minute(
    proxy: ProxyWorld, record_property: pytest.RecordProperty
) -> None:
    person = proxy.person()
    # Given no grant: Squid refuses
    assert proxy.squid.status(person, "www.linkedin.com") == 403
    # When the grant appears in the feed, the origin's page comes through
    approved = grant(person.upper(), "linkedin")
    proxy.feed.add(approved)
    opened = wait_for(lambda: proxy.squid.status(person, "www.linkedin.com") == 200, WITHIN)
    page = proxy.squid.get(person, "www.linkedin.com")
    assert (page.status_code, page.text) == (200, "origin")
    # When the grant leaves the feed (revoked), Squid refuses again
    proxy.feed.remove(approved["reference"])
    closed = wait_for(lambda: proxy.squid.status(person, "www.linkedin.com") == 403, WITHIN)
    record_property("grant_to_200_s", round(opened, 2))
    record_property("removal_to_403_s", round(closed, 2))


def test_https_tunnels_follow_the_grant_too(proxy: ProxyWorld) -> None:
    person = proxy.person()
    assert proxy.squid.connect(person, "www.linkedin.com") == (403, b"")
    proxy.feed.add(grant(person, "linkedin"))
    wait_for(lambda: proxy.squid.connect(person, "www.linkedin.com")[0] == 200, WITHIN)
    status, reply = proxy.squid.connect(person, "www.linkedin.com")
    assert status == 200 and reply.endswith(b"origin")


def test_a_grant_opens_its_platforms_domains_and_no_lookalike(proxy: ProxyWorld) -> None:
    person, other = proxy.person(), proxy.person()
    proxy.feed.add(grant(person, "linkedin"))
    wait_for(lambda: proxy.squid.status(person, "www.linkedin.com") == 200, WITHIN)
    assert proxy.squid.status(person, "linkedin.com") == 200
    assert proxy.squid.status(person, "media.licdn.com") == 200
    for lookalike in ("evillinkedin.com", "www.evillinkedin.com", "linkedin.com.evil.example"):
        assert proxy.squid.status(person, lookalike) == 403, lookalike
    assert proxy.squid.status(person, "x.com") == 403
    assert proxy.squid.status(other, "www.linkedin.com") == 403


def test_a_grant_ends_on_time_while_the_feed_is_down(proxy: ProxyWorld) -> None:
    person = proxy.person()
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
    proxy.feed.add(grant(person, "linkedin", end=end))
    wait_for(lambda: proxy.squid.status(person, "www.linkedin.com") == 200, WITHIN)
    # When the feed stops answering before the end
    proxy.feed.fault = "unavailable"
    outage = time.monotonic()
    wait_for(lambda: proxy.feed.served(503, after=outage, fault="unavailable"), WITHIN)
    if datetime.now(UTC) < end - timedelta(seconds=1):
        assert proxy.squid.status(person, "www.linkedin.com") == 200  # the copy still holds
    # Then Squid refuses from the end on, though the feed never said so
    wait_for(lambda: proxy.squid.status(person, "www.linkedin.com") == 403, WITHIN)
    refused_at = datetime.now(UTC)
    assert refused_at >= end
    assert refused_at - end < timedelta(seconds=CACHE_TTL + 5)


def test_past_the_staleness_limit_squid_refuses_everyone(proxy_closed: ProxyWorld) -> None:
    person = proxy_closed.person()
    proxy_closed.feed.add(grant(person, "linkedin"))
    wait_for(lambda: proxy_closed.squid.status(person, "www.linkedin.com") == 200, WITHIN)
    proxy_closed.feed.fault = "unavailable"
    wait_for(lambda: proxy_closed.squid.status(person, "www.linkedin.com") == 403, WITHIN)
    last_good = max(call.at for call in proxy_closed.feed.calls if call.fault is None)
    assert time.monotonic() - last_good >= 3  # not before --max-stale
    # When the feed answers again, access comes back by itself
    proxy_closed.feed.fault = None
    wait_for(lambda: proxy_closed.squid.status(person, "www.linkedin.com") == 200, WITHIN)


def test_past_the_staleness_limit_fail_open_lets_people_through(proxy_open: ProxyWorld) -> None:
    person = proxy_open.person()
    assert proxy_open.squid.status(person, "www.linkedin.com") == 403
    proxy_open.feed.fault = "unavailable"
    wait_for(lambda: proxy_open.squid.status(person, "www.linkedin.com") == 200, WITHIN)
    proxy_open.feed.fault = None
    wait_for(lambda: proxy_open.squid.status(person, "www.linkedin.com") == 403, WITHIN)


def test_the_sample_squid_conf_is_valid_for_squid(tmp_path) -> None:
    sample = (PROJECT_ROOT / "proxy" / "squid.conf.sample").read_text(encoding="utf-8")
    assert "concurrency=" in sample and "negative_ttl=" in sample
    conf = tmp_path / "squid.conf"
    secret = tmp_path / "client-secret"
    secret.write_text("not-used-by-parse\n")
    conf.write_text(
        sample.replace("/usr/bin/python3", system_python())
        .replace("/opt/sesame/sesame_squid_helper.py", str(HELPER))
        .replace("/etc/squid/sesame-client-secret", str(secret))
        .replace("/etc/squid/passwd", str(tmp_path / "passwd"))
    )
    (tmp_path / "passwd").write_text("")
    done = subprocess.run(
        [SQUID, "-k", "parse", "-f", str(conf)], capture_output=True, text=True, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for trouble in ("FATAL", "ERROR", "WARNING", "unrecognized"):
        assert trouble not in output, output
