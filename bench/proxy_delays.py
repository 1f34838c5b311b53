"""How long after a grant does Squid let the person through, and after its removal refuse them?

    python -m bench.proxy_delays [--rounds 3] [--refresh 20] [--ttl 10] [--poll 0.25]

Runs the real Squid of the tests (tests/peers/squid.py: Debian's squid, basic auth, a hosts
file pointing the platforms at a local origin) with Sésame's helper pulling a local grants feed
every `--refresh` seconds, and Squid caching the helper's answers `--ttl` seconds (ttl= and
negative_ttl=). Each round: a person with no grant gets 403; the grant appears in the feed
(what the app's grants API shows the moment the last approval commits) and the person retries
every `--poll` seconds until the origin's 200; the grant leaves the feed (revocation, end) and
they retry until Squid's 403. The defaults are those of proxy/squid.conf.sample; the figures go
in docs/enforcement.md. Needs squid and htpasswd (`make peer-squid`).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from tests.peers.grants_feed import OriginServer, grant
from tests.peers.squid import ProxyWorld, start_world, stop_world


def until(condition: Callable[[], bool], poll: float, deadline_s: float = 300.0) -> float:
    """Retry `condition` every `poll` seconds, as a person reloading would; the seconds taken."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > deadline_s:
            raise SystemExit(f"no change within {deadline_s} s")
        time.sleep(poll)
    return time.monotonic() - started


def summary(name: str, values: list[float]) -> str:
    """One line: min, median and max of a list of delays."""
    return (
        f"{name}: min {min(values):.1f} s, median {statistics.median(values):.1f} s, "
        f"max {max(values):.1f} s over {len(values)} rounds"
    )


def one_round(world: ProxyWorld, poll: float) -> tuple[float, float]:
    """Grant a new person LinkedIn, then remove it: the two delays Squid shows them."""
    person = world.person()
    if world.squid.status(person, "www.linkedin.com") != 403:
        raise SystemExit("a person without a grant was let through")
    approved = grant(person, "linkedin")
    world.feed.add(approved)
    opened = until(lambda: world.squid.status(person, "www.linkedin.com") == 200, poll)
    world.feed.remove(approved["reference"])
    closed = until(lambda: world.squid.status(person, "www.linkedin.com") == 403, poll)
    return opened, closed


def main() -> None:
    """Measure the two delays over a few rounds and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--refresh", type=float, default=20.0)
    parser.add_argument("--ttl", type=int, default=10)
    parser.add_argument("--poll", type=float, default=0.25)
    args = parser.parse_args()
    origin = OriginServer()
    options = ["--refresh", str(args.refresh), "--max-stale", str(max(900.0, args.refresh * 3))]
    world = start_world(origin, options, cache_ttl=args.ttl)
    opened: list[float] = []
    closed: list[float] = []
    try:
        for round_number in range(1, args.rounds + 1):
            grant_s, removal_s = one_round(world, args.poll)
            opened.append(grant_s)
            closed.append(removal_s)
            print(
                f"round {round_number}: grant -> 200 in {grant_s:.1f} s, "
                f"removal -> 403 in {removal_s:.1f} s",
                flush=True,
            )
    finally:
        stop_world(world)
        origin.stop()
    print(
        f"helper --refresh {args.refresh:g} s, Squid ttl=negative_ttl={args.ttl} s, "
        f"retry every {args.poll:g} s (bound: refresh + ttl = {args.refresh + args.ttl:g} s)"
    )
    print(summary("grant -> 200", opened))
    print(summary("removal -> 403", closed))


if __name__ == "__main__":
    main()
