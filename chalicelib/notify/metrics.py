"""Custom CloudWatch metrics as Embedded Metric Format lines on stdout (no API call).

Lambda sends stdout to CloudWatch Logs, which turns a JSON line with an `_aws` block into
metric values. That costs no PutMetricData call (no latency, no throttling, no extra IAM
permission) and a failed delivery is counted even when CloudWatch's API is the thing failing.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from datetime import datetime

# One namespace per stack (set in infra/template.json), so dev and prod never mix.
DEFAULT_NAMESPACE = "Sesame/local"


def namespace() -> str:
    """Return the namespace the alarms of this stack watch."""
    return os.environ.get("SESAME_METRICS_NAMESPACE") or DEFAULT_NAMESPACE


def emf_record(values: Mapping[str, int], now: datetime) -> dict[str, object]:
    """Build one EMF record of counts, without dimensions (the namespace names the stack)."""
    return {
        "_aws": {
            "Timestamp": int(now.timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace(),
                    "Dimensions": [[]],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in values],
                }
            ],
        },
        **values,
    }


def emit(values: Mapping[str, int], now: datetime) -> None:
    """Write counts as one EMF line on stdout (CloudWatch Logs extracts the metrics)."""
    sys.stdout.write(json.dumps(emf_record(values, now)) + "\n")
    sys.stdout.flush()
