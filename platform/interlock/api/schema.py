"""The OpenAPI schema's own rules: our authentication schemes, the error envelope on every
operation, and action endpoints whose request body is not the object they answer with."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ComponentRegistry

from interlock.api.serializers import ErrorSerializer

# What any operation may answer with the error envelope: a bad query or body (400), no or a bad
# credential (401), a refusal by the network gate or a token's scope (403), a missing — or hidden,
# which answers alike — object (404). Writes may also meet a conflict or a state that forbids
# them (409), a body over the size limit (413) or a content type no parser takes (415).
READ_ERRORS = (400, 401, 403, 404)
WRITE_ERRORS = (*READ_ERRORS, 409, 413, 415)


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "interlock.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A scoped, expiring API token."}


class VerifiedSessionScheme(OpenApiAuthenticationExtension):
    target_class = "interlock.api.authentication.VerifiedSessionAuthentication"
    name = "sessionAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "An MFA-verified session.",
        }


class InterlockAutoSchema(AutoSchema):
    """Every operation also documents its error answers, all one `ErrorSerializer` envelope.

    The views declare only their successful answers (`extend_schema(responses={200: Out})`); the
    error codes are the same everywhere because one exception handler writes them, so they are
    added here once rather than repeated on every view. (`extend_schema` replaces
    `get_response_serializers`, so the errors join the finished operation instead.)
    """

    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: ComponentRegistry
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        envelope = {"application/json": {"schema": self.resolve_serializer(ErrorSerializer, "response").ref}}
        errors = READ_ERRORS if self.method in ("GET", "HEAD", "OPTIONS") else WRITE_ERRORS
        responses: dict[str, Any] = operation.setdefault("responses", {})
        for code in errors:
            responses.setdefault(str(code), {"content": envelope, "description": "The error envelope."})
        return operation


class ActionSchema(InterlockAutoSchema):
    """An action endpoint's request body is its `input_class`, not the object it answers with.

    Without this the schema advertised the object's fields (status, is_steward, …) as writable
    input, which the endpoint in fact refuses; clients and the fuzzing suite read the schema.
    """

    def get_request_serializer(self) -> Any:
        return getattr(self.view, "input_class")  # noqa: B009 - set on every _ActionApi
