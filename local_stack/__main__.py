"""`python -m local_stack`: run Sésame on loopback until Ctrl-C (what `make run` starts)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from chalicelib.domain.errors import InvalidPolicy
from chalicelib.service.provider_signin import LOCAL_SECRET_VARIABLE
from local_stack.oidc_process import LOCAL_CLIENT, RunningProvider, say, start_provider
from local_stack.runner import PROJECT_ROOT, start_stack

LOCAL_CLIENT_PORT = 8000  # where LOCAL_CLIENT's redirect URI points
PROVIDER_PORT = 8002  # the issuer policies/organisation.toml names for the local stage


def _start_identity_provider(state_dir: Path, port: int) -> RunningProvider | None:
    """Start the local OpenID Provider of the demo, or say in one line why it is off.

    Its one registered client redirects to port 8000; elsewhere e-mail sign-in alone works.
    """
    if port != LOCAL_CLIENT_PORT:
        say(f"The local identity provider serves the app on port {LOCAL_CLIENT_PORT} only: off.")
        return None
    # The demo client's secret (deployed stages read theirs from SSM).
    os.environ[LOCAL_SECRET_VARIABLE] = LOCAL_CLIENT.client_secret
    return start_provider(state_dir, port=PROVIDER_PORT)


def main(argv: list[str] | None = None) -> int:
    """Start the stack, print where everything is, wait for Ctrl-C, stop cleanly."""
    parser = argparse.ArgumentParser(prog="python -m local_stack", description=__doc__)
    parser.add_argument("--port", type=int, default=8000, help="app port (0: any free port)")
    parser.add_argument("--emulator-port", type=int, default=8001, help="AWS emulator port")
    parser.add_argument("--state-dir", type=Path, default=PROJECT_ROOT / ".local")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    provider: RunningProvider | None = None
    try:
        # The provider first: the app must know whether it runs (start_stack's `provider`).
        provider = _start_identity_provider(args.state_dir, args.port)
        stack = start_stack(
            args.state_dir,
            port=args.port,
            emulator_port=args.emulator_port,
            provider=provider is not None,
        )
    except (InvalidPolicy, OSError) as error:
        if provider is not None:
            provider.stop()
        if isinstance(error, InvalidPolicy):
            print(f"Policy refused / politique refusée: {error}", file=sys.stderr)
            return 2
        print(f"Cannot start the local stack: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()
    # Ctrl-C and a polite kill both stop cleanly; SIGINT is handled explicitly because a shell
    # starting the stack in the background leaves it ignored, and Python then never raises.
    for stopping_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stopping_signal, lambda *_: stop.set())
    print(
        "\nSésame runs locally (stage local):\n"
        f"  Request form / formulaire : {stack.base_url}/\n"
        f"  Sign in / connexion       : {stack.base_url}/login\n"
        f"  Officers' console         : {stack.base_url}/console\n"
        f"  Development outbox        : {stack.base_url}/dev/outbox\n"
        f"  Outbox as JSON            : {stack.base_url}/dev/outbox.json\n"
        f"  AWS emulator (moto)       : {stack.emulator_url}\n"
        + (
            f"  Identity provider (OIDC)  : {provider.issuer} (demo accounts, password demo)\n"
            if provider is not None
            else ""
        )
        + f"  State kept in             : {stack.state_dir}\n"
        "Press Ctrl-C to stop.\n"
        f"ready {stack.base_url}",
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    print("Stopping…", flush=True)
    if provider is not None:
        provider.stop()
    stack.stop()
    print("Stopped. State kept for the next start.", flush=True)
    return 0


def exit_now(code: int) -> None:
    """Leave without Python's teardown: everything is stopped and written by now.

    Tearing down the emulator's in-memory state object by object (millions of objects after a
    few hundred requests) takes tens of seconds; the recording on disk is complete (moto
    appends each call as it happens), so skipping it loses nothing.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
