"""The rule for artifacts: an artifact is exactly as visible as its parent, never by id alone.

Metadata needs VIEW of the parent; content needs DOWNLOAD (a checkpoint's steward may see its
file's name and hash, not fetch its weights). The SQL filter is the union, over the registered
parent types, of the parent ids the principal may see.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from interlock.access import policy
from interlock.access.actions import Action, Decision, allow, deny
from interlock.access.lookups import parse_uuid, require_scope
from interlock.access.policy import sees
from interlock.access.principal import Principal
from interlock.artifacts.models import Artifact
from interlock.artifacts.parents import parent_types, resolve_parent
from interlock.core.errors import NotFound, PolicyDenied


def artifact_rule(principal: Principal, action: Action, artifact: Artifact) -> Decision:
    if action not in (Action.VIEW, Action.DOWNLOAD):
        return deny("artifacts are added and removed through their parent")
    try:
        resolve_parent(principal, artifact.parent_type, str(artifact.parent_id), action)
    except (NotFound, PolicyDenied):
        return deny(f"the parent {artifact.parent_type} does not allow {action}")
    return allow(f"through its {artifact.parent_type}")


def visible_artifacts(principal: Principal, queryset: QuerySet[Artifact]) -> QuerySet[Artifact]:
    allowed = Q(pk__in=[])
    for parent_type, visible_ids in parent_types().items():
        allowed |= Q(parent_type=parent_type, parent_id__in=visible_ids(principal))
    return queryset.filter(allowed)


def access_artifact_by_id(
    principal: Principal, artifact_uuid: object, *, action: Action = Action.VIEW
) -> Artifact:
    """An artifact is visible exactly when its parent is; any refusal answers like a missing one."""
    require_scope(principal, action)
    artifact = (
        Artifact.objects.select_related("owner_org", "key_version__organisation")
        .filter(uuid=parse_uuid(artifact_uuid))
        .first()
    )
    if artifact is None or not sees(principal, artifact) or not policy.can(principal, action, artifact):
        raise NotFound
    return artifact


policy.register(
    Artifact,
    rule=artifact_rule,
    filter_=visible_artifacts,
    actions=(Action.VIEW, Action.DOWNLOAD),
    axes="its parent's (finding, checkpoint, dataset, analysis or organisation library)",
    audience="whoever may see the parent; content only to those who may download from it",
)
