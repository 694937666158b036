"""Reads about findings. Every list, count, facet and search starts from `visible()`.

Titles and bodies are encrypted, so SQL can filter only on metadata (label, state, org, tags,
authors); a text search then opens the titles and bodies of the visible candidates in memory.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import transaction
from django.db.models import CharField, Count, OuterRef, QuerySet
from django.db.models.functions import Cast, JSONObject
from django.utils import timezone

from interlock.access import Action, can, visible
from interlock.access.clearance import clearance_allows
from interlock.access.principal import Principal
from interlock.accounts.models import Person
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.core.errors import ApplicationError, InvalidState
from interlock.core.query_params import QueryParams
from interlock.crypto.fields import open_text
from interlock.crypto.keys import key_cache, preload_key_versions
from interlock.findings.access import access_finding_by_id, group_org_ids
from interlock.findings.models import Comment, Finding, FindingRevision, FindingState, Label, Tag
from interlock.findings.read_audit import record_content_read
from interlock.findings.rules import Audience, audience_errors, groups_for
from interlock.network.models import Organisation, OrganisationStatus
from interlock_wire import comment_object_id, revision_field_object_id

SEARCH_CANDIDATE_LIMIT = 2000
# Counting every visible row costs a scan of all findings; lists count up to this many and
# report "at least" beyond it (pagination still works: it asks for one page at a time).
COUNT_CAP = 1000
# The deepest page a list serves: the newest-first walk reads every id up to the page asked for.
MAX_PAGE = 10_000


@dataclass(frozen=True)
class FindingFilters:
    label: str | None = None
    state: str | None = None
    org: str | None = None
    tag: str | None = None
    author: str | None = None
    q: str | None = None

    @classmethod
    def from_query(cls, query: QueryParams) -> FindingFilters:
        """The filters of a list or export request. Values no finding could match (an unknown label
        or state, an id that is not a UUID, a NUL byte) are recorded on `query` as field errors;
        the caller's `query.done()` raises them."""
        return cls(
            label=query.choice("label", Label.values),
            state=query.choice("state", FindingState.values),
            org=query.uuid("org"),
            tag=query.text("tag", max_length=50),
            author=query.uuid("author"),
            q=query.text("q", max_length=200),
        )


@dataclass
class FindingPage:
    findings: list[Finding]
    count: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    count_is_lower_bound: bool = False


def finding_visible(*, principal: Principal) -> QuerySet[Finding]:
    return visible(principal, Finding.objects.all())


def _filtered(principal: Principal, filters: FindingFilters) -> QuerySet[Finding]:
    queryset = finding_visible(principal=principal)
    if filters.label:
        queryset = queryset.filter(label=filters.label)
    if filters.state:
        queryset = queryset.filter(state=filters.state)
    if filters.org:
        queryset = queryset.filter(owner_org__uuid=filters.org)
    if filters.tag:
        queryset = queryset.filter(tags__name=filters.tag)
    if filters.author:
        queryset = queryset.filter(authors__uuid=filters.author)
    return queryset


def finding_facets(*, principal: Principal, queryset: QuerySet[Finding]) -> dict[str, dict[str, int]]:
    """Counts by label, state, org and tag — only over what the person may see."""
    ids = queryset.values("pk")
    base = Finding.objects.filter(pk__in=ids)
    return {
        "label": dict(base.values_list("label").annotate(n=Count("pk")).values_list("label", "n")),
        "state": dict(base.values_list("state").annotate(n=Count("pk")).values_list("state", "n")),
        "org": dict(
            base.values_list("owner_org__name").annotate(n=Count("pk")).values_list("owner_org__name", "n")
        ),
        "tag": dict(
            Tag.objects.filter(findings__in=ids)
            .values_list("name")
            .annotate(n=Count("findings"))
            .values_list("name", "n")
        ),
    }


def _with_display(queryset: QuerySet[Finding]) -> QuerySet[Finding]:
    """Rows for a list: owner org and current revision joined, authors and tags as arrays in the
    same query (`author_list`, `tag_names`), so a page is one query whatever its size."""
    authors = Person.objects.filter(authored_findings=OuterRef("pk")).order_by("display_name")
    tags = Tag.objects.filter(findings=OuterRef("pk")).order_by("name")
    return queryset.select_related("owner_org", "current_revision").annotate(
        author_list=ArraySubquery(
            authors.values(json=JSONObject(id=Cast("uuid", CharField()), name="display_name"))
        ),
        tag_names=ArraySubquery(tags.values("name")),
    )


def finding_list(
    *, principal: Principal, filters: FindingFilters, offset: int = 0, limit: int = 50, facets: bool = True
) -> FindingPage:
    queryset = _filtered(principal, filters).order_by("-updated_at", "-pk")
    if filters.q:
        needle = filters.q.strip().lower()
        matches = []
        with key_cache():
            for finding in _with_display(queryset)[:SEARCH_CANDIDATE_LIMIT]:
                text = revision_text(finding.current_revision, finding) if finding.current_revision else None
                tags = " ".join(finding.tag_names)  # type: ignore[attr-defined]
                if text and (needle in text.title.lower() or needle in text.body.lower() or needle in tags):
                    matches.append(finding)
        page = FindingPage(findings=matches[offset : offset + limit], count=len(matches))
        for hit in page.findings:  # a search opened these texts: RED and AMBER+STRICT hits are recorded
            revision = hit.current_revision.number if hit.current_revision else None
            record_content_read(principal, hit, via="search", revision=revision)
        if facets:
            page.facets = finding_facets(
                principal=principal, queryset=Finding.objects.filter(pk__in=[f.pk for f in matches])
            )
        return page
    # One walk of the newest-first index gives both the page's ids and the (capped) count.
    window = list(queryset.values_list("pk", flat=True)[: max(COUNT_CAP + 1, offset + limit)])
    ids = window[offset : offset + limit]
    rows = {f.pk: f for f in _with_display(Finding.objects.filter(pk__in=ids))}
    page = FindingPage(
        findings=[rows[pk] for pk in ids],
        count=min(len(window), COUNT_CAP),
        count_is_lower_bound=len(window) > COUNT_CAP,
    )
    if facets:
        page.facets = finding_facets(principal=principal, queryset=queryset)
    return page


def group_receivers(finding: Finding) -> list[str]:
    """Names of the organisations the finding's sharing groups reach (bound at share time):
    the sharing organisation always sees who receives what it shared."""
    return sorted(Organisation.objects.filter(pk__in=group_org_ids(finding)).values_list("name", flat=True))


def finding_titles(findings: list[Finding]) -> dict[int, str]:
    """Decrypted titles for a page: the key versions of every owner org are loaded in one query."""
    with key_cache():
        preload_key_versions({f.owner_org_id for f in findings})
        return {
            f.pk: revision_title(f.current_revision, f) for f in findings if f.current_revision is not None
        }


def active_members() -> QuerySet[Person]:
    """Active people of active organisations: who a share, preview or message could reach."""
    return Person.objects.select_related("organisation").filter(
        is_active=True, organisation__status=OrganisationStatus.ACTIVE
    )


# --- sealed text, opened only here ----------------------------------------------------------


@dataclass(frozen=True)
class RevisionText:
    revision: FindingRevision
    title: str
    body: str


def revision_text(revision: FindingRevision, finding: Finding) -> RevisionText:
    org = finding.owner_org
    return RevisionText(
        revision=revision,
        title=open_text(
            org=org,
            object_id=revision_field_object_id(revision_uuid=revision.uuid, field="title"),
            sealed=revision.title_sealed,
        ),
        body=open_text(
            org=org,
            object_id=revision_field_object_id(revision_uuid=revision.uuid, field="body"),
            sealed=revision.body_sealed,
        ),
    )


def revision_title(revision: FindingRevision, finding: Finding) -> str:
    return open_text(
        org=finding.owner_org,
        object_id=revision_field_object_id(revision_uuid=revision.uuid, field="title"),
        sealed=revision.title_sealed,
    )


@dataclass(frozen=True)
class AudiencePreview:
    """Who would read a finding: people by name, except those reached only through a sharing
    group whose owner hides its member list — they are counted per organisation, so the sharing
    organisation still sees which organisations receive what it shares (SECURITY.md)."""

    readers: list[Person]
    hidden: dict[str, int]

    @property
    def count(self) -> int:
        return len(self.readers) + sum(self.hidden.values())


def audience_preview(
    *, actor: Principal, finding_uuid: object, label: str, audience: Audience
) -> AudiencePreview:
    """Exactly who could read the finding if this label and audience were saved (share dialog);
    sharing binds the groups' membership as it is now (`group_recipients_bind`)."""
    from interlock.findings.access import audience_reaches

    finding = access_finding_by_id(actor, finding_uuid, action=Action.SHARE)
    groups = groups_for(actor, audience.group_uuids)
    errors = audience_errors(label=label, audience=audience, groups=groups)
    if errors:
        raise ApplicationError("This label and audience do not go together.", errors)
    group_orgs = {org_id for g in groups for org_id in g.members.values_list("pk", flat=True)} | {
        g.owner_org_id for g in groups
    }
    listed_orgs = {
        org_id
        for g in groups
        if can(actor, Action.VIEW_MEMBERS, g)
        for org_id in {*g.members.values_list("pk", flat=True), g.owner_org_id}
    }
    granted = set(finding.grants.filter(expires_at__gt=timezone.now()).values_list("user_id", flat=True))
    author_ids = set(finding.authors.values_list("pk", flat=True))
    readers: list[Person] = []
    hidden: dict[str, int] = {}
    for person in active_members().order_by("organisation__name", "display_name"):
        if not clearance_allows(person, finding.hazard_tier):
            continue
        reaches = functools.partial(
            audience_reaches,
            person,
            owner_org_id=finding.owner_org_id,
            label=label,
            own_org=audience.own_org,
            network=audience.network,
            grant=person.pk in granted,
        )
        if person.pk in author_ids or reaches(group_orgs=set()):
            readers.append(person)
        elif reaches(group_orgs=group_orgs):
            if person.organisation_id in listed_orgs or person.organisation is None:
                readers.append(person)
            else:
                hidden[person.organisation.name] = hidden.get(person.organisation.name, 0) + 1
    return AudiencePreview(readers=readers, hidden=hidden)


def comment_text(comment: Comment, finding: Finding) -> str:
    return open_text(
        org=finding.owner_org,
        object_id=comment_object_id(comment_uuid=comment.uuid),
        sealed=comment.body_sealed,
    )


def finding_read(*, actor: Principal, finding_uuid: object) -> tuple[Finding, RevisionText]:
    """The current revision, decrypted; reads of RED and AMBER+STRICT content are audited."""
    finding = access_finding_by_id(actor, finding_uuid, action=Action.VIEW)
    if finding.current_revision is None:  # every finding is created with revision 1
        raise RuntimeError(f"finding {finding.uuid} has no current revision")
    text = revision_text(finding.current_revision, finding)
    if finding.label in (Label.RED, Label.AMBER_STRICT):
        with transaction.atomic():
            audit_record(
                actor=actor,
                event=Event.FINDING_READ,
                target=finding,
                extra={"revision": finding.current_revision.number, "label": finding.label},
            )
    return finding, text


def revision_diff(older: RevisionText, newer: RevisionText) -> str:
    lines = difflib.unified_diff(
        (older.title + "\n\n" + older.body).splitlines(),
        (newer.title + "\n\n" + newer.body).splitlines(),
        fromfile=f"revision {older.revision.number}",
        tofile=f"revision {newer.revision.number}",
        lineterm="",
    )
    return "\n".join(lines)


def finding_readers(*, actor: Principal, finding_uuid: object) -> list[dict[str, Any]]:
    """Who read this RED/AMBER+STRICT finding and when (authors only), from the audit log."""
    from interlock.audit.models import AuditEvent

    finding = access_finding_by_id(actor, finding_uuid, action=Action.VIEW_READERS)
    if finding.label not in (Label.RED, Label.AMBER_STRICT):
        raise InvalidState("Reads are recorded for TLP:RED and TLP:AMBER+STRICT findings only.")
    rows = AuditEvent.objects.filter(
        event=Event.FINDING_READ, target_type="findings.finding", target_id=str(finding.pk)
    ).order_by("-seq")[:500]
    people = {p.pk: p for p in Person.objects.filter(pk__in={r.actor_id for r in rows})}
    return [
        {
            "person": people[r.actor_id].display_name if r.actor_id in people else r.actor_label,
            "read_at": r.occurred_at,
            "revision": r.extra.get("revision"),
        }
        for r in rows
    ]
