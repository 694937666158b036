"""OpenAPI descriptions of our authentication schemes (loaded by ApiConfig.ready)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


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


class ActionSchema(AutoSchema):
    """An action endpoint's request body is its `input_class`, not the object it answers with.

    Without this the schema advertised the object's fields (status, is_steward, …) as writable
    input, which the endpoint in fact refuses; clients and the fuzzing suite read the schema.
    """

    def get_request_serializer(self) -> Any:
        return getattr(self.view, "input_class")  # noqa: B009 - set on every _ActionApi
