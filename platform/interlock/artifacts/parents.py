"""What an artifact can belong to. Access to an artifact is always access to its parent.

Each parent type registers a resolver that applies `interlock.access` to the parent, and the
same decision as SQL (the parent ids the principal may see), for lists of artifacts. Findings,
checkpoints and analyses register theirs; the organisation *library* — files an organisation
keeps for its own members — is the built-in parent type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from interlock.access import Action
from interlock.access.gate import network_gate
from interlock.access.principal import Principal
from interlock.core.errors import NotFound
from interlock.network.models import Organisation


@dataclass(frozen=True)
class ArtifactParent:
    parent_type: str
    parent_id: str
    owner_org: Organisation
    kind: str = "attachment"


Resolver = Callable[[Principal, str, Action], ArtifactParent]
RecordedHook = Callable[[Any], None]
VisibleIds = Callable[[Principal], QuerySet[Any]]
_RESOLVERS: dict[str, Resolver] = {}
_VISIBLE_IDS: dict[str, VisibleIds] = {}
_RECORDED: dict[str, RecordedHook] = {}


def register_parent(parent_type: str, resolver: Resolver, visible_ids: VisibleIds) -> None:
    _RESOLVERS[parent_type] = resolver
    _VISIBLE_IDS[parent_type] = visible_ids


def register_recorded_hook(parent_type: str, hook: RecordedHook) -> None:
    """`hook(artifact)` runs inside the transaction that records an artifact of this parent type
    (a checkpoint pins its file's hash); registered by the owning app's services at start-up."""
    _RECORDED[parent_type] = hook


def recorded_hook(parent_type: str) -> RecordedHook | None:
    return _RECORDED.get(parent_type)


def parent_types() -> dict[str, VisibleIds]:
    return dict(_VISIBLE_IDS)


def resolve_parent(principal: Principal, parent_type: str, parent_id: str, action: Action) -> ArtifactParent:
    """The parent if `principal` may do `action` (VIEW to read, ATTACH to add); NotFound otherwise."""
    resolver = _RESOLVERS.get(parent_type)
    if resolver is None:
        raise NotFound
    return resolver(principal, parent_id, action)


def _library(principal: Principal, parent_id: str, action: Action) -> ArtifactParent:
    """An organisation's own library: its active members read and add; nobody else sees it."""
    organisation = principal.person.organisation
    if not network_gate(principal) or organisation is None or str(organisation.uuid) != str(parent_id):
        raise NotFound
    if action not in (Action.VIEW, Action.ATTACH, Action.DOWNLOAD):
        raise NotFound
    return ArtifactParent("library", str(organisation.uuid), organisation, kind="library")


def _library_ids(principal: Principal) -> QuerySet[Any]:
    return Organisation.objects.filter(pk=principal.organisation_id).values("uuid")


register_parent("library", _library, _library_ids)
