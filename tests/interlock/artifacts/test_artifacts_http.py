"""Encrypted artifacts end to end through the API and the web pages."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from interlock.artifacts.models import Artifact
from interlock.artifacts.selectors import DownloadAborted
from interlock.audit.models import AuditEvent
from tests.interlock.builders import PASSWORD

pytestmark = pytest.mark.django_db


def _library(person) -> str:
    return f"parent_type=library&parent_id={person.organisation.uuid}"


def _raw_upload(client, person, data: bytes, name: str = "notes.bin"):
    return client.generic(
        "POST",
        f"/api/v1/artifacts/?{_library(person)}&filename={name}",
        data,
        content_type="application/octet-stream",
    )


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_raw_upload_then_download_round_trips_and_is_audited(
    network, api_client_for, isolated_storage: Path
) -> None:
    person = network.person()
    client = api_client_for(person)
    data = os.urandom(3 * 1024 * 1024 + 17)
    created = _raw_upload(client, person, data)
    assert created.status_code == 201, created.content
    meta = created.json()
    assert meta["size"] == len(data) and meta["sha256"] == hashlib.sha256(data).hexdigest()
    stored = list((isolated_storage / "blobs").rglob("*.ilk"))
    assert len(stored) == 1 and data[:64] not in stored[0].read_bytes()
    response = client.get(f"/api/v1/artifacts/{meta['id']}/content/")
    assert response.status_code == 200
    assert (
        response["Content-Disposition"].startswith("attachment;")
        and "filename" in response["Content-Disposition"]
    )
    assert (
        response["X-Content-Type-Options"] == "nosniff"
        and response["Content-Type"] == "application/octet-stream"
    )
    assert _body(response) == data
    assert AuditEvent.objects.filter(event="ARTIFACT_DOWNLOADED", actor_id=person.pk).count() == 1
    assert AuditEvent.objects.filter(event="ARTIFACT_UPLOADED", actor_id=person.pk).count() == 1


def test_multipart_upload_is_encrypted_as_it_arrives(network, api_client_for) -> None:
    person = network.person()
    client = api_client_for(person)
    data = os.urandom(100_000)
    response = client.post(
        f"/api/v1/artifacts/?{_library(person)}",
        {"file": SimpleUploadedFile("../../etc/passwd", data)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["filename"] == "passwd"
    assert _body(client.get(f"/api/v1/artifacts/{response.json()['id']}/content/")) == data


def test_another_organisation_cannot_see_or_fetch_an_artifact(network, api_client_for) -> None:
    owner, outsider = network.person(), network.person()
    created = _raw_upload(api_client_for(owner), owner, b"secret").json()
    client = api_client_for(outsider)
    for path in (f"/api/v1/artifacts/{created['id']}/", f"/api/v1/artifacts/{created['id']}/content/"):
        forbidden = client.get(path)
        missing = client.get(path.replace(created["id"], str(uuid.uuid4())))
        assert forbidden.status_code == missing.status_code == 404
        assert forbidden.content == missing.content
    upload_elsewhere = _raw_upload(client, owner, b"x")  # outsider aiming at the owner's library
    assert upload_elsewhere.status_code == 404
    assert Artifact.objects.count() == 1


def test_tampered_blob_aborts_the_download_and_is_audited(
    network, api_client_for, isolated_storage: Path
) -> None:
    person = network.person()
    client = api_client_for(person)
    data = os.urandom(3 * 1024 * 1024)
    meta = _raw_upload(client, person, data).json()
    blob = next((isolated_storage / "blobs").rglob("*.ilk"))
    raw = bytearray(blob.read_bytes())
    raw[len(raw) - 100] ^= 0x01  # inside the last segment
    blob.write_bytes(bytes(raw))
    response = client.get(f"/api/v1/artifacts/{meta['id']}/content/")
    received = b""
    with pytest.raises(DownloadAborted):
        for chunk in response.streaming_content:
            received += chunk
    assert len(received) < len(data)
    assert AuditEvent.objects.filter(event="ARTIFACT_INTEGRITY_FAILED").count() == 1


def test_swapped_blob_from_another_artifact_is_refused(
    network, api_client_for, isolated_storage: Path
) -> None:
    person = network.person()
    client = api_client_for(person)
    first = _raw_upload(client, person, b"first artifact").json()
    second = _raw_upload(client, person, b"second artifact").json()
    a = Artifact.objects.get(uuid=first["id"])
    b = Artifact.objects.get(uuid=second["id"])
    path_a = isolated_storage / "blobs" / a.storage_key
    path_b = isolated_storage / "blobs" / b.storage_key
    path_a.write_bytes(path_b.read_bytes())
    with pytest.raises(DownloadAborted):
        _body(client.get(f"/api/v1/artifacts/{first['id']}/content/"))


def test_revocation_stops_a_download_in_flight(network, api_client_for, monkeypatch) -> None:
    from interlock.artifacts import http as artifact_http

    monkeypatch.setattr(artifact_http, "REVOCATION_RECHECK_SECONDS", 0.0)
    person = network.person()
    client = api_client_for(person)
    meta = _raw_upload(client, person, os.urandom(4 * 1024 * 1024)).json()
    response = client.get(f"/api/v1/artifacts/{meta['id']}/content/")
    chunks = iter(response.streaming_content)
    next(chunks)
    person.is_active = False
    person.save()
    with pytest.raises(DownloadAborted):
        list(chunks)


def test_web_library_upload_and_download(network) -> None:
    person = network.person(password=PASSWORD)
    client = network.signed_in_client(person)
    data = b"library file " * 1000
    response = client.post("/network/library/", {"file": SimpleUploadedFile("plot.png", data)})
    assert response.status_code == 302, response.content[:500]
    artifact = Artifact.objects.get()
    page = client.get("/network/library/")
    assert b"plot.png" in page.content
    download = client.get(f"/network/library/{artifact.uuid}/download/")
    assert _body(download) == data


def test_web_library_upload_without_csrf_token_is_refused(network) -> None:
    from django.test import Client

    person = network.person(password=PASSWORD)
    signed_in = network.signed_in_client(person)
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = signed_in.cookies
    response = strict.post("/network/library/", {"file": SimpleUploadedFile("x.bin", b"x")})
    assert response.status_code == 403
    assert Artifact.objects.count() == 0


def test_bad_upload_requests_get_clear_errors(network, api_client_for) -> None:
    person = network.person()
    client = api_client_for(person)
    wrong_type = client.generic(
        "POST", f"/api/v1/artifacts/?{_library(person)}", b"{}", content_type="application/json"
    )
    assert wrong_type.status_code == 400 and "multipart" in wrong_type.json()["error"]["message"]
    no_file = client.post(f"/api/v1/artifacts/?{_library(person)}", {"other": "x"}, format="multipart")
    assert no_file.status_code == 400
    no_parent = client.generic("POST", "/api/v1/artifacts/", b"x", content_type="application/octet-stream")
    assert no_parent.status_code == 404
    assert Artifact.objects.count() == 0


@pytest.mark.parametrize(
    "name",
    ['résumé "final".html', "..%2F..%2Fetc%2Fpasswd", "a%0D%0ASet-Cookie: x=1.svg", "<script>.html"],
)
def test_downloads_are_inert_attachments_whatever_the_file_name(
    network, api_client_for, isolated_storage: Path, name: str
) -> None:
    """SECURITY.md, Files: attachment with an RFC 6266 filename*, octet-stream, nosniff, CSP
    sandbox — a hostile name can neither inject a header nor make the browser render the file;
    the storage key is a generated id, never the name."""
    from urllib.parse import unquote

    person = network.person()
    client = api_client_for(person)
    created = _raw_upload(client, person, b"<html><script>alert(1)</script></html>", name=name)
    assert created.status_code == 201, created.content
    response = client.get(f"/api/v1/artifacts/{created.json()['id']}/content/")
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;") and "\r" not in disposition and "\n" not in disposition
    assert disposition.isascii() and ("filename*=utf-8''" in disposition or name.isascii())
    assert not response.has_header("Set-Cookie")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"].split(";")[0].split()
    stored = [p.name for p in (isolated_storage / "blobs").rglob("*") if p.is_file()]
    assert stored and all(unquote(name) not in p and "passwd" not in p for p in stored)
