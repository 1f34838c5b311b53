"""Start and stop the local OpenID Provider (`node provider.mjs`) for `make run` and the tests.

`start_provider` writes the provider's configuration, installs it from the lockfile when needed
(`npm ci`), starts Node.js on 127.0.0.1 and returns once the discovery document answers. Where
Node.js is missing and cannot be installed, it says so in one line and returns None, so the
stack can start without the provider (e-mail sign-in keeps working).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

from local_stack.oidc_accounts import (
    PROVIDER_DIR,
    ClientRegistration,
    DemoAccount,
    cookie_keys,
    demo_accounts,
    signing_keys,
)

START_DEADLINE_SECONDS = 30
INSTALL_TIMEOUT_SECONDS = 300
LOCAL_CLIENT = ClientRegistration(
    client_id="sesame-local",
    client_secret="sesame-local-secret-" + "0" * 24,  # a loopback-only demo client
    redirect_uris=("http://127.0.0.1:8000/login/oidc/callback",),
    post_logout_redirect_uris=("http://127.0.0.1:8000/login",),
)


@dataclass
class RunningProvider:
    """A running local provider; `stop()` ends it."""

    issuer: str
    port: int
    state_dir: Path
    log_path: Path
    _process: subprocess.Popen[bytes] = field(repr=False)

    def stop(self) -> None:
        """Stop the provider (SIGTERM, then SIGKILL if it lingers)."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)


def say(message: str) -> None:
    """Print one line for the person running the stack."""
    print(message, file=sys.stderr, flush=True)


MIN_NODE_MAJOR = 20  # package.json's "engines" (oidc-provider 9 runs on Node.js 20 and later)


def node_major(node: str) -> int | None:
    """The major version of a `node` executable, or None when it does not answer."""
    try:
        done = subprocess.run(
            [node, "--version"], capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.match(r"v(\d+)\.", done.stdout.strip())
    return int(found.group(1)) if found else None


def ensure_node() -> bool:
    """Tell whether `node` (20 or later) and `npm` are there, installing Debian's as root if not."""
    if not (shutil.which("node") and shutil.which("npm")):
        _install_debian_node()
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        return False
    major = node_major(node)
    if major is None or major < MIN_NODE_MAJOR:
        say(f"the local identity provider needs Node.js {MIN_NODE_MAJOR}+ ({node}: v{major})")
        return False
    return True


def _install_debian_node() -> None:
    """Install Debian's nodejs and npm when running as root with apt (nothing otherwise)."""
    apt = shutil.which("apt-get")
    if apt and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "nodejs", "npm"]):
            subprocess.run(
                command, env=env, check=False, capture_output=True, timeout=INSTALL_TIMEOUT_SECONDS
            )


def installed_from_lockfile() -> bool:
    """Tell whether node_modules matches package-lock.json (npm ci writes its own copy last)."""
    marker = PROVIDER_DIR / "node_modules" / ".package-lock.json"
    lockfile = PROVIDER_DIR / "package-lock.json"
    return marker.exists() and marker.stat().st_mtime >= lockfile.stat().st_mtime


def install_provider() -> bool:
    """Install the provider from the lockfile (`npm ci`) unless it is installed already."""
    if installed_from_lockfile():
        return True
    npm = shutil.which("npm")
    if npm is None:
        return False
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=PROVIDER_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=INSTALL_TIMEOUT_SECONDS,
    )
    if result.returncode != 0:
        say(f"npm ci failed for the local identity provider: {result.stderr.strip()[-300:]}")
    return result.returncode == 0 and installed_from_lockfile()


def write_config(
    path: Path,
    *,
    port: int,
    clients: Sequence[ClientRegistration],
    accounts: Sequence[DemoAccount],
    state_dir: Path,
    issuer: str | None = None,
    id_token_ttl_seconds: int = 600,
) -> None:
    """Write the JSON file provider.mjs reads (readable by this user only: it holds secrets)."""
    config = {
        "issuer": issuer,
        "port": port,
        "clients": [client.as_json() for client in clients],
        "accounts": [account.as_json() for account in accounts],
        "jwks": signing_keys(state_dir),
        "cookie_keys": cookie_keys(state_dir),
        "id_token_ttl_seconds": id_token_ttl_seconds,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(config, indent=2), "utf-8")


def start_provider(
    state_dir: Path,
    *,
    port: int = 0,
    clients: Sequence[ClientRegistration] = (LOCAL_CLIENT,),
    accounts: Sequence[DemoAccount] | None = None,
    id_token_ttl_seconds: int = 600,
) -> RunningProvider | None:
    """Start the provider on 127.0.0.1 (port 0: any free one); None where Node.js is missing."""
    node = shutil.which("node") if ensure_node() else None
    if node is None:
        say("No Node.js here (and no way to install it): the local identity provider is off.")
        return None
    if not install_provider():
        say("The local identity provider could not be installed (npm ci): it is off.")
        return None
    config_path = state_dir / "oidc-provider.json"
    write_config(
        config_path,
        port=port,
        clients=clients,
        accounts=demo_accounts() if accounts is None else accounts,
        state_dir=state_dir,
        issuer=None if port == 0 else f"http://127.0.0.1:{port}",
        id_token_ttl_seconds=id_token_ttl_seconds,
    )
    log_path = state_dir / "oidc-provider.log"
    with log_path.open("w", encoding="utf-8") as log:
        # A file, not a pipe: a pipe nobody reads fills up and blocks the provider.
        process = subprocess.Popen(
            [node, str(PROVIDER_DIR / "provider.mjs"), str(config_path)],
            cwd=PROVIDER_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NODE_ENV": "development"},
        )
    try:
        bound = _wait_for_port(process, log_path)
        issuer = f"http://127.0.0.1:{bound}"
        _wait_for_discovery(process, issuer, log_path)
    except BaseException:
        process.kill()
        process.wait(timeout=10)
        raise
    return RunningProvider(issuer, bound, state_dir, log_path, process)


def _log_tail(log_path: Path) -> str:
    return log_path.read_text("utf-8", errors="replace")[-2000:]


def _wait_for_port(process: subprocess.Popen[bytes], log_path: Path) -> int:
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        for line in log_path.read_text("utf-8", errors="replace").splitlines():
            if line.startswith("listening "):
                return int(line.split()[1])
        if process.poll() is not None:
            break
        time.sleep(0.05)  # polling a file the provider writes; the deadline bounds it
    raise RuntimeError("the local identity provider did not start:\n" + _log_tail(log_path))


def _wait_for_discovery(process: subprocess.Popen[bytes], issuer: str, log_path: Path) -> None:
    url = f"{issuer}/.well-known/openid-configuration"
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urlopen(url, timeout=2) as response:  # noqa: S310  (a loopback URL of ours)
                if response.status == 200 and json.load(response).get("issuer") == issuer:
                    return
        except (URLError, OSError, ValueError):
            pass
        time.sleep(0.05)  # polling until the provider answers; the deadline bounds it
    raise RuntimeError("the local identity provider never answered:\n" + _log_tail(log_path))


def main(argv: list[str] | None = None) -> int:
    """`--install`: provision Node.js and the provider (make's target); else run it until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m local_stack.oidc_process")
    parser.add_argument("--install", action="store_true", help="only install, then exit")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--state-dir", type=Path, default=PROVIDER_DIR.parent.parent / ".local")
    args = parser.parse_args(argv)
    if args.install:
        if not ensure_node():
            say("Node.js and npm are needed for the local identity provider: none found.")
            return 1
        return 0 if install_provider() else 1
    provider = start_provider(args.state_dir, port=args.port)
    if provider is None:
        return 1
    say(f"Local identity provider: {provider.issuer} (every demo account's password: demo)")
    # A polite kill stops the provider too, through the `finally` below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        provider._process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        provider.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
