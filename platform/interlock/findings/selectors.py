"""Reads about findings. Every list, count, facet and search starts from `visible()`.

Titles and bodies are encrypted, so SQL can filter only on metadata (label, state, org, tags,
authors); a text search then opens the titles and bodies of the visible candidates in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import CharField, Count, OuterRef, QuerySet
from django.db.models.functions import Cast, JSONObject

from interlock.access import visible
from interlock.access.principal import Principal
from interlock.accounts.models import Person
from interlock.core.query_params import QueryParams
from interlock.crypto.keys import key_cache, preload_key_versions
from interlock.findings.access import group_org_ids
from interlock.findings.models import Finding, FindingState, Label, Tag
from interlock.findings.read_audit import record_content_read
from interlock.findings.services import revision_text, revision_title
from interlock.network.models import Organisation

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
