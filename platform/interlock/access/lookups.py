"""The generic chokepoint: fetch one protected object by its public id, or raise NotFound.

A forbidden object raises exactly what a missing one raises (STYLE.md, Zulip's
`access_stream_by_id`), so ids cannot be probed. `PolicyDenied` (403) is used only when the
principal may *see* the object but not do this to it. Each app's `access.py` has its own
`access_<entity>_by_id` built on this one routine.
"""

from __future__ import annotations

import uuid
from typing import TypeVar

from django.db.models import Model, QuerySet

from interlock.access.actions import Action, scope_of
from interlock.access.policy import can, sees
from interlock.access.principal import Principal
from interlock.core.errors import NotFound, PolicyDenied

M = TypeVar("M", bound=Model)


def parse_uuid(value: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise NotFound from None


def require_scope(principal: Principal, action: Action) -> None:
    """Refuse before any lookup, so a token's missing scope answers the same for every id."""
    scope = scope_of(action)
    if not principal.has_scope(scope):
        raise PolicyDenied(f"This token lacks the '{scope}' scope.")


def access_by_uuid(principal: Principal, queryset: QuerySet[M], object_uuid: object, *, action: Action) -> M:
    """Look up, check the object exists for the principal (else NotFound), then `action`
    (else PolicyDenied with the rule's reason hidden)."""
    require_scope(principal, action)
    obj = queryset.filter(uuid=parse_uuid(object_uuid)).first()
    if obj is None or not sees(principal, obj):
        raise NotFound
    if action != Action.VIEW and not can(principal, action, obj):
        raise PolicyDenied("You are not allowed to do that.")
    return obj
