"""The grants API's OpenAPI 3.1 document, built from the pydantic models the API answers with."""

from __future__ import annotations

import functools
from typing import Any

from pydantic.json_schema import models_json_schema

from ..domain.grants_api import GrantsPage, Problem, RequestStatusOut

REF = "#/components/schemas/{model}"


def _problem(description: str, *headers: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}},
    }
    if headers:
        answer["headers"] = {name: {"schema": {"type": "string"}} for name in headers}
    return answer


@functools.cache
def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of `/api/v1` (served at `/api/v1/openapi.json`)."""
    _, defs = models_json_schema(
        [(m, "serialization") for m in (GrantsPage, RequestStatusOut, Problem)],
        ref_template=REF,
    )
    refused = _problem("Missing, wrong or revoked credential", "WWW-Authenticate")
    limited = _problem("Over the client's rate", "Retry-After")
    unavailable = _problem("Try again later", "Retry-After")
    security: list[dict[str, list[str]]] = [{"basic": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sésame grants API",
            "version": "1.0.0",
            "description": "Read-only, for machines (the proxy's helper): active grants and "
            "request status. HTTP Basic with a client id and secret on every call, over HTTPS.",
        },
        "servers": [{"url": "/"}],
        "security": security,
        "paths": {
            "/api/v1/grants": {
                "get": {
                    "operationId": "listGrants",
                    "summary": "Active grants, one page; the ETag covers the whole set",
                    "parameters": [
                        {
                            "name": "cursor",
                            "in": "query",
                            "required": False,
                            "description": "Opaque: the `next` of the previous page, as given",
                            "schema": {
                                "type": "string",
                                "maxLength": 400,
                                "pattern": "^[A-Za-z0-9_-]+$",
                            },
                        },
                        {
                            "name": "If-None-Match",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "One page of active grants",
                            "headers": {"ETag": {"schema": {"type": "string"}}},
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": REF.format(model="GrantsPage")}
                                }
                            },
                        },
                        "304": {"description": "The set has not changed since that ETag"},
                        "400": _problem("Unreadable cursor"),
                        "401": refused,
                        "429": limited,
                        "503": unavailable,
                    },
                }
            },
            "/api/v1/requests/{reference}": {
                "get": {
                    "operationId": "requestStatus",
                    "summary": "A request's status and steps (no justification)",
                    "parameters": [
                        {
                            "name": "reference",
                            "in": "path",
                            "required": True,
                            "description": "The 8-character reference people quote",
                            "schema": {"type": "string", "pattern": "^[A-Za-z0-9]{8}$"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The request's status",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": REF.format(model="RequestStatusOut")}
                                }
                            },
                        },
                        "401": refused,
                        "404": _problem("No such request"),
                        "429": limited,
                        "503": unavailable,
                    },
                }
            },
        },
        "components": {
            "schemas": defs["$defs"],
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
        },
    }
