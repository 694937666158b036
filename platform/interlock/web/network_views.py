"""Network pages: home, the directory, an organisation, sharing groups, the people picker's suggestions."""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from interlock.access import Action, can, visible
from interlock.accounts.models import Person
from interlock.accounts.requests import principal_of
from interlock.accounts.selectors import person_label, person_suggestions
from interlock.core.rate_limits import rate_limit_exceeded
from interlock.network.access import access_organisation_by_id
from interlock.network.models import OrganisationStatus
from interlock.network.selectors import organisation_list, sharing_group_list
from interlock.web.pages import member_required


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


SUGGEST_LIMIT = 120  # suggestion requests per person per minute: typing, not harvesting


@member_required
@require_GET
def people_suggest_view(request: HttpRequest) -> HttpResponse:
    """The people picker's suggestions (htmx fills a <datalist>): people the signed-in person may
    see (the directory's rule, through accounts.selectors), by name or whole e-mail address."""
    principal = principal_of(request)
    retry_after = rate_limit_exceeded(
        "people-suggest", str(principal.person.pk), limit=SUGGEST_LIMIT, seconds=60
    )
    if retry_after is not None:
        response = HttpResponse("", status=429, content_type="text/html; charset=utf-8")
        response["Retry-After"] = str(retry_after)
        return response
    people = person_suggestions(principal=principal, text=request.GET.get("person", ""))
    labels = [person_label(person) for person in people]
    return render(request, "web/_person_options.html", {"labels": labels})
