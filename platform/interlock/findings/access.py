"""The finding rules: audience × TLP label × hazard tier, each checked on its own line.

`finding_rule` decides one object; `visible_findings` is the same rule as one SQL filter
(EXISTS subqueries, no DISTINCT), used by every list, count, facet, search and export.
Revisions, comments and grants inherit the finding's axes: their rules ask the finding's.
A change here must change both — tests/interlock/access/test_policy_matrix.py compares them
against an independent truth table.
"""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from interlock.access import policy
from interlock.access.actions import Action, Decision, allow, deny
from interlock.access.clearance import clearance_allows, max_visible_tier
from interlock.access.lookups import access_by_uuid
from interlock.access.principal import Principal
from interlock.accounts.models import Person, Role
from interlock.findings.models import (
    Capability,
    Comment,
    Finding,
    FindingGrant,
    FindingGroupRecipient,
    FindingRevision,
    FindingState,
    Label,
)

HIDDEN_STATES = (FindingState.DRAFT, FindingState.WITHDRAWN)
EDITABLE_STATES = (FindingState.DRAFT, FindingState.SHARED, FindingState.IN_REVIEW)
# Reads of these labels are recorded, on every path that opens the text (finding, revision,
# diff, comment, search hit, export, disclosure case).
AUDITED_LABELS = (Label.RED, Label.AMBER_STRICT)


def _active_grant(person: Person, finding: Finding, capabilities: tuple[str, ...]) -> bool:
    return FindingGrant.objects.filter(
        content_object=finding,
        user=person,
        permission__codename__in=capabilities,
        expires_at__gt=timezone.now(),
    ).exists()


def group_org_ids(finding: Finding) -> set[int]:
    """Organisations that receive the finding through its sharing groups: those bound when it
    was shared that are still in the group (an organisation added later is never among them)."""
    bound = FindingGroupRecipient.objects.filter(finding=finding, group__findings=finding)
    as_owner = bound.filter(group__owner_org_id=F("organisation_id"))
    as_member = bound.filter(group__members=F("organisation_id"))
    return set(as_owner.values_list("organisation_id", flat=True)) | set(
        as_member.values_list("organisation_id", flat=True)
    )


def audience_reaches(
    person: Person,
    *,
    owner_org_id: int,
    label: str,
    own_org: bool,
    network: bool,
    group_orgs: set[int],
    grant: bool,
) -> bool:
    """Does this audience set, as narrowed by the label, include this (non-author) person?
    Parameterised so the share dialog can ask it of an audience not yet saved."""
    in_owner_org = person.organisation_id == owner_org_id
    if label == Label.RED:
        return grant
    if label == Label.AMBER_STRICT:
        return grant and in_owner_org
    if grant or (own_org and in_owner_org) or person.organisation_id in group_orgs:
        return True
    return label in (Label.GREEN, Label.CLEAR) and network


def _reaches(person: Person, finding: Finding, *, grant: bool) -> bool:
    return audience_reaches(
        person,
        owner_org_id=finding.owner_org_id,
        label=finding.label,
        own_org=finding.audience_own_org,
        network=finding.audience_network,
        group_orgs=group_org_ids(finding),
        grant=grant,
    )


def is_author(person: Person, finding: Finding) -> bool:
    return finding.authors.filter(pk=person.pk).exists()


def can_read(person: Person, finding: Finding) -> Decision:
    """The three axes for one person: tier first, then authorship, state and audience × label."""
    if not clearance_allows(person, finding.hazard_tier):
        return deny("clearance below the hazard tier")
    if is_author(person, finding):
        return allow("author")
    if finding.state in HIDDEN_STATES:
        return deny("drafts and withdrawn findings are for their authors")
    grant = _active_grant(person, finding, (Capability.READ, Capability.COMMENT))
    if _reaches(person, finding, grant=grant):
        return allow("in the audience")
    return deny("not in the audience")


def finding_rule(principal: Principal, action: Action, finding: Finding) -> Decision:
    person = principal.person
    read = can_read(person, finding)
    if action == Action.VIEW or not read:
        return read
    author = is_author(person, finding)
    if action == Action.COMMENT:
        if finding.state in HIDDEN_STATES:
            return deny("no comments on drafts or withdrawn findings") if not author else allow("author")
        if author or _active_grant(person, finding, (Capability.COMMENT,)):
            return allow("author or comment grant")
        read_only = _active_grant(person, finding, (Capability.READ,))
        if finding.label in AUDITED_LABELS or (read_only and not _reaches(person, finding, grant=False)):
            return deny("read-only grant")
        return allow("in the audience")
    if action in (Action.EDIT, Action.ATTACH):
        if not author:
            return deny("only authors change a finding")
        return allow("author") if finding.state in EDITABLE_STATES else deny("finding is closed")
    if action in (Action.SHARE, Action.GRANT, Action.VIEW_READERS, Action.OPEN_DISCLOSURE):
        if not author:
            return deny("only authors decide the audience")
        return allow("author") if finding.state != FindingState.WITHDRAWN else deny("finding is withdrawn")
    if action == Action.WITHDRAW:
        owner_admin = person.role == Role.ORG_ADMIN and person.organisation_id == finding.owner_org_id
        if finding.state == FindingState.WITHDRAWN:
            return deny("already withdrawn")
        return allow("author or owner admin") if author or owner_admin else deny("not an author")
    return deny(f"{action} does not apply to findings")


def revision_rule(principal: Principal, action: Action, revision: FindingRevision) -> Decision:
    if action != Action.VIEW:
        return deny("revisions are immutable")
    return finding_rule(principal, Action.VIEW, revision.finding)


def comment_rule(principal: Principal, action: Action, comment: Comment) -> Decision:
    if action != Action.VIEW:
        return deny(f"{action} does not apply to comments")
    return finding_rule(principal, Action.VIEW, comment.finding)


def grant_rule(principal: Principal, action: Action, grant: FindingGrant) -> Decision:
    """A grant is seen by its grantee (while they may read the finding) and by the authors."""
    if action != Action.VIEW:
        return deny("grants change through the finding (GRANT)")
    finding = grant.content_object
    if grant.user_id == principal.pk:
        return finding_rule(principal, Action.VIEW, finding)
    return finding_rule(principal, Action.GRANT, finding)


def visible_findings(principal: Principal, queryset: QuerySet[Finding]) -> QuerySet[Finding]:
    person = principal.person
    now = timezone.now()
    org_id = principal.organisation_id
    author = Exists(Finding.authors.through.objects.filter(finding_id=OuterRef("pk"), person_id=person.pk))
    has_grant = Exists(
        FindingGrant.objects.filter(
            content_object_id=OuterRef("pk"),
            user_id=person.pk,
            permission__codename__in=(Capability.READ, Capability.COMMENT),
            expires_at__gt=now,
        )
    )
    # bound at share time, the group still an audience, the organisation still in the group
    in_group = Exists(
        FindingGroupRecipient.objects.filter(
            finding_id=OuterRef("pk"), organisation_id=org_id, group__findings=OuterRef("pk")
        ).filter(Q(group__owner_org_id=org_id) | Q(group__members=org_id))
    )
    own_org = Q(owner_org_id=org_id)
    audience = (
        Q(label=Label.RED, has_grant=True)
        | Q(own_org, label=Label.AMBER_STRICT, has_grant=True)
        | Q(label__in=(Label.AMBER, Label.GREEN, Label.CLEAR))
        & (Q(has_grant=True) | Q(own_org, audience_own_org=True) | Q(in_group=True))
        | Q(label__in=(Label.GREEN, Label.CLEAR), audience_network=True)
    )
    return (
        queryset.alias(is_author=author, has_grant=has_grant, in_group=in_group)
        .filter(hazard_tier__lte=max_visible_tier(person))
        .filter(Q(is_author=True) | (~Q(state__in=HIDDEN_STATES) & audience))
    )


def visible_revisions(principal: Principal, queryset: QuerySet[FindingRevision]) -> QuerySet[FindingRevision]:
    return queryset.filter(finding__in=visible_findings(principal, Finding.objects.all()).values("pk"))


def visible_comments(principal: Principal, queryset: QuerySet[Comment]) -> QuerySet[Comment]:
    return queryset.filter(finding__in=visible_findings(principal, Finding.objects.all()).values("pk"))


def visible_grants(principal: Principal, queryset: QuerySet[FindingGrant]) -> QuerySet[FindingGrant]:
    readable = visible_findings(principal, Finding.objects.all())
    authored = readable.filter(authors=principal.pk).exclude(state=FindingState.WITHDRAWN)
    return queryset.filter(
        Q(user_id=principal.pk, content_object__in=readable.values("pk"))
        | Q(content_object__in=authored.values("pk"))
    )


def access_finding_by_id(principal: Principal, finding_uuid: object, *, action: Action) -> Finding:
    queryset = Finding.objects.select_related("owner_org", "current_revision")
    return access_by_uuid(principal, queryset, finding_uuid, action=action)


FINDING_AXES = "its own label, hazard tier and audience set"
INHERITED = "its finding's (label, tier, audience)"

policy.register(
    Finding,
    rule=finding_rule,
    filter_=visible_findings,
    actions=(
        Action.VIEW,
        Action.COMMENT,
        Action.EDIT,
        Action.ATTACH,
        Action.SHARE,
        Action.GRANT,
        Action.VIEW_READERS,
        Action.OPEN_DISCLOSURE,
        Action.WITHDRAW,
    ),
    axes=FINDING_AXES,
    audience="authors; then, if shared and the tier allows, the audience set as narrowed by the label",
)
policy.register(
    FindingRevision,
    rule=revision_rule,
    filter_=visible_revisions,
    actions=(Action.VIEW,),
    axes=INHERITED,
    audience="whoever may read the finding (reviewers see the pinned revision through their case)",
)
policy.register(
    Comment,
    rule=comment_rule,
    filter_=visible_comments,
    actions=(Action.VIEW,),
    axes=INHERITED,
    audience="whoever may read the finding",
)
policy.register(
    FindingGrant,
    rule=grant_rule,
    filter_=visible_grants,
    actions=(Action.VIEW,),
    axes=INHERITED + "; the grantee's clearance is re-checked at every use",
    audience="the grantee while they may read the finding, and the finding's authors",
)
