"""Stewards destroy a retired organisation key on the Keys page: two different stewards, each
the signed-in person (no name typed anywhere), each re-authenticated within ten minutes, each
typing the organisation's slug. Everyone else gets the same 404 as for a missing page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from interlock.accounts.middleware import SESSION_REAUTH
from interlock.audit.models import AuditEvent
from interlock.crypto.fields import seal_text
from interlock.crypto.models import KeyShredConfirmation, KeyState, OrgKeyVersion
from interlock.crypto.services import org_key_rotate, org_key_rotation_run
from tests.interlock.builders import PASSWORD

pytestmark = pytest.mark.django_db


def _retired_version(network):  # type: ignore[no-untyped-def]
    org = network.org()
    seal_text(org=org, object_id="c:1", text="sealed under v1")  # v1 exists once something is sealed
    org_key_rotation_run(rotation_id=org_key_rotate(org=org).pk)
    version = OrgKeyVersion.objects.get(organisation=org, version=1)
    assert version.state in (KeyState.DECRYPT_ONLY, KeyState.RETIRED)
    return org, version


def _reauthenticated(client, minutes_ago: int) -> None:  # type: ignore[no-untyped-def]
    """Sets the re-authentication stamp (the reauth page itself is tested in test_finding_pages)."""
    session = client.session
    session[SESSION_REAUTH] = (timezone.now() - timedelta(minutes=minutes_ago)).isoformat()
    session.save()


def test_members_and_org_admins_get_404(network) -> None:
    org, _ = _retired_version(network)
    for person in (
        network.person(org, password=PASSWORD),
        network.person(org, role="org_admin", password=PASSWORD),
    ):
        client = network.signed_in_client(person)
        assert client.get("/network/keys/").status_code == 404
        answer = client.post(f"/network/keys/{org.uuid}/1/destroy/", {"confirm_slug": org.slug})
        assert answer.status_code == 404
    assert not KeyShredConfirmation.objects.exists()
    steward = network.signed_in_client(network.person(steward=True, password=PASSWORD))
    unknown = steward.post(f"/network/keys/{org.uuid.hex[::-1]}/1/destroy/", {"confirm_slug": org.slug})
    assert unknown.status_code == 404


def test_two_reauthenticated_stewards_destroy_a_retired_key(network) -> None:
    org, version = _retired_version(network)
    first_person, second_person = (
        network.person(steward=True, password=PASSWORD),
        network.person(steward=True, password=PASSWORD),
    )
    first = network.signed_in_client(first_person)
    page = first.get("/network/keys/")
    assert page.status_code == 200 and org.slug in page.content.decode()
    action = f"/network/keys/{org.uuid}/1/destroy/"

    _reauthenticated(
        first, minutes_ago=11
    )  # a sign-in older than ten minutes is sent to re-authenticate; nothing recorded
    stale = first.post(action, {"confirm_slug": org.slug})
    assert stale.status_code == 302 and stale["Location"].startswith("/accounts/reauth/")
    assert not KeyShredConfirmation.objects.exists()

    _reauthenticated(first, minutes_ago=0)
    wrong = first.post(action, {"confirm_slug": "not-the-slug"})
    assert wrong.status_code == 400 and "nothing was changed" in wrong.content.decode()
    assert not KeyShredConfirmation.objects.exists()

    assert first.post(action, {"confirm_slug": org.slug}).status_code == 302
    again = first.post(action, {"confirm_slug": org.slug}, follow=True)
    assert "a second steward must confirm" in again.content.decode()
    version.refresh_from_db()
    assert version.state != KeyState.DESTROYED and version.shred_confirmations.count() == 1

    second = network.signed_in_client(second_person)
    assert second.post(action, {"confirm_slug": org.slug}).status_code == 302
    version.refresh_from_db()
    assert version.state == KeyState.DESTROYED
    confirmed_by = set(
        AuditEvent.objects.filter(event="ORG_KEY_SHRED_CONFIRMED").values_list("actor_id", flat=True)
    )
    assert confirmed_by == {first_person.pk, second_person.pk}  # the sessions' people, audited
    assert AuditEvent.objects.filter(event="ORG_KEY_DESTROYED").count() == 1


def test_the_active_key_cannot_be_destroyed_from_the_page(network) -> None:
    org, _ = _retired_version(network)
    client = network.signed_in_client(network.person(steward=True, password=PASSWORD))
    refused = client.post(f"/network/keys/{org.uuid}/2/destroy/", {"confirm_slug": org.slug}, follow=True)
    assert "Rotate the organisation key first" in refused.content.decode()
    assert OrgKeyVersion.objects.get(organisation=org, version=2).state == KeyState.ACTIVE
