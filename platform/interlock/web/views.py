"""Pages for people. Each view: parse → access/service/selector → render; no policy here."""

from __future__ import annotations

import base64
import io
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist, loader
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from interlock.access import NETWORK, Action, can, visible
from interlock.access.gate import network_gate
from interlock.accounts import services as account_services
from interlock.accounts.middleware import (
    SESSION_EPOCH,
    mark_reauthenticated,
    reauthenticated_recently,
    start_session,
)
from interlock.accounts.models import Agreement, ApiToken, Person, TokenScope
from interlock.accounts.requests import person_of, principal_of
from interlock.audit.events import Event
from interlock.audit.models import AuditEvent, AuditSeal
from interlock.audit.services import audit_record
from interlock.audit.verification import verify_audit
from interlock.core.errors import ApplicationError, NotFound
from interlock.network import services as network_services
from interlock.network.access import access_organisation_by_id
from interlock.network.models import OrganisationStatus
from interlock.network.selectors import network_policy_current, organisation_list, sharing_group_list

View = Callable[..., HttpResponseBase]


def member_required(view: View) -> View:
    """Signed in, MFA verified (middleware), and through the network gate; else a plain 404."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        decision = network_gate(principal_of(request))
        if not decision:
            return render(
                request,
                "web/not_found.html",
                {"message": f"Your account cannot reach network data: {decision.reason}."},
                status=403,
            )
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            return render(request, "web/not_found.html", {"message": "There is nothing here."}, status=404)
        except ApplicationError as refusal:
            # A refusal the view did not turn into a message of its own, such as PolicyDenied: the
            # person may see the object but not do this to it, so saying so reveals nothing.
            return refused_page(request, refusal)

    return wrapper


def refused_page(request: HttpRequest, refusal: ApplicationError) -> HttpResponse:
    heading = "Not allowed" if refusal.status == 403 else "That did not work"
    context = {"heading": heading, "message": refusal.message}
    return render(request, "web/error.html", context, status=refusal.status)


def _action_result(request: HttpRequest, target: str, act: Callable[[], object], done: str) -> HttpResponse:
    """Run a POSTed service call; show its readable error as a message instead of losing the page."""
    try:
        act()
    except NotFound:
        raise
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect(target)


# --- sign-in, MFA, agreement -------------------------------------------------------------------


def lockout_response(
    request: HttpRequest, credentials: dict[str, Any] | None = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    from django.conf import settings

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "web/lockout.html", {"cooloff": f"{minutes} minutes"}, status=429)


class EmailAuthenticationForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "That e-mail and password do not match an active account.",
        "inactive": "That e-mail and password do not match an active account.",
    }


def login_view(request: HttpRequest) -> HttpResponse:
    form = EmailAuthenticationForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        person = form.get_user()
        login(request, person)  # cycles the session key
        start_session(request)
        with transaction.atomic():
            audit_record(
                actor=person, event=Event.PERSON_LOGGED_IN, target=person, extra={"stage": "password"}
            )
        return redirect("web:mfa")
    return render(request, "web/login.html", {"form": form}, status=400 if request.method == "POST" else 200)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        person = person_of(request)
        with transaction.atomic():
            audit_record(actor=person, event=Event.PERSON_LOGGED_OUT, target=person)
    logout(request)
    return redirect("web:login")


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


@login_required
def mfa_view(request: HttpRequest) -> HttpResponse:
    """Enrol a TOTP device on first sign-in, afterwards verify a code; then a new session key."""
    person = person_of(request)
    assert isinstance(person, Person)  # noqa: S101 - login_required
    if person.is_verified():
        return redirect("web:home")
    device = account_services.mfa_confirmed_device(person=person)
    error = None
    if device is None:
        enrolment = account_services.mfa_device_for_enrolment(person=person)
        if request.method == "POST":
            if account_services.mfa_confirm(
                person=person, device=enrolment, code=request.POST.get("code", "")
            ):
                otp_login(request, enrolment)
                request.session.cycle_key()
                start_session(request)
                return redirect("web:home")
            error = "That code is not valid. Check the time on your device and try again."
        secret_b32 = base64.b32encode(enrolment.bin_key).decode().rstrip("=")
        context = {"qr_svg": _qr_svg(enrolment.config_url), "secret_b32": secret_b32, "error": error}
        return render(request, "web/mfa_enrol.html", context, status=400 if error else 200)
    if request.method == "POST":
        if device.verify_token(request.POST.get("code", "").strip()):
            otp_login(request, device)
            request.session.cycle_key()
            start_session(request)
            with transaction.atomic():
                audit_record(actor=person, event=Event.MFA_VERIFIED, target=person)
            return redirect("web:home")
        with transaction.atomic():
            audit_record(actor=person, event=Event.MFA_FAILED, target=person, extra={"stage": "sign-in"})
        error = "That code is not valid or was already used."
    return render(request, "web/mfa_verify.html", {"error": error}, status=400 if error else 200)


@login_required
def reauth_view(request: HttpRequest) -> HttpResponse:
    """Password and a fresh TOTP code again: sensitive acts (sharing TLP:RED) need one < 10 min old."""
    person = person_of(request)
    target = request.GET.get("next") or request.POST.get("next") or "/"
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    error = None
    if request.method == "POST":
        device = account_services.mfa_confirmed_device(person=person)
        password_ok = person.check_password(request.POST.get("password", ""))
        code_ok = device is not None and device.verify_token(request.POST.get("code", "").strip())
        if password_ok and code_ok:
            mark_reauthenticated(request)
            return redirect(target)
        with transaction.atomic():
            audit_record(
                actor=person,
                event=Event.MFA_FAILED,
                target=person,
                extra={"stage": "re-authentication"},
            )
        error = "The password or the code is not right."
    return render(request, "web/reauth.html", {"next": target, "error": error}, status=400 if error else 200)


def _keep_the_session_that_made_the_change(request: HttpRequest, person: Person) -> None:
    """A password or MFA change ended every session; the one that made it goes on under a new key."""
    update_session_auth_hash(request, person)  # cycles the key and stores the new password hash
    request.session[SESSION_EPOCH] = person.auth_epoch


@member_required
def account_security_view(request: HttpRequest) -> HttpResponse:
    """Change one's password (the current one is asked for); a link to replace the authenticator."""
    person = person_of(request)
    error = None
    field_errors: dict[str, list[str]] = {}
    if request.method == "POST":
        new_password = request.POST.get("new_password", "")
        if new_password != request.POST.get("new_password_again", ""):
            error = "The two new passwords differ; nothing was changed."
            field_errors = {"new_password_again": ["does not match the new password"]}
        else:
            try:
                account_services.password_change(
                    person=person,
                    current_password=request.POST.get("current_password", ""),
                    new_password=new_password,
                )
            except ApplicationError as failure:
                error, field_errors = failure.message, failure.extra
            else:
                _keep_the_session_that_made_the_change(request, person)
                messages.success(
                    request, "Your password is changed. Every other session and every API token has ended."
                )
                return redirect("web:account_security")
    context = {"error": error, "field_errors": field_errors}
    return render(request, "web/account_security.html", context, status=400 if error else 200)


@member_required
def authenticator_view(request: HttpRequest) -> HttpResponse:
    """Replace the authenticator: only after a fresh re-authentication (SECURITY.md), then enrol anew."""
    person = person_of(request)
    here = reverse("web:authenticator")
    if not reauthenticated_recently(request):
        return redirect(f"{reverse('web:reauth')}?next={here}")
    enrolment = account_services.mfa_device_for_enrolment(person=person)
    error = None
    if request.method == "POST":
        code = request.POST.get("code", "")
        if account_services.mfa_confirm(person=person, device=enrolment, code=code, replacing=True):
            otp_login(request, enrolment)
            _keep_the_session_that_made_the_change(request, person)
            messages.success(
                request,
                "Your new authenticator is in use; the old one no longer works. "
                "Every other session and every API token has ended.",
            )
            return redirect("web:account_security")
        error = "That code is not valid. Check the time on your device and try again."
    secret_b32 = base64.b32encode(enrolment.bin_key).decode().rstrip("=")
    context = {
        "qr_svg": _qr_svg(enrolment.config_url),
        "secret_b32": secret_b32,
        "error": error,
        "replacing": True,
    }
    return render(request, "web/mfa_enrol.html", context, status=400 if error else 200)


@login_required
def agreement_view(request: HttpRequest) -> HttpResponse:
    agreement = Agreement.objects.order_by("-version").first()
    if agreement is None:
        return redirect("web:home")
    error = None
    if request.method == "POST":
        try:
            account_services.agreement_accept(
                person=person_of(request), version=int(request.POST.get("version", "0"))
            )
            return redirect("web:home")
        except (ApplicationError, ValueError) as failure:
            error = getattr(failure, "message", "Accept the current agreement.")
    return render(
        request, "web/agreement.html", {"agreement": agreement, "error": error}, status=400 if error else 200
    )


# --- network pages ----------------------------------------------------------------------------------


@member_required
def home_view(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    context = {
        "clearance": principal.person.effective_clearance(),
        "org_count": organisation_list(principal=principal, status=OrganisationStatus.ACTIVE).count(),
        "person_count": visible(principal, Person.objects.all()).count(),
    }
    return render(request, "web/home.html", context)


@member_required
def directory_view(request: HttpRequest) -> HttpResponse:
    people = visible(principal_of(request), Person.objects.all())
    organisations = organisation_list(principal=principal_of(request)).annotate(
        visible_people=Count("people", filter=Q(people__in=people))
    )
    return render(request, "web/directory.html", {"organisations": organisations})


@member_required
def organisation_view(request: HttpRequest, org_id: str) -> HttpResponse:
    org = access_organisation_by_id(principal_of(request), org_id, action=Action.VIEW)
    people = []
    if can(principal_of(request), Action.VIEW_MEMBERS, org):
        people = list(
            visible(principal_of(request), Person.objects.select_related("organisation")).filter(
                organisation=org
            )
        )
        for member in people:
            member.effective = member.effective_clearance()  # type: ignore[attr-defined]
    return render(request, "web/organisation.html", {"organisation": org, "people": people})


@member_required
def sharing_groups_view(request: HttpRequest) -> HttpResponse:
    groups = list(sharing_group_list(principal=principal_of(request)).prefetch_related("members"))
    for group in groups:
        shown = can(principal_of(request), Action.VIEW_MEMBERS, group)
        group.member_names = sorted(org.name for org in group.members.all()) if shown else None  # type: ignore[attr-defined]
    return render(request, "web/sharing_groups.html", {"groups": groups})


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
    return _action_result(request, reverse("web:vetting"), acts[verb], f"Done: {verb}.")


@member_required
@require_POST
def approve_clearance_view(request: HttpRequest, person_id: str) -> HttpResponse:
    return _action_result(
        request,
        reverse("web:vetting"),
        lambda: account_services.clearance_approve(actor=principal_of(request), person_uuid=person_id),
        "Clearance approved.",
    )


@member_required
def org_admin_view(
    request: HttpRequest,
    invitation: account_services.IssuedInvitation | None = None,
    error: str | None = None,
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
        "error": error,
    }
    if invitation is not None:
        context["invitation_link"] = request.build_absolute_uri(
            reverse("web:invitation", args=[invitation.secret])
        )
        context["invitation_expires"] = invitation.invitation.expires_at
    return render(request, "web/org_admin.html", context, status=400 if error else 200)


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
        return org_admin_view.__wrapped__(request, error=failure.message)  # type: ignore[attr-defined]
    return org_admin_view.__wrapped__(request, invitation=issued)  # type: ignore[attr-defined]


@member_required
@require_POST
def set_clearance_view(request: HttpRequest, person_id: str) -> HttpResponse:
    try:
        tier = int(request.POST.get("clearance", ""))
    except ValueError:
        messages.error(request, "Choose a clearance tier from 0 to 3.")
        return redirect("web:org_admin")
    return _action_result(
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
    return _action_result(request, reverse("web:org_admin"), acts[verb], f"Done: {verb}.")


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


@member_required
def tokens_view(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    new_secret = None
    error = None
    if request.method == "POST":
        try:
            issued = account_services.api_token_create(
                actor=principal,
                name=request.POST.get("name", ""),
                scopes=request.POST.getlist("scopes"),
                days=int(request.POST.get("days", "0") or 0),
            )
            new_secret = issued.secret
        except ValueError:
            error = "Valid for: a number of days from 1 to 365."
        except ApplicationError as failure:
            error = (
                failure.message + " " + "; ".join(f"{k}: {', '.join(v)}" for k, v in failure.extra.items())
            )
    tokens = ApiToken.objects.filter(person=principal.person, revoked_at__isnull=True)
    context = {"tokens": tokens, "new_secret": new_secret, "error": error, "scopes": TokenScope.choices}
    return render(request, "web/tokens.html", context, status=400 if error else 200)


@member_required
@require_POST
def revoke_token_view(request: HttpRequest, token_id: int) -> HttpResponse:
    return _action_result(
        request,
        reverse("web:tokens"),
        lambda: account_services.api_token_revoke(actor=principal_of(request), token_id=token_id),
        "Token revoked.",
    )


def invitation_view(request: HttpRequest, secret: str) -> HttpResponse:
    try:
        invitation = account_services.invitation_get_open(secret=secret)
    except NotFound as missing:
        return render(request, "web/not_found.html", {"message": missing.message}, status=404)
    errors: list[str] = []
    if request.method == "POST":
        try:
            account_services.invitation_accept(
                secret=secret,
                display_name=request.POST.get("display_name", "").strip() or invitation.email,
                password=request.POST.get("password", ""),
            )
            messages.success(request, "Your account exists. Sign in, then set up your authenticator.")
            return redirect("web:login")
        except ValidationError as failure:
            errors = list(failure.messages)
        except ApplicationError as failure:
            errors = [failure.message]
    return render(
        request,
        "web/invitation.html",
        {"invitation": invitation, "errors": errors},
        status=400 if errors else 200,
    )


# --- error pages (handler400/403/404/500 in interlock.urls; 405 in interlock.web.middleware) -----

_MACHINE_PATHS = ("/api/", "/internal/")


def _error_envelope(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith(_MACHINE_PATHS):
        return _error_envelope("not_found", "Not found.", 404)
    return render(request, "web/not_found.html", {"message": "There is nothing here."}, status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = "You are not allowed to do that."
    if request.path.startswith(_MACHINE_PATHS):
        return _error_envelope("permission_denied", message, 403)
    return render(request, "web/error.html", {"heading": "Not allowed", "message": message}, status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: the reason is for logs, not for the page."""
    message = "The form had expired or came from another site. Reload the page and try again."
    return render(request, "web/error.html", {"heading": "Not allowed", "message": message}, status=403)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A request Django refused before any view (a host not in ALLOWED_HOSTS, a malformed body)."""
    message = "The request could not be understood."
    if request.path.startswith(_MACHINE_PATHS):
        return _error_envelope("invalid", message, 400)
    return _standalone_page(400, "Bad request", message)


_UNAVAILABLE = (
    "The database was briefly unavailable. Retry in a few seconds; a write cut off while it was "
    "committing may have been saved, so check before repeating it."
)
_FAILED = "Something went wrong on our side; it has been logged."


def _standalone_page(status: int, heading: str, message: str) -> HttpResponse:
    """The site's look without the request: no session, no user, no database."""
    page: str
    try:
        page = loader.render_to_string("web/server_error.html", {"heading": heading, "message": message})
    except TemplateDoesNotExist:
        page = f"<!doctype html><title>Interlock</title><h1>{heading}</h1><p>{message}</p>"
    return HttpResponse(page, status=status, content_type="text/html; charset=utf-8")


def server_error(request: HttpRequest) -> HttpResponse:
    """Uncaught exceptions. A lost database connection (PostgreSQL restarting, failing over) is a
    503 with `Retry-After`: reads may be retried, and a write almost always rolled back — unless
    the connection was cut during COMMIT, when nobody can know, so the message says to check.
    Nothing else is said (never the exception, never a setting), and nothing here touches the
    database: the page is rendered without the request."""
    failure = sys.exc_info()[1]
    unavailable = isinstance(failure, OperationalError | InterfaceError)
    status, code, message = (
        (503, "unavailable", _UNAVAILABLE) if unavailable else (500, "server_error", _FAILED)
    )
    response: HttpResponse
    if request.path.startswith(_MACHINE_PATHS):
        response = _error_envelope(code, message, status)
    else:
        response = _standalone_page(status, "Unavailable" if unavailable else "Server error", message)
    if unavailable:
        response["Retry-After"] = "5"
    response["Cache-Control"] = "no-store"
    return response


def redirect_home(request: HttpRequest) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("web:home"))
