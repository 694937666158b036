"""A Hugging Face folder as one checkpoint: its files declared at registration, each uploaded and
checked against its declared hash, pinned by one manifest hash that the steward's approval binds;
pickles and code refused by name; a file that is not in the manifest or differs from it is refused
and nothing of it is kept."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from interlock.artifacts.models import Artifact
from interlock.artifacts.storage import artifact_storage
from interlock.checkpoints.models import Checkpoint, CheckpointFile
from interlock.checkpoints.services import checkpoint_approve
from interlock_wire import ManifestEntry, manifest_sha256
from tests.interlock.builders import principal_for

pytestmark = pytest.mark.django_db

CONFIG = {
    "model_type": "gpt2",
    "vocab_size": 32,
    "n_positions": 16,
    "n_embd": 16,
    "n_layer": 1,
    "n_head": 2,
}
FILES = {
    "config.json": json.dumps(CONFIG).encode(),
    "model-00001-of-00002.safetensors": b"first shard bytes",
    "model-00002-of-00002.safetensors": b"second shard bytes",
    "model.safetensors.index.json": b'{"weight_map": {}}',
    "tokenizer.json": b"{}",
}


def _manifest(files: dict[str, bytes]) -> list[dict[str, object]]:
    return [
        {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        for name, data in files.items()
    ]


def _upload(api, checkpoint_id: str, name: str, data: bytes):
    return api.generic(
        "POST",
        f"/api/v1/artifacts/?parent_type=checkpoint&parent_id={checkpoint_id}&filename={name}",
        data,
        content_type="application/octet-stream",
    )


def _stored_blobs() -> int:
    root = Path(artifact_storage().location)
    return sum(1 for path in root.rglob("*") if path.is_file()) if root.exists() else 0


@pytest.fixture
def owner(network, api_client_for):
    person = network.person(network.org(), clearance=1)
    return person, api_client_for(person)


def _register(api, files: dict[str, bytes] | None = None, **extra):
    body = {
        "name": "gpt2 step 100",
        "spec": {"family": "hf_causal_lm", "config": CONFIG},
        "files": _manifest(files or FILES),
        **extra,
    }
    return api.post("/api/v1/checkpoints/", body, format="json")


def test_a_folder_is_pinned_by_its_manifest_hash_once_every_file_arrived(owner, network) -> None:
    _, api = owner
    created = _register(api)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["layout"] == "hf_folder"
    assert body["sha256"] is None
    assert [f["path"] for f in body["files"]] == sorted(FILES)
    assert not any(f["uploaded"] for f in body["files"])
    names = sorted(FILES)
    for index, name in enumerate(names):
        answer = _upload(api, body["id"], name, FILES[name])
        assert answer.status_code == 201, answer.content
        state = api.get(f"/api/v1/checkpoints/{body['id']}/").json()
        assert sum(f["uploaded"] for f in state["files"]) == index + 1
        assert (state["state"] == "uploaded") == (index == len(names) - 1)
    expected = manifest_sha256(
        ManifestEntry(name, hashlib.sha256(data).hexdigest(), len(data)) for name, data in FILES.items()
    )
    assert state["sha256"] == expected
    # the steward's approval binds exactly that hash
    steward = network.person(steward=True, clearance=1)
    approval = checkpoint_approve(
        actor=principal_for(steward),
        checkpoint_uuid=body["id"],
        access_level=3,
        expires_at=timezone.now() + timedelta(days=30),
        sha256=expected,
    )
    assert approval.sha256 == expected
    # the folder is complete: no further file is accepted
    again = _upload(api, body["id"], "config.json", FILES["config.json"])
    assert again.status_code == 403


def test_a_file_that_is_not_in_the_manifest_or_differs_is_refused_and_nothing_is_kept(owner) -> None:
    _, api = owner
    checkpoint_id = _register(api).json()["id"]
    artifacts, blobs = Artifact.objects.count(), _stored_blobs()
    stranger = _upload(api, checkpoint_id, "vocab.json", b"{}")
    assert stranger.status_code == 400
    assert "not in the checkpoint's manifest" in stranger.json()["error"]["message"]
    changed = _upload(api, checkpoint_id, "config.json", b'{"model_type": "llama"}')
    assert changed.status_code == 400
    assert "differs from the manifest" in changed.json()["error"]["message"]
    assert Artifact.objects.count() == artifacts
    assert _stored_blobs() == blobs
    assert not CheckpointFile.objects.filter(checkpoint__uuid=checkpoint_id).exists()
    # the right bytes still go in afterwards, once
    assert _upload(api, checkpoint_id, "config.json", FILES["config.json"]).status_code == 201
    twice = _upload(api, checkpoint_id, "config.json", FILES["config.json"])
    assert twice.status_code == 409
    assert CheckpointFile.objects.filter(checkpoint__uuid=checkpoint_id).count() == 1


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("pytorch_model.bin", "pickled weights are never loaded"),
        ("model.ckpt", "pickled weights are never loaded"),
        ("modeling_custom.py", "remote code"),
        ("../config.json", "without folders"),
        ("notes.txt", "not a file of a Hugging Face checkpoint folder"),
    ],
)
def test_pickles_code_and_stray_names_are_refused_at_registration(owner, name, reason) -> None:
    _, api = owner
    refused = _register(api, {**FILES, name: b"x"})
    assert refused.status_code == 400
    assert reason in refused.json()["error"]["fields"]["files"][0]
    assert not Checkpoint.objects.exists()


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({k: v for k, v in FILES.items() if k != "config.json"}, "config.json is missing"),
        ({"config.json": b"{}", "tokenizer.json": b"{}"}, "no weights"),
        ({**FILES, "model.safetensors": b"w"}, "not both"),
    ],
)
def test_an_incomplete_folder_is_refused_with_the_reason(owner, files, reason) -> None:
    _, api = owner
    refused = _register(api, files)
    assert refused.status_code == 400
    assert reason in refused.json()["error"]["fields"]["files"][0]


def test_a_zoo_checkpoint_takes_one_file_and_lists_none(owner) -> None:
    _, api = owner
    refused = api.post(
        "/api/v1/checkpoints/",
        {
            "name": "mlp",
            "spec": {"family": "mlp", "config": {"in_dim": 2, "hidden": [4], "out_dim": 1}},
            "files": _manifest(FILES),
        },
        format="json",
    )
    assert refused.status_code == 400
    assert "only a Hugging Face folder" in refused.json()["error"]["fields"]["files"][0]


def test_a_config_asking_for_remote_code_is_refused_at_registration(owner) -> None:
    _, api = owner
    refused = api.post(
        "/api/v1/checkpoints/",
        {
            "name": "remote",
            "spec": {"family": "hf_causal_lm", "config": {**CONFIG, "auto_map": {"AutoModel": "x.Y"}}},
            "files": _manifest(FILES),
        },
        format="json",
    )
    assert refused.status_code == 400
    assert "auto_map" in json.dumps(refused.json()["error"])
