"""The label↔audience table and the content hash: pure rules both writes and reads apply.

`audience_errors` is the table of DESIGN.md (label → which audiences it allows), asked on save,
share, preview and release; `content_hash` is what revisions are pinned by.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.db.models import Q

from interlock.access.lookups import parse_uuid
from interlock.access.principal import Principal
from interlock.core.errors import ApplicationError
from interlock.findings.models import Label
from interlock.network.models import SharingGroup


@dataclass(frozen=True)
class Audience:
    own_org: bool = False
    network: bool = False
    group_uuids: tuple[str, ...] = ()


# Why "My whole organisation" is refused under the two narrowest labels. TLP 2.0 lets recipients of
# TLP:AMBER+STRICT share it across their own organisation; Interlock is stricter on purpose: inside
# the platform AMBER+STRICT reaches only the authors and the people of the owner organisation named
# with a grant, so every reader is a name on a list and every read is recorded (DESIGN.md's table).
OWN_ORG_REFUSED: dict[str, str] = {
    Label.RED: "TLP:RED goes only to people named with a grant, never to a whole organisation.",
    Label.AMBER_STRICT: (
        "In Interlock TLP:AMBER+STRICT goes to people of your organisation you name, not to all of it at "
        "once (stricter than TLP 2.0, so every reader is named and recorded). For the whole "
        "organisation choose TLP:AMBER."
    ),
}


def audience_errors(*, label: str, audience: Audience, groups: list[SharingGroup]) -> dict[str, list[str]]:
    """The label↔audience table of DESIGN.md; an empty dict means consistent."""
    errors: dict[str, list[str]] = {}
    if label not in Label.values:
        errors["label"] = [f"one of {', '.join(Label.values)}"]
        return errors
    if label == Label.CLEAR:
        errors["label"] = ["TLP:CLEAR is set only by a released disclosure decision"]
    if label in (Label.RED, Label.AMBER_STRICT):
        if audience.own_org:
            errors["audience_own_org"] = [OWN_ORG_REFUSED[label]]
        if groups:
            errors["groups"] = ["sharing groups never carry TLP:RED or TLP:AMBER+STRICT"]
    if audience.network and label not in (Label.GREEN, Label.CLEAR):
        errors["audience_network"] = ["only TLP:GREEN (or CLEAR) findings go to the whole network"]
    return errors


def content_hash(title: str, body: str) -> str:
    """The SHA-256 a revision is pinned by (disclosure cases compare released text with it too)."""
    return hashlib.sha256(json.dumps({"title": title, "body": body}, sort_keys=True).encode()).hexdigest()


def groups_for(actor: Principal, group_uuids: tuple[str, ...]) -> list[SharingGroup]:
    """Only groups the author's organisation belongs to (or owns) can be an audience."""
    parsed = [parse_uuid(u) for u in group_uuids]
    groups = list(
        SharingGroup.objects.filter(uuid__in=parsed)
        .filter(Q(members=actor.organisation_id) | Q(owner_org=actor.organisation_id))
        .distinct()
    )
    if len({g.pk for g in groups}) != len(set(parsed)):
        raise ApplicationError("Unknown sharing group.", {"groups": ["not a group your organisation is in"]})
    return list({g.pk: g for g in groups}.values())
