"""Deliver rendered e-mails through SES as multipart (text + HTML) raw messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.submission import address_well_formed
from .messages import RenderedEmail

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient


# SES errors that no retry will cure: the entry is marked failed at once.
PERMANENT_ERRORS = frozenset(
    {
        "MessageRejected",
        "MailFromDomainNotVerifiedException",
        "MailFromDomainNotVerified",
        "ConfigurationSetDoesNotExistException",
        "ConfigurationSetDoesNotExist",
        "InvalidParameterValue",
    }
)


class DeliveryFailed(Exception):
    """SES did not accept the message; `permanent` says whether a retry could help."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def build_mime(
    sender: str, recipients: Sequence[str], message: RenderedEmail, now: datetime
) -> bytes:
    """Build the MIME message; header values with line breaks are refused by the email package.

    Each recipient must be one bare address (the form's check): a display name, a list or a
    line break would otherwise add a recipient or a header. ValueError names the refusal.
    """
    for recipient in recipients:
        if not address_well_formed(recipient):
            raise ValueError("recipient is not one bare address")
    mime = EmailMessage()
    mime["From"] = Address(addr_spec=sender)
    mime["To"] = [Address(addr_spec=recipient) for recipient in recipients]
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(now)
    mime["Content-Language"] = message.lang
    mime.set_content(message.text)
    mime.add_alternative(message.html, subtype="html")
    return mime.as_bytes()


def send_email(
    client: SESClient,
    sender: str,
    recipients: Sequence[str],
    message: RenderedEmail,
    now: datetime,
    configuration_set: str | None = None,
    outbox_id: str | None = None,
) -> str:
    """Send one message; return SES's message id.

    The outbox id travels as a message tag, so a bounce or complaint that SES reports later
    (through the configuration set's topic) finds the entry to mark as failed.
    """
    kwargs: dict[str, object] = {
        "Source": sender,
        "Destinations": list(recipients),
        "RawMessage": {"Data": build_mime(sender, recipients, message, now)},
    }
    if configuration_set:
        kwargs["ConfigurationSetName"] = configuration_set
    if outbox_id:
        kwargs["Tags"] = [{"Name": "outbox_id", "Value": outbox_id}]
    try:
        response = client.send_raw_email(**kwargs)  # type: ignore[arg-type]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "ClientError")
        raise DeliveryFailed(code, permanent=code in PERMANENT_ERRORS) from error
    except BotoCoreError as error:  # timeouts, connection errors: worth retrying
        raise DeliveryFailed(type(error).__name__, permanent=False) from error
    return response["MessageId"]
