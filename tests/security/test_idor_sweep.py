"""HTTP IDOR sweep over the objects of the analysis pipeline and disclosure review.

Every person of a small seeded network requests every object through every endpoint that takes
its id (API and pages); the set of 200s must equal the truth table written below in words, from
the rules of docs/analyses.md and docs/disclosure.md — never from `interlock.access` — and every
other answer must be a 404 (a 403 would confirm that the id exists). Prints the figure.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from interlock.analyses.models import OutputRelease
from interlock.checkpoints.models import AnalysisAccessGrant
from interlock.disclosure.services.cases import case_assign, case_open
from interlock.findings.rules import Audience
from interlock.findings.services import finding_create, finding_share
from tests.interlock.builders import PASSWORD, principal_for
from tests.support.disclosure import ASSESSMENT
from tests.support.sweep import approved_tiered_checkpoint, finished_analysis

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_every_person_requests_every_object_and_sees_exactly_the_truth_table(
    network: Any, api_client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    a, b, c = network.org("Owner"), network.org("Beta"), network.org("Gamma")
    people = {
        "a_requester": network.person(a, clearance=1, password=PASSWORD),
        "a_tier0": network.person(a, clearance=0, password=PASSWORD),
        "a_admin": network.person(a, role="org_admin", clearance=1, password=PASSWORD),
        "b_member": network.person(b, clearance=1, password=PASSWORD),
        "b_steward": network.person(b, steward=True, clearance=1, password=PASSWORD),
        "c_grantee": network.person(c, clearance=1, password=PASSWORD),
        "c_steward": network.person(c, steward=True, clearance=3, password=PASSWORD),
    }
    requester, steward_b = people["a_requester"], people["b_steward"]
    cpt0 = approved_tiered_checkpoint(requester, steward_b, api_client_for, "tier 0", 0)
    cpt1 = approved_tiered_checkpoint(requester, steward_b, api_client_for, "tier 1", 1)
    AnalysisAccessGrant.objects.create(
        checkpoint=cpt0,
        grantee=people["c_grantee"],
        reason="compare curves",
        state="approved",
        expires_at=timezone.now() + timedelta(days=3),
    )
    capture = django_capture_on_commit_callbacks
    analyses = {
        "own_t0": finished_analysis(requester, cpt0, capture),
        "own_t1": finished_analysis(requester, cpt1, capture),
        "grantee_t0": finished_analysis(people["c_grantee"], cpt0, capture),
        "released_t0": finished_analysis(requester, cpt0, capture),
        "pending_t1": finished_analysis(requester, cpt1, capture),
    }
    OutputRelease.objects.create(
        analysis=analyses["released_t0"],
        requested_by=requester,
        target="network",
        reason="r" * 12,
        state="approved",
    )
    OutputRelease.objects.create(
        analysis=analyses["pending_t1"], requested_by=requester, target="network", reason="r" * 12
    )
    finding = finding_create(actor=principal_for(requester), title="A finding", body="text", label="amber")
    finding_share(
        actor=principal_for(requester),
        finding_uuid=finding.uuid,
        label="amber",
        audience=Audience(own_org=True),
    )
    case = case_open(
        actor=principal_for(requester),
        finding_uuid=finding.uuid,
        target="network",
        rationale="Worth widening now.",
        assessment=ASSESSMENT,
    )
    case_assign(actor=principal_for(steward_b), case_uuid=case.uuid, person_uuid=people["b_member"].uuid)

    # --- the truth, in words ------------------------------------------------------------------
    def sees_checkpoint(name: str, checkpoint: Any) -> bool:
        person = people[name]
        member = name.startswith("a_") and person.clearance >= checkpoint.hazard_tier
        return member or person.is_steward or (name == "c_grantee" and checkpoint == cpt0)

    def sees_analysis(name: str, key: str) -> bool:
        request = analyses[key]
        person = people[name]
        tier = request.hazard_tier
        if person.pk == request.requester_id:
            return True
        if name.startswith("a_") and person.clearance >= tier:
            return True
        if key == "released_t0" and person.clearance >= tier:
            return True
        return key == "pending_t1" and person.is_steward

    def sees_case(name: str) -> bool:
        return name in ("a_requester", "b_member", "b_steward", "c_steward")

    plots = {key: request.uuid for key, request in analyses.items()}
    from interlock.artifacts.models import Artifact

    plot_ids = {
        key: Artifact.objects.get(parent_type="analysis", parent_id=uuid).uuid for key, uuid in plots.items()
    }
    requests = mismatches = 0
    problems = []
    for name, person in people.items():
        api = api_client_for(person)
        browser = network.signed_in_client(person)
        probes: list[tuple[str, Any, bool]] = []
        for checkpoint in (cpt0, cpt1):
            probes.append((f"/api/v1/checkpoints/{checkpoint.uuid}/", api, sees_checkpoint(name, checkpoint)))
            probes.append((f"/checkpoints/{checkpoint.uuid}/", browser, sees_checkpoint(name, checkpoint)))
        for key, request in analyses.items():
            allowed = sees_analysis(name, key)
            probes += [
                (f"/api/v1/analyses/{request.uuid}/", api, allowed),
                (f"/analyses/{request.uuid}/", browser, allowed),
                (f"/analyses/{request.uuid}/status/", browser, allowed),
                (f"/api/v1/artifacts/{plot_ids[key]}/", api, allowed),
                (f"/api/v1/artifacts/{plot_ids[key]}/content/", api, allowed),
                (f"/analyses/{request.uuid}/plots/{plot_ids[key]}.png", browser, allowed),
                (f"/analyses/{request.uuid}/metrics.csv", browser, allowed),
                (f"/analyses/{request.uuid}/metrics.json", browser, allowed),
            ]
        probes += [
            (f"/api/v1/disclosures/{case.uuid}/", api, sees_case(name)),
            (f"/disclosures/{case.uuid}/", browser, sees_case(name)),
        ]
        for path, client, allowed in probes:
            status = client.get(path).status_code
            requests += 1
            if (status == 200) != allowed or status not in (200, 404):
                mismatches += 1
                problems.append(f"{name} GET {path} -> {status}, expected {'200' if allowed else '404'}")
    print(
        f"\nIDOR sweep (analyses, plots, checkpoints, disclosures): {requests} requests, {mismatches} mismatches"
    )
    assert problems == []
