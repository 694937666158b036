"""Key lifecycle: rotation (re-wrap only, resumable) and crypto-shredding (two stewards confirm)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from interlock.access import NETWORK, Action, Principal, can
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.core.errors import ApplicationError, Conflict, InvalidState, NotFound
from interlock.crypto.keyring import key_provider
from interlock.crypto.keys import data_key_rewrap, org_key_create
from interlock.crypto.models import KeyRotation, KeyShredConfirmation, KeyState, OrgKeyVersion
from interlock.network.models import Organisation
from interlock_wire import artifact_object_id

REWRAP_BATCH = 200
SHRED_CONFIRMATIONS = 2


def _wrapped_objects() -> list[Any]:
    """Every model that holds data keys wrapped under an organisation key version, found from
    the models themselves (a `wrapped_data_key` beside a `key_version`), so a model added later
    is shredded with its key without anyone remembering to list it."""
    from django.apps import apps

    def holds_wrapped_keys(model: Any) -> bool:
        names = {field.name for field in model._meta.get_fields()}
        return {"wrapped_data_key", "key_version"} <= names

    return [model for model in apps.get_models() if holds_wrapped_keys(model)]


@transaction.atomic
def org_key_rotate(*, org: Organisation, actor: Principal | None = None) -> KeyRotation:
    """A new active version; older active ones become decrypt-only until the re-wrap finishes."""
    if KeyRotation.objects.filter(organisation=org, state=KeyRotation.State.RUNNING).exists():
        raise Conflict("A rotation is already running for this organisation.")
    version = org_key_create(org=org, actor=actor)
    total = sum(
        model.objects.filter(key_version__organisation=org).exclude(key_version=version).count()
        for model in _wrapped_objects()
    )
    rotation = KeyRotation.objects.create(organisation=org, to_version=version, total=total)
    audit_record(
        actor=actor,
        event=Event.ORG_KEY_ROTATION_STARTED,
        target=rotation,
        extra={"to": version.version, "total": total},
    )
    return rotation


def org_key_rotation_run(*, rotation_id: int, batch_size: int = REWRAP_BATCH) -> KeyRotation:
    """Re-wrap data keys in small idempotent batches until none is left on an older version.

    Each batch is its own transaction and only touches rows still on an older version, so a
    worker killed mid-way loses nothing: the next run continues where the last commit ended.
    """
    while True:
        with transaction.atomic():
            rotation = (
                KeyRotation.objects.select_for_update()
                .select_related("to_version__organisation")
                .get(pk=rotation_id)
            )
            if rotation.state == KeyRotation.State.DONE:
                return rotation
            target = rotation.to_version
            moved = 0
            for model in _wrapped_objects():
                rows = list(
                    model.objects.select_for_update(skip_locked=True)
                    .filter(key_version__organisation=target.organisation)
                    .exclude(key_version=target)
                    .exclude(key_version__state=KeyState.DESTROYED)
                    .select_related("key_version__organisation")[:batch_size]
                )
                for row in rows:
                    row.wrapped_data_key = data_key_rewrap(
                        from_version=row.key_version,
                        to_version=target,
                        wrapped=bytes(row.wrapped_data_key),
                        object_id=artifact_object_id(artifact_uuid=row.uuid),
                    )
                    row.key_version = target
                    row.save(update_fields=["wrapped_data_key", "key_version"])
                moved += len(rows)
            rotation.rewrapped += moved
            if moved == 0:
                rotation.rewrapped += _rewrap_sealed_fields(target)
                rotation.state = KeyRotation.State.DONE
                rotation.finished_at = timezone.now()
                OrgKeyVersion.objects.filter(
                    organisation=target.organisation, state=KeyState.DECRYPT_ONLY
                ).update(state=KeyState.RETIRED)
                audit_record(
                    actor=None,
                    event=Event.ORG_KEY_ROTATION_FINISHED,
                    target=rotation,
                    extra={"rewrapped": rotation.rewrapped},
                    actor_label="key-rotation",
                )
            rotation.save(update_fields=["rewrapped", "state", "finished_at"])
            if rotation.state == KeyRotation.State.DONE:
                return rotation


def _rewrap_sealed_fields(target: OrgKeyVersion, batch_size: int = REWRAP_BATCH) -> int:
    """Re-wrap the data keys inside sealed text values (findings, comments) under `target`.

    Values carry their key version, so the pass is idempotent: a value already under `target`
    (or under a destroyed version) is skipped. It runs inside the rotation's final transaction,
    under the lock on the rotation row, so either every value moved and the rotation is done,
    or nothing moved and the next run does it again."""
    from interlock.crypto.fields import SEALED_FIELDS, sealed_key_version, sealed_rewrap

    org = target.organisation
    destroyed = set(
        OrgKeyVersion.objects.filter(organisation=org, state=KeyState.DESTROYED).values_list(
            "version", flat=True
        )
    )
    changed = 0
    for spec in SEALED_FIELDS:
        cursor = 0
        while True:
            rows = list(
                spec.model._default_manager.filter(**{spec.org_path: org}, pk__gt=cursor).order_by("pk")[
                    :batch_size
                ]
            )
            if not rows:
                break
            for row in rows:
                updates = []
                for name in spec.fields:
                    sealed = bytes(getattr(row, name))
                    version = sealed_key_version(sealed)
                    if version == target.version or version in destroyed:
                        continue
                    setattr(
                        row,
                        name,
                        sealed_rewrap(
                            org=org, object_id=spec.object_id(row, name), sealed=sealed, to_version=target
                        ),
                    )
                    updates.append(name)
                if updates:
                    row.save(update_fields=updates)
                    changed += 1
            cursor = rows[-1].pk
    return changed


@transaction.atomic
def org_key_shred_confirm(*, org: Organisation, version: int, steward: Principal) -> OrgKeyVersion:
    """Record one steward's confirmation; the second distinct steward destroys the key.

    Destruction deletes the provider key (authoritative, outside the database), so the
    organisation key version stays unreadable even if an older database dump is restored.
    """
    if not can(steward, Action.MANAGE_KEYS, org):
        raise NotFound("No such steward.")
    key_version = OrgKeyVersion.objects.select_for_update().filter(organisation=org, version=version).first()
    if key_version is None:
        raise NotFound("No such key version.")
    if key_version.state == KeyState.DESTROYED:
        raise InvalidState("This key version is already destroyed.")
    if key_version.state == KeyState.ACTIVE:
        raise InvalidState("Rotate the organisation key first: the active version cannot be destroyed.")
    _, created = KeyShredConfirmation.objects.get_or_create(
        key_version=key_version, confirmed_by=steward.person
    )
    if not created:
        raise Conflict("You already confirmed; a second steward must confirm.")
    audit_record(
        actor=steward, event=Event.ORG_KEY_SHRED_CONFIRMED, target=key_version, extra={"version": version}
    )
    if key_version.shred_confirmations.count() < SHRED_CONFIRMATIONS:
        return key_version
    key_provider().destroy(key_version.provider_key_id)
    key_version.state = KeyState.DESTROYED
    key_version.destroyed_at = timezone.now()
    key_version.save(update_fields=["state", "destroyed_at"])
    shredded = 0
    for model in _wrapped_objects():
        shredded += model.objects.filter(key_version=key_version).update(state="shredded")
    audit_record(
        actor=steward,
        event=Event.ORG_KEY_DESTROYED,
        target=key_version,
        extra={"version": version, "objects": shredded},
    )
    return key_version


def org_key_versions_for_shredding(*, actor: Principal) -> list[OrgKeyVersion]:
    """Key versions a steward may confirm for destruction (decrypt-only or retired), each with
    `confirmations` and `confirmed_by_actor`; nobody else sees any (an empty list)."""
    if not can(actor, Action.MANAGE_KEYS, NETWORK):
        return []
    versions = list(
        OrgKeyVersion.objects.select_related("organisation")
        .filter(state__in=[KeyState.DECRYPT_ONLY, KeyState.RETIRED])
        .prefetch_related("shred_confirmations")
        .order_by("organisation__name", "version")
    )
    for version in versions:
        confirmers = {c.confirmed_by_id for c in version.shred_confirmations.all()}
        version.confirmations = len(confirmers)  # type: ignore[attr-defined]
        version.confirmed_by_actor = actor.pk in confirmers  # type: ignore[attr-defined]
    return versions


def organisation_by_slug(slug: str) -> Organisation:
    org = Organisation.objects.filter(slug=slug).first()
    if org is None:
        raise ApplicationError(f"no organisation with slug {slug!r}")
    return org
