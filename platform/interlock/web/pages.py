"""What every page shares: the member gate, readable refusals and POSTed service calls."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render

from interlock.access.gate import network_gate
from interlock.accounts.requests import principal_of
from interlock.core.errors import ApplicationError, NotFound

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


def action_result(request: HttpRequest, target: str, act: Callable[[], object], done: str) -> HttpResponse:
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


def csrf_failure(request: HttpRequest) -> HttpResponse | None:
    """CSRF check for upload views, run *after* the encrypting handler is installed (the
    middleware would parse the body first, through Django's plaintext handlers)."""
    return CsrfViewMiddleware(lambda r: HttpResponse()).process_view(
        request, lambda r: HttpResponse(), (), {}
    )
