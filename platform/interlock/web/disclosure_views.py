"""Disclosure pages: open a case from a finding, list cases and open calls, read and act on a
case, and see how a reviewed case ended.

Opening and acting dispatch through the transition table like the API: the row's input
serializer validates the form, the row's service does the work, and what either refuses is
shown beside its field. Which controls a case page shows comes from
`disclosure.selectors.case_actions` (the table, what waits and the policy), never from a role
read here; the texts are rendered Markdown (nh3's allowlist) and the redaction a coloured diff.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from interlock.access import Action, sees, visible
from interlock.accounts.requests import principal_of
from interlock.accounts.selectors import person_pick
from interlock.core.errors import ApplicationError, NotFound
from interlock.core.inputs import StrictSerializer
from interlock.core.markdown import render_markdown
from interlock.core.textdiff import text_diff
from interlock.disclosure.access import access_case_by_id
from interlock.disclosure.models import DisclosureCase, Target, VoteChoice
from interlock.disclosure.rules import ASSESSMENT_FIELDS, reviewer_conflicts
from interlock.disclosure.selectors import case_actions, case_body, case_outcome, open_call_list
from interlock.disclosure.transitions import TRANSITIONS, Transition, case_transition
from interlock.findings.access import access_finding_by_id
from interlock.findings.selectors import revision_text
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
    calls = open_call_list(principal)
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
    current = revision_text(finding.current_revision, finding) if finding.current_revision else None
    # the text to release starts as the text to pin: the author deletes what must not go out
    form = {
        "target": "sharing_group",
        "redacted_title": current.title if current else "",
        "redacted_body": current.body if current else "",
    }
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
            "current": current,
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


ASSESSMENT_WORDS = {
    "enables": "What it could enable",
    "generality": "How general it is",
    "novelty": "How novel it is",
    "mitigations": "Mitigations",
}


def _rule_words(rule: dict[str, Any] | None) -> str:
    """The quorum rule as a sentence ("2 approvals from 2 organisations; a steward's reject is a veto")."""
    if not rule:
        return ""
    approvals, orgs = int(rule.get("approvals", 0)), int(rule.get("distinct_orgs", 0))
    words = f"{approvals} approval{'s' if approvals != 1 else ''} from {orgs} organisation{'s' if orgs != 1 else ''}"
    return words + ("; a steward's reject is a veto" if rule.get("steward_veto") else "")


def _case_page(
    request: HttpRequest, case_id: str, forms: dict[str, FormState] | None = None, status: int = 200
) -> HttpResponse:
    principal = principal_of(request)
    case = access_case_by_id(principal, case_id)
    body = case_body(case, principal)
    mine = case.reviewers.filter(person=principal.person, access_ends_at__gt=timezone.now()).first()
    pinned, redacted = body["pinned_text"], body["redacted_text"]
    words = dict(VoteChoice.choices)
    for vote in [*body["votes"], *body.get("decision", {}).get("voters", [])]:
        vote["choice_words"] = words.get(vote["choice"], vote["choice"])
    context = {
        "case": case,
        "body": body,
        "finding": case.finding,
        # rendered through nh3's allowlist (interlock.core.markdown), so safe to mark
        "pinned_html": mark_safe(render_markdown(pinned["body"])),  # noqa: S308 - sanitised by nh3
        "redacted_html": mark_safe(render_markdown(redacted["body"])),  # noqa: S308 - sanitised by nh3
        "redaction": text_diff(
            f"{pinned['title']}\n\n{pinned['body']}", f"{redacted['title']}\n\n{redacted['body']}"
        ),
        "rule_words": _rule_words(body["quorum"]["rule"]),
        "decision_rule_words": _rule_words(body.get("decision", {}).get("quorum_rule")),
        "actions": case_actions(principal, case),
        "assessment": [
            (ASSESSMENT_WORDS[k], v) for k, v in body["assessment"].items() if k in ASSESSMENT_WORDS
        ],
        "my_conflicts": reviewer_conflicts(mine) if mine is not None else [],
        "choices": VoteChoice.choices,
        "transitions": TRANSITIONS.values(),
        "forms": forms or {},
    }
    return render(request, "web/disclosures/detail.html", context, status=status)


@member_required
def disclosure_view(request: HttpRequest, case_id: str) -> HttpResponse:
    return _case_page(request, case_id)


@member_required
@require_GET
def disclosure_outcome_view(request: HttpRequest, case_id: str) -> HttpResponse:
    """How a case ended, for its reviewers once their access to the case itself has ended
    (SEE_OUTCOME); anyone who may not see it gets 404."""
    principal = principal_of(request)
    case = access_case_by_id(principal, case_id, action=Action.SEE_OUTCOME)
    outcome = case_outcome(case, principal)
    context = {
        "case": case,
        "outcome": outcome,
        "sees_case": sees(principal, case),
        "rule_words": _rule_words(outcome["rule"]),
    }
    return render(request, "web/disclosures/outcome.html", context)


DONE = {
    "vote": "Your vote is recorded.",
    "volunteer": "You review this case now.",
    "declare_conflict": "Your conflict is recorded: you may comment but not vote.",
    "comment": "Your comment is added.",
    "decide": "The review is closed and the decision recorded.",
    "withdraw": "The case is withdrawn.",
}


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
        if "person" in data:  # the people picker (assign): a name or an e-mail address, resolved here
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
    messages.success(request, DONE.get(action, f"Done: {action.replace('_', ' ')}."))
    try:
        access_case_by_id(principal, case_id)
    except NotFound:
        pass
    else:
        return redirect("web:disclosure", case_id)
    try:  # a voter whose access ended with the decision still sees how it ended
        access_case_by_id(principal, case_id, action=Action.SEE_OUTCOME)
    except NotFound:
        return redirect("web:disclosures")
    return redirect("web:disclosure_outcome", case_id)
