"""Rotation re-wraps every sealed value of every model, so "rotate, then shred the old version"
never destroys live data (docs/crypto.md, operations).

The registry of sealed fields is proven complete from the models themselves: every
`SealedTextField` of every model must be registered for rotation, and this test must build a row
of that model — a model added later fails here until both are done. The mutant forgets one
registration (analysis metrics, the defect this test was written for) and turns it red.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps

from analysis_workers.zoo import example_spec
from interlock.analyses.models import AnalysisRequest, AnalysisResult, AnalysisState
from interlock.checkpoints.services import checkpoint_register
from interlock.crypto import fields as sealed_fields
from interlock.crypto.fields import SealedTextField, open_text, seal_text
from interlock.crypto.keyring import KeyDestroyed
from interlock.crypto.services import org_key_rotate, org_key_rotation_run, org_key_shred_confirm
from interlock.disclosure.models import DisclosureCase
from interlock.disclosure.services.cases import case_open
from interlock.findings.models import Comment, FindingRevision
from interlock.findings.rules import Audience
from interlock.findings.services import comment_create, finding_create, finding_share
from interlock_wire import analysis_result_object_id
from tests.interlock.builders import principal_for

pytestmark = pytest.mark.django_db

ASSESSMENT = {"enables": "little", "generality": "narrow", "novelty": "some", "mitigations": "none needed"}


def _sealed_models() -> dict[type, tuple[str, ...]]:
    found: dict[type, tuple[str, ...]] = {}
    for model in apps.get_models():
        names = tuple(f.name for f in model._meta.get_fields() if isinstance(f, SealedTextField))
        if names:
            found[model] = names
    return found


def _one_of_each(network: Any) -> Any:
    """A row of every model with sealed fields, all under one organisation's key."""
    author = network.person(clearance=1)
    org = author.organisation
    finding = finding_create(actor=principal_for(author), title="T", body="B", label="amber")
    finding_share(
        actor=principal_for(author), finding_uuid=finding.uuid, label="amber", audience=Audience(own_org=True)
    )
    comment_create(actor=principal_for(author), finding_uuid=finding.uuid, body="C")
    case_open(
        actor=principal_for(author),
        finding_uuid=finding.uuid,
        target="network",
        rationale="Widen it to the network.",
        assessment=ASSESSMENT,
    )
    checkpoint = checkpoint_register(actor=principal_for(author), name="m", spec=example_spec("mlp"))
    request = AnalysisRequest.objects.create(
        requester=author,
        checkpoint=checkpoint,
        approval_id=0,
        kind="llc",
        params={},
        dataset={},
        state=AnalysisState.SUCCEEDED,
    )
    result = AnalysisResult(request=request)
    result.metrics_sealed = seal_text(
        org=org,
        object_id=analysis_result_object_id(request_uuid=request.uuid),
        text=json.dumps({"metrics": {"llc_mean": 1.0}}),
    )
    result.save()
    return org


BUILT: dict[type, Callable[[], Any]] = {
    FindingRevision: FindingRevision.objects.all,
    Comment: Comment.objects.all,
    DisclosureCase: DisclosureCase.objects.all,
    AnalysisResult: AnalysisResult.objects.all,
}


def test_every_sealed_field_is_registered_for_rotation_and_built_here() -> None:
    registered = {spec.model: spec.fields for spec in sealed_fields.SEALED_FIELDS}
    assert _sealed_models() == registered
    assert set(BUILT) == set(registered)


def _unreadable_after_rotate_and_shred(network: Any) -> list[str]:
    org = _one_of_each(network)
    org_key_rotation_run(rotation_id=org_key_rotate(org=org).pk)
    for _ in range(2):
        org_key_shred_confirm(org=org, version=1, steward=principal_for(network.person(steward=True)))
    lost = []
    for spec in sealed_fields.SEALED_FIELDS:
        for row in BUILT[spec.model]():
            for name in spec.fields:
                try:
                    open_text(org=org, object_id=spec.object_id(row, name), sealed=getattr(row, name))
                except KeyDestroyed:
                    lost.append(f"{spec.model.__name__}.{name}")
    return lost


def test_rotate_then_shred_keeps_every_sealed_value_readable(network: Any) -> None:
    assert _unreadable_after_rotate_and_shred(network) == []


def test_mutant_that_forgets_the_analysis_metrics_loses_them(network: Any, monkeypatch: Any) -> None:
    kept = [spec for spec in sealed_fields.SEALED_FIELDS if spec.model is not AnalysisResult]
    forgotten = [spec for spec in sealed_fields.SEALED_FIELDS if spec.model is AnalysisResult]
    monkeypatch.setattr(sealed_fields, "SEALED_FIELDS", kept)
    org_lost = _unreadable_after_rotate_and_shred(network)
    assert org_lost == []  # the forgotten model is not even looked at by the rotation …
    org = AnalysisResult.objects.get().request.checkpoint.owner_org
    row = AnalysisResult.objects.get()
    with pytest.raises(KeyDestroyed):  # … and its metrics died with the shredded version
        open_text(org=org, object_id=forgotten[0].object_id(row, "metrics_sealed"), sealed=row.metrics_sealed)
