"""The cold-start reference: a minimal Chalice app that creates the same boto3 clients."""

from __future__ import annotations

import boto3
from botocore.config import Config
from chalice import Chalice

app = Chalice(app_name="minimal")
_CONFIG = Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"})
dynamodb = boto3.client("dynamodb", region_name="ca-central-1", config=_CONFIG)
ses = boto3.client("ses", region_name="ca-central-1", config=_CONFIG)


@app.route("/")
def index() -> dict[str, str]:
    return {"hello": "world"}
