"""Attachments are artifacts whose parent is a finding: authorised through the finding every time."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from interlock.access import Action, visible
from interlock.access.principal import Principal
from interlock.artifacts.parents import ArtifactParent, register_parent
from interlock.findings.access import access_finding_by_id
from interlock.findings.models import Finding


def _finding_parent(principal: Principal, parent_id: str, action: Action) -> ArtifactParent:
    finding = access_finding_by_id(
        principal, parent_id, action=Action.ATTACH if action == Action.ATTACH else Action.VIEW
    )
    return ArtifactParent("finding", str(finding.uuid), finding.owner_org, kind="attachment")


def _visible_finding_ids(principal: Principal) -> QuerySet[Any]:
    return visible(principal, Finding.objects.all()).values("uuid")


register_parent("finding", _finding_parent, _visible_finding_ids)
