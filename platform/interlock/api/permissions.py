"""The API's entry gate: a vetted member, and a token scope that covers the method.

Safe methods always need `read` (an answer with content is a read); writes need `write`, or
the scope a view names for its writes (`analyses` for analysis requests). The policy checks
the scope of each action again (`interlock.access.policy.can`); this gate makes the refusal
uniform before any object is looked up.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, permissions
from rest_framework.request import Request

from interlock.access.gate import network_gate
from interlock.access.principal import Via
from interlock.accounts.models import TokenScope
from interlock.accounts.requests import principal_of

SAFE = ("GET", "HEAD", "OPTIONS")


def scope_for_method(method: str, write_scope: str | None) -> str:
    if method in SAFE:
        return TokenScope.READ
    return write_scope or TokenScope.WRITE


class IsNetworkMember(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            raise exceptions.NotAuthenticated("Authenticate with a bearer token or an MFA-verified session.")
        principal = principal_of(request)
        decision = network_gate(principal)
        if not decision:
            raise exceptions.PermissionDenied(f"Your account cannot reach network data: {decision.reason}.")
        needed = scope_for_method(request.method or "GET", getattr(view, "required_scope", None))
        if not principal.has_scope(needed):
            raise exceptions.PermissionDenied(f"This token lacks the '{needed}' scope.")
        return True


class SessionOnly(permissions.BasePermission):
    """For acts that must not be done with a token (e.g. minting more tokens)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if principal_of(request).via == Via.TOKEN:
            raise exceptions.PermissionDenied("This can only be done from a signed-in browser session.")
        return True


def require_recent_reauthentication(request: Request, what: str) -> None:
    """Sensitive acts need a browser session re-authenticated within ten minutes; tokens can't."""
    from interlock.accounts.middleware import reauthenticated_recently
    from interlock.core.errors import ReauthenticationRequired

    if principal_of(request).via == Via.TOKEN or not reauthenticated_recently(request._request):
        raise ReauthenticationRequired(
            f"{what} needs a recent re-authentication: use the web page, which asks for your password and code."
        )
