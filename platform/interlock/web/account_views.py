"""Account pages: sign-in, MFA, re-authentication, password and authenticator, the agreement, API tokens, invitations."""

from __future__ import annotations

import base64
import io
from typing import Any

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from interlock.accounts import selectors as account_selectors
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
from interlock.audit.services import audit_record
from interlock.core.errors import ApplicationError, NotFound
from interlock.web.forms import FormState
from interlock.web.pages import action_result, member_required

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
    if person.is_verified():
        return redirect("web:home")
    device = account_selectors.mfa_confirmed_device(person=person)
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
        device = account_selectors.mfa_confirmed_device(person=person)
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


@member_required
def tokens_view(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    new_secret = None
    refused: FormState | None = None
    if request.method == "POST":
        try:
            days = request.POST.get("days", "").strip()
            if not days.isdigit():
                raise ApplicationError(
                    "The token request is not valid.", {"days": ["Give a number of days from 1 to 365."]}
                )
            issued = account_services.api_token_create(
                actor=principal,
                name=request.POST.get("name", ""),
                scopes=request.POST.getlist("scopes"),
                days=int(days),
            )
            new_secret = issued.secret
        except ApplicationError as failure:
            refused = FormState.refused(request.POST, failure, fields=("name", "scopes", "days"))
    tokens = ApiToken.objects.filter(person=principal.person, revoked_at__isnull=True)
    context = {
        "tokens": tokens,
        "new_secret": new_secret,
        "refused": refused,
        "form": refused.data if refused else {"days": "90"},
        "chosen_scopes": refused.lists.get("scopes", []) if refused else ["read"],
        "scopes": TokenScope.choices,
    }
    return render(request, "web/tokens.html", context, status=refused.status if refused else 200)


@member_required
@require_POST
def revoke_token_view(request: HttpRequest, token_id: int) -> HttpResponse:
    return action_result(
        request,
        reverse("web:tokens"),
        lambda: account_services.api_token_revoke(actor=principal_of(request), token_id=token_id),
        "Token revoked.",
    )


def invitation_view(request: HttpRequest, secret: str) -> HttpResponse:
    try:
        invitation = account_selectors.invitation_get_open(secret=secret)
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
