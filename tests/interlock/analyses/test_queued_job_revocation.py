"""Revocation reaches every queued job (SECURITY.md, Access): a job that waited in the queue
while its approval was revoked, its requester or their organisation was suspended, or their
analysis-access grant ran out is refused when a worker claims it — failed for good, audited,
and no input blob is served for it. A job out of tries is refused the same way."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from interlock.analyses.models import AnalysisRequest, AnalysisState
from interlock.analyses.services.dispatch import analysis_ticket
from interlock.analyses.services.requester import analysis_request_create
from interlock.audit.models import AuditEvent
from interlock.checkpoints.models import AnalysisAccessGrant, AnalysisAccessState
from tests.interlock.builders import principal_for
from tests.support.analyses import FAST, signed_post, uploaded_checkpoint

CASES = [
    "approval_revoked",
    "requester_suspended",
    "organisation_suspended",
    "access_grant_expired",
    "out_of_tries",
]


def _queue(network, api_client_for, django_capture_on_commit_callbacks, *, from_another_org: bool):
    """A queued job with its ticket; nothing dispatched (no worker runs in these tests)."""
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    requester = owner
    if from_another_org:
        requester = network.person(network.org(), clearance=1)
        AnalysisAccessGrant.objects.create(
            checkpoint=checkpoint,
            grantee=requester,
            reason="calibrating our own estimates",
            state=AnalysisAccessState.APPROVED,
            decided_by=owner,
            decided_at=timezone.now(),
            expires_at=timezone.now() + timedelta(days=1),
        )
    with django_capture_on_commit_callbacks(execute=False):
        request = analysis_request_create(
            actor=principal_for(requester),
            checkpoint_uuid=checkpoint.uuid,
            kind="llc",
            params=FAST,
        )
    return requester, checkpoint, request, analysis_ticket(request)


def _revoke(case: str, network, requester, checkpoint, request) -> None:  # type: ignore[no-untyped-def]
    from interlock.accounts.services import person_suspend
    from interlock.checkpoints.services import checkpoint_revoke
    from interlock.network.services import organisation_suspend

    steward = network.person(steward=True)
    if case == "approval_revoked":
        checkpoint_revoke(
            actor=principal_for(steward), checkpoint_uuid=checkpoint.uuid, reason="weights leaked"
        )
    elif case == "requester_suspended":
        admin = network.person(requester.organisation, role="org_admin")
        person_suspend(actor=principal_for(admin), person_uuid=requester.uuid)
    elif case == "organisation_suspended":
        organisation_suspend(
            actor=principal_for(steward), org_uuid=requester.organisation.uuid, reason="under review"
        )
    elif case == "access_grant_expired":
        AnalysisAccessGrant.objects.filter(grantee=requester).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    elif case == "out_of_tries":
        AnalysisRequest.objects.filter(pk=request.pk).update(attempts=settings.JOB_MAX_ATTEMPTS)


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES)
def test_a_queued_job_is_refused_at_claim_once_its_permission_ended(
    network, api_client_for, django_capture_on_commit_callbacks, case: str
) -> None:
    requester, checkpoint, request, ticket = _queue(
        network,
        api_client_for,
        django_capture_on_commit_callbacks,
        from_another_org=case == "access_grant_expired",
    )
    _revoke(case, network, requester, checkpoint, request)
    client = Client()
    claimed = signed_post(client, "/internal/jobs/claim/", {"ticket": ticket})
    assert claimed.status_code == 409, claimed.content
    request.refresh_from_db()
    assert request.state == AnalysisState.FAILED and request.attempts == (
        settings.JOB_MAX_ATTEMPTS if case == "out_of_tries" else 0
    )
    failed = AuditEvent.objects.filter(event="ANALYSIS_FAILED", target_id=str(request.pk))
    assert failed.count() == 1 and failed.get().extra["reason"] == request.message
    # the refused ticket fetches no input and cannot claim again
    blob = signed_post(client, "/internal/jobs/blob/", {"ticket": ticket, "index": 0})
    assert blob.status_code in (403, 409)
    assert signed_post(client, "/internal/jobs/claim/", {"ticket": ticket}).status_code == 409


@pytest.mark.django_db
def test_a_queued_job_whose_permission_still_holds_is_claimed(
    network, api_client_for, django_capture_on_commit_callbacks
) -> None:
    """The control case: the same job from another organisation, grant current, is leased."""
    _, _, request, ticket = _queue(
        network, api_client_for, django_capture_on_commit_callbacks, from_another_org=True
    )
    claimed = signed_post(Client(), "/internal/jobs/claim/", {"ticket": ticket})
    assert claimed.status_code == 200, claimed.content
    request.refresh_from_db()
    assert request.state == AnalysisState.RUNNING and request.attempts == 1
