"""The product's page (or, for machines, the JSON error envelope) for a 405.

Django has no `handler405`: `require_POST` and friends answer an empty `HttpResponseNotAllowed`.
This middleware gives that empty answer a body; it keeps the status and the `Allow` header, and
leaves alone a 405 that already has one (DRF's, which carries the API's error envelope).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from interlock.core.errors import error_json_response

MESSAGE = "This address does not accept that kind of request."


class MethodNotAllowedPageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or getattr(response, "streaming", False) or response.content:
            return response
        page: HttpResponse
        if request.path.startswith(("/api/", "/internal/")):
            page = error_json_response(405, "method_not_allowed", MESSAGE)
        else:
            page = render(
                request, "web/error.html", {"heading": "Not allowed", "message": MESSAGE}, status=405
            )
        if "Allow" in response:
            page["Allow"] = response["Allow"]
        return page
