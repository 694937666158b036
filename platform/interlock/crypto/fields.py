"""Encrypted text fields (finding bodies, comments) under the same key hierarchy as artifacts.

A sealed value is self-describing bytes:

    0x01 ‖ key version (uint32) ‖ len(wrapped data key) (uint16) ‖ wrapped data key ‖ nonce (12) ‖ AES-256-GCM(text)

The data key is per value, wrapped under the owner organisation's key version with the
value's identity (`object_id`, e.g. "revision:<uuid>:body", always built by a function of
`interlock_wire.associated_data`) as associated data, and
the same identity is the GCM associated data, so a value copied to another row or field
does not open. Services seal on write and open on read; nothing decrypts implicitly on
attribute access, so a queryset can never leak plaintext into a log or a serializer by accident.
Rotation re-wraps the embedded data key (`sealed_rewrap`) without touching the ciphertext.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import models

from interlock.crypto.keys import cached, data_key_new, data_key_open, data_key_rewrap
from interlock.crypto.models import OrgKeyVersion
from interlock.network.models import Organisation
from interlock_wire import IntegrityError

_VERSION = 1


class SealedTextField(models.BinaryField):
    """Holds a sealed value (bytes). Use `seal_text` / `open_text`; never store plaintext here."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Sealed:
    key_version: int
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes

    def encode(self) -> bytes:
        return (
            struct.pack(">BIH", _VERSION, self.key_version, len(self.wrapped_key))
            + self.wrapped_key
            + self.nonce
            + self.ciphertext
        )

    @staticmethod
    def decode(raw: bytes) -> _Sealed:
        if len(raw) < 7:
            raise IntegrityError("sealed value is too short")
        version, key_version, wrapped_len = struct.unpack(">BIH", raw[:7])
        if version != _VERSION:
            raise IntegrityError(f"unsupported sealed value version {version}")
        wrapped = raw[7 : 7 + wrapped_len]
        nonce = raw[7 + wrapped_len : 7 + wrapped_len + 12]
        if len(wrapped) != wrapped_len or len(nonce) != 12:
            raise IntegrityError("sealed value is truncated")
        return _Sealed(key_version, wrapped, nonce, raw[7 + wrapped_len + 12 :])


def seal_text(*, org: Organisation, object_id: str, text: str) -> bytes:
    data_key = data_key_new(org=org, object_id=object_id)
    nonce = os.urandom(12)
    ciphertext = AESGCM(data_key.key).encrypt(nonce, text.encode(), object_id.encode())
    return _Sealed(data_key.key_version.version, data_key.wrapped, nonce, ciphertext).encode()


def _version(org: Organisation, number: int) -> OrgKeyVersion:
    version = cached(
        ("key-version", org.pk, number),
        lambda: (
            OrgKeyVersion.objects.select_related("organisation")
            .filter(organisation=org, version=number)
            .first()
        ),
    )
    if version is None:
        raise IntegrityError("the sealed value names an unknown key version")
    return version


def open_text(*, org: Organisation, object_id: str, sealed: bytes | memoryview) -> str:
    """The plaintext; IntegrityError if altered or moved, KeyDestroyed if its key was shredded."""
    value = _Sealed.decode(bytes(sealed))
    key = data_key_open(
        key_version=_version(org, value.key_version), wrapped=value.wrapped_key, object_id=object_id
    )
    try:
        return AESGCM(key).decrypt(value.nonce, value.ciphertext, object_id.encode()).decode()
    except InvalidTag:
        raise IntegrityError("the sealed value failed authentication") from None


@dataclass(frozen=True)
class SealedFieldSpec:
    """Where sealed values live, so key rotation can re-wrap them: a model, its sealed fields,
    the lookup path to the owner organisation, and each value's identity (its associated data)."""

    model: type[models.Model]
    fields: tuple[str, ...]
    org_path: str
    object_id: Callable[[Any, str], str]


SEALED_FIELDS: list[SealedFieldSpec] = []


def register_sealed_fields(spec: SealedFieldSpec) -> None:
    SEALED_FIELDS.append(spec)


def sealed_key_version(sealed: bytes) -> int:
    return _Sealed.decode(bytes(sealed)).key_version


def sealed_rewrap(*, org: Organisation, object_id: str, sealed: bytes, to_version: OrgKeyVersion) -> bytes:
    """The same ciphertext with its data key re-wrapped under `to_version` (rotation)."""
    value = _Sealed.decode(bytes(sealed))
    wrapped = data_key_rewrap(
        from_version=_version(org, value.key_version),
        to_version=to_version,
        wrapped=value.wrapped_key,
        object_id=object_id,
    )
    return _Sealed(to_version.version, wrapped, value.nonce, value.ciphertext).encode()
