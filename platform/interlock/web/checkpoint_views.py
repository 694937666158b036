"""Checkpoint pages: the list by series, one checkpoint with its approvals and analyses, a
steward's approve and revoke, the stewards' queue, and analysis-access requests and their decisions.

Every decision is the policy's (`interlock.access`) or a service's (`interlock.checkpoints.services`);
these views parse the form, call them and render what they answer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from analysis_workers.kinds import allowed_kinds
from interlock.access import NETWORK, Action, can
from interlock.accounts.middleware import reauthenticated_recently
from interlock.accounts.requests import principal_of
from interlock.analyses.selectors import analysis_list_for_checkpoint
from interlock.artifacts.http import receive_multipart
from interlock.artifacts.parents import resolve_parent
from interlock.checkpoints.access import access_checkpoint_by_id
from interlock.checkpoints.selectors import (
    ACCESS_LEVELS,
    analysis_access_pending,
    checkpoint_approvals,
    checkpoint_files,
    checkpoint_list,
    checkpoint_runnable_kinds,
    checkpoint_series,
    checkpoint_standing,
    checkpoints_awaiting_approval,
)
from interlock.checkpoints.services import (
    MAX_ANALYSIS_ACCESS_DAYS,
    MAX_APPROVAL_DAYS,
    analysis_access_decide,
    analysis_access_request,
    checkpoint_approve,
    checkpoint_revoke,
)
from interlock.core.errors import ApplicationError, NotFound
from interlock.web.pages import action_result, csrf_failure, member_required

DEFAULT_APPROVAL_DAYS = 90
DEFAULT_ACCESS_DAYS = 30


@member_required
def checkpoints_view(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    groups = [
        (series, [{"checkpoint": c, "standing": checkpoint_standing(c)} for c in members])
        for series, members in checkpoint_list(principal=principal)
    ]
    context = {
        "groups": groups,
        "awaiting": len(checkpoints_awaiting_approval(principal=principal))
        if can(principal, Action.VET, NETWORK)
        else None,
        "pending_access": analysis_access_pending(actor=principal).count(),
    }
    return render(request, "web/checkpoints/list.html", context)


def _checkpoint_context(request: HttpRequest, checkpoint_id: str) -> dict[str, Any]:
    principal = principal_of(request)
    checkpoint = access_checkpoint_by_id(principal, checkpoint_id, action=Action.VIEW)
    standing = checkpoint_standing(checkpoint)
    approvals = list(checkpoint_approvals(principal=principal, checkpoint=checkpoint))
    return {
        "checkpoint": checkpoint,
        "standing": standing,
        "config": sorted((checkpoint.spec.get("config") or {}).items()),
        "files": checkpoint_files(checkpoint),
        "approvals": approvals,
        "series": checkpoint_series(principal=principal, checkpoint=checkpoint),
        "analyses": analysis_list_for_checkpoint(principal=principal, checkpoint=checkpoint)[:50],
        "kinds": checkpoint_runnable_kinds(checkpoint) if can(principal, Action.ANALYSE, checkpoint) else [],
        "can_analyse": bool(can(principal, Action.ANALYSE, checkpoint)),
        "can_approve": bool(can(principal, Action.APPROVE_CHECKPOINT, checkpoint)),
        "can_upload": bool(can(principal, Action.ATTACH, checkpoint)),
        "can_revoke": bool(can(principal, Action.REVOKE_APPROVAL, checkpoint))
        and any(a.revoked_at is None for a in approvals),
        "levels": [(level, words, allowed_kinds(level)) for level, words in sorted(ACCESS_LEVELS.items())],
        "approve_form": {"access_level": "2", "days": str(DEFAULT_APPROVAL_DAYS)},
        "max_days": MAX_APPROVAL_DAYS,
        "errors": {},
    }


@member_required
def checkpoint_view(request: HttpRequest, checkpoint_id: str) -> HttpResponse:
    return render(request, "web/checkpoints/detail.html", _checkpoint_context(request, checkpoint_id))


@member_required
@require_POST
def checkpoint_approve_view(request: HttpRequest, checkpoint_id: str) -> HttpResponse:
    """Approve the bytes whose hash the page showed, at a level, for some days; a sign-in older
    than ten minutes is confirmed first (SECURITY.md), and the steward approves again after."""
    principal = principal_of(request)
    checkpoint = access_checkpoint_by_id(principal, checkpoint_id, action=Action.APPROVE_CHECKPOINT)
    page = reverse("web:checkpoint", args=[checkpoint.uuid])
    if not reauthenticated_recently(request):
        messages.info(request, "Approving a checkpoint needs a fresh sign-in: confirm, then approve again.")
        return redirect(f"{reverse('web:reauth')}?next={page}")
    typed = {"access_level": request.POST.get("access_level", ""), "days": request.POST.get("days", "")}
    errors: dict[str, list[str]] = {}
    level = _integer(typed["access_level"], errors, "access_level", "choose AL1, AL2 or AL3")
    days = _integer(typed["days"], errors, "days", f"a whole number of days, 1 to {MAX_APPROVAL_DAYS}")
    if not errors:
        try:
            checkpoint_approve(
                actor=principal,
                checkpoint_uuid=checkpoint.uuid,
                access_level=level,
                expires_at=timezone.now() + timedelta(days=min(days, 10 * MAX_APPROVAL_DAYS)),
                sha256=request.POST.get("sha256", ""),
            )
        except NotFound:
            raise
        except ApplicationError as refusal:
            errors = {**refusal.extra, "form": [refusal.message]}
            if "expires_at" in errors:
                errors["days"] = errors.pop("expires_at")
        else:
            messages.success(request, f"Approved at AL{level} for {days} days.")
            return redirect(page)
    context = {**_checkpoint_context(request, checkpoint_id), "approve_form": typed, "errors": errors}
    return render(request, "web/checkpoints/detail.html", context, status=400)


def _integer(text: str, errors: dict[str, list[str]], field: str, expected: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        errors[field] = [expected]
        return 0


@csrf_exempt  # checked by csrf_failure once the encrypting handler is in place
@member_required
@require_POST
def checkpoint_upload_view(request: HttpRequest, checkpoint_id: str) -> HttpResponse:
    """The uploader sends a checkpoint file from the page: encrypted as it arrives (the same
    handler as the API's and the library's), its SHA-256 pinned in the upload's transaction by
    the checkpoints app's hook. The page's script sends it with a progress bar and asks for the
    next page as JSON (`X-Upload-Progress`); without the script the form posts and redirects."""
    principal = principal_of(request)
    parent = resolve_parent(principal, "checkpoint", checkpoint_id, Action.ATTACH)
    from interlock.artifacts.upload import EncryptingUploadHandler  # as the library page does

    request.upload_handlers = [EncryptingUploadHandler(request, parent=parent)]
    failure = csrf_failure(request)
    if failure is not None:
        return failure
    page = reverse("web:checkpoint", args=[parent.parent_id])
    answer = action_result(
        request,
        page,
        lambda: receive_multipart(request, actor=principal, parent=parent),
        "The file was encrypted as it arrived and its SHA-256 is pinned.",
    )
    if request.headers.get("X-Upload-Progress"):
        return JsonResponse({"location": page})
    return answer


@member_required
@require_POST
def checkpoint_revoke_view(request: HttpRequest, checkpoint_id: str) -> HttpResponse:
    principal = principal_of(request)
    checkpoint = access_checkpoint_by_id(principal, checkpoint_id, action=Action.VIEW)
    return action_result(
        request,
        reverse("web:checkpoint", args=[checkpoint.uuid]),
        lambda: checkpoint_revoke(
            actor=principal, checkpoint_uuid=checkpoint.uuid, reason=request.POST.get("reason", "")
        ),
        "The approval is revoked; queued analyses on it will not run.",
    )


@member_required
def checkpoint_queue_view(request: HttpRequest) -> HttpResponse:
    """The stewards' queue: uploaded checkpoints waiting for an approval this steward may give."""
    principal = principal_of(request)
    if not can(principal, Action.VET, NETWORK):
        raise NotFound
    waiting = checkpoints_awaiting_approval(principal=principal)
    return render(request, "web/checkpoints/queue.html", {"waiting": waiting})


@member_required
def analysis_access_request_view(request: HttpRequest) -> HttpResponse:
    """Ask a checkpoint's organisation for analysis access. The answer is the same whether or not
    the checkpoint exists (the service records a request only for a real one of another organisation)."""
    principal = principal_of(request)
    typed = {
        "checkpoint": (request.POST.get("checkpoint") or request.GET.get("checkpoint") or "").strip(),
        "reason": request.POST.get("reason", ""),
    }
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            analysis_access_request(
                actor=principal, checkpoint_uuid=typed["checkpoint"], reason=typed["reason"]
            )
        except NotFound:
            errors = {"checkpoint": ["paste the checkpoint's id, as its organisation gave it to you"]}
        except ApplicationError as refusal:
            errors = refusal.extra or {"form": [refusal.message]}
        else:
            messages.success(
                request, "Sent. If that checkpoint exists, its organisation's admins were asked."
            )
            return redirect("web:analysis_access_request")
    status = 400 if errors else 200
    return render(
        request, "web/checkpoints/request_access.html", {"typed": typed, "errors": errors}, status=status
    )


@member_required
def analysis_access_queue_view(request: HttpRequest) -> HttpResponse:
    """Pending requests the signed-in person may decide (the policy's filter: cleared admins of
    the checkpoint's organisation); empty for everyone else."""
    pending = analysis_access_pending(actor=principal_of(request)).order_by("created_at")
    rows = [{"grant": grant, "clearance": grant.grantee.effective_clearance()} for grant in pending]
    context = {"rows": rows, "default_days": DEFAULT_ACCESS_DAYS, "max_days": MAX_ANALYSIS_ACCESS_DAYS}
    return render(request, "web/checkpoints/access_requests.html", context)


@member_required
@require_POST
def analysis_access_decide_view(request: HttpRequest, grant_id: str, verb: str) -> HttpResponse:
    if verb not in ("approve", "refuse"):
        raise NotFound
    principal = principal_of(request)
    approve = verb == "approve"
    try:
        days = int(request.POST.get("days", DEFAULT_ACCESS_DAYS))
    except ValueError:
        days = 0  # the service refuses it with its own message
    return action_result(
        request,
        reverse("web:analysis_access_queue"),
        lambda: analysis_access_decide(actor=principal, grant_uuid=grant_id, approve=approve, days=days),
        f"Access granted for {days} days." if approve else "The request is refused.",
    )
