"""The checkpoint pages: the list by series with each standing in words, a checkpoint's page, a
steward's approve and revoke, the stewards' queue, analysis-access requests and their decisions.
Who may do what is the policy's; these tests check the pages answer it (404 for what one may not
see, 403 for what one sees but may not do) and keep what was typed."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
import torch
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from analysis_workers import zoo
from interlock.accounts.middleware import SESSION_REAUTH
from interlock.checkpoints.models import AnalysisAccessGrant, CheckpointApproval
from interlock.checkpoints.services import checkpoint_register, checkpoint_revoke
from tests.interlock.builders import PASSWORD, principal_for
from tests.support.analyses import SPEC, uploaded_checkpoint

pytestmark = pytest.mark.django_db


def _awaiting_approval(
    network: Any,
    api_client_for: Any,
    org: Any,
    *,
    name: str = "awaiting",
    series: str = "",
    position: int | None = None,
) -> tuple[Any, Any]:
    """A checkpoint of `org` uploaded by a new member and not approved: (uploader, checkpoint)."""
    uploader = network.person(org, clearance=1, password=PASSWORD)
    checkpoint = checkpoint_register(
        actor=principal_for(uploader), name=name, spec=SPEC, series=series, position=position
    )
    blob = zoo.save_checkpoint(zoo.build(SPEC, generator=torch.Generator().manual_seed(1)), SPEC)
    response = api_client_for(uploader).generic(
        "POST",
        f"/api/v1/artifacts/?parent_type=checkpoint&parent_id={checkpoint.uuid}",
        blob,
        content_type="application/octet-stream",
    )
    assert response.status_code == 201, response.content
    checkpoint.refresh_from_db()
    return uploader, checkpoint


def _approve_form(checkpoint: Any, **changed: Any) -> dict[str, str]:
    return {"access_level": "2", "days": "30", "sha256": checkpoint.sha256, **changed}


def test_the_list_shows_each_standing_truthfully_and_only_what_the_viewer_may_see(
    network, api_client_for
) -> None:
    owner, approved = uploaded_checkpoint(network, api_client_for)
    _, waiting = _awaiting_approval(
        network, api_client_for, owner.organisation, name="step 100", series="run-a", position=100
    )
    _, revoked = _awaiting_approval(
        network, api_client_for, owner.organisation, name="step 200", series="run-a", position=200
    )
    steward = network.person(steward=True, clearance=1)
    from interlock.checkpoints.services import checkpoint_approve

    checkpoint_approve(
        actor=principal_for(steward),
        checkpoint_uuid=revoked.uuid,
        access_level=1,
        expires_at=timezone.now() + timedelta(days=2),
        sha256=revoked.sha256,
    )
    checkpoint_revoke(actor=principal_for(steward), checkpoint_uuid=revoked.uuid, reason="a label leak")
    owner.set_password(PASSWORD)
    owner.save()
    client = network.signed_in_client(owner)
    page = client.get("/checkpoints/").content.decode()
    assert "Approved AL3 until" in page and "Uploaded, awaiting a steward&#x27;s approval" in page
    assert "Approval revoked" in page and "UPLOADED" not in page and ">Uploaded<" not in page
    assert page.index("Series “run-a”") < page.index("step 100") < page.index("step 200")
    detail = client.get(f"/checkpoints/{revoked.uuid}/").content.decode()
    assert revoked.sha256 in detail and "a label leak" in detail and steward.display_name in detail
    assert "Series “run-a”" in detail and "step 100" in detail  # its place in the series
    assert "Request an analysis" not in detail  # nothing runs on a revoked checkpoint
    assert "Request an analysis" in client.get(f"/checkpoints/{approved.uuid}/").content.decode()
    outsider = network.signed_in_client(network.person(clearance=3, password=PASSWORD))
    assert approved.name.encode() not in outsider.get("/checkpoints/").content
    for checkpoint in (approved, waiting, revoked):
        assert outsider.get(f"/checkpoints/{checkpoint.uuid}/").status_code == 404


def test_a_steward_approves_from_the_page_and_nobody_else_can(network, api_client_for) -> None:
    uploader, checkpoint = _awaiting_approval(network, api_client_for, network.org())
    colleague = network.person(uploader.organisation, clearance=1, password=PASSWORD)
    uploading_steward = network.person(network.org(), steward=True, clearance=1, password=PASSWORD)
    outsider = network.person(clearance=3, password=PASSWORD)
    steward = network.person(network.org(), steward=True, clearance=1, password=PASSWORD)
    url = f"/checkpoints/{checkpoint.uuid}/approve/"

    # a member of the owner organisation sees it but may not approve; an outsider does not see it
    colleague_client = network.signed_in_client(colleague)
    assert colleague_client.post(url, _approve_form(checkpoint)).status_code == 403
    assert network.signed_in_client(outsider).post(url, _approve_form(checkpoint)).status_code == 404
    assert b"Approve these bytes" not in colleague_client.get(f"/checkpoints/{checkpoint.uuid}/").content
    assert not CheckpointApproval.objects.exists()

    client = network.signed_in_client(steward)
    page = client.get(f"/checkpoints/{checkpoint.uuid}/").content.decode()
    assert "Approve these bytes" in page and checkpoint.sha256 in page
    assert "AL3 — weight-level" in page and "AL1 — black-box" in page  # the levels in words
    wrong = client.post(url, _approve_form(checkpoint, sha256="0" * 64, days="40"))
    assert wrong.status_code == 400 and b"approve the bytes you inspected" in wrong.content
    assert b'value="40"' in wrong.content  # what was typed stays
    too_long = client.post(url, _approve_form(checkpoint, days="4000"))
    assert too_long.status_code == 400 and b"at most 365 days ahead" in too_long.content
    assert not CheckpointApproval.objects.exists()

    session = client.session
    session[SESSION_REAUTH] = (timezone.now() - timedelta(hours=1)).isoformat()
    session.save()
    stale = client.post(url, _approve_form(checkpoint))
    assert stale.status_code == 302 and stale["Location"].startswith("/accounts/reauth/")
    assert not CheckpointApproval.objects.exists()
    session = client.session
    session[SESSION_REAUTH] = timezone.now().isoformat()
    session.save()
    approved = client.post(url, _approve_form(checkpoint))
    assert approved.status_code == 302
    approval = CheckpointApproval.objects.get()
    assert (approval.access_level, approval.steward, approval.sha256) == (2, steward, checkpoint.sha256)
    assert "Approved AL2 until" in client.get(f"/checkpoints/{checkpoint.uuid}/").content.decode()
    # a steward never approves their own upload
    own = checkpoint_register(actor=principal_for(uploading_steward), name="own", spec=SPEC)
    assert (
        network.signed_in_client(uploading_steward).post(f"/checkpoints/{own.uuid}/approve/", {}).status_code
        == 403
    )


def test_a_steward_revokes_with_a_reason(network, api_client_for) -> None:
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    member = network.signed_in_client(network.person(owner.organisation, clearance=1, password=PASSWORD))
    url = f"/checkpoints/{checkpoint.uuid}/revoke/"
    member.post(url, {"reason": "not theirs to revoke"})
    assert not CheckpointApproval.objects.filter(revoked_at__isnull=False).exists()
    steward = network.signed_in_client(network.person(steward=True, clearance=1, password=PASSWORD))
    assert b"Revoke approval" in steward.get(f"/checkpoints/{checkpoint.uuid}/").content
    steward.post(url, {"reason": "  "})
    assert not CheckpointApproval.objects.filter(revoked_at__isnull=False).exists()
    assert steward.post(url, {"reason": "the data split leaked"}).status_code == 302
    assert CheckpointApproval.objects.get().revocation_reason == "the data split leaked"
    assert b"Approval revoked" in steward.get("/checkpoints/").content
    outsider = network.signed_in_client(network.person(clearance=3, password=PASSWORD))
    assert outsider.post(url, {"reason": "whatever it is"}).status_code == 404


def test_the_stewards_queue_holds_what_the_steward_may_approve(network, api_client_for) -> None:
    org = network.org()
    _, waiting = _awaiting_approval(network, api_client_for, org, name="waiting one")
    _, approved = uploaded_checkpoint(network, api_client_for)
    steward = network.person(steward=True, clearance=1, password=PASSWORD)
    page = network.signed_in_client(steward).get("/checkpoints/awaiting-approval/")
    assert (
        page.status_code == 200
        and f"/checkpoints/{waiting.uuid}/".encode() in page.content
        and str(approved.uuid).encode() not in page.content
    )
    uploader_steward = network.person(org, steward=True, clearance=1, password=PASSWORD)
    own = checkpoint_register(actor=principal_for(uploader_steward), name="my own upload", spec=SPEC)
    assert (
        b"my own upload"
        not in network.signed_in_client(uploader_steward).get("/checkpoints/awaiting-approval/").content
    )
    assert own.state == "awaiting_upload"
    member = network.signed_in_client(network.person(org, clearance=1, password=PASSWORD))
    assert member.get("/checkpoints/awaiting-approval/").status_code == 404


def test_another_organisation_asks_for_access_and_the_owners_admin_grants_it(network, api_client_for) -> None:
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    admin = network.person(owner.organisation, role="org_admin", clearance=1, password=PASSWORD)
    partner_org = network.org("Beacon Safety Institute")
    requester = network.person(partner_org, clearance=1, password=PASSWORD)
    client = network.signed_in_client(requester)
    assert client.get(f"/checkpoints/{checkpoint.uuid}/").status_code == 404

    short = client.post("/checkpoints/request-access/", {"checkpoint": str(checkpoint.uuid), "reason": "pls"})
    assert (
        short.status_code == 400
        and b"10 to 1000 characters" in short.content
        and b">pls</textarea>" in short.content
    )
    reason = "To compare the LLC curve with our own run."
    sent = client.post("/checkpoints/request-access/", {"checkpoint": str(checkpoint.uuid), "reason": reason})
    random_id = client.post(
        "/checkpoints/request-access/",
        {"checkpoint": "7f0b4a4e-3c52-4a8f-9d2e-2a1d2b9c0e11", "reason": reason},
    )
    assert (sent.status_code, sent["Location"]) == (
        random_id.status_code,
        random_id["Location"],
    )  # the same answer
    assert AnalysisAccessGrant.objects.filter(state="pending").count() == 1

    member = network.signed_in_client(network.person(owner.organisation, clearance=1, password=PASSWORD))
    assert reason.encode() not in member.get("/checkpoints/access-requests/").content
    grant = AnalysisAccessGrant.objects.get()
    assert (
        member.post(f"/checkpoints/access-requests/{grant.uuid}/approve/", {"days": "30"}).status_code == 404
    )
    admin_client = network.signed_in_client(admin)
    queue = admin_client.get("/checkpoints/access-requests/").content.decode()
    assert reason in queue and "Beacon Safety Institute" in queue and requester.display_name in queue
    assert (
        admin_client.post(f"/checkpoints/access-requests/{grant.uuid}/approve/", {"days": "14"}).status_code
        == 302
    )
    grant.refresh_from_db()
    assert grant.state == "approved" and grant.decided_by == admin
    assert (grant.expires_at - timezone.now()).days == 13
    # the grantee now sees the checkpoint and its request form
    assert client.get(f"/checkpoints/{checkpoint.uuid}/").status_code == 200
    assert client.get(f"/checkpoints/{checkpoint.uuid}/analyse/").status_code == 200
    admin_client.post(f"/checkpoints/access-requests/{grant.uuid}/refuse/", {})
    grant.refresh_from_db()
    assert grant.state == "approved"  # a decided request stays decided
    assert reason.encode() not in admin_client.get("/checkpoints/access-requests/").content


def test_an_admin_refuses_a_request(network, api_client_for) -> None:
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    admin = network.person(owner.organisation, role="org_admin", clearance=1, password=PASSWORD)
    requester = network.person(clearance=1, password=PASSWORD)
    client = network.signed_in_client(requester)
    client.post(
        "/checkpoints/request-access/",
        {"checkpoint": str(checkpoint.uuid), "reason": "For our comparison study."},
    )
    grant = AnalysisAccessGrant.objects.get()
    admin_client = network.signed_in_client(admin)
    assert admin_client.post(f"/checkpoints/access-requests/{grant.uuid}/maybe/", {}).status_code == 404
    assert admin_client.post(f"/checkpoints/access-requests/{grant.uuid}/refuse/", {}).status_code == 302
    grant.refresh_from_db()
    assert grant.state == "rejected" and grant.expires_at is None
    assert client.get(f"/checkpoints/{checkpoint.uuid}/").status_code == 404


def test_the_uploader_sends_the_file_from_the_page_and_nobody_else_can(network, api_client_for) -> None:
    org = network.org()
    uploader = network.person(org, clearance=1, password=PASSWORD)
    checkpoint = checkpoint_register(actor=principal_for(uploader), name="from the page", spec=SPEC)
    blob = zoo.save_checkpoint(zoo.build(SPEC, generator=torch.Generator().manual_seed(2)), SPEC)
    url = f"/checkpoints/{checkpoint.uuid}/upload/"

    def upload(client: Any, **headers: Any) -> Any:
        return client.post(url, {"file": SimpleUploadedFile("model.safetensors", blob)}, **headers)

    colleague = network.signed_in_client(network.person(org, clearance=1, password=PASSWORD))
    assert upload(colleague).status_code == 403  # sees it, is not the uploader
    assert upload(network.signed_in_client(network.person(clearance=3, password=PASSWORD))).status_code == 404
    client = network.signed_in_client(uploader)
    assert b"data-upload-progress" in client.get(f"/checkpoints/{checkpoint.uuid}/").content
    sent = upload(client, HTTP_X_UPLOAD_PROGRESS="1")
    assert sent.status_code == 200 and sent.json() == {"location": f"/checkpoints/{checkpoint.uuid}/"}
    checkpoint.refresh_from_db()
    assert checkpoint.state == "uploaded" and checkpoint.sha256 == hashlib.sha256(blob).hexdigest()
    page = client.get(f"/checkpoints/{checkpoint.uuid}/").content.decode()
    assert (
        "its SHA-256 is pinned" in page
        and "awaiting a steward" in page
        and "data-upload-progress" not in page
    )
    assert upload(client).status_code == 403  # the file is there: a second one is refused
