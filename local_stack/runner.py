"""Start the local stack in one process: moto's server, the tables, the sender, the app.

State survives restarts through moto's recorder: every call to the emulator is appended to
`<state>/emulator-recording.jsonl` and replayed on the next start.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def _journal_transactions() -> None:
    """Make moto roll a failed transaction back from a journal of its items, not table copies.

    Before a TransactWriteItems, moto deep-copies the whole table once for EACH item of the
    transaction, to restore it on failure: a 15-item decision copied the main table 15 times,
    so every call slowed down as the tables grew. Here the items the transaction names are
    copied instead (at most 100), and put back if it fails. Safe because the emulator answers
    one call at a time; a transaction whose keys cannot be read first falls back to moto's
    copies (one per table).
    """
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType

    if getattr(models.DynamoDBBackend.transact_write_items, "journaled", False):
        return
    real_copy = models.copy

    class TableCopies:
        """The `copy` module as moto's DynamoDB models see it."""

        def __init__(self) -> None:
            self.mode: str | None = None  # "journal": no table copy; "once": one per table
            self.tables: dict[int, Any] = {}

        def deepcopy(self, value: Any, memo: Any = None) -> Any:
            if self.mode is None or not isinstance(value, models.Table):
                return real_copy.deepcopy(value, memo)
            if self.mode == "journal":
                return value  # the journal restores the items; moto's swap is then a no-op
            if id(value) not in self.tables:
                self.tables[id(value)] = real_copy.deepcopy(value, memo)
            return self.tables[id(value)]

        def __getattr__(self, name: str) -> Any:
            return getattr(real_copy, name)

    copies = TableCopies()
    transact = models.DynamoDBBackend.transact_write_items

    def journal_of(backend: Any, transact_items: list[dict[str, Any]]) -> list[Any] | None:
        journal = []
        try:
            for entry in transact_items:
                (op,) = entry.values()
                table = backend.tables[op["TableName"]]
                attrs = op["Item"] if "Item" in op else op["Key"]
                hash_value = DynamoType(attrs[table.hash_key_attr])
                range_value = (
                    DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
                )
                before = table.get_item(hash_value, range_value)
                journal.append((table, hash_value, range_value, real_copy.deepcopy(before)))
        except (KeyError, TypeError, ValueError, AttributeError):
            return None  # malformed: moto reports the error, with its own rollback
        return journal

    def restore(journal: list[Any]) -> None:
        for table, hash_value, range_value, before in reversed(journal):
            if before is None:
                table.delete_item(hash_value, range_value)
            elif range_value is not None:
                table.items[hash_value][range_value] = before
            else:
                table.items[hash_value] = before

    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        journal = journal_of(backend, transact_items)
        copies.mode, copies.tables = ("journal" if journal is not None else "once"), {}
        try:
            transact(backend, transact_items)
        except BaseException:
            if journal is not None:
                restore(journal)
            raise
        finally:
            copies.mode, copies.tables = None, {}

    transact_write_items.journaled = True  # type: ignore[attr-defined]
    models.copy = copies  # type: ignore[assignment]
    models.DynamoDBBackend.transact_write_items = transact_write_items


def _serialised_moto_server(host: str, port: int) -> Any:
    """moto's threaded server, answering one call at a time.

    DynamoDB applies each TransactWriteItems atomically and in isolation. moto's in-memory
    backend does not under concurrent threads: two racing transactions both pass their checks,
    or the loser's rollback restores a snapshot that erases the winner's items (seen with two
    officers deciding at once). Serialising calls gives the emulator DynamoDB's guarantee.
    """
    from moto.moto_server.threaded_moto_server import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        ThreadedMotoServer,
        create_backend_app,
        make_server,
    )

    class SerialisedMotoServer(ThreadedMotoServer):  # type: ignore[misc]
        def _server_entry(self) -> None:
            app = DomainDispatcherApplication(create_backend_app)
            one_at_a_time = threading.Lock()

            def serialised(environ: Any, start_response: Any) -> list[bytes]:
                with one_at_a_time:
                    return list(app(environ, start_response))

            self._server = make_server(
                self._ip_address, self._port, serialised, True, request_handler=MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    _journal_transactions()
    server = SerialisedMotoServer(ip_address=host, port=port, verbose=False)
    return server


def _start_emulator(host: str, port: int, recording: Path) -> tuple[Any, str]:
    # The recorder reads its settings when moto is imported: set them first.
    os.environ["MOTO_RECORDER_FILEPATH"] = str(recording)
    os.environ.setdefault("MOTO_ENABLE_RECORDING", "")
    # The emulator's own request log would print every call (and e-mail bodies hold links).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    server = _serialised_moto_server(host, port)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    url = f"http://{bound_host}:{bound_port}"
    from moto.moto_api import recorder

    if recording.exists() and recording.stat().st_size > 0:
        # Replayed from here, not through /moto-api: the server answers one call at a time,
        # and a replay served by the server would wait for itself.
        recorder.replay_recording(target_host=url)
    recorder.start_recording()
    return server, url


request_log = logging.getLogger("sesame.local")
# A link token is `<request id>.<random>`: the dot is part of it, or the secret part would stay.
TOKEN_PATH = re.compile(r"/(confirm|decide|status|delegate|undelegate|renew|login)/[A-Za-z0-9_.-]+")


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
) -> LocalStack:
    """Start emulator, tables, sender and app on loopback; return once all answer."""
    from chalice.cli.factory import CLIFactory

    state_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update(DUMMY_CREDENTIALS)
    os.environ["SESAME_STATE_DIR"] = str(state_dir)
    # The development pages (outbox, clock, bus) are registered only when this is set (app.py).
    os.environ["SESAME_DEV_ROUTES"] = "1"
    moto_server, emulator_url = _start_emulator(host, emulator_port, state_dir / RECORDING_NAME)
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
    thread = threading.Thread(
        target=app_server.server.serve_forever, name="chalice-local", daemon=True
    )
    thread.start()
    stack = LocalStack(base_url, emulator_url, state_dir, moto_server, app_server, thread)
    stack._jobs = threading.Thread(
        target=_run_jobs, args=(stack._jobs_stop, jobs_period), name="jobs", daemon=True
    )
    stack._jobs.start()
    return stack


def _run_jobs(stop: threading.Event, period: float) -> None:
    """Run the scheduled jobs on a short period (in AWS, EventBridge schedules them)."""
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

    jobs = (
        ("lifecycle", run_timed_jobs),
        ("usage-policy campaign", run_campaign),
        ("delivery sweep", deliver_due),
        ("digest", digests),
        ("access events", access_events),
    )
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
