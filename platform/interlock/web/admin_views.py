"""Stewards' and organisation admins' pages: vetting, clearance, members and invitations, the audit log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from interlock.access import NETWORK, Action, can, visible
from interlock.accounts import services as account_services
from interlock.accounts.models import Person
from interlock.accounts.requests import principal_of
from interlock.audit.events import Event
from interlock.audit.models import AuditEvent, AuditSeal
from interlock.audit.services import audit_record
from interlock.audit.verification import verify_audit
from interlock.core.errors import ApplicationError, NotFound
from interlock.network import services as network_services
from interlock.network.models import OrganisationStatus
from interlock.network.selectors import network_policy_current, organisation_list
from interlock.web.forms import FormState
from interlock.web.pages import action_result, member_required


@member_required
def vetting_view(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    if not can(principal, Action.VET, NETWORK):
        raise NotFound
    applicants = organisation_list(principal=principal, status=OrganisationStatus.APPLICANT).annotate(
        approvals=Count("activations")
    )
    waiting = [
        candidate
        for candidate in visible(principal, Person.objects.select_related("organisation")).filter(
            clearance__gte=2, is_active=True
        )
        if candidate.effective_clearance()
        < min(candidate.clearance, candidate.organisation.clearance_ceiling)  # type: ignore[union-attr]
    ]
    for candidate in waiting:
        candidate.effective = candidate.effective_clearance()  # type: ignore[attr-defined]
    context = {
        "applicants": applicants,
        "needed": network_policy_current()["organisation_activation_stewards"],
        "clearance_requests": waiting,
        "active": organisation_list(principal=principal, status=OrganisationStatus.ACTIVE),
        "suspended": organisation_list(principal=principal, status=OrganisationStatus.SUSPENDED),
    }
    return render(request, "web/vetting.html", context)


@member_required
@require_POST
def vet_org_view(request: HttpRequest, org_id: str, verb: str) -> HttpResponse:
    actor = principal_of(request)
    acts: dict[str, Callable[[], object]] = {
        "approve": lambda: network_services.organisation_approve_activation(actor=actor, org_uuid=org_id),
        "suspend": lambda: network_services.organisation_suspend(
            actor=actor, org_uuid=org_id, reason=request.POST.get("reason", "")
        ),
        "reinstate": lambda: network_services.organisation_reinstate(actor=actor, org_uuid=org_id),
    }
    if verb not in acts:
        raise Http404
    return action_result(request, reverse("web:vetting"), acts[verb], f"Done: {verb}.")


@member_required
@require_POST
def approve_clearance_view(request: HttpRequest, person_id: str) -> HttpResponse:
    return action_result(
        request,
        reverse("web:vetting"),
        lambda: account_services.clearance_approve(actor=principal_of(request), person_uuid=person_id),
        "Clearance approved.",
    )


@member_required
def org_admin_view(
    request: HttpRequest,
    invitation: account_services.IssuedInvitation | None = None,
    refused: FormState | None = None,
) -> HttpResponse:
    principal = principal_of(request)
    org = principal.person.organisation
    if org is None or not can(principal, Action.INVITE_MEMBER, org):
        raise NotFound
    people = list(
        Person.objects.filter(organisation=org).select_related("organisation").order_by("display_name")
    )
    for member in people:
        member.effective = member.effective_clearance()  # type: ignore[attr-defined]
    context: dict[str, Any] = {
        "organisation": org,
        "people": people,
        "tiers": range(org.clearance_ceiling + 1),
        "refused": refused,
    }
    if invitation is not None:
        context["invitation_link"] = request.build_absolute_uri(
            reverse("web:invitation", args=[invitation.secret])
        )
        context["invitation_expires"] = invitation.invitation.expires_at
    return render(request, "web/org_admin.html", context, status=refused.status if refused else 200)


@member_required
@require_POST
def invite_view(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    try:
        issued = account_services.invitation_create(
            actor=principal,
            org_uuid=principal.person.organisation.uuid if principal.person.organisation else "",
            email=request.POST.get("email", "").strip(),
            role=request.POST.get("role", "member"),
        )
    except NotFound:
        raise
    except ApplicationError as failure:
        refused = FormState.refused(request.POST, failure, fields=("email", "role"))
        return org_admin_view.__wrapped__(request, refused=refused)  # type: ignore[attr-defined]
    return org_admin_view.__wrapped__(request, invitation=issued)  # type: ignore[attr-defined]


@member_required
@require_POST
def set_clearance_view(request: HttpRequest, person_id: str) -> HttpResponse:
    try:
        tier = int(request.POST.get("clearance", ""))
    except ValueError:
        messages.error(request, "Choose a clearance tier from 0 to 3.")
        return redirect("web:org_admin")
    return action_result(
        request,
        reverse("web:org_admin"),
        lambda: account_services.clearance_set(
            actor=principal_of(request), person_uuid=person_id, clearance=tier
        ),
        "Clearance updated. Tiers 2 and 3 take effect once a steward approves.",
    )


@member_required
@require_POST
def person_standing_view(request: HttpRequest, person_id: str, verb: str) -> HttpResponse:
    acts: dict[str, Callable[[], object]] = {
        "suspend": lambda: account_services.person_suspend(
            actor=principal_of(request), person_uuid=person_id
        ),
        "reinstate": lambda: account_services.person_reinstate(
            actor=principal_of(request), person_uuid=person_id
        ),
    }
    if verb not in acts:
        raise Http404
    return action_result(request, reverse("web:org_admin"), acts[verb], f"Done: {verb}.")


@member_required
def audit_view(request: HttpRequest) -> HttpResponse:
    if not can(principal_of(request), Action.VIEW_AUDIT, NETWORK):
        raise NotFound
    with transaction.atomic():
        audit_record(actor=principal_of(request), event=Event.AUDIT_LOG_VIEWED)
    events = AuditEvent.objects.order_by("-seq")[:200]
    # walking the whole chain reads every event: on request only (beat seals it every 5 minutes)
    report = verify_audit() if request.GET.get("verify") == "1" else None
    last_seal = AuditSeal.objects.order_by("-last_seq").first()
    return render(request, "web/audit.html", {"events": events, "report": report, "last_seal": last_seal})
