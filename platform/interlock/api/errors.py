"""The REST API's exception handler: every refusal becomes the one envelope of
`interlock.core.errors.error_envelope`, `{"error": {"code", "message", "fields"}}`.

Views never build an error body themselves; they raise (an `ApplicationError`, a DRF exception,
Django's `ValidationError`) and this handler picks the status, code and message. The schema
documents the envelope once, as `interlock.api.serializers.ErrorSerializer`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from interlock.core.errors import ApplicationError, error_envelope

INVALID = "The request is not valid."


def _validation_fields(detail: Any) -> dict[str, Any]:
    """Per-field messages of a DRF `ValidationError`; a bare list belongs to no one field."""
    if isinstance(detail, dict):
        return {str(key): value for key, value in detail.items()}
    return {"non_field_errors": detail}


def _code_and_message(exc: exceptions.APIException, status_code: int) -> tuple[str, str]:
    """A DRF exception's code and message; any 401 is `not_authenticated`, whatever DRF named it."""
    if status_code == status.HTTP_401_UNAUTHORIZED:
        code = "not_authenticated"
    else:
        codes = exc.get_codes()
        code = str(codes if isinstance(codes, str) else exc.default_code)
    return code, str(exc.detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        return Response(error_envelope("too_large", "The request body is too large."), status=413)
    if isinstance(exc, ApplicationError):
        return Response(error_envelope(exc.code, exc.message, exc.extra), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(error_envelope("invalid", INVALID, fields), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_envelope("invalid", INVALID, _validation_fields(exc.detail))
    elif isinstance(exc, exceptions.APIException):
        response.data = error_envelope(*_code_and_message(exc, response.status_code))
    else:  # pragma: no cover - DRF only returns responses for APIException
        response.data = error_envelope("error", "The request failed.")
    return response
