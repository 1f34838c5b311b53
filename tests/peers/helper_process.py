"""The Squid helper as a process driven over its pipes, the way Squid drives it."""

from __future__ import annotations

import queue
import subprocess
import threading

from tests.peers.grants_feed import CLIENT_ID, CLIENT_SECRET
from tests.peers.squid import HELPER, system_python, wait_for


class Helper:
    """One helper process: lookups in through stdin, answers out through stdout."""

    def __init__(self, feed_url: str, options: list[str], secret: str = CLIENT_SECRET) -> None:
        command = [system_python(), "-I", str(HELPER), "--feed", feed_url, "--client-id"]
        command += [CLIENT_ID, "--client-secret", secret, *options]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._answers: queue.Queue[bytes] = queue.Queue()
        self._errors: list[bytes] = []
        self._readers = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=self._read_errors, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._answers.put(line)

    def _read_errors(self) -> None:
        assert self.process.stderr is not None
        self._errors.extend(self.process.stderr)

    def send(self, raw: bytes) -> str:
        """Write raw bytes (one or more lines) and read the next answer."""
        assert self.process.stdin is not None
        self.process.stdin.write(raw)
        self.process.stdin.flush()
        return self._answers.get(timeout=10).decode("ascii").rstrip("\n")

    def ask(self, line: str) -> str:
        """Send one lookup line and return the helper's answer."""
        return self.send(line.encode() + b"\n")

    def until(self, line: str, expected: str, deadline_s: float = 10.0) -> float:
        """Repeat a lookup until it is answered `expected`; return the seconds it took."""
        return wait_for(lambda: self.ask(line) == expected, deadline_s, every_s=0.05)

    def close(self) -> tuple[int, str]:
        """Close stdin as Squid does; return the exit code and what went to stderr."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        code = self.process.wait(timeout=10)
        for reader in self._readers:
            reader.join(timeout=10)
        return code, b"".join(self._errors).decode(errors="replace")
