"""The envelope: organisation key versions (wrapped by the provider) wrap per-object data keys.

Associated data binds every wrapped key to what it protects, so a wrapped key copied onto
another row, organisation or version fails to unwrap; it is built by
`interlock_wire.org_key_ad` and `interlock_wire.data_key_ad`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import transaction

from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.crypto.keyring import KeyDestroyed, key_provider
from interlock.crypto.models import KeyState, OrgKeyVersion, new_provider_key_id
from interlock.network.models import Organisation
from interlock_wire import data_key_ad, keywrap, org_key_ad

_request_cache: ContextVar[dict[Any, Any] | None] = ContextVar("interlock_key_cache", default=None)


@contextmanager
def key_cache() -> Iterator[None]:
    """Within this block, key versions and unwrapped organisation keys are looked up once.

    Scoped to one request or task on purpose: a process-wide cache would keep a shredded
    key usable in memory after its destruction."""
    token = _request_cache.set({})
    try:
        yield
    finally:
        _request_cache.reset(token)


_T = TypeVar("_T")


def cached(key: Hashable, compute: Callable[[], _T]) -> _T:
    cache = _request_cache.get()
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def preload_key_versions(org_ids: set[int]) -> None:
    """Fill the request cache with every key version of these organisations (one query)."""
    cache = _request_cache.get()
    if cache is None:
        return
    for version in OrgKeyVersion.objects.select_related("organisation").filter(organisation_id__in=org_ids):
        cache.setdefault(("key-version", version.organisation_id, version.version), version)


@transaction.atomic
def org_key_create(*, org: Organisation, actor: object | None = None) -> OrgKeyVersion:
    """A new active version; the previous active one becomes decrypt-only."""
    Organisation.objects.select_for_update().get(pk=org.pk)
    latest = OrgKeyVersion.objects.filter(organisation=org).order_by("-version").first()
    number = (latest.version + 1) if latest else 1
    OrgKeyVersion.objects.filter(organisation=org, state=KeyState.ACTIVE).update(state=KeyState.DECRYPT_ONLY)
    provider_key_id = new_provider_key_id()
    provider = key_provider()
    provider.create_key(provider_key_id)
    wrapped = provider.wrap(
        provider_key_id, secrets.token_bytes(32), org_key_ad(org_uuid=org.uuid, version=number)
    )
    version = OrgKeyVersion.objects.create(
        organisation=org, version=number, provider_key_id=provider_key_id, wrapped_key=wrapped
    )
    audit_record(actor=actor, event=Event.ORG_KEY_CREATED, target=version, extra={"version": number})
    return version


def org_key_active(org: Organisation) -> OrgKeyVersion:
    version = OrgKeyVersion.objects.filter(organisation=org, state=KeyState.ACTIVE).first()
    return version if version is not None else org_key_create(org=org)


def _org_key_bytes(version: OrgKeyVersion) -> bytes:
    if version.state == KeyState.DESTROYED:
        raise KeyDestroyed(f"organisation key version {version.version} was destroyed")
    return key_provider().unwrap(
        version.provider_key_id,
        bytes(version.wrapped_key),
        org_key_ad(org_uuid=version.organisation.uuid, version=version.version),
    )


@dataclass(frozen=True)
class WrappedDataKey:
    key: bytes
    wrapped: bytes
    key_version: OrgKeyVersion


def data_key_new(*, org: Organisation, object_id: str) -> WrappedDataKey:
    """A fresh data key for one object, wrapped under the organisation's active key version."""
    version = org_key_active(org)
    key = keywrap.new_data_key()
    ad = data_key_ad(org_uuid=org.uuid, key_version=version.version, object_id=object_id)
    return WrappedDataKey(
        key=key, wrapped=keywrap.wrap_key(_org_key_bytes(version), key, ad), key_version=version
    )


def data_key_open(*, key_version: OrgKeyVersion, wrapped: bytes, object_id: str) -> bytes:
    """Unwrap an object's data key; KeyDestroyed if its version was shredded."""
    org = key_version.organisation
    ad = data_key_ad(org_uuid=org.uuid, key_version=key_version.version, object_id=object_id)
    aead = cached(("org-aead", key_version.pk), lambda: AESGCM(_org_key_bytes(key_version)))
    return keywrap.unwrap_key(aead, bytes(wrapped), ad)


def data_key_rewrap(
    *, from_version: OrgKeyVersion, to_version: OrgKeyVersion, wrapped: bytes, object_id: str
) -> bytes:
    """Re-wrap one data key under a newer version without touching the data it protects."""
    key = data_key_open(key_version=from_version, wrapped=wrapped, object_id=object_id)
    ad = data_key_ad(
        org_uuid=to_version.organisation.uuid, key_version=to_version.version, object_id=object_id
    )
    return keywrap.wrap_key(_org_key_bytes(to_version), key, ad)
