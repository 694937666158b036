"""Sealed text fields: round trip, bound to their identity, re-wrapped by rotation, gone when shredded."""

from __future__ import annotations

import pytest

from interlock.crypto.fields import open_text, seal_text, sealed_key_version, sealed_rewrap
from interlock.crypto.keyring import KeyDestroyed
from interlock.crypto.keys import org_key_create
from interlock.crypto.models import KeyState
from interlock.crypto.services import org_key_shred_confirm
from interlock_wire import IntegrityError
from tests.interlock.builders import principal_for

pytestmark = pytest.mark.django_db


def test_sealed_text_round_trips_and_hides_the_plaintext(network) -> None:
    org = network.org()
    sealed = seal_text(org=org, object_id="finding:1:body", text="ablating L1H3 breaks induction")
    assert b"ablating" not in sealed
    assert open_text(org=org, object_id="finding:1:body", sealed=sealed) == "ablating L1H3 breaks induction"


def test_sealed_text_moved_to_another_row_or_altered_does_not_open(network) -> None:
    org = network.org()
    sealed = seal_text(org=org, object_id="finding:1:body", text="secret")
    with pytest.raises(IntegrityError):
        open_text(org=org, object_id="finding:2:body", sealed=sealed)
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(IntegrityError):
        open_text(org=org, object_id="finding:1:body", sealed=bytes(tampered))


def test_rotation_rewraps_sealed_text_and_shredding_destroys_it(network) -> None:
    org = network.org()
    sealed = seal_text(org=org, object_id="c:1", text="comment")
    new = org_key_create(org=org)
    rewrapped = sealed_rewrap(org=org, object_id="c:1", sealed=sealed, to_version=new)
    assert (
        sealed_key_version(rewrapped) == 2
        and open_text(org=org, object_id="c:1", sealed=rewrapped) == "comment"
    )
    org_key_shred_confirm(org=org, version=1, steward=principal_for(network.person(steward=True)))
    version = org_key_shred_confirm(org=org, version=1, steward=principal_for(network.person(steward=True)))
    assert version.state == KeyState.DESTROYED
    with pytest.raises(KeyDestroyed):
        open_text(org=org, object_id="c:1", sealed=sealed)
    assert open_text(org=org, object_id="c:1", sealed=rewrapped) == "comment"


def test_rotation_rewraps_findings_and_comments_so_the_old_version_can_be_shredded(network) -> None:
    from interlock.crypto.fields import sealed_key_version
    from interlock.crypto.services import org_key_rotate, org_key_rotation_run
    from interlock.findings.models import Comment, FindingRevision
    from interlock.findings.rules import Audience
    from interlock.findings.selectors import finding_read
    from interlock.findings.services import comment_create, finding_create, finding_share

    author = network.person(clearance=1)
    finding = finding_create(
        actor=principal_for(author), title="Rotating title", body="Rotating body", label="amber"
    )
    finding_share(
        actor=principal_for(author), finding_uuid=finding.uuid, label="amber", audience=Audience(own_org=True)
    )
    comment_create(actor=principal_for(author), finding_uuid=finding.uuid, body="a comment")
    org = author.organisation
    rotation = org_key_rotation_run(rotation_id=org_key_rotate(org=org).pk)
    revision = FindingRevision.objects.get(finding=finding)
    assert (
        sealed_key_version(bytes(revision.title_sealed)) == 2
        and sealed_key_version(bytes(revision.body_sealed)) == 2
    )
    assert sealed_key_version(bytes(Comment.objects.get().body_sealed)) == 2
    assert rotation.rewrapped >= 2
    org_key_shred_confirm(org=org, version=1, steward=principal_for(network.person(steward=True)))
    org_key_shred_confirm(org=org, version=1, steward=principal_for(network.person(steward=True)))
    _, text = finding_read(actor=principal_for(author), finding_uuid=finding.uuid)
    assert (text.title, text.body) == ("Rotating title", "Rotating body")
