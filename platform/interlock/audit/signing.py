"""The Ed25519 key that signs audit seals, kept in a file outside the database, and the exact
message a seal signs — shared by sealing (services) and verification."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings


def seal_signing_key() -> Ed25519PrivateKey:
    """The Ed25519 key that signs seals; kept in a file outside the database."""
    path = Path(settings.AUDIT_SEAL_KEY_FILE)
    if not path.exists():
        if settings.PRODUCTION:
            raise RuntimeError("AUDIT_SEAL_KEY_FILE does not exist")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_bytes(Ed25519PrivateKey.generate().private_bytes_raw())
        path.chmod(0o600)
    return Ed25519PrivateKey.from_private_bytes(path.read_bytes())


def public_key_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def seal_message(
    *, first_seq: int, last_seq: int, merkle_root: str, head_hash: str, prev_seal_hash: str, sealed_at: str
) -> bytes:
    return json.dumps(
        {
            "first_seq": first_seq,
            "last_seq": last_seq,
            "merkle_root": merkle_root,
            "head_hash": head_hash,
            "prev_seal_hash": prev_seal_hash,
            "sealed_at": sealed_at,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
