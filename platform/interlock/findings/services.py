"""Writes about findings. Every write validates the three axes together and audits itself."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone

from interlock.access import Action
from interlock.access.clearance import clearance_allows
from interlock.access.lookups import parse_uuid
from interlock.access.principal import Principal
from interlock.accounts.access import access_person_by_id
from interlock.accounts.models import Person
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.core.errors import ApplicationError, NotFound, PolicyDenied
from interlock.crypto.fields import seal_text
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
from interlock.findings.rules import Audience, audience_errors, content_hash, groups_for
from interlock.network.models import OrganisationStatus, SharingGroup
from interlock.notifications.tasks import notify_after_commit
from interlock_wire import comment_object_id, revision_field_object_id

MAX_TITLE = 300
MAX_BODY = 200_000
MAX_GRANT_DAYS = 365


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
        org=finding.owner_org,
        object_id=revision_field_object_id(revision_uuid=revision.uuid, field="title"),
        text=title,
    )
    revision.body_sealed = seal_text(
        org=finding.owner_org,
        object_id=revision_field_object_id(revision_uuid=revision.uuid, field="body"),
        text=body,
    )
    revision.save()
    finding.current_revision = revision
    finding.updated_at = timezone.now()
    finding.save(update_fields=["current_revision", "updated_at"])
    return revision


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
        notify_after_commit(kind="finding_revised", target_type="finding", target_id=finding.pk)
    return revision


@transaction.atomic
def finding_share(
    *, actor: Principal, finding_uuid: object, label: str, audience: Audience, tags: list[str] | None = None
) -> Finding:
    """Set the label and the audience together (refused when inconsistent) and publish a draft."""
    finding = access_finding_by_id(actor, finding_uuid, action=Action.SHARE)
    groups = groups_for(actor, audience.group_uuids)
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
    notify_after_commit(kind="finding_shared", target_type="finding", target_id=finding.pk)
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
    notify_after_commit(
        kind="finding_granted", target_type="finding", target_id=finding.pk, recipient_ids=[grantee.pk]
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
    comment.body_sealed = seal_text(
        org=finding.owner_org, object_id=comment_object_id(comment_uuid=comment.uuid), text=body
    )
    comment.save()
    audit_record(
        actor=actor, event=Event.COMMENT_CREATED, target=finding, extra={"comment": str(comment.uuid)}
    )
    notify_after_commit(
        kind="comment_created", target_type="finding", target_id=finding.pk, exclude_ids=[actor.pk]
    )
    return comment
