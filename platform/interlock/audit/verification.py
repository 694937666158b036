"""Checking the audit log: the chain row by row, then every seal against its key."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from interlock.audit import chain
from interlock.audit.models import AuditEvent, AuditSeal
from interlock.audit.signing import public_key_hex, seal_message, seal_signing_key


@dataclass(frozen=True)
class VerificationReport:
    events_checked: int
    seals_checked: int
    first_broken_seq: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_audit(*, batch_size: int = 5000) -> VerificationReport:
    """Walk the chain in `seq` order; report the first row whose link or hash does not hold."""
    expected_seq = 1
    prev_hash = chain.GENESIS_HASH
    leaves: dict[int, str] = {}
    checked = 0
    queryset = AuditEvent.objects.order_by("seq").values_list(
        "seq",
        "occurred_at",
        "actor_id",
        "actor_label",
        "event",
        "target_type",
        "target_id",
        "extra",
        "prev_hash",
        "entry_hash",
        "id",
    )
    for row in queryset.iterator(chunk_size=batch_size):
        (
            seq,
            occurred_at,
            actor_id,
            actor_label,
            event,
            target_type,
            target_id,
            extra,
            row_prev,
            entry_hash,
            _,
        ) = row
        if seq != expected_seq:
            return VerificationReport(
                checked, 0, expected_seq, f"event #{expected_seq} is missing (next is #{seq})"
            )
        if row_prev != prev_hash:
            return VerificationReport(checked, 0, seq, f"event #{seq} does not link to event #{seq - 1}")
        entry = chain.canonical_entry(
            seq=seq,
            occurred_at=occurred_at.isoformat(),
            actor_id=actor_id,
            actor_label=actor_label,
            event=event,
            target_type=target_type,
            target_id=target_id,
            extra=extra,
            prev_hash=row_prev,
        )
        if chain.leaf_hash(entry) != entry_hash:
            return VerificationReport(checked, 0, seq, f"event #{seq} was altered (its hash does not match)")
        leaves[seq] = entry_hash
        prev_hash = entry_hash
        expected_seq += 1
        checked += 1
    return _verify_seals(leaves, checked)


def _verify_seals(leaves: dict[int, str], checked: int) -> VerificationReport:
    trusted_key = public_key_hex(seal_signing_key())
    prev_seal_hash = chain.GENESIS_HASH
    seals = 0
    next_first = 1
    for seal in AuditSeal.objects.order_by("last_seq"):
        if seal.first_seq != next_first or seal.prev_seal_hash != prev_seal_hash:
            return VerificationReport(
                checked, seals, seal.first_seq, f"seal ending #{seal.last_seq} is out of sequence"
            )
        range_leaves = [leaves.get(seq) for seq in range(seal.first_seq, seal.last_seq + 1)]
        if any(leaf is None for leaf in range_leaves):
            missing = next(
                s
                for s, leaf in zip(range(seal.first_seq, seal.last_seq + 1), range_leaves, strict=True)
                if leaf is None
            )
            return VerificationReport(checked, seals, missing, f"event #{missing} was sealed but is gone")
        root = chain.merkle_root([leaf for leaf in range_leaves if leaf is not None])
        message = seal_message(
            first_seq=seal.first_seq,
            last_seq=seal.last_seq,
            merkle_root=seal.merkle_root,
            head_hash=seal.head_hash,
            prev_seal_hash=seal.prev_seal_hash,
            sealed_at=seal.sealed_at.isoformat(),
        )
        try:
            if seal.public_key != trusted_key:
                raise InvalidSignature
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(seal.public_key)).verify(
                base64.b64decode(seal.signature), message
            )
        except (InvalidSignature, ValueError):
            return VerificationReport(
                checked, seals, seal.first_seq, f"seal ending #{seal.last_seq} has a bad signature"
            )
        if root != seal.merkle_root:
            return VerificationReport(
                checked,
                seals,
                seal.first_seq,
                f"events #{seal.first_seq}..#{seal.last_seq} differ from their seal",
            )
        prev_seal_hash = seal.seal_hash
        next_first = seal.last_seq + 1
        seals += 1
    return VerificationReport(checked, seals, None, None)
