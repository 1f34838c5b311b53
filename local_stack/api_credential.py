"""`make api-credential NAME=proxy`: create a grants API client on the local stack's emulator.

Prints two lines, `client_id=…` and `client_secret=…` (the secret is shown once: only its
SHA-256 is stored). The creation is audited as done by `operator:<login>`. An operator
command of the local stack: not deployed; in AWS an officer creates clients in the console.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

LOCAL_EMULATOR = "http://127.0.0.1:8001"


def main(argv: list[str] | None = None) -> int:
    """Create the client and print its id and secret; exit 2 when the emulator cannot be read."""
    parser = argparse.ArgumentParser(prog="python -m local_stack.api_credential")
    parser.add_argument("--name", required=True, help="what the client is (e.g. proxy)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    stage = os.environ.setdefault("SESAME_STAGE", "local")
    if stage == "local" and not os.environ.get("AWS_ENDPOINT_URL"):
        os.environ["AWS_ENDPOINT_URL"] = LOCAL_EMULATOR
        for name, value in (
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
            ("AWS_DEFAULT_REGION", "ca-central-1"),
        ):
            os.environ.setdefault(name, value)
    from botocore.exceptions import BotoCoreError, ClientError
    from pydantic import ValidationError

    from chalicelib import aws
    from chalicelib.domain.errors import DomainError
    from chalicelib.service.context import get_services
    from chalicelib.service.grants_api import create_client
    from chalicelib.store.api_clients import ApiClientStore

    services = get_services()
    store = ApiClientStore(aws.dynamodb(), services.settings.main_table)
    try:
        made, secret = create_client(services, store, args.name, f"operator:{getpass.getuser()}")
    except ValidationError:
        sys.stderr.write("NAME: letters, digits, spaces, '.', '_' or '-', at most 60\n")
        return 2
    except (DomainError, ClientError, BotoCoreError) as error:
        sys.stderr.write(f"Cannot write {services.settings.main_table}: {error}\n")
        return 2
    sys.stdout.write(f"client_id={made.client_id}\nclient_secret={secret}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
