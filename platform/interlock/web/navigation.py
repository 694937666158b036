"""The site's navigation, built per request from the policy (never from a role read in a template).

Links everyone behind the network gate uses come first; the steward's pages and the person's own
pages sit in two small menus, so the header holds one line at 1280 px whatever the role. The
section a page belongs to is marked `aria-current`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme

from interlock.access import NETWORK, Action, can
from interlock.access.gate import network_gate
from interlock.accounts.models import Person
from interlock.accounts.requests import principal_of
from interlock.notifications.selectors import unread_count


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    current: bool = False
    count: int = 0  # unread items the link leads to (the inbox), shown as a badge


# url name prefixes → the section whose link is current on such a page (first match wins)
_SECTIONS = (
    ("findings", ("finding", "disclosure_new")),
    ("disclosures", ("disclosure",)),
    ("analyses", ("analys", "checkpoint", "dataset")),
    ("directory", ("directory", "organisation")),
    ("sharing_groups", ("sharing_group",)),
    ("library", ("library",)),
    ("inbox", ("inbox",)),
)


def _section(url_name: str) -> str:
    return next((section for section, prefixes in _SECTIONS if url_name.startswith(prefixes)), url_name)


def _link(label: str, name: str, current_section: str) -> Link:
    return Link(label, reverse(f"web:{name}"), current_section == name)


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Template context processor. Built only when a page shows it (htmx partials never do)."""
    return {
        "nav": SimpleLazyObject(lambda: _navigation(request)),
        "back_url": SimpleLazyObject(lambda: _back_url(request)),
    }


def _back_url(request: HttpRequest) -> str:
    """The page the person came from, for an error page's way back: this site's only, never itself."""
    referer = request.headers.get("Referer", "")
    try:
        host = request.get_host()
    except DisallowedHost:
        return ""
    if not url_has_allowed_host_and_scheme(referer, allowed_hosts={host}, require_https=request.is_secure()):
        return ""
    if referer == request.build_absolute_uri():
        return ""
    return referer


def _navigation(request: HttpRequest) -> dict[str, Any]:
    """Empty for anyone not through sign-in, MFA and the network gate (they reach no section)."""
    user = getattr(request, "user", None)
    is_verified = getattr(user, "is_verified", None)
    if not isinstance(user, Person) or not (callable(is_verified) and is_verified()):
        return {}
    principal = principal_of(request)
    if not network_gate(principal):
        return {}
    match = getattr(request, "resolver_match", None)
    current = _section(match.url_name or "") if match is not None and match.namespace == "web" else ""
    primary = [
        _link(label, name, current)
        for label, name in (
            ("Findings", "findings"),
            ("Analyses", "analyses"),
            ("Disclosures", "disclosures"),
            ("Directory", "directory"),
            ("Sharing groups", "sharing_groups"),
            ("Library", "library"),
        )
    ]
    # the person's own notifications, through the policy's filter (interlock.notifications)
    inbox = _link("Inbox", "inbox", current)
    primary.append(Link(inbox.label, inbox.url, inbox.current, unread_count(principal=principal)))
    steward = [
        _link(label, name, current)
        for label, name, action in (
            ("Vetting", "vetting", Action.VET),
            ("Audit log", "audit", Action.VIEW_AUDIT),
            ("Keys", "keys", Action.MANAGE_KEYS),
        )
        if can(principal, action, NETWORK)
    ]
    own = []
    organisation = user.organisation
    if organisation is not None and can(principal, Action.INVITE_MEMBER, organisation):
        own.append(_link("My organisation", "org_admin", current))
    own += [
        _link("Account", "account_security", current),
        _link("API tokens", "tokens", current),
        Link("API docs", reverse("api-docs")),
    ]
    return {"primary": primary, "steward": steward, "own": own}
