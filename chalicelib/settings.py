"""Settings read lazily from the environment (stage variables arrive only during a call)."""

from __future__ import annotations

import functools
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple, get_args

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET_BYTES = 32
Stage = Literal["local", "test", "dev", "prod"]
BASE_URL = r"^https?://[^/?#\s]+(/[^?#\s]*)?$"
MIN_LENGTHS = {"main_table": 3, "audit_table": 3, "signing_secret": SECRET_BYTES, "event_bus": 1}


class RunSettings(NamedTuple):
    """Everything that differs between the local stack and an AWS stage (checked values)."""

    # Plain data: the pydantic model `Settings` declares the same fields and bounds, which
    # `_checked` applies; a cold start does not import pydantic to hold them (issue 14). A
    # named tuple, not a dataclass: defining one costs a cold start less.
    stage: Stage
    main_table: str
    audit_table: str
    public_base_url: str
    policy_dir: Path
    templates_dir: Path
    signing_secret: bytes
    ses_configuration_set: str | None = None
    # The EventBridge bus that provisioning listens on (access granted, revoked, ended).
    event_bus: str = "sesame-local-access"

    @property
    def is_local(self) -> bool:
        """Tell whether this is the developer's local stack (dev outbox, plain-HTTP cookies)."""
        return self.stage in LOCAL_STAGES

    def model_copy(self, *, update: Mapping[str, Any] | None = None) -> RunSettings:
        """Return a copy with some values changed, as the pydantic model's does (tests)."""
        return self._replace(**(update or {}))


@functools.cache
def _settings_model() -> type[Any]:
    """Define the pydantic declaration of the settings (first asked: tests, never a request)."""
    from pydantic import BaseModel, ConfigDict, Field

    class Settings(BaseModel):
        """The settings as a pydantic model: what `_checked` must agree with (tested)."""

        model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

        stage: Stage
        main_table: str = Field(min_length=MIN_LENGTHS["main_table"])
        audit_table: str = Field(min_length=MIN_LENGTHS["audit_table"])
        public_base_url: str = Field(pattern=BASE_URL)
        policy_dir: Path
        templates_dir: Path
        signing_secret: bytes = Field(min_length=MIN_LENGTHS["signing_secret"])
        ses_configuration_set: str | None = None
        event_bus: str = Field(default="sesame-local-access", min_length=MIN_LENGTHS["event_bus"])

        @property
        def is_local(self) -> bool:
            """Tell whether this is the developer's local stack."""
            return self.stage in LOCAL_STAGES

    return Settings


def __getattr__(name: str) -> Any:
    """Return `Settings`, the pydantic model, defined on first use (pydantic is not cold)."""
    if name == "Settings":
        return _settings_model()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


LOCAL_STAGES = ("local", "test")


def _signing_secret(stage: str) -> bytes:
    """Return the secret that signs CSRF tokens and derives link tokens (SSM when deployed)."""
    from_env = os.environ.get("SESAME_SIGNING_SECRET")
    if from_env:
        # A deployed stage reads SSM only: a variable left in the function's configuration
        # (readable by whoever may read the function) must not quietly replace the secret.
        if stage not in LOCAL_STAGES:
            raise RuntimeError(
                "SESAME_SIGNING_SECRET is accepted only in the local and test stages"
            )
        return from_env.encode("utf-8")
    parameter = os.environ.get("SESAME_SIGNING_SECRET_PARAMETER")
    if parameter:
        # A SecureString in SSM Parameter Store, read once per cold start (settings are cached).
        from . import aws

        response = aws.ssm().get_parameter(Name=parameter, WithDecryption=True)
        return response["Parameter"]["Value"].encode("utf-8")
    if stage not in LOCAL_STAGES:
        raise RuntimeError("SESAME_SIGNING_SECRET_PARAMETER is not set for this stage")
    secret_file = Path(os.environ.get("SESAME_STATE_DIR", PROJECT_ROOT / ".local")) / "secret"
    if not secret_file.exists():
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(secrets.token_hex(SECRET_BYTES), encoding="ascii")
        secret_file.chmod(0o600)
    return secret_file.read_text(encoding="ascii").strip().encode("ascii")


def refuse_local_stage_in_lambda() -> None:
    """Stop a Lambda that runs with the local or test stage (checked at import and first use).

    Those stages trust loopback, keep a development outbox and accept a secret from the
    environment: the Makefile refuses to deploy them, and this stops a deployment made
    any other way.
    """
    if "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
        stage = os.environ.get("SESAME_STAGE", "")
        if stage in LOCAL_STAGES or not stage:
            raise RuntimeError(f"stage {stage or '(unset)'!r} refused inside Lambda")


def _checked(values: dict[str, Any]) -> RunSettings:
    """Check what the model declares (same bounds, same pattern) and build it unvalidated."""
    if values["stage"] not in get_args(Stage):
        raise ValueError(f"stage: not one of {get_args(Stage)}")
    for name, minimum in MIN_LENGTHS.items():
        if len(values[name]) < minimum:
            raise ValueError(f"{name}: shorter than {minimum}")
    # fullmatch, not match: "$" would let a trailing newline through, pydantic's does not.
    if not re.fullmatch(BASE_URL.strip("^$"), values["public_base_url"]):
        raise ValueError("public_base_url: not an http(s) base URL")
    return RunSettings(**values)


@functools.cache
def get_settings() -> RunSettings:
    """Build the settings once per process, on first use."""
    # Fail closed: in Lambda, a missing, local or test stage is an error.
    refuse_local_stage_in_lambda()
    stage = os.environ.get("SESAME_STAGE") or "local"
    if stage not in get_args(Stage):
        # Judged before the secret is read: which secret is allowed depends on the stage.
        raise ValueError(f"stage: not one of {get_args(Stage)}")
    if stage not in LOCAL_STAGES and not os.environ.get("SESAME_PUBLIC_BASE_URL"):
        raise RuntimeError("SESAME_PUBLIC_BASE_URL must be set outside the local stage")
    return _checked(
        dict(
            stage=stage,
            main_table=os.environ.get("SESAME_MAIN_TABLE", f"sesame-{stage}-main"),
            audit_table=os.environ.get("SESAME_AUDIT_TABLE", f"sesame-{stage}-audit"),
            public_base_url=os.environ.get(
                "SESAME_PUBLIC_BASE_URL", "http://127.0.0.1:8000"
            ).rstrip("/"),
            policy_dir=Path(os.environ.get("SESAME_POLICY_DIR", PROJECT_ROOT / "policies")),
            templates_dir=Path(os.environ.get("SESAME_TEMPLATES_DIR", PROJECT_ROOT / "templates")),
            signing_secret=_signing_secret(stage),
            ses_configuration_set=os.environ.get("SESAME_SES_CONFIGURATION_SET") or None,
            event_bus=os.environ.get("SESAME_EVENT_BUS") or f"sesame-{stage}-access",
        )
    )
