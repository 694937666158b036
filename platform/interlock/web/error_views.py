"""The product's own error pages (handler400/403/404/500 in interlock.urls; 405 in interlock.web.middleware)."""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import TemplateDoesNotExist, loader

from interlock.core.errors import error_json_response

_MACHINE_PATHS = ("/api/", "/internal/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith(_MACHINE_PATHS):
        return error_json_response(404, "not_found", "Not found.")
    return render(request, "web/not_found.html", {"message": "There is nothing here."}, status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = "You are not allowed to do that."
    if request.path.startswith(_MACHINE_PATHS):
        return error_json_response(403, "permission_denied", message)
    return render(request, "web/error.html", {"heading": "Not allowed", "message": message}, status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: the reason is for logs, not for the page."""
    message = "The form had expired or came from another site. Reload the page and try again."
    return render(request, "web/error.html", {"heading": "Not allowed", "message": message}, status=403)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A request Django refused before any view (a host not in ALLOWED_HOSTS, a malformed body)."""
    message = "The request could not be understood."
    if request.path.startswith(_MACHINE_PATHS):
        return error_json_response(400, "invalid", message)
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
        response = error_json_response(status, code, message)
    else:
        response = _standalone_page(status, "Unavailable" if unavailable else "Server error", message)
    if unavailable:
        response["Retry-After"] = "5"
    response["Cache-Control"] = "no-store"
    return response
