"""One cold start, in a fresh process: `python -m bench.cold_start sesame|minimal`.

Starts in-process moto with the tables (untimed: the emulator is not part of a Lambda cold
start), then times importing the app and serving its form once through Chalice's test client.
Prints the seconds (wall clock, and this process's CPU time) as JSON on the last line.
"""

from __future__ import annotations

import importlib
import json
import sys
import time


def main(which: str) -> None:
    import boto3
    from moto import mock_aws

    from local_stack.aws_setup import create_tables

    with mock_aws():
        create_tables(
            boto3.client("dynamodb", region_name="ca-central-1"),
            {"main": "sesame-test-main", "audit": "sesame-test-audit"},
        )
        modules_before = set(sys.modules)
        started, cpu_started = time.perf_counter(), time.process_time()
        module = importlib.import_module("app" if which == "sesame" else "bench.minimal_app")
        imported = time.perf_counter()
        from chalice.test import Client

        with Client(module.app, stage_name="test" if which == "sesame" else "dev") as client:
            response = client.http.get("/?lang=fr" if which == "sesame" else "/")
        served, cpu_served = time.perf_counter(), time.process_time()
        assert response.status_code == 200, response.status_code
        print(
            json.dumps(
                {
                    "import_s": imported - started,
                    "first_response_s": served - started,
                    # This process's CPU alone: on a shared machine the wall clock also counts
                    # the time other processes held the cores (docs/performance.md#cold-start).
                    "first_response_cpu_s": cpu_served - cpu_started,
                    "modules": len(set(sys.modules) - modules_before),
                }
            )
        )


if __name__ == "__main__":
    main(sys.argv[1])
