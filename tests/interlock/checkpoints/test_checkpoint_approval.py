"""Checkpoint registry and steward approval: bound to the file's hash, with an access level that
fixes the allowed kinds, an expiry and revocation; stewards see checkpoints but never the weights."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
import torch
from django.utils import timezone

from analysis_workers import zoo
from analysis_workers.kinds import allowed_kinds
from interlock.audit.models import AuditEvent
from interlock.checkpoints.models import Checkpoint, CheckpointApproval
from interlock.checkpoints.selectors import checkpoint_current_approval
from interlock.checkpoints.services import checkpoint_approve
from interlock.core.errors import ApplicationError, NotFound, PolicyDenied
from tests.interlock.builders import principal_for

pytestmark = pytest.mark.django_db

SPEC = zoo.example_spec("mlp")


@pytest.fixture
def lab(network, api_client_for):
    org = network.org()
    uploader = network.person(org, clearance=1, steward=True)
    colleague = network.person(org, clearance=1)
    steward = network.person(steward=True, clearance=1)  # approvers need clearance ≥ the tier (H1)
    return {
        "org": org,
        "uploader": uploader,
        "colleague": colleague,
        "steward": steward,
        "outsider": network.person(clearance=3),
        "api": api_client_for,
    }


def _register_and_upload(lab) -> tuple[dict, bytes]:
    api = lab["api"](lab["uploader"])
    created = api.post(
        "/api/v1/checkpoints/", {"name": "mod-add step 400", "spec": SPEC, "hazard_tier": 1}, format="json"
    )
    assert created.status_code == 201, created.content
    blob = zoo.save_checkpoint(zoo.build(SPEC, generator=torch.Generator().manual_seed(0)), SPEC)
    upload = api.generic(
        "POST",
        f"/api/v1/artifacts/?parent_type=checkpoint&parent_id={created.json()['id']}&filename=model.safetensors",
        blob,
        content_type="application/octet-stream",
    )
    assert upload.status_code == 201, upload.content
    return api.get(f"/api/v1/checkpoints/{created.json()['id']}/").json(), blob


def _approve(lab, checkpoint_id: str, sha256: str, *, level: int = 3, steward=None, days: int = 30):
    steward = steward or lab["steward"]
    return checkpoint_approve(
        actor=principal_for(steward),
        checkpoint_uuid=checkpoint_id,
        access_level=level,
        expires_at=timezone.now() + timedelta(days=days),
        sha256=sha256,
    )


def test_register_upload_pins_the_hash_and_refuses_a_second_file(lab) -> None:
    checkpoint, blob = _register_and_upload(lab)
    assert checkpoint["state"] == "uploaded" and checkpoint["sha256"] == hashlib.sha256(blob).hexdigest()
    assert checkpoint["allowed_kinds"] == [] and checkpoint["approval"] is None
    again = lab["api"](lab["uploader"]).generic(
        "POST",
        f"/api/v1/artifacts/?parent_type=checkpoint&parent_id={checkpoint['id']}",
        b"other",
        content_type="application/octet-stream",
    )
    assert again.status_code == 403
    assert Checkpoint.objects.get(uuid=checkpoint["id"]).sha256 == checkpoint["sha256"]


def test_bad_specs_are_refused_with_the_reason(lab) -> None:
    api = lab["api"](lab["uploader"])
    for spec, fragment in (
        ({"family": "resnet", "config": {}}, "unknown architecture"),
        ({"family": "mlp", "config": {"in_dim": 0, "hidden": [2], "out_dim": 1}}, "integer"),
    ):
        response = api.post("/api/v1/checkpoints/", {"name": "x", "spec": spec}, format="json")
        assert response.status_code == 400 and fragment in str(response.json()["error"]["fields"]["spec"])
    assert not Checkpoint.objects.exists()


def test_approval_rules_steward_not_uploader_and_exact_hash(lab) -> None:
    checkpoint, _ = _register_and_upload(lab)
    with pytest.raises(PolicyDenied):
        _approve(lab, checkpoint["id"], checkpoint["sha256"], steward=lab["uploader"])
    with pytest.raises(ApplicationError) as wrong_hash:
        _approve(lab, checkpoint["id"], "0" * 64)
    assert "sha256" in wrong_hash.value.extra
    colleague = lab["colleague"]
    with pytest.raises(PolicyDenied):
        checkpoint_approve(
            actor=principal_for(colleague),
            checkpoint_uuid=checkpoint["id"],
            access_level=3,
            expires_at=timezone.now() + timedelta(days=1),
            sha256=checkpoint["sha256"],
        )
    _approve(lab, checkpoint["id"], checkpoint["sha256"], level=3)
    read = lab["api"](lab["colleague"]).get(f"/api/v1/checkpoints/{checkpoint['id']}/").json()
    assert read["allowed_kinds"] == allowed_kinds(3) and read["approval"]["access_level"] == 3
    assert "llc" in allowed_kinds(3) and "llc" not in allowed_kinds(2) and "head_ablation" in allowed_kinds(2)
    assert AuditEvent.objects.filter(event="CHECKPOINT_APPROVED").count() == 1


def test_access_level_fixes_the_kinds(lab) -> None:
    checkpoint, _ = _register_and_upload(lab)
    _approve(lab, checkpoint["id"], checkpoint["sha256"], level=1)
    assert (
        lab["api"](lab["colleague"]).get(f"/api/v1/checkpoints/{checkpoint['id']}/").json()["allowed_kinds"]
        == []
    )


def test_an_altered_file_expiry_and_revocation_each_void_the_approval(lab) -> None:
    checkpoint, _ = _register_and_upload(lab)
    model = Checkpoint.objects.get(uuid=checkpoint["id"])
    _approve(lab, checkpoint["id"], checkpoint["sha256"])
    assert checkpoint_current_approval(model) is not None
    Checkpoint.objects.filter(pk=model.pk).update(sha256="f" * 64)  # the stored bytes changed
    assert checkpoint_current_approval(Checkpoint.objects.get(pk=model.pk)) is None
    Checkpoint.objects.filter(pk=model.pk).update(sha256=checkpoint["sha256"])
    CheckpointApproval.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert checkpoint_current_approval(model) is None
    _approve(lab, checkpoint["id"], checkpoint["sha256"])
    revoked = lab["api"](lab["steward"]).post(
        f"/api/v1/checkpoints/{checkpoint['id']}/revoke/", {"reason": "leak"}, format="json"
    )
    assert revoked.status_code == 200 and revoked.json()["allowed_kinds"] == []
    assert AuditEvent.objects.filter(event="CHECKPOINT_APPROVAL_REVOKED").count() == 1


def test_tokens_cannot_approve_without_a_recent_reauthentication(lab) -> None:
    checkpoint, _ = _register_and_upload(lab)
    response = lab["api"](lab["steward"]).post(
        f"/api/v1/checkpoints/{checkpoint['id']}/approve/",
        {
            "access_level": 3,
            "expires_at": (timezone.now() + timedelta(days=1)).isoformat(),
            "sha256": checkpoint["sha256"],
        },
        format="json",
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "reauthentication_required"
    assert not CheckpointApproval.objects.exists()


def test_stewards_see_checkpoints_but_only_members_fetch_the_weights(lab) -> None:
    checkpoint, blob = _register_and_upload(lab)
    content = f"/api/v1/artifacts/{checkpoint['artifact']}/content/"
    member = lab["api"](lab["colleague"]).get(content)
    assert b"".join(member.streaming_content) == blob
    assert lab["api"](lab["steward"]).get(f"/api/v1/checkpoints/{checkpoint['id']}/").status_code == 200
    steward_fetch = lab["api"](lab["steward"]).get(content)
    missing_fetch = lab["api"](lab["steward"]).get(f"/api/v1/artifacts/{uuid.uuid4()}/content/")
    assert steward_fetch.status_code == missing_fetch.status_code == 404
    for path in (f"/api/v1/checkpoints/{checkpoint['id']}/", content):
        assert lab["api"](lab["outsider"]).get(path).status_code == 404
    with pytest.raises(NotFound):
        _approve(lab, str(uuid.uuid4()), checkpoint["sha256"])


def test_kinds_registry_is_served(lab) -> None:
    served = lab["api"](lab["colleague"]).get("/api/v1/analysis-kinds/").json()
    kinds = {k["name"]: k for k in served["kinds"]}
    assert {"llc", "llc_trajectory", "attention_patterns", "head_ablation"} <= set(kinds)
    assert kinds["llc"]["access_level"] == 3 and kinds["attention_patterns"]["access_level"] == 2
    assert kinds["llc_trajectory"]["series"] and kinds["head_ablation"]["families"] == [
        "transformer",
        "hf_causal_lm",
    ]
    assert {d["name"] for d in served["datasets"]} == {
        "regression",
        "modular_addition",
        "induction_sequences",
    }
