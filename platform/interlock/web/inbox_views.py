"""The inbox: the signed-in person's own notifications ("a disclosure case asks for your review",
"a finding was shared with you", …), newest first, unread ones marked; opening one marks it read
and goes to its page, where the policy decides again what the person may see."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from interlock.accounts.requests import principal_of
from interlock.notifications.selectors import notification_list, unread_count
from interlock.notifications.services import notification_open, notification_read_all
from interlock.web.pages import member_required


@member_required
@require_GET
def inbox_view(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    items = notification_list(principal=principal)
    return render(request, "web/inbox.html", {"items": items, "unread": unread_count(principal=principal)})


@member_required
@require_POST
def inbox_open_view(request: HttpRequest, notification_id: str) -> HttpResponse:
    notification = notification_open(actor=principal_of(request), notification_id=notification_id)
    link = notification.link or (
        f"/findings/{notification.finding_uuid}/" if notification.finding_uuid else ""
    )
    if link and url_has_allowed_host_and_scheme(link, allowed_hosts=None):  # a path on this site only
        return redirect(link)
    return redirect("web:inbox")


@member_required
@require_POST
def inbox_read_all_view(request: HttpRequest) -> HttpResponse:
    count = notification_read_all(actor=principal_of(request))
    messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked read.")
    return redirect("web:inbox")
