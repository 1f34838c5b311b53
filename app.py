"""Sésame's Chalice app: the middleware, the event handlers, the blueprints by audience.

Routes live in `chalicelib/web/routes/`, one blueprint per audience. The scheduled and SNS
handlers stay here: declared on a blueprint, Lambda would import that module alone and skip
this file's set-up (aws/chalice#1566).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from chalice.app import Chalice, CloudWatchEvent, Rate, Request, Response, SNSEvent

from chalicelib.notify import metrics
from chalicelib.service.context import get_services
from chalicelib.settings import get_settings, refuse_local_stage_in_lambda
from chalicelib.web.access_log import log_request
from chalicelib.web.headers import apply_security_headers
from chalicelib.web.lazy import lazy_function
from chalicelib.web.pages import remember_lang_choice
from chalicelib.web.routes import (
    account,
    api,
    console,
    dev,
    enforcement,
    form,
    identity,
    integrity,
    links,
    review,
    static,
    trust,
)
from chalicelib.web.routes.common import csrf_refused

if TYPE_CHECKING:
    from chalicelib.service.campaign import run_campaign
    from chalicelib.service.delivery_events import record_delivery_event
    from chalicelib.service.sweep import deliver_due
    from chalicelib.service.timed import run_timed_jobs
else:
    # Imported on first use: serving the form needs none of these (cold start, issue 9).
    record_delivery_event = lazy_function(
        "chalicelib.service.delivery_events", "record_delivery_event"
    )
    deliver_due = lazy_function("chalicelib.service.sweep", "deliver_due")
    run_timed_jobs = lazy_function("chalicelib.service.timed", "run_timed_jobs")
    run_campaign = lazy_function("chalicelib.service.campaign", "run_campaign")

# A Lambda configured with the local or test stage stops at its cold start, not at its first
# request: the error shows in the deployment's first invocation (and its alarm).
refuse_local_stage_in_lambda()
app = Chalice(app_name="sesame")
# The SNS topic the SES configuration set reports bounces and complaints to (infra/template.json).
EMAIL_EVENTS_TOPIC = "sesame-email-events"

# One blueprint per audience (docs/architecture.md, "where to change what").
for blueprint in (
    form.bp,
    links.bp,
    review.bp,
    account.bp,
    identity.bp,
    console.bp,
    integrity.bp,
    static.bp,
    trust.bp,
    api.bp,
    enforcement.bp,
):
    app.register_blueprint(blueprint)
# The development pages exist only where the local stack or the test suite asked for them:
# `chalice package` and Lambda never set the variable, so a deployed API has no /dev/* route.
if os.environ.get(dev.ENABLING_VARIABLE) == "1":
    app.register_blueprint(dev.bp)


@app.middleware("http")
def security_headers(event: Request, get_response: Any) -> Response:
    """Add the security headers to every response, and log one JSON line per request."""
    started = time.perf_counter()
    if event.method == "POST" and event.headers.get("sec-fetch-site") == "cross-site":
        # The browser says another site sent this form: refused whatever token it carries
        # (old browsers send no fetch metadata and still work through the tokens).
        response: Response = csrf_refused(event)
    else:
        response = get_response(event)
    local = get_settings().is_local
    apply_security_headers(response.headers, local=local)
    remember_lang_choice(event, response.headers, local=local)
    log_request(event, response.status_code, time.perf_counter() - started)
    return response


@app.on_sns_message(topic=EMAIL_EVENTS_TOPIC)
def email_delivery_events(event: SNSEvent) -> None:
    """Mark e-mails SES could not deliver for good (bounces, complaints) as failed."""
    record_delivery_event(get_services(), event.message)


@app.schedule(Rate(5, unit=Rate.MINUTES))
def deliver_pending_email(event: CloudWatchEvent) -> dict[str, int]:
    """Deliver e-mails and bus events still pending after their transition (crash, throttling)."""
    return deliver_due(get_services())


@app.schedule(Rate(15, unit=Rate.MINUTES))
def run_lifecycle(event: CloudWatchEvent) -> dict[str, int]:
    """Send reminders, hand over late steps, expire undecided requests, end grants, ask for
    and lapse grant reviews; run the usage-policy campaign while the current version's is open."""
    services = get_services()
    done = {**run_timed_jobs(services), **run_campaign(services)}
    # The heartbeat of "no lifecycle run in 1 hour": written only when the run completed.
    metrics.emit({"LifecycleRuns": 1}, services.clock())
    return done


@app.schedule(Rate(1, unit=Rate.HOURS))
def write_audit_digest(event: CloudWatchEvent) -> dict[str, int]:
    """Sign and store the hourly digest of the audit chain (its own role: only it may sign)."""
    from chalicelib.service.digest import get_digest_deps, utc_now, write_digest

    write_digest(get_digest_deps(), utc_now())  # needs no settings, policy or secret
    return {"audit_digests": 1}


# The bus's access events (docs/events.md); infra/template.json points the rule at the
# stack's own bus (Chalice's rule would listen on the default bus).
@app.on_cw_event(
    {"source": ["sesame"], "detail-type": ["AccessGranted", "AccessRevoked", "AccessEnded"]}
)
def apply_access_event(event: CloudWatchEvent) -> dict[str, int]:
    """Apply one access event to the directory groups (add or remove the holder)."""
    from chalicelib.service.enforce_setup import on_access_event

    return on_access_event(event.detail_type, event.detail)


@app.schedule(Rate(1, unit=Rate.HOURS))
def reconcile_groups(event: CloudWatchEvent) -> dict[str, int]:
    """Make the groups Sésame owns equal to the active grants, auditing each repair."""
    from chalicelib.service.enforce_setup import run_reconciliation

    return run_reconciliation()
