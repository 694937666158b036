"""Writes about findings. Every write validates the three axes together and audits itself."""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from interlock.access import Action, can
from interlock.access.clearance import clearance_allows
from interlock.access.lookups import parse_uuid
from interlock.access.principal import Principal
from interlock.accounts.access import access_person_by_id
from interlock.accounts.models import Person
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.core.errors import ApplicationError, InvalidState, NotFound, PolicyDenied
from interlock.crypto.fields import open_text, seal_text
from interlock.findings.access import access_finding_by_id
from interlock.findings.models import (
    Capability,
    Comment,
    Finding,
    FindingGrant,
    FindingGroupRecipient,
    FindingRevision,
    FindingState,
    Label,
    Tag,
)
from interlock.findings.notifications import notify_finding_task
from interlock.network.models import OrganisationStatus, SharingGroup

MAX_TITLE = 300
MAX_BODY = 200_000
MAX_GRANT_DAYS = 365


@dataclass(frozen=True)
class Audience:
    own_org: bool = False
    network: bool = False
    group_uuids: tuple[str, ...] = ()


def audience_errors(*, label: str, audience: Audience, groups: list[SharingGroup]) -> dict[str, list[str]]:
    """The label↔audience table of DESIGN.md; an empty dict means consistent."""
    errors: dict[str, list[str]] = {}
    if label not in Label.values:
        errors["label"] = [f"one of {', '.join(Label.values)}"]
        return errors
    if label == Label.CLEAR:
        errors["label"] = ["TLP:CLEAR is set only by a released disclosure decision"]
    if label in (Label.RED, Label.AMBER_STRICT):
        if audience.own_org:
            errors["audience_own_org"] = [
                f"{Label(label).label} goes to named people only, not the whole organisation"
            ]
        if groups:
            errors["groups"] = ["sharing groups never carry TLP:RED or TLP:AMBER+STRICT"]
    if audience.network and label not in (Label.GREEN, Label.CLEAR):
        errors["audience_network"] = ["only TLP:GREEN (or CLEAR) findings go to the whole network"]
    return errors


def content_hash(title: str, body: str) -> str:
    """The SHA-256 a revision is pinned by (disclosure cases compare released text with it too)."""
    return hashlib.sha256(json.dumps({"title": title, "body": body}, sort_keys=True).encode()).hexdigest()


def _validate_text(title: str, body: str) -> tuple[str, str]:
    title, errors = title.strip(), {}
    if not title or len(title) > MAX_TITLE:
        errors["title"] = [f"1–{MAX_TITLE} characters"]
    if len(body) > MAX_BODY:
        errors["body"] = [f"at most {MAX_BODY} characters"]
    if errors:
        raise ApplicationError("The finding is not valid.", errors)
    return title, body


def _revision_add(*, finding: Finding, author: Person, title: str, body: str) -> FindingRevision:
    number = (finding.revisions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    revision = FindingRevision(
        finding=finding, number=number, author=author, content_sha256=content_hash(title, body)
    )
    revision.title_sealed = seal_text(
        org=finding.owner_org, object_id=f"revision:{revision.uuid}:title", text=title
    )
    revision.body_sealed = seal_text(
        org=finding.owner_org, object_id=f"revision:{revision.uuid}:body", text=body
    )
    revision.save()
    finding.current_revision = revision
    finding.updated_at = timezone.now()
    finding.save(update_fields=["current_revision", "updated_at"])
    return revision


def _groups_for(actor: Principal, group_uuids: tuple[str, ...]) -> list[SharingGroup]:
    """Only groups the author's organisation belongs to (or owns) can be an audience."""
    parsed = [parse_uuid(u) for u in group_uuids]
    groups = list(
        SharingGroup.objects.filter(uuid__in=parsed)
        .filter(Q(members=actor.organisation_id) | Q(owner_org=actor.organisation_id))
        .distinct()
    )
    if len({g.pk for g in groups}) != len(set(parsed)):
        raise ApplicationError("Unknown sharing group.", {"groups": ["not a group your organisation is in"]})
    return list({g.pk: g for g in groups}.values())


def group_recipients_bind(*, finding: Finding, groups: list[SharingGroup]) -> set[int]:
    """Bind each group's membership now (owner included): who the share reaches, and only them.

    Called by every share into groups (the author's share, a disclosure release); an
    organisation added to a group later never receives what was shared before."""
    FindingGroupRecipient.objects.filter(finding=finding).delete()
    rows = [
        FindingGroupRecipient(finding=finding, group=group, organisation_id=org_id)
        for group in groups
        for org_id in {*group.members.values_list("pk", flat=True), group.owner_org_id}
    ]
    FindingGroupRecipient.objects.bulk_create(rows)
    return {row.organisation_id for row in rows}


def _tags(names: list[str]) -> list[Tag]:
    clean = sorted({name.strip().lower() for name in names if name.strip()})
    if any(len(name) > 50 or not name.replace("-", "").replace("_", "").isalnum() for name in clean):
        raise ApplicationError(
            "Tags are short words.", {"tags": ["letters, digits, - and _ only, ≤ 50 characters"]}
        )
    return [Tag.objects.get_or_create(name=name)[0] for name in clean]


@transaction.atomic
def finding_create(
    *,
    actor: Principal,
    title: str,
    body: str,
    label: str = Label.AMBER_STRICT,
    hazard_tier: int = 0,
    tags: list[str] | None = None,
) -> Finding:
    """A new draft: only its authors see it until it is shared."""
    title, body = _validate_text(title, body)
    if not 0 <= hazard_tier <= 3:
        raise ApplicationError("The hazard tier is H0–H3.", {"hazard_tier": ["0, 1, 2 or 3"]})
    if not clearance_allows(actor.person, hazard_tier):
        raise ApplicationError(
            "Your clearance is below this hazard tier.", {"hazard_tier": ["above your clearance"]}
        )
    errors = audience_errors(label=label, audience=Audience(), groups=[])
    if errors:
        raise ApplicationError("The label is not valid.", errors)
    organisation = actor.person.organisation
    if organisation is None:
        raise PolicyDenied("You need a home organisation to write findings.")
    finding = Finding.objects.create(owner_org=organisation, label=label, hazard_tier=hazard_tier)
    finding.authors.add(actor.person)
    finding.tags.set(_tags(tags or []))
    _revision_add(finding=finding, author=actor.person, title=title, body=body)
    audit_record(
        actor=actor,
        event=Event.FINDING_CREATED,
        target=finding,
        extra={"label": label, "hazard": hazard_tier},
    )
    return finding


@transaction.atomic
def finding_revise(*, actor: Principal, finding_uuid: object, title: str, body: str) -> FindingRevision:
    finding = access_finding_by_id(actor, finding_uuid, action=Action.EDIT)
    title, body = _validate_text(title, body)
    revision = _revision_add(finding=finding, author=actor.person, title=title, body=body)
    audit_record(
        actor=actor,
        event=Event.FINDING_REVISED,
        target=finding,
        extra={"revision": revision.number, "sha256": revision.content_sha256},
    )
    if finding.state != FindingState.DRAFT:
        transaction.on_commit(
            lambda: notify_finding_task.delay(finding_id=finding.pk, kind="finding_revised")
        )
    return revision


@transaction.atomic
def finding_share(
    *, actor: Principal, finding_uuid: object, label: str, audience: Audience, tags: list[str] | None = None
) -> Finding:
    """Set the label and the audience together (refused when inconsistent) and publish a draft."""
    finding = access_finding_by_id(actor, finding_uuid, action=Action.SHARE)
    groups = _groups_for(actor, audience.group_uuids)
    errors = audience_errors(label=label, audience=audience, groups=groups)
    if label == Label.AMBER_STRICT:
        outsiders = finding.grants.exclude(user__organisation=finding.owner_org).filter(
            expires_at__gt=timezone.now()
        )
        if outsiders.exists():
            errors["label"] = [
                "TLP:AMBER+STRICT allows named people of the owner organisation only; revoke other grants first"
            ]
    if errors:
        raise ApplicationError("This label and audience do not go together.", errors)
    finding.label = label
    finding.audience_own_org = audience.own_org
    finding.audience_network = audience.network
    if finding.state == FindingState.DRAFT:
        finding.state = FindingState.SHARED
    finding.updated_at = timezone.now()
    finding.save(update_fields=["label", "audience_own_org", "audience_network", "state", "updated_at"])
    finding.audience_groups.set(groups)
    bound = group_recipients_bind(finding=finding, groups=groups)
    if tags is not None:
        finding.tags.set(_tags(tags))
    audit_record(
        actor=actor,
        event=Event.FINDING_SHARED,
        target=finding,
        extra={
            "label": label,
            "own_org": audience.own_org,
            "network": audience.network,
            "groups": sorted(str(g.uuid) for g in groups),
            "group_organisations": len(bound),
        },
    )
    transaction.on_commit(lambda: notify_finding_task.delay(finding_id=finding.pk, kind="finding_shared"))
    return finding


@transaction.atomic
def finding_grant(
    *,
    actor: Principal,
    finding_uuid: object,
    person_uuid: object,
    capability: str,
    expires_at: datetime,
    reason: str,
) -> FindingGrant:
    """A named person's expiring grant: never more than the grantor holds or the label allows."""
    finding = access_finding_by_id(actor, finding_uuid, action=Action.GRANT)
    grantee = access_person_by_id(actor, person_uuid, action=Action.VIEW)
    errors: dict[str, list[str]] = {}
    if capability not in Capability.values:
        errors["capability"] = [f"one of {', '.join(Capability.values)}"]
    now = timezone.now()
    if expires_at <= now or (expires_at - now).days > MAX_GRANT_DAYS:
        errors["expires_at"] = [f"in the future, at most {MAX_GRANT_DAYS} days ahead"]
    if not reason.strip():
        errors["reason"] = ["say why this person needs it"]
    if finding.label == Label.AMBER_STRICT and grantee.organisation_id != finding.owner_org_id:
        errors["person"] = ["TLP:AMBER+STRICT findings go only to people of the owner organisation"]
    if (
        not grantee.is_active
        or grantee.organisation is None
        or grantee.organisation.status != OrganisationStatus.ACTIVE
    ):
        errors["person"] = ["not an active member of the network"]
    elif not clearance_allows(grantee, finding.hazard_tier):
        errors["person"] = ["their clearance is below this finding's hazard tier"]
    if errors:
        raise ApplicationError("The grant is not valid.", errors)
    permission = Permission.objects.get(codename=capability, content_type__app_label="findings")
    FindingGrant.objects.filter(content_object=finding, user=grantee).delete()
    grant = FindingGrant.objects.create(
        content_object=finding,
        user=grantee,
        permission=permission,
        expires_at=expires_at,
        granted_by=actor.person,
        reason=reason.strip()[:500],
    )
    audit_record(
        actor=actor,
        event=Event.FINDING_GRANT_CREATED,
        target=finding,
        extra={"person": str(grantee.uuid), "capability": capability, "expires_at": expires_at.isoformat()},
    )
    transaction.on_commit(
        lambda: notify_finding_task.delay(
            finding_id=finding.pk, kind="finding_granted", recipient_ids=[grantee.pk]
        )
    )
    return grant


@transaction.atomic
def finding_revoke_grant(*, actor: Principal, finding_uuid: object, person_uuid: object) -> None:
    finding = access_finding_by_id(actor, finding_uuid, action=Action.GRANT)
    deleted, _ = FindingGrant.objects.filter(
        content_object=finding, user__uuid=parse_uuid(person_uuid)
    ).delete()
    if not deleted:
        raise NotFound
    audit_record(
        actor=actor, event=Event.FINDING_GRANT_REVOKED, target=finding, extra={"person": str(person_uuid)}
    )


@transaction.atomic
def finding_withdraw(*, actor: Principal, finding_uuid: object, reason: str) -> Finding:
    finding = access_finding_by_id(actor, finding_uuid, action=Action.WITHDRAW)
    finding.state = FindingState.WITHDRAWN
    finding.updated_at = timezone.now()
    finding.save(update_fields=["state", "updated_at"])
    audit_record(
        actor=actor, event=Event.FINDING_WITHDRAWN, target=finding, extra={"reason_length": len(reason)}
    )
    return finding


@transaction.atomic
def comment_create(
    *, actor: Principal, finding_uuid: object, body: str, parent_uuid: object | None = None
) -> Comment:
    finding = access_finding_by_id(actor, finding_uuid, action=Action.COMMENT)
    body = body.strip()
    if not body or len(body) > 20_000:
        raise ApplicationError("A comment is 1–20,000 characters.", {"body": ["1–20,000 characters"]})
    parent = None
    if parent_uuid:
        parent = Comment.objects.filter(finding=finding, uuid=parse_uuid(parent_uuid)).first()
        if parent is None:
            raise ApplicationError(
                "You can only reply to a comment on the same finding.", {"parent": ["unknown"]}
            )
    comment = Comment(finding=finding, parent=parent, author=actor.person)
    comment.body_sealed = seal_text(org=finding.owner_org, object_id=f"comment:{comment.uuid}", text=body)
    comment.save()
    audit_record(
        actor=actor, event=Event.COMMENT_CREATED, target=finding, extra={"comment": str(comment.uuid)}
    )
    transaction.on_commit(
        lambda: notify_finding_task.delay(
            finding_id=finding.pk, kind="comment_created", exclude_ids=[actor.pk]
        )
    )
    return comment


# --- reading (sealed text opened only here) ------------------------------------------------------


@dataclass(frozen=True)
class RevisionText:
    revision: FindingRevision
    title: str
    body: str


def revision_text(revision: FindingRevision, finding: Finding) -> RevisionText:
    org = finding.owner_org
    return RevisionText(
        revision=revision,
        title=open_text(org=org, object_id=f"revision:{revision.uuid}:title", sealed=revision.title_sealed),
        body=open_text(org=org, object_id=f"revision:{revision.uuid}:body", sealed=revision.body_sealed),
    )


def revision_title(revision: FindingRevision, finding: Finding) -> str:
    return open_text(
        org=finding.owner_org, object_id=f"revision:{revision.uuid}:title", sealed=revision.title_sealed
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
    from interlock.findings.notifications import active_members

    finding = access_finding_by_id(actor, finding_uuid, action=Action.SHARE)
    groups = _groups_for(actor, audience.group_uuids)
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
    return open_text(org=finding.owner_org, object_id=f"comment:{comment.uuid}", sealed=comment.body_sealed)


def finding_read(*, actor: Principal, finding_uuid: object) -> tuple[Finding, RevisionText]:
    """The current revision, decrypted; reads of RED and AMBER+STRICT content are audited."""
    finding = access_finding_by_id(actor, finding_uuid, action=Action.VIEW)
    assert finding.current_revision is not None  # noqa: S101 - created with revision 1
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
