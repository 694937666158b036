"""API authentication: bearer tokens, or a browser session that has passed MFA (with CSRF)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from interlock.accounts.services import api_token_authenticate


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0] != self.keyword:
            raise exceptions.AuthenticationFailed(gettext_lazy("Use 'Authorization: Bearer <token>'."))
        principal = api_token_authenticate(parts[1])
        if principal is None:
            raise exceptions.AuthenticationFailed(gettext_lazy("The token is invalid, expired or revoked."))
        # `request.auth` carries the principal (person + scopes); nothing is patched onto the person.
        return principal.person, principal

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class VerifiedSessionAuthentication(authentication.SessionAuthentication):
    """Session cookies count for the API only once the session has passed MFA."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user, _ = result
        if not user.is_verified():
            return None
        return result
