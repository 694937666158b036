"""Disclosure pages: open a case from a finding, list cases and open calls, act on a case.

Opening and acting dispatch through the transition table like the API: the row's input
serializer validates the form, the row's service does the work, and what either refuses is
shown as a message on the page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from interlock.access import Action, can, visible
from interlock.accounts.requests import principal_of
from interlock.accounts.selectors import person_pick
from interlock.core.errors import ApplicationError, NotFound
from interlock.core.inputs import StrictSerializer
from interlock.disclosure.access import access_case_by_id, open_calls
from interlock.disclosure.models import DisclosureCase, Target, VoteChoice
from interlock.disclosure.rules import ASSESSMENT_FIELDS
from interlock.disclosure.selectors import case_body
from interlock.disclosure.transitions import TRANSITIONS, Transition, case_transition
from interlock.findings.access import access_finding_by_id
from interlock.network.selectors import sharing_group_list
from interlock.web.forms import FormState
from interlock.web.pages import member_required


def _utc(raw: str, field: str = "until") -> datetime | None:
    """A datetime-local value from the form, read as UTC (the page says so)."""
    if not raw:
        return None
    parsed = parse_datetime(raw if raw.endswith("Z") or "+" in raw else raw + "+00:00")
    if parsed is None:
        raise ApplicationError("That is not a time.", {field: ["Give the time as YYYY-MM-DDTHH:MM (UTC)."]})
    return parsed


def _validated(transition: Transition, form: dict[str, Any]) -> dict[str, Any]:
    """The form checked by the row's input serializer, with the API's message when it refuses."""
    serializer: StrictSerializer = transition.input(data=form)
    if not serializer.is_valid():
        raise ApplicationError("The request is not valid.", dict(serializer.errors))
    return dict(serializer.validated_data)


@member_required
def disclosures_view(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    cases = DisclosureCase.objects.select_related("finding__owner_org", "target_group")
    mine = visible(principal, cases).order_by("-created_at")[:100]
    calls = open_calls(principal, cases).order_by("review_deadline")[:50]
    return render(request, "web/disclosures/list.html", {"cases": mine, "calls": calls})


NEW_CASE_FIELDS = (
    "target",
    "group",
    "rationale",
    *ASSESSMENT_FIELDS,
    "redacted_title",
    "redacted_body",
    "embargo_until",
)


@member_required
def disclosure_new_view(request: HttpRequest, finding_id: str) -> HttpResponse:
    principal = principal_of(request)
    finding = access_finding_by_id(principal, finding_id, action=Action.VIEW)
    form = {"target": "sharing_group"}
    refused: FormState | None = None
    if request.method == "POST":
        form = request.POST.dict()
        opening = TRANSITIONS["open"]
        try:
            data = {
                "finding": str(finding.uuid),
                "target": form.get("target", ""),
                "group": form.get("group") or None,
                "rationale": form.get("rationale", ""),
                "assessment": {field: form.get(field, "") for field in ASSESSMENT_FIELDS},
                "redacted_title": form.get("redacted_title") or None,
                "redacted_body": form.get("redacted_body") or None,
                "embargo_until": _utc(form.get("embargo_until", ""), "embargo_until"),
            }
            case = opening.service(actor=principal, **_validated(opening, data))
        except NotFound:
            raise
        except ApplicationError as failure:
            refused = FormState.refused(request.POST, failure, fields=NEW_CASE_FIELDS)
        else:
            return redirect("web:disclosure", case.uuid)
    groups = sharing_group_list(principal=principal)
    return render(
        request,
        "web/disclosures/new.html",
        {
            "finding": finding,
            "form": form,
            "targets": Target.choices,
            "groups": groups,
            "fields": ASSESSMENT_FIELDS,
            "refused": refused,
        },
        status=400 if refused else 200,
    )


# the fields each form of the case page shows (an error for any other field goes into its error box)
CASE_FORM_FIELDS = {
    "comment": ("body",),
    "vote": ("choice", "rationale"),
    "declare_conflict": ("relation",),
    "assign": ("person",),
    "embargo_end": ("reason",),
    "embargo_propose": ("until",),
    "embargo_revise": ("until",),
    "withdraw": ("reason",),
}


def _case_page(
    request: HttpRequest, case_id: str, forms: dict[str, FormState] | None = None, status: int = 200
) -> HttpResponse:
    principal = principal_of(request)
    case = access_case_by_id(principal, case_id)
    context = {
        "case": case,
        "body": case_body(case, principal),
        "is_author": bool(can(principal, Action.REPIN, case)),
        "is_reviewer": bool(can(principal, Action.DECLARE_CONFLICT, case)),
        "choices": VoteChoice.choices,
        "transitions": TRANSITIONS.values(),
        "forms": forms or {},
    }
    return render(request, "web/disclosures/detail.html", context, status=status)


@member_required
def disclosure_view(request: HttpRequest, case_id: str) -> HttpResponse:
    return _case_page(request, case_id)


@member_required
@require_POST
def disclosure_action_view(request: HttpRequest, case_id: str, action: str) -> HttpResponse:
    """Run one transition from the case page. Done: back to the page with a message (or to the
    list when the person's access ended with it). Refused: the page again with what was typed
    and each error beside its field."""
    try:
        transition = case_transition(action)
    except ApplicationError:
        raise NotFound from None
    principal = principal_of(request)
    # a form sends every input, filled or not: an empty one was not given (the service says what is missing)
    data: dict[str, Any] = {
        k: v for k, v in request.POST.dict().items() if k != "csrfmiddlewaretoken" and v != ""
    }
    try:
        if "until" in data:
            data["until"] = _utc(str(data["until"]))
        if action == "assign":  # the people picker: a name or an e-mail address, resolved here
            data["person"] = str(person_pick(principal=principal, text=str(data.get("person", ""))).uuid)
        transition.service(actor=principal, case_uuid=case_id, **_validated(transition, data))
    except NotFound:
        raise
    except ApplicationError as failure:
        refused = FormState.refused(request.POST, failure, fields=CASE_FORM_FIELDS.get(action, ()))
        try:
            return _case_page(request, case_id, {action: refused}, status=refused.status)
        except NotFound:  # volunteering from the list for a case the person cannot open
            messages.error(request, " ".join([refused.message, *refused.other]))
            return redirect("web:disclosures")
    messages.success(request, f"Done: {action.replace('_', ' ')}.")
    try:
        access_case_by_id(principal, case_id)
    except NotFound:
        return redirect("web:disclosures")  # e.g. a reviewer whose access ended with the decision
    return redirect("web:disclosure", case_id)
