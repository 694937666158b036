"""Writing to the audit log: one row per act, inside the act's own transaction."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from interlock.audit import chain
from interlock.audit.events import Event
from interlock.audit.models import AuditEvent, AuditSeal
from interlock.audit.signing import public_key_hex, seal_message, seal_signing_key

# Any constant: all appends take this transaction-scoped advisory lock, so the chain is
# extended by one transaction at a time and no two rows share a predecessor.
_CHAIN_LOCK_ID = 0x1A7E_C0DE


def audit_record(
    *,
    actor: Any | None,
    event: Event,
    target: models.Model | None = None,
    extra: dict[str, Any] | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Append one event. Must run inside the caller's transaction: if it fails, so does the act.

    `extra` holds ids and hashes only — never content, never secrets.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record must be called inside the act's transaction")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_ID])
    last = AuditEvent.objects.order_by("-seq").values("seq", "entry_hash").first()
    seq = (last["seq"] + 1) if last else 1
    prev_hash = last["entry_hash"] if last else chain.GENESIS_HASH
    occurred_at = timezone.now()
    actor = getattr(actor, "person", actor)  # a Principal records the person behind it
    actor_id = getattr(actor, "pk", None)
    label = actor_label or (getattr(actor, "email", None) or "system")
    target_type = target._meta.label_lower if target is not None else ""
    target_id = str(target.pk) if target is not None else ""
    payload = json.loads(json.dumps(extra or {}, default=str, sort_keys=True))
    entry = chain.canonical_entry(
        seq=seq,
        occurred_at=occurred_at.isoformat(),
        actor_id=actor_id,
        actor_label=label,
        event=str(event),
        target_type=target_type,
        target_id=target_id,
        extra=payload,
        prev_hash=prev_hash,
    )
    return AuditEvent.objects.create(
        seq=seq,
        occurred_at=occurred_at,
        actor_id=actor_id,
        actor_label=label,
        event=str(event),
        target_type=target_type,
        target_id=target_id,
        extra=payload,
        prev_hash=prev_hash,
        entry_hash=chain.leaf_hash(entry),
    )


@transaction.atomic
def audit_seal() -> AuditSeal | None:
    """Seal every event since the last seal; None when there is nothing new."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_ID])
    previous = AuditSeal.objects.order_by("-last_seq").first()
    first_seq = previous.last_seq + 1 if previous else 1
    rows = list(
        AuditEvent.objects.filter(seq__gte=first_seq).order_by("seq").values_list("seq", "entry_hash")
    )
    if not rows:
        return None
    key = seal_signing_key()
    sealed_at = timezone.now()
    last_seq, head_hash = rows[-1]
    root = chain.merkle_root([entry_hash for _, entry_hash in rows])
    prev_seal_hash = previous.seal_hash if previous else chain.GENESIS_HASH
    message = seal_message(
        first_seq=first_seq,
        last_seq=last_seq,
        merkle_root=root,
        head_hash=head_hash,
        prev_seal_hash=prev_seal_hash,
        sealed_at=sealed_at.isoformat(),
    )
    seal = AuditSeal.objects.create(
        first_seq=first_seq,
        last_seq=last_seq,
        merkle_root=root,
        head_hash=head_hash,
        prev_seal_hash=prev_seal_hash,
        sealed_at=sealed_at,
        public_key=public_key_hex(key),
        signature=base64.b64encode(key.sign(message)).decode(),
        seal_hash=hashlib.sha256(message).hexdigest(),
    )
    return seal
