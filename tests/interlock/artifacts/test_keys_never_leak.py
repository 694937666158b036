"""Key material never appears in logs, API answers, error bodies or the audit log."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from django.conf import settings

from interlock.artifacts.models import Artifact
from interlock.audit.models import AuditEvent
from interlock.crypto.keyring import _load_master_key
from interlock.crypto.keys import _org_key_bytes, data_key_open
from interlock.crypto.services import org_key_rotate, org_key_rotation_run
from interlock_wire import artifact_object_id

pytestmark = pytest.mark.django_db


def _forms(secret: bytes) -> list[str]:
    return [
        secret.hex(),
        base64.b64encode(secret).decode().rstrip("="),
        base64.urlsafe_b64encode(secret).decode().rstrip("="),
    ]


def test_no_key_material_in_logs_answers_or_audit(
    network, api_client_for, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    person = network.person()
    client = api_client_for(person)
    bodies = []
    upload = client.generic(
        "POST",
        f"/api/v1/artifacts/?parent_type=library&parent_id={person.organisation.uuid}",
        b"payload",
        content_type="application/octet-stream",
    )
    bodies.append(upload.content)
    artifact = Artifact.objects.select_related("key_version__organisation").get()
    bodies.append(b"".join(client.get(f"/api/v1/artifacts/{artifact.uuid}/content/").streaming_content))
    bodies.append(client.get(f"/api/v1/artifacts/{artifact.uuid}/").content)
    bodies.append(client.get("/api/v1/artifacts/not-a-uuid/content/").content)
    bodies.append(
        client.generic(
            "POST",
            "/api/v1/artifacts/?parent_type=library&parent_id=x",
            b"x",
            content_type="application/octet-stream",
        ).content
    )
    org_key_rotation_run(rotation_id=org_key_rotate(org=person.organisation).pk)
    artifact.refresh_from_db()
    secrets = [
        _load_master_key(),
        data_key_open(
            key_version=artifact.key_version,
            wrapped=bytes(artifact.wrapped_data_key),
            object_id=artifact_object_id(artifact_uuid=artifact.uuid),
        ),
        _org_key_bytes(artifact.key_version),
        bytes(artifact.wrapped_data_key),
    ]
    haystacks = [caplog.text, *(b.decode(errors="replace") for b in bodies)]
    haystacks += [json.dumps(row) for row in AuditEvent.objects.values("actor_label", "extra", "target_id")]
    leaks = [form[:12] for secret in secrets for form in _forms(secret) for text in haystacks if form in text]
    assert leaks == []
    assert settings.INTERLOCK_MASTER_KEY_FILE not in caplog.text
