"""Finding pages: list with filters and search, detail with revisions, comments, attachments,
the share dialog (with a live preview of exactly who will read it), grants and withdrawal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.safestring import mark_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from interlock.access import Action, can
from interlock.access.clearance import clearance_allows
from interlock.access.principal import Principal
from interlock.accounts.middleware import reauthenticated_recently
from interlock.accounts.requests import principal_of
from interlock.accounts.selectors import person_pick
from interlock.artifacts.http import receive_multipart
from interlock.artifacts.parents import resolve_parent
from interlock.artifacts.selectors import artifact_list
from interlock.core.errors import ApplicationError, NotFound
from interlock.core.markdown import render_markdown
from interlock.core.query_params import QueryParams
from interlock.core.textdiff import text_diff
from interlock.crypto.keys import key_cache
from interlock.findings import selectors, services
from interlock.findings.models import Capability, FindingState, Label
from interlock.findings.read_audit import record_content_read
from interlock.findings.rules import Audience
from interlock.findings.selectors import (
    MAX_PAGE,
    FindingFilters,
    comment_text,
    finding_list,
    finding_titles,
    group_receivers,
    revision_text,
)
from interlock.network.selectors import sharing_group_list
from interlock.web.forms import FormState
from interlock.web.pages import member_required

PAGE_SIZE = 50
HAZARD_TIERS = (0, 1, 2, 3)


@member_required
def finding_list_view(request: HttpRequest) -> HttpResponse:
    """The list; a filter or page no finding could match shows every finding with the error above."""
    principal = principal_of(request)
    query = QueryParams(request.GET)
    filters = FindingFilters.from_query(query)
    page_number = query.integer("page", default=1, minimum=1, maximum=MAX_PAGE)
    errors = query.errors
    if errors:
        filters, page_number = FindingFilters(), 1
    page = finding_list(
        principal=principal, filters=filters, offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    titles = finding_titles(page.findings)
    rows = [{"finding": f, "title": titles.get(f.pk, "")} for f in page.findings]
    context = {
        "rows": rows,
        "count": page.count,
        "facets": page.facets,
        "filters": filters,
        "errors": errors,
        "labels": Label.choices,
        "states": FindingState.choices,
        "page": page_number,
        "has_next": page_number * PAGE_SIZE < page.count,
    }
    return render(request, "web/findings/list.html", context, status=400 if errors else 200)


NEW_FIELDS = ("title", "body", "label", "hazard_tier", "tags")


@member_required
def finding_new_view(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    refused: FormState | None = None
    if request.method == "POST":
        try:
            tier = request.POST.get("hazard_tier", "0") or "0"
            if not tier.isdigit():
                raise ApplicationError("Choose a hazard tier.", {"hazard_tier": ["Choose H0, H1, H2 or H3."]})
            finding = services.finding_create(
                actor=principal,
                title=request.POST.get("title", ""),
                body=request.POST.get("body", ""),
                label=request.POST.get("label", Label.AMBER_STRICT),
                hazard_tier=int(tier),
                tags=[t for t in request.POST.get("tags", "").replace(",", " ").split() if t],
            )
            messages.success(request, "Draft saved. Only its authors can see it until you share it.")
            return redirect("web:finding", finding.uuid)
        except ApplicationError as failure:
            if failure.status == 404:
                raise
            refused = FormState.refused(request.POST, failure, fields=NEW_FIELDS)
    labels = [c for c in Label.choices if c[0] != Label.CLEAR]
    context = {
        "refused": refused,
        "labels": labels,
        "form": refused.data if refused else {"label": Label.AMBER_STRICT, "hazard_tier": "0"},
        # only the tiers the author's clearance reaches (the service refuses the others)
        "tiers": [str(t) for t in HAZARD_TIERS if clearance_allows(principal.person, t)],
        "clearance": principal.person.effective_clearance(),
    }
    return render(request, "web/findings/new.html", context, status=400 if refused else 200)


def _revision_number(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


def _detail_context(
    request: HttpRequest,
    principal: Principal,
    finding_id: str,
    *,
    revision_number: int | None,
    compare: tuple[int | None, int | None] = (None, None),
) -> dict[str, Any]:
    """The finding page; `compare` (from, to) chooses the two revisions of the diff — by default
    the revision shown against the one before it."""
    finding, current = selectors.finding_read(actor=principal, finding_uuid=finding_id)
    with key_cache():
        revisions = list(finding.revisions.select_related("author").order_by("number"))
        by_number = {r.number: r for r in revisions}
        shown, diff = current, None
        if revision_number and revision_number != current.revision.number:
            match = by_number.get(revision_number)
            if match is not None:
                shown = revision_text(match, finding)
        if shown is not current:
            record_content_read(principal, finding, via="revision", revision=shown.revision.number)
        older_number = compare[0] if compare[0] in by_number else shown.revision.number - 1
        newer_number = compare[1] if compare[1] in by_number else shown.revision.number
        if older_number in by_number and older_number != newer_number:
            texts = {}
            for number in (older_number, newer_number):
                text = shown if number == shown.revision.number else revision_text(by_number[number], finding)
                if text is not shown:
                    record_content_read(principal, finding, via="diff", revision=number)
                texts[number] = f"{text.title}\n\n{text.body}"
            diff = text_diff(texts[older_number], texts[newer_number])
        comments = [
            {"comment": c, "html": mark_safe(render_markdown(comment_text(c, finding)))}  # noqa: S308 - sanitised by nh3
            for c in finding.comments.select_related("author", "parent")
        ]
    is_author = bool(can(principal, Action.SHARE, finding))
    context: dict[str, Any] = {
        "finding": finding,
        "text": shown,
        "body_html": mark_safe(render_markdown(shown.body)),  # noqa: S308 - sanitised by nh3
        "diff": diff,
        "compare_from": older_number,
        "compare_to": newer_number,
        "revisions": revisions,
        "comments": comments,
        "attachments": artifact_list(principal=principal, parent_type="finding", parent_id=str(finding.uuid)),
        "is_author": is_author,
        "can_comment": bool(can(principal, Action.COMMENT, finding)),
        "can_withdraw": bool(can(principal, Action.WITHDRAW, finding)),
    }
    if is_author:
        context.update(
            groups=list(sharing_group_list(principal=principal)),
            audience_groups={g.pk for g in finding.audience_groups.all()},
            group_receivers=group_receivers(finding),
            grants=list(finding.grants.select_related("user__organisation", "permission")),
            capabilities=Capability.choices,
            share_labels=[c for c in Label.choices if c[0] != Label.CLEAR],
            default_grant_expiry=(timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
        )
        if finding.label in (Label.RED, Label.AMBER_STRICT):
            context["readers"] = selectors.finding_readers(actor=principal, finding_uuid=finding.uuid)
    return context


@csrf_exempt
@member_required
def finding_detail_view(request: HttpRequest, finding_id: str) -> HttpResponse:
    principal = principal_of(request)
    if (
        request.method == "POST"
    ):  # an attachment: encrypted as it arrives, CSRF checked after the handler is set
        parent = resolve_parent(principal, "finding", finding_id, Action.ATTACH)
        from interlock.artifacts.upload import EncryptingUploadHandler

        request.upload_handlers = [EncryptingUploadHandler(request, parent=parent)]
        failure = CsrfViewMiddleware(lambda r: HttpResponse()).process_view(
            request, lambda r: HttpResponse(), (), {}
        )
        if failure is not None:
            return failure
        try:
            artifact = receive_multipart(request, actor=principal, parent=parent)
            messages.success(request, f"Attached {artifact.filename}.")
        except ApplicationError as problem:
            messages.error(request, problem.message)
        return redirect("web:finding", finding_id)
    revision_number = _revision_number(request.GET.get("revision"))
    compare = (_revision_number(request.GET.get("from")), _revision_number(request.GET.get("to")))
    return render(
        request,
        "web/findings/detail.html",
        _detail_context(request, principal, finding_id, revision_number=revision_number, compare=compare),
    )


def _audience_from(request: HttpRequest) -> tuple[str, Audience]:
    post = request.POST
    return post.get("label", ""), Audience(
        own_org=post.get("audience_own_org") == "on",
        network=post.get("audience_network") == "on",
        group_uuids=tuple(post.getlist("groups")),
    )


@member_required
@require_POST
def finding_share_preview_view(request: HttpRequest, finding_id: str) -> HttpResponse:
    """htmx partial: who will be able to read the finding with the dialog's current choices."""
    label, audience = _audience_from(request)
    try:
        preview = selectors.audience_preview(
            actor=principal_of(request), finding_uuid=finding_id, label=label, audience=audience
        )
        context = {
            "readers": preview.readers,
            "hidden": sorted(preview.hidden.items()),
            "count": preview.count,
        }
        return render(request, "web/findings/_share_preview.html", context)
    except NotFound:
        raise
    except ApplicationError as failure:
        refused = FormState.refused(request.POST, failure, fields=())
        return render(request, "web/findings/_share_preview.html", {"refused": refused})


# each form of the finding page and its fields (a refused form is shown again with its errors there)
ACTION_FIELDS = {
    "share": ("label", "audience_own_org", "audience_network", "groups"),
    "grant": ("person", "capability", "expires_at", "reason"),
    "revoke": ("person",),
    "revise": ("title", "body"),
    "comment": ("body", "parent"),
    "withdraw": ("reason",),
}


@member_required
@require_POST
def finding_action_view(request: HttpRequest, finding_id: str, verb: str) -> HttpResponse:
    """Run one of the finding page's forms. Done: back to the page with a message. Refused: the
    page again (status 400, or the refusal's own), with what was typed and each error by its field."""
    if verb not in ACTION_FIELDS:
        raise NotFound
    principal = principal_of(request)
    post = request.POST
    try:
        if verb == "share":
            label, audience = _audience_from(request)
            if label == Label.RED and not reauthenticated_recently(request):
                messages.error(
                    request, "Sharing TLP:RED needs you to confirm it is you: sign in again below."
                )
                return redirect(f"{reverse('web:reauth')}?next={reverse('web:finding', args=[finding_id])}")
            services.finding_share(actor=principal, finding_uuid=finding_id, label=label, audience=audience)
            messages.success(request, f"Shared as {Label(label).label}.")
        elif verb == "revise":
            services.finding_revise(
                actor=principal,
                finding_uuid=finding_id,
                title=post.get("title", ""),
                body=post.get("body", ""),
            )
            messages.success(request, "New revision saved.")
        elif verb == "comment":
            services.comment_create(
                actor=principal,
                finding_uuid=finding_id,
                body=post.get("body", ""),
                parent_uuid=post.get("parent") or None,
            )
        elif verb == "grant":
            grantee = person_pick(principal=principal, text=post.get("person", ""))
            services.finding_grant(
                actor=principal,
                finding_uuid=finding_id,
                person_uuid=grantee.uuid,
                capability=post.get("capability", ""),
                expires_at=_grant_expiry(post.get("expires_at", "")),
                reason=post.get("reason", ""),
            )
            messages.success(request, f"Access granted to {grantee.display_name}.")
        elif verb == "revoke":
            services.finding_revoke_grant(
                actor=principal, finding_uuid=finding_id, person_uuid=post.get("person", "")
            )
            messages.success(request, "Access revoked.")
        elif verb == "withdraw":
            services.finding_withdraw(actor=principal, finding_uuid=finding_id, reason=post.get("reason", ""))
            messages.success(request, "Finding withdrawn.")
    except ApplicationError as failure:
        if failure.status == 404:
            raise
        context = _detail_context(request, principal, finding_id, revision_number=None)
        refused = FormState.refused(post, failure, fields=ACTION_FIELDS[verb])
        context["forms"] = {verb: refused}
        return render(request, "web/findings/detail.html", context, status=refused.status)
    return redirect(reverse("web:finding", args=[finding_id]))


def _grant_expiry(raw: str) -> datetime:
    """The form's datetime-local value, read as UTC (the form says so)."""
    expires = parse_datetime(raw)
    if expires is None:
        raise ApplicationError(
            "Give an expiry date and time.", {"expires_at": ["Give a date and time (UTC)."]}
        )
    return timezone.make_aware(expires, UTC) if timezone.is_naive(expires) else expires
