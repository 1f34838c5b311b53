"""Start the local stack in one process: moto's server, the tables, the sender, the app.

State survives restarts through moto's recorder: every call to the emulator is appended to
`<state>/emulator-recording.jsonl` and replayed on the next start.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_stack.emulator import start_emulator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RECORDING_NAME = "emulator-recording.jsonl"
LOCAL_DIGEST_RETENTION_DAYS = 1  # write-once locally too; AWS keeps digests 7 years by default
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "ca-central-1",
}


@dataclass
class LocalStack:
    """A running local stack; `stop()` ends it."""

    base_url: str
    emulator_url: str
    state_dir: Path
    _moto: Any = field(repr=False)
    _app_server: Any = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _jobs_stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _jobs: threading.Thread | None = field(default=None, repr=False)

    def stop(self) -> None:
        """Stop the scheduled jobs, the app server, then the emulator."""
        self._jobs_stop.set()
        if self._jobs is not None:
            # Let a job that is running finish its calls before the emulator goes away.
            self._jobs.join(timeout=10)
        self._app_server.shutdown()
        self._app_server.server.server_close()
        self._thread.join(timeout=10)
        # ThreadedMotoServer.stop() joins its thread without a bound: stop it ourselves.
        self._moto._server.shutdown()
        self._moto._server.server_close()
        self._moto._thread.join(timeout=10)


request_log = logging.getLogger("sesame.local")
# A link token is `<request id>.<random>`: the dot is part of it, or the secret part would stay.
TOKEN_PATH = re.compile(
    r"/(confirm|decide|review|status|delegate|undelegate|renew|login)/[A-Za-z0-9_.-]+"
)


def _redact(line: str) -> str:
    """Hide link tokens from request log lines (a token in a log is a leaked key)."""
    return TOKEN_PATH.sub(lambda m: f"/{m.group(1)}/[redacted]", line)


def _local_server(app_obj: Any, config: Any, host: str, port: int) -> Any:
    """Chalice's local server, with request logging that never prints a link token."""
    from chalice.local import (
        ChaliceRequestHandler,
        CustomLocalChalice,
        LocalChalice,
        LocalDevServer,
        ThreadedHTTPServer,
    )

    from chalicelib.web.headers import apply_security_headers

    class RedactingHandler(ChaliceRequestHandler):  # type: ignore[misc]
        sent: set[str] | None = None

        def log_message(self, format: str, *args: Any) -> None:
            request_log.info(_redact(f"{self.address_string()} - {format % args}"))

        def send_header(self, keyword: str, value: str) -> None:
            self.sent = (self.sent or set()) | {keyword.lower()}
            super().send_header(keyword, value)

        def end_headers(self) -> None:
            # What the app did not answer (unknown paths, the gateway's own 401/403/500, the
            # HTTP server's 400/414/501) gets the middleware's headers too, as API Gateway's
            # GatewayResponses give them in AWS (infra/template.json). The stack is HTTP only.
            missing: dict[str, str | list[str]] = {}
            apply_security_headers(missing, local=True)
            for name, value in missing.items():
                if name.lower() not in (self.sent or set()):
                    super().send_header(name, str(value))
            self.sent = None
            super().end_headers()

    # What chalice.local.create_local_server does, with our handler class.
    CustomLocalChalice.__bases__ = (LocalChalice, app_obj.__class__)
    app_obj.__class__ = CustomLocalChalice

    class BackloggedServer(ThreadedHTTPServer):  # type: ignore[misc]
        # The standard backlog of five resets connections beyond five arriving at once
        # (seen with eight concurrent POSTs); a few dozen browsers must simply wait their turn.
        request_queue_size = 128

    return LocalDevServer(
        app_obj, config, host, port, handler_cls=RedactingHandler, server_cls=BackloggedServer
    )


def _provision(stage_env: dict[str, str]) -> None:
    import boto3

    from chalicelib.adapters.policy_files import load_policy
    from chalicelib.service.digest import digest_names
    from local_stack.aws_setup import (
        create_digest_anchor,
        create_event_bus,
        create_tables,
        verify_sender,
    )
    from local_stack.digest_key import pin_digest_key

    policy_dir = Path(stage_env.get("SESAME_POLICY_DIR", PROJECT_ROOT / "policies"))
    policy = load_policy(policy_dir)
    create_tables(
        boto3.client("dynamodb"),
        {"main": stage_env["SESAME_MAIN_TABLE"], "audit": stage_env["SESAME_AUDIT_TABLE"]},
    )
    verify_sender(boto3.client("ses"), policy.organisation.sender)
    create_event_bus(
        boto3.client("events"),
        boto3.client("logs"),
        stage_env.get(
            "SESAME_EVENT_BUS", f"sesame-{stage_env.get('SESAME_STAGE', 'local')}-access"
        ),
    )
    bucket, alias = digest_names(stage_env.get("SESAME_STAGE", "local"))
    key_id = create_digest_anchor(
        boto3.client("kms"), boto3.client("s3"), bucket, alias, LOCAL_DIGEST_RETENTION_DAYS
    )
    pin_digest_key(key_id, Path(stage_env["SESAME_STATE_DIR"]))


def start_stack(
    state_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    emulator_port: int = 8001,
    stage: str = "local",
    jobs_period: float = 30.0,
    provider: bool = False,
) -> LocalStack:
    """Start emulator, tables, sender and app on loopback; return once all answer.

    `provider`: the local identity provider runs for this stack; without it the app behaves as
    without a provider (NO_PROVIDER_VARIABLE): e-mail sign-in, the link is the credential.
    """
    from chalice.cli.factory import CLIFactory

    from chalicelib.service.context import NO_PROVIDER_VARIABLE

    state_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update(DUMMY_CREDENTIALS)
    os.environ[NO_PROVIDER_VARIABLE] = "" if provider else "1"
    os.environ["SESAME_STATE_DIR"] = str(state_dir)
    # The development pages (outbox, clock, bus) are registered only when this is set (app.py).
    os.environ["SESAME_DEV_ROUTES"] = "1"
    moto_server, emulator_url = start_emulator(host, emulator_port, state_dir / RECORDING_NAME)
    os.environ["AWS_ENDPOINT_URL"] = emulator_url

    factory = CLIFactory(str(PROJECT_ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    app_obj = config.chalice_app  # loading the app applies the stage's variables to os.environ
    app_server = _local_server(app_obj, config, host, port)
    bound_port = app_server.server.server_address[1]
    base_url = f"http://{host}:{bound_port}"
    # Links in e-mails must point at the port actually bound (tests bind port 0).
    os.environ["SESAME_PUBLIC_BASE_URL"] = base_url
    os.environ["AWS_ENDPOINT_URL"] = emulator_url
    _provision(dict(os.environ))

    from chalicelib.service.context import reset_services

    reset_services()
    # The jobs' modules are imported and the services built here, before any thread starts:
    # a first request and the jobs thread starting together would otherwise race through the
    # same first imports and the services' first build (Lambda never serves two at once).
    jobs = _scheduled_jobs()
    thread = threading.Thread(
        target=app_server.server.serve_forever, name="chalice-local", daemon=True
    )
    thread.start()
    stack = LocalStack(base_url, emulator_url, state_dir, moto_server, app_server, thread)
    stack._jobs = threading.Thread(
        target=_run_jobs, args=(stack._jobs_stop, jobs_period, jobs), name="jobs", daemon=True
    )
    stack._jobs.start()
    return stack


Job = tuple[str, Callable[[Any], dict[str, int]]]


def _scheduled_jobs() -> tuple[Job, ...]:
    """The scheduled jobs of app.py, as the local stack runs them, by name."""
    from chalicelib.service.campaign import run_campaign
    from chalicelib.service.context import Services, get_services
    from chalicelib.service.digest import run_digest_job
    from chalicelib.service.sweep import deliver_due
    from chalicelib.service.timed import run_timed_jobs

    def digests(services: Services) -> dict[str, int]:
        # One digest per hour of the local clock (moved at /dev/clock), chained.
        return run_digest_job(services.clock())

    from local_stack.access_events import RELAYED_NAME, AccessEventRelay

    # The EventBridge rule's function, locally: bus events to enforcement (access_events.py).
    relay = AccessEventRelay(
        Path(os.environ["SESAME_STATE_DIR"]) / RELAYED_NAME, get_services().settings.event_bus
    )

    def access_events(services: Services) -> dict[str, int]:
        return relay.relay()

    return (
        ("lifecycle", run_timed_jobs),
        ("usage-policy campaign", run_campaign),
        ("delivery sweep", deliver_due),
        ("digest", digests),
        ("access events", access_events),
    )


def _run_jobs(stop: threading.Event, period: float, jobs: tuple[Job, ...]) -> None:
    """Run the scheduled jobs on a short period (in AWS, EventBridge schedules them)."""
    from chalicelib.service.context import get_services

    while not stop.wait(period):
        for name, job in jobs:
            if stop.is_set():
                return
            try:
                report = job(get_services())
                if any(report.values()):
                    request_log.info("scheduled %s: %s", name, report)
            except Exception:
                request_log.exception("scheduled %s failed; trying again next period", name)
