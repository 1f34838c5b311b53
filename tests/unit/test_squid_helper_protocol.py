"""The Squid helper over its pipes, as Squid drives it, against a local grants feed.

Each test starts proxy/sesame_squid_helper.py with the system's python3 in isolated mode (so it
can only use the standard library), writes lookup lines and reads the answers. The feed is the
test server of tests/peers/grants_feed.py on loopback; nothing else is reached.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.peers.grants_feed import CLIENT_SECRET, GrantsFeed, grant
from tests.peers.helper_process import Helper
from tests.peers.squid import wait_for

pytestmark = pytest.mark.unit
MARIE = "marie.tremblay@mcn.gouv.qc.ca"
JEAN = "jean.gestion@mcn.gouv.qc.ca"
FAST = ["--refresh", "0.2", "--max-stale", "3600"]


@pytest.fixture
def feed() -> Iterator[GrantsFeed]:
    """A fresh grants feed on loopback."""
    server = GrantsFeed(page_size=2)
    yield server
    server.stop()


@pytest.fixture
def start_helper() -> Iterator[object]:
    """Start helpers; at the end close them and check none logged the secret or crashed."""
    started: list[Helper] = []

    def start(feed_url: str, options: list[str], secret: str = CLIENT_SECRET) -> Helper:
        helper = Helper(feed_url, options, secret)
        started.append(helper)
        return helper

    yield start
    for helper in started:
        code, errors = helper.close()
        assert code == 0, errors
        assert helper.process.stdout is not None
        assert CLIENT_SECRET not in errors and "Traceback" not in errors


def test_only_a_person_with_an_active_grant_is_answered_ok(feed, start_helper) -> None:
    # Given Marie holds LinkedIn and Jean holds nothing
    feed.set_grants([grant(MARIE, "linkedin")])
    helper = start_helper(feed.url, FAST)
    # Then lookups answer per person, with Squid's channel id
    assert helper.ask(f"0 {MARIE} www.linkedin.com") == "0 OK"
    assert helper.ask(f"1 {JEAN} www.linkedin.com") == "1 ERR"
    assert helper.ask(f"2 {MARIE} x.com") == "2 ERR"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("linkedin.com", "OK"),
        ("www.linkedin.com", "OK"),
        ("media.licdn.com", "OK"),
        ("WWW.LinkedIn.COM.", "OK"),
        ("evillinkedin.com", "ERR"),
        ("www.evillinkedin.com", "ERR"),
        ("linkedin.com.evil.example", "ERR"),
        ("licdn.co", "ERR"),
        ("com", "ERR"),
        ("-", "ERR"),
    ],
)
def test_a_domain_opens_itself_and_its_subdomains_never_a_lookalike(
    feed, start_helper, host: str, expected: str
) -> None:
    feed.set_grants([grant(MARIE, "linkedin")])
    helper = start_helper(feed.url, FAST)
    assert helper.ask(f"5 {MARIE} {host}") == f"5 {expected}"


def test_people_are_compared_by_email_whatever_the_case_or_escaping(feed, start_helper) -> None:
    feed.set_grants([grant("Marie.Tremblay@MCN.gouv.qc.ca", "linkedin")])
    helper = start_helper(feed.url, FAST)
    assert helper.ask("0 marie.tremblay@mcn.gouv.qc.ca linkedin.com") == "0 OK"
    # Squid URL-escapes the values it sends by default (quote=url)
    assert helper.ask("1 MARIE.TREMBLAY%40mcn.gouv.qc.ca linkedin.com") == "1 OK"


def test_the_form_without_concurrency_and_squids_acl_arguments_are_understood(
    feed, start_helper
) -> None:
    feed.set_grants([grant(MARIE, "linkedin")])
    helper = start_helper(feed.url, FAST)
    assert helper.ask(f"{MARIE} linkedin.com") == "OK"
    assert helper.ask(f"{JEAN} linkedin.com") == "ERR"
    # Squid appends the acl line's arguments, "-" when there are none
    assert helper.ask(f"3 {MARIE} linkedin.com -") == "3 OK"
    assert helper.ask(f"{MARIE} linkedin.com -") == "OK"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"\n", "ERR"),
        (b"garbage\n", "ERR"),
        (b"7 only-a-user\n", "7 ERR"),
        (b"8\n", "8 ERR"),
        (b"\xff\xfe\x00 \x01\n", "ERR"),
        (b"9 " + b"a" * 70_000 + b" linkedin.com\n", "9 ERR"),
    ],
    ids=["empty", "one-word", "channel-and-user", "channel-only", "binary", "overlong"],
)
def test_a_malformed_line_is_answered_err_and_the_helper_goes_on(
    feed, start_helper, raw: bytes, expected: str
) -> None:
    feed.set_grants([grant(MARIE, "linkedin")])
    helper = start_helper(feed.url, FAST)
    assert helper.send(raw) == expected
    assert helper.ask(f"10 {MARIE} linkedin.com") == "10 OK"
    assert helper.process.poll() is None


def test_changes_in_the_feed_reach_the_answers(feed, start_helper) -> None:
    helper = start_helper(feed.url, FAST)
    assert helper.ask(f"0 {MARIE} linkedin.com") == "0 ERR"
    approved = grant(MARIE, "linkedin")
    feed.add(approved)
    helper.until(f"0 {MARIE} linkedin.com", "0 OK")
    feed.remove(approved["reference"])
    helper.until(f"0 {MARIE} linkedin.com", "0 ERR")


def test_every_page_of_the_feed_is_read(feed, start_helper) -> None:
    people = [f"personne{n}@mcn.gouv.qc.ca" for n in range(5)]
    feed.set_grants([grant(person, "youtube") for person in people])
    helper = start_helper(feed.url, FAST)
    assert [helper.ask(f"{n} {p} www.youtube.com") for n, p in enumerate(people)] == [
        f"{n} OK" for n in range(5)
    ]
    assert {call.cursor for call in feed.served(200)} >= {None, "2", "4"}


def test_a_set_that_changes_while_paging_is_listed_again(feed, start_helper) -> None:
    # Given three grants over two pages, and a fourth listed first while page two is asked
    feed.set_grants([grant(f"personne{n}@mcn.gouv.qc.ca", "linkedin") for n in range(3)])
    late = grant(MARIE, "linkedin")

    def insert_first_once(cursor: str | None) -> None:
        if cursor == "2" and feed.grants()[0] != late:
            feed.set_grants([late, *feed.grants()])

    feed.before_page = insert_first_once
    helper = start_helper(feed.url, FAST)
    # Then the helper saw the ETag change, listed again, and holds every grant from the start
    assert helper.ask(f"0 {MARIE} linkedin.com") == "0 OK"
    assert [call.cursor for call in feed.calls[:3]] == [None, "2", None]
    people = [f"personne{n}@mcn.gouv.qc.ca" for n in range(3)]
    assert [helper.ask(f"1 {p} linkedin.com") for p in people] == ["1 OK"] * 3


def test_an_unchanged_feed_is_asked_conditionally_and_the_copy_kept(feed, start_helper) -> None:
    feed.set_grants([grant(MARIE, "linkedin")])
    helper = start_helper(feed.url, FAST)
    wait_for(lambda: feed.served(304), 10)
    assert {call.if_none_match for call in feed.served(304)} == {feed.etag()}
    assert helper.ask(f"0 {MARIE} linkedin.com") == "0 OK"


def test_a_grant_ends_at_its_end_time_even_while_the_feed_is_down(feed, start_helper) -> None:
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    feed.set_grants([grant(MARIE, "linkedin", end=end)])
    helper = start_helper(feed.url, FAST)
    assert helper.ask(f"0 {MARIE} linkedin.com") == "0 OK"
    # When the feed goes down (and keeps listing nothing new)
    feed.fault = "unavailable"
    outage = time.monotonic()
    wait_for(lambda: feed.served(503, after=outage, fault="unavailable"), 10)
    assert helper.ask(f"0 {MARIE} linkedin.com") == "0 OK"
    # Then the grant stops at its end, not before, from the helper's own copy
    helper.until(f"0 {MARIE} linkedin.com", "0 ERR")
    assert datetime.now(UTC) >= end


def test_a_grant_starts_at_its_start_time(feed, start_helper) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    feed.set_grants([grant(MARIE, "linkedin", start=start)])
    helper = start_helper(feed.url, FAST)
    assert helper.ask(f"0 {MARIE} linkedin.com") == "0 ERR"
    helper.until(f"0 {MARIE} linkedin.com", "0 OK")
    assert datetime.now(UTC) >= start


@pytest.mark.parametrize("fault", ["unavailable", "garbage", "deep", "reset"])
def test_a_broken_feed_leaves_the_last_good_copy_in_use(feed, start_helper, fault: str) -> None:
    feed.set_grants([grant(MARIE, "linkedin")])
    helper = start_helper(feed.url, FAST)
    assert helper.ask(f"0 {MARIE} linkedin.com") == "0 OK"
    feed.fault = fault
    broken = time.monotonic()
    status = {"reset": 0, "unavailable": 503}.get(fault, 200)
    wait_for(lambda: len(feed.served(status, after=broken, fault=fault)) >= 2, 10)
    assert helper.ask(f"1 {MARIE} linkedin.com") == "1 OK"
    assert helper.ask(f"2 {JEAN} linkedin.com") == "2 ERR"
    # When the feed is repaired, the helper is still pulling it
    feed.fault = None
    feed.add(grant(JEAN, "linkedin"))
    helper.until(f"3 {JEAN} linkedin.com", "3 OK")


@pytest.mark.parametrize(
    "broken",
    [
        {"domains": ["com"]},
        {"domains": ["*.linkedin.com"]},
        {"domains": []},
        {"start": "2026-12-01T10:00:00"},
        {"person": {"issuer": "https://login.example/tid", "subject": "oid-x"}},
    ],
    ids=["one-label-domain", "wildcard", "no-domains", "time-without-offset", "no-email"],
)
def test_a_listing_with_one_malformed_grant_is_refused_whole(
    feed, start_helper, broken: dict[str, object]
) -> None:
    feed.set_grants([grant(MARIE, "linkedin")])
    helper = start_helper(feed.url, FAST)
    assert helper.ask(f"0 {JEAN} www.linkedin.com") == "0 ERR"
    # When a listing has Jean's good grant on page one and a malformed one on page two
    changed = time.monotonic()
    bad = {**grant("personne9@mcn.gouv.qc.ca", "linkedin"), **broken}
    feed.set_grants([grant(MARIE, "linkedin"), grant(JEAN, "linkedin"), bad])
    wait_for(lambda: len(feed.served(200, after=changed)) >= 4, 10)  # two listings tried
    # Then the helper keeps its last good copy: nothing of that listing is taken
    assert helper.ask(f"1 {JEAN} www.linkedin.com") == "1 ERR"
    assert helper.ask(f"2 {MARIE} www.linkedin.com") == "2 OK"


def test_past_the_staleness_limit_the_helper_fails_closed_then_recovers(feed, start_helper):
    feed.set_grants([grant(MARIE, "linkedin")])
    helper = start_helper(feed.url, ["--refresh", "0.2", "--max-stale", "1.5"])
    assert helper.ask(f"0 {MARIE} linkedin.com") == "0 OK"
    feed.fault = "unavailable"
    helper.until(f"0 {MARIE} linkedin.com", "0 ERR")
    last_good = max(call.at for call in feed.calls if call.fault is None)
    assert time.monotonic() - last_good >= 1.5
    feed.fault = None
    helper.until(f"0 {MARIE} linkedin.com", "0 OK")


def test_past_the_staleness_limit_fail_open_lets_everyone_through(feed, start_helper) -> None:
    feed.set_grants([grant(MARIE, "linkedin")])
    helper = start_helper(feed.url, ["--refresh", "0.2", "--max-stale", "1.5", "--fail", "open"])
    assert helper.ask(f"0 {JEAN} linkedin.com") == "0 ERR"
    feed.fault = "unavailable"
    helper.until(f"0 {JEAN} linkedin.com", "0 OK")
    feed.fault = None
    helper.until(f"0 {JEAN} linkedin.com", "0 ERR")


@pytest.mark.parametrize(("mode", "expected"), [("closed", "0 ERR"), ("open", "0 OK")])
def test_a_feed_never_reached_counts_as_stale(feed, start_helper, mode, expected) -> None:
    feed.set_grants([grant(MARIE, "linkedin")])
    feed.fault = "unavailable"
    helper = start_helper(feed.url, [*FAST, "--fail", mode])
    assert helper.ask(f"0 {MARIE} linkedin.com") == expected


def test_a_refused_credential_grants_nothing_and_the_secret_is_never_logged(feed, start_helper):
    feed.set_grants([grant(MARIE, "linkedin")])
    wrong = "wrong-secret-" + "z" * 20
    helper = start_helper(feed.url, FAST, secret=wrong)
    assert helper.ask(f"0 {MARIE} linkedin.com") == "0 ERR"
    assert feed.served(401) and not feed.served(200)
    _, errors = helper.close()
    assert "401" in errors
    assert wrong not in errors


def test_a_redirect_is_not_followed_with_the_credential(feed, start_helper) -> None:
    # Given the feed redirects to another server that would list every grant
    elsewhere = GrantsFeed()
    try:
        elsewhere.set_grants([grant(MARIE, "linkedin")])
        feed.fault, feed.redirect_to = "redirect", elsewhere.url
        helper = start_helper(feed.url, FAST)
        wait_for(lambda: len(feed.served(302, fault="redirect")) >= 2, 10)
        # Then nothing was asked of the other server and nothing is granted
        assert elsewhere.calls == []
        assert helper.ask(f"0 {MARIE} linkedin.com") == "0 ERR"
    finally:
        elsewhere.stop()
