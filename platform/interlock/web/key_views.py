"""Stewards destroy organisation key versions here (crypto-shredding).

This page is the only way to confirm a destruction: the confirming steward is the signed-in
person (never a name typed at a command line), their sign-in must be younger than ten
minutes (SECURITY.md: re-authentication before destroying a key) and they type the
organisation's slug; a second, different steward's confirmation destroys the key.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from interlock.access import NETWORK, Action, can
from interlock.access.lookups import parse_uuid
from interlock.accounts.middleware import reauthenticated_recently
from interlock.accounts.requests import principal_of
from interlock.core.errors import NotFound
from interlock.crypto.services import (
    SHRED_CONFIRMATIONS,
    org_key_shred_confirm,
    org_key_versions_for_shredding,
)
from interlock.network.models import Organisation
from interlock.web.pages import action_result, member_required


@member_required
def keys_view(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    if not can(principal, Action.MANAGE_KEYS, NETWORK):
        raise NotFound
    return render(
        request,
        "web/keys.html",
        {"versions": org_key_versions_for_shredding(actor=principal), "needed": SHRED_CONFIRMATIONS},
    )


@member_required
@require_POST
def key_shred_view(request: HttpRequest, org_id: str, version: int) -> HttpResponse:
    principal = principal_of(request)
    if not can(principal, Action.MANAGE_KEYS, NETWORK):
        raise NotFound
    org = Organisation.objects.filter(uuid=parse_uuid(org_id)).first()
    if org is None:
        raise NotFound
    page = reverse("web:keys")
    if not reauthenticated_recently(request):
        return redirect(f"{reverse('web:reauth')}?next={page}")
    if request.POST.get("confirm_slug", "").strip() != org.slug:
        versions = org_key_versions_for_shredding(actor=principal)
        error = f"Type {org.slug} to confirm destroying {org.name}'s key v{version}; nothing was changed."
        context = {"versions": versions, "needed": SHRED_CONFIRMATIONS, "error": error}
        return render(request, "web/keys.html", context, status=400)
    return action_result(
        request,
        page,
        lambda: org_key_shred_confirm(org=org, version=version, steward=principal),
        f"Your confirmation for {org.name} key v{version} is recorded.",
    )
