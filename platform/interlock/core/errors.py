"""The one family of application errors. Services raise them; the API and web layers render them.

`NotFound` is also what a *forbidden* object raises: a caller must not be able to tell a
protected object from a missing one (STYLE.md, SECURITY.md).
"""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse


class ApplicationError(Exception):
    """A failure the caller can act on: a readable message plus optional per-field detail."""

    code = "invalid"
    status = 400

    def __init__(self, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class NotFound(ApplicationError):
    code = "not_found"
    status = 404

    def __init__(self, message: str = "Not found.", extra: dict[str, Any] | None = None) -> None:
        super().__init__(message, extra)


class PolicyDenied(ApplicationError):
    """The caller may see the object but may not do this to it (e.g. a member asking to vet)."""

    code = "permission_denied"
    status = 403


class Conflict(ApplicationError):
    code = "conflict"
    status = 409


class InvalidState(ApplicationError):
    """The object is not in a state that allows the action (e.g. activating a removed org)."""

    code = "invalid_state"
    status = 409


class ReauthenticationRequired(ApplicationError):
    code = "reauthentication_required"
    status = 403


def error_envelope(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one body of every machine-facing error: `{"error": {"code", "message", "fields"}}`.

    The REST API's exception handler, the JSON error pages for `/api/` and `/internal/` and the
    worker job API all answer with this, so a client parses one shape whichever layer refused it
    (documented once, as `interlock.api.serializers.ErrorSerializer`, in the OpenAPI schema).
    """
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def error_json_response(status: int, code: str, message: str) -> JsonResponse:
    """The envelope as a plain Django response, for the few JSON answers made outside DRF (the
    error pages of machine paths, the 405 middleware, the worker job API)."""
    return JsonResponse(error_envelope(code, message), status=status)
