"""Alarms (issue 13, item 12): what each alarm of the packaged template watches, who is told,
and the custom metrics the jobs write (Embedded Metric Format lines)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.adapters.policy_files import load_policy
from tests.conftest import PROJECT_ROOT
from tests.integration.test_deployment import _statements
from tests.integration.test_deployment import package as package  # noqa: PLC0414  # fixture
from tests.integration.test_outbox import sweep
from tests.integration.test_sweep_isolation import store_poisoned_entry

pytestmark = pytest.mark.integration
FUNCTIONS = (
    "APIHandler", "DeliverPendingEmail", "RunLifecycle", "EmailDeliveryEvents", "WriteAuditDigest",
    "ApplyAccessEvent", "ReconcileGroups",  # enforcement (issue 16)
)  # fmt: skip
NAMESPACE = {"Fn::Sub": "Sesame/${AWS::StackName}"}


@pytest.fixture(scope="module")
def template(package: Path) -> dict[str, Any]:
    return dict(json.loads((package / "sam.json").read_text()))


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def _watched(alarm: dict[str, Any]) -> list[tuple[Any, str, Any]]:
    """(namespace, metric, dimensions) of what an alarm watches, metric math included."""
    if "MetricName" in alarm:
        return [(alarm["Namespace"], alarm["MetricName"], alarm.get("Dimensions", []))]
    return [
        (m["MetricStat"]["Metric"]["Namespace"], m["MetricStat"]["Metric"]["MetricName"],
         m["MetricStat"]["Metric"].get("Dimensions", []))
        for m in alarm["Metrics"] if "MetricStat" in m
    ]  # fmt: skip


def test_every_alarm_tells_the_security_team_topic(template: dict[str, Any]) -> None:
    alarms = _alarms(template)
    assert len(alarms) >= 9
    topic = template["Resources"]["AlarmTopic"]
    assert topic["Type"] == "AWS::SNS::Topic"
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert "docs/operations.md" in alarm["AlarmDescription"], name
    subscriptions = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::SNS::Subscription"
    ]
    assert subscriptions and all(s["Properties"]["Protocol"] == "email" for s in subscriptions)
    assert all(s["Condition"] in template["Conditions"] for s in subscriptions)
    assert template["Parameters"]["AlarmEmails"]["Type"] == "String"


def test_each_function_has_an_errors_alarm_and_every_function_is_covered(
    template: dict[str, Any],
) -> None:
    functions = {
        n for n, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
    }
    assert functions == set(FUNCTIONS)  # a new function needs its alarm
    watched = {
        json.dumps(dims) for a in _alarms(template).values() for ns, metric, dims in _watched(a)
        if (ns, metric) == ("AWS/Lambda", "Errors")
    }  # fmt: skip
    assert watched == {
        json.dumps([{"Name": "FunctionName", "Value": {"Ref": f}}]) for f in FUNCTIONS
    }


def test_the_api_5xx_rate_alarm_watches_this_api(template: dict[str, Any]) -> None:
    alarm = _alarms(template)["Api5xxRateAlarm"]
    assert (alarm["MetricName"], alarm["Statistic"]) == ("5XXError", "Average")  # a rate
    dims = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    api = template["Resources"]["RestAPI"]["Properties"]
    assert dims["ApiName"] == api["DefinitionBody"]["info"]["title"]
    assert dims["Stage"] == api["StageName"]


def test_throttles_of_both_tables_and_every_function_raise_an_alarm(
    template: dict[str, Any],
) -> None:
    # A metric-math alarm may reference at most 10 metrics (a hard CloudWatch limit), so the
    # tables and the API share one alarm and the scheduled and event functions have another.
    alarms = _alarms(template)
    watched: set[tuple[str, str]] = set()
    for name in ("ThrottlesAlarm", "JobThrottlesAlarm"):
        metrics = [(m, json.dumps(d)) for _, m, d in _watched(alarms[name])]
        assert len(metrics) <= 10, name
        watched.update(metrics)
    for table in ("MainTable", "AuditTable"):
        for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
            dims = [{"Name": "TableName", "Value": {"Ref": table}}]
            assert (metric, json.dumps(dims)) in watched
    for function in FUNCTIONS:
        dims = [{"Name": "FunctionName", "Value": {"Ref": function}}]
        assert ("Throttles", json.dumps(dims)) in watched


def test_failed_deliveries_and_a_silent_lifecycle_raise_alarms_on_the_stacks_metrics(
    template: dict[str, Any],
) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["SESAME_METRICS_NAMESPACE"] == NAMESPACE
    alarms = _alarms(template)
    for name, metric in (
        ("FailedEmailsAlarm", "FailedEmails"),
        ("FailedEventsAlarm", "FailedEvents"),
        ("EnforcementFailuresAlarm", "EnforcementFailures"),
    ):
        assert _watched(alarms[name]) == [(NAMESPACE, metric, [])]
        assert alarms[name]["Threshold"] == 1
    stopped = alarms["LifecycleStoppedAlarm"]
    assert _watched(stopped) == [(NAMESPACE, "LifecycleRuns", [])]
    # No heartbeat in an hour is an alarm, whether the job errs or never starts.
    assert (stopped["Period"], stopped["ComparisonOperator"]) == (3600, "LessThanThreshold")
    assert stopped["TreatMissingData"] == "breaching"


def test_mail_may_be_sent_only_from_the_organisations_sender(template: dict[str, Any]) -> None:
    sends = [s for _, s in _statements(template) if "ses:SendRawEmail" in json.dumps(s)]
    # One role per function, each with the same statement; the digest function's own role
    # sends nothing (tests/integration/test_audit_anchor_template.py lists all it may do).
    assert len(sends) == len(FUNCTIONS) - 1
    for ses in sends:
        assert ses["Condition"] == {"StringEquals": {"ses:FromAddress": {"Ref": "SenderAddress"}}}
        assert "ses:Recipients" not in json.dumps(ses)
    sender = load_policy(PROJECT_ROOT / "policies").organisation.sender
    assert template["Parameters"]["SenderAddress"]["Default"] == sender


def _emf(output: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]
    for record in lines:
        (directive,) = record["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Sesame/local"
        assert all(m["Name"] in record for m in directive["Metrics"])
    return lines


def test_the_sweep_counts_a_failed_delivery_and_the_lifecycle_beats(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    store_poisoned_entry()
    capsys.readouterr()
    assert sweep(client)["failed"] == 1
    assert [r.get("FailedEmails") for r in _emf(capsys.readouterr().out)] == [1]
    event = client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])
    client.lambda_.invoke("run_lifecycle", event)
    assert [r.get("LifecycleRuns") for r in _emf(capsys.readouterr().out)] == [1]


def test_access_events_reach_enforcement_from_the_stacks_own_bus(template: dict[str, Any]) -> None:
    rule = template["Resources"]["ApplyAccessEvent"]["Properties"]["Events"]
    (event,) = rule.values()
    assert event["Type"] == "CloudWatchEvent"
    assert event["Properties"]["EventBusName"] == {"Ref": "EventBus"}
    assert event["Properties"]["Pattern"]["detail-type"] == [
        "AccessGranted", "AccessRevoked", "AccessEnded",
    ]  # fmt: skip
    schedule = template["Resources"]["ReconcileGroups"]["Properties"]["Events"]
    assert [e["Properties"]["Schedule"] for e in schedule.values()] == ["rate(1 hour)"]
