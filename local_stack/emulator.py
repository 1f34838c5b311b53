"""The local AWS emulator: moto's server, serialised and journalled, recording to a file.

Moved out of runner.py so that each module keeps one job: this one starts the emulator
(calls served one at a time, transactions rolled back from a journal of their items, every
call recorded for the next start's replay).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any


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


def start_emulator(host: str, port: int, recording: Path) -> tuple[Any, str]:
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
