"""How long after the last approval does Squid let the person through, and after a revocation
refuse them, through the real app?

    python -m bench.proxy_delays [--rounds 3] [--refresh 20] [--ttl 10] [--poll 0.25]
                                 [--timeout 90]

Starts the local stack (moto + the Chalice app on loopback, as `make run` does, in a state
folder of its own) and the real Squid of the tests (tests/peers/squid.py: Debian's squid,
basic authentication, a hosts file pointing the platforms at a local origin) with Sésame's
helper pulling the app's own `GET /api/v1/grants` every `--refresh` seconds, with a credential
made as `make api-credential` makes one; Squid caches the helper's answers `--ttl` seconds
(ttl= and negative_ttl=). Each round: a person with no grant gets 403; they file and confirm,
the manager and then an officer approve from their e-mails (the same use cases the pages
call), and from the moment the officer's approval is committed the person retries every
`--poll` seconds until the origin's 200; an officer revokes the grant (the console's use case)
and they retry until Squid's 403. A wait longer than `--timeout` stops the bench with an error
(a promise of "within a minute" broken). The defaults are those of proxy/squid.conf.sample;
the figures go in docs/enforcement.md and docs/performance.md. Needs squid and htpasswd
(`make peer-squid`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import urlopen

from tests.conftest import valid_form
from tests.peers import squid as squid_peer
from tests.peers.grants_feed import OriginServer
from tests.peers.squid import SquidProxy

OFFICER = "securite.demo@mcn.gouv.qc.ca"
MANAGER = "jean.gestion@mcn.gouv.qc.ca"
PLATFORM_HOST = "www.linkedin.com"


def until(condition: Callable[[], bool], poll: float, deadline_s: float) -> float:
    """Retry `condition` every `poll` seconds, as a person reloading would; the seconds taken."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > deadline_s:
            raise SystemExit(f"no change within {deadline_s:g} s")
        time.sleep(poll)
    return time.monotonic() - started


def summary(name: str, values: list[float]) -> str:
    """One line: min, median and max of a list of delays."""
    return (
        f"{name}: min {min(values):.1f} s, median {statistics.median(values):.1f} s, "
        f"max {max(values):.1f} s over {len(values)} rounds"
    )


def newest_token(base_url: str, to: str, kind: str) -> str:
    """The token of the newest e-mail to `to` with a /kind/ link (the stack's dev outbox)."""
    with urlopen(f"{base_url}/dev/outbox.json", timeout=10) as answer:  # noqa: S310 (loopback)
        mails: list[dict[str, Any]] = json.loads(answer.read().decode("utf-8"))
    for mail in mails:  # newest first
        if to not in mail["to"]:
            continue
        for link in mail["links"]:
            path = urlsplit(link).path
            if path.startswith(f"/{kind}/"):
                return path.rsplit("/", 1)[-1]
    raise SystemExit(f"no /{kind}/ e-mail to {to}")


def approve(base_url: str, person: str, round_number: int) -> str:
    """File, confirm, approve (manager, then officer) a LinkedIn request; return its id."""
    from chalicelib.domain.models import ClientInfo
    from chalicelib.service.confirm import confirm_request
    from chalicelib.service.context import get_services
    from chalicelib.service.decide import decide_step
    from chalicelib.service.submit import submit_request

    services = get_services()
    client = ClientInfo(source_ip="127.0.0.1", user_agent="bench.proxy_delays")
    form = valid_form(email=person, platforms=["linkedin"], manager_email=MANAGER)
    key = f"bench-proxy-delays-{os.getpid()}-{round_number}".ljust(32, "x")
    filed = submit_request(services, form, key, "fr", client)
    if filed.request is None:
        raise SystemExit(f"the request was refused: {filed.errors}")
    confirm_request(services, newest_token(base_url, person, "confirm"), client)
    decide_step(services, newest_token(base_url, MANAGER, "decide"), "approve", "", client)
    decided = decide_step(
        services, newest_token(base_url, OFFICER, "decide"), "approve", "", client
    )
    return decided.id


def revoke(request_id: str) -> None:
    """An officer revokes the grant, as the console's button does."""
    from chalicelib.domain.models import ClientInfo
    from chalicelib.service.console import revoke_grant
    from chalicelib.service.context import get_services

    client = ClientInfo(source_ip="127.0.0.1", user_agent="bench.proxy_delays")
    revoke_grant(get_services(), request_id, OFFICER, "Fin de la mesure.", client)


def one_round(
    base_url: str, squid: SquidProxy, person: str, number: int, args: argparse.Namespace
) -> tuple[float, float]:
    """Grant a new person LinkedIn, then revoke it: the two delays Squid shows them."""
    if squid.status(person, PLATFORM_HOST) != 403:
        raise SystemExit("a person without a grant was let through")
    request_id = approve(base_url, person, number)
    opened = until(lambda: squid.status(person, PLATFORM_HOST) == 200, args.poll, args.timeout)
    revoke(request_id)
    closed = until(lambda: squid.status(person, PLATFORM_HOST) == 403, args.poll, args.timeout)
    return opened, closed


def measure(args: argparse.Namespace, state_dir: Path) -> tuple[list[float], list[float]]:
    """Start the stack, a credential, the origin and Squid; run the rounds; stop everything."""
    from chalicelib.service.context import get_services, reset_services
    from chalicelib.service.grants_api import client_store, create_client
    from local_stack.runner import start_stack

    # The scheduled jobs stay idle: nothing here waits for them (the grants API reads the table).
    stack = start_stack(state_dir, port=0, emulator_port=0, jobs_period=24 * 3600)
    # One log line per call of the helper and of the bench would drown the figures.
    logging.getLogger("sesame.access").setLevel(logging.WARNING)
    origin = OriginServer()
    squid: SquidProxy | None = None
    opened: list[float] = []
    closed: list[float] = []
    try:
        services = get_services()
        made, secret = create_client(services, client_store(services), "bench", "operator:bench")
        options = ["--client-id", made.client_id, "--client-secret", secret]
        options += ["--refresh", f"{args.refresh:g}", "--max-stale", "900"]
        squid = SquidProxy(f"{stack.base_url}/api/v1/grants", origin.port, options, args.ttl)
        squid.start()
        for number in range(1, args.rounds + 1):
            person = squid_peer.USERS[number - 1]  # Squid's password file lists them
            grant_s, revoke_s = one_round(stack.base_url, squid, person, number, args)
            opened.append(grant_s)
            closed.append(revoke_s)
            print(
                f"round {number}: approval -> 200 in {grant_s:.1f} s, "
                f"revocation -> 403 in {revoke_s:.1f} s",
                flush=True,
            )
    finally:
        if squid is not None:
            squid.stop()
        origin.stop()
        stack.stop()
        reset_services()
    return opened, closed


def main() -> None:
    """Measure the two delays over a few rounds and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, 11))
    parser.add_argument("--refresh", type=float, default=20.0)
    parser.add_argument("--ttl", type=int, default=10)
    parser.add_argument("--poll", type=float, default=0.25)
    parser.add_argument("--timeout", type=float, default=90.0, help="longest wait, seconds")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sesame-bench-proxy-") as folder:
        opened, closed = measure(args, Path(folder))
    print(
        f"the app's grants API on loopback, helper --refresh {args.refresh:g} s, "
        f"Squid ttl=negative_ttl={args.ttl} s, retry every {args.poll:g} s "
        f"(bound: refresh + ttl = {args.refresh + args.ttl:g} s); "
        f"{time.monotonic() - started:.0f} s in all"
    )
    print(summary("approval -> 200", opened))
    print(summary("revocation -> 403", closed))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
