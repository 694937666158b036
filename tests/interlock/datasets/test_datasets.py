"""An organisation's own dataset: registered with a label and a tier, its file checked and pinned
when it arrives, seen only by its audience (all three axes), and answered like a random id to
everyone else. The mutants show the tests can fail: a filter that forgets the tier or the label
lets the wrong person list the dataset."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import torch

from interlock.artifacts.models import Artifact
from interlock.artifacts.storage import artifact_storage
from interlock.audit.models import AuditEvent
from interlock.datasets.models import UploadedDataset
from tests.support.datasets import (
    jsonl_file,
    random_tokens,
    register_dataset,
    token_file,
    upload_dataset_file,
    uploaded_dataset,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab(network: Any, api_client_for: Any) -> dict[str, Any]:
    org = network.org("Lab")
    people = {
        "uploader": network.person(org, clearance=1),
        "colleague": network.person(org, clearance=1),
        "colleague_tier0": network.person(org, clearance=0),
        "admin": network.person(org, role="org_admin", clearance=3),
        "outsider": network.person(network.org("Elsewhere"), clearance=3),
        "steward": network.person(network.org("Stewards"), steward=True, clearance=3),
    }
    return {"org": org, "people": people, "api": {k: api_client_for(p) for k, p in people.items()}}


def _stored_blobs() -> int:
    root = Path(artifact_storage().location)  # type: ignore[attr-defined]
    return sum(1 for path in root.rglob("*") if path.is_file()) if root.exists() else 0


def test_a_token_file_is_checked_and_its_facts_pinned_when_it_arrives(lab: dict[str, Any]) -> None:
    ids = random_tokens(5, 8, 50)
    ids[2, 3] = 49
    mask = torch.ones(5, 8, dtype=torch.int64)
    mask[1, 6:] = 0
    dataset = uploaded_dataset(lab["api"]["uploader"], token_file(ids, mask), label="amber", hazard_tier=1)
    assert dataset["state"] == "uploaded" and dataset["format"] == "token_ids"
    assert (dataset["rows"], dataset["seq_len"], dataset["max_token_id"]) == (5, 8, int(ids.max()))
    assert dataset["attention_mask"] is True and dataset["label"] == "amber" and dataset["hazard_tier"] == 1
    row = UploadedDataset.objects.get(uuid=dataset["id"])
    assert row.sha256 == dataset["sha256"] == Artifact.objects.get(uuid=dataset["artifact"]).sha256
    events = set(AuditEvent.objects.filter(target_id=str(row.pk)).values_list("event", flat=True))
    assert {"DATASET_REGISTERED", "DATASET_PINNED"} <= events


def test_jsonl_text_is_counted_line_by_line(lab: dict[str, Any]) -> None:
    dataset = uploaded_dataset(
        lab["api"]["uploader"], jsonl_file(["one line", "two", "three"]), file_format="jsonl_text"
    )
    assert dataset["rows"] == 3 and dataset["seq_len"] is None and dataset["max_token_id"] is None


@pytest.mark.parametrize(
    ("file_format", "data", "reason"),
    [
        ("token_ids", b"\x80\x04pickle", "a pickle"),
        ("token_ids", token_file(torch.zeros(2, 4)), "dtype 'F32'"),
        ("token_ids", token_file(torch.zeros(2, 4, 3, dtype=torch.int64)), "shape (N, T)"),
        ("token_ids", token_file(-torch.ones(2, 4, dtype=torch.int64)), "negative token id"),
        (
            "token_ids",
            token_file(torch.zeros(2, 4, dtype=torch.int64), torch.tensor([[1, 1, 0, 1], [1, 1, 1, 1]])),
            "padding on the right",
        ),
        (
            "token_ids",
            token_file(torch.zeros(2, 4, dtype=torch.int64), torch.tensor([[1, 0, 0, 0], [1, 1, 1, 1]])),
            "fewer than 2 real tokens",
        ),
        (
            "token_ids",
            token_file(torch.zeros(2, 4, dtype=torch.int64), torch.ones(2, 3, dtype=torch.int64)),
            "shape",
        ),
        ("jsonl_text", b'{"text": "fine"}\n{"txt": "typo"}\n', "line 2"),
        ("jsonl_text", b'{"text": "fine"}\nnot json\n', "line 2 is not UTF-8 JSON"),
        ("jsonl_text", b"", "no lines"),
    ],
)
def test_a_file_that_is_not_its_format_is_refused_with_the_reason_and_nothing_is_kept(
    lab: dict[str, Any], file_format: str, data: bytes, reason: str
) -> None:
    api = lab["api"]["uploader"]
    registered = register_dataset(api, file_format=file_format).json()
    before = _stored_blobs()
    answer = upload_dataset_file(api, registered["id"], data)
    assert answer.status_code == 400, answer.content
    assert reason in answer.json()["error"]["message"]
    assert _stored_blobs() == before and not Artifact.objects.filter(parent_id=registered["id"]).exists()
    assert api.get(f"/api/v1/datasets/{registered['id']}/").json()["state"] == "awaiting_upload"


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"label": "red"}, "label", "named people"),
        ({"label": "green"}, "label", "stays in its organisation"),
        ({"label": "clear"}, "label", "public"),
        ({"label": "purple"}, "label", "one of amber_strict, amber"),
        ({"format": "parquet"}, "format", "token_ids, jsonl_text"),
        ({"hazard_tier": 2}, "hazard_tier", "above your clearance"),
        ({"name": " "}, "name", "blank"),
    ],
)
def test_registration_refuses_what_a_dataset_may_not_be_with_a_reason(
    lab: dict[str, Any], body: dict[str, Any], field: str, reason: str
) -> None:
    answer = lab["api"]["uploader"].post(
        "/api/v1/datasets/", {"name": "corpus", "format": "token_ids", **body}, format="json"
    )
    assert answer.status_code == 400, answer.content
    assert any(reason in message for message in answer.json()["error"]["fields"][field]), answer.json()


def test_the_file_is_uploaded_once_and_only_by_the_uploader(lab: dict[str, Any]) -> None:
    api = lab["api"]
    registered = register_dataset(api["uploader"], label="amber").json()
    data = token_file(random_tokens(2, 4, 10))
    assert upload_dataset_file(api["colleague"], registered["id"], data).status_code == 403
    assert upload_dataset_file(api["outsider"], registered["id"], data).status_code == 404
    assert upload_dataset_file(api["uploader"], registered["id"], data).status_code == 201
    assert upload_dataset_file(api["uploader"], registered["id"], data).status_code == 403


def test_the_file_is_never_downloaded_back(lab: dict[str, Any]) -> None:
    dataset = uploaded_dataset(lab["api"]["uploader"], token_file(random_tokens(2, 4, 10)))
    api = lab["api"]["uploader"]
    assert api.get(f"/api/v1/artifacts/{dataset['artifact']}/").status_code == 200  # its name and hash
    assert api.get(f"/api/v1/artifacts/{dataset['artifact']}/content/").status_code == 404


def _who_sees(lab: dict[str, Any], dataset_id: str) -> set[str]:
    """The people who list the dataset and read it; each must do both or neither."""
    seen = set()
    for name, api in lab["api"].items():
        listed = dataset_id in {d["id"] for d in api.get("/api/v1/datasets/").json()["results"]}
        read = api.get(f"/api/v1/datasets/{dataset_id}/")
        random = api.get(f"/api/v1/datasets/{uuid.uuid4()}/")
        if read.status_code == 404:
            assert read.json() == random.json(), "an invisible dataset must answer like a random id"
        assert listed == (read.status_code == 200), name
        if listed:
            seen.add(name)
    return seen


@pytest.mark.parametrize(
    ("label", "tier", "audience"),
    [
        ("amber", 0, {"uploader", "colleague", "colleague_tier0", "admin"}),
        ("amber", 1, {"uploader", "colleague", "admin"}),
        ("amber_strict", 0, {"uploader"}),
        ("amber_strict", 1, {"uploader"}),
    ],
)
def test_the_audience_is_the_owner_organisation_narrowed_by_label_and_tier(
    lab: dict[str, Any], label: str, tier: int, audience: set[str]
) -> None:
    dataset = uploaded_dataset(
        lab["api"]["uploader"], token_file(random_tokens(2, 4, 10)), label=label, hazard_tier=tier
    )
    assert _who_sees(lab, dataset["id"]) == audience


def test_a_person_who_left_the_organisation_no_longer_sees_even_their_own_upload(
    lab: dict[str, Any], network: Any
) -> None:
    dataset = uploaded_dataset(
        lab["api"]["uploader"], token_file(random_tokens(2, 4, 10)), label="amber_strict"
    )
    uploader = lab["people"]["uploader"]
    uploader.organisation = network.org("New employer")
    uploader.save()
    assert "uploader" not in _who_sees(lab, dataset["id"])


def test_mutant_filter_without_the_tier_lists_the_dataset_to_the_uncleared_colleague(
    lab: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real filter keeps an H1 dataset from a colleague of clearance 0 (the audience test
    above); one that forgets the tier lists it to them."""
    from interlock.datasets import access

    dataset = uploaded_dataset(
        lab["api"]["uploader"], token_file(random_tokens(2, 4, 10)), label="amber", hazard_tier=1
    )
    monkeypatch.setattr(access, "max_visible_tier", lambda person: 3)
    listed = lab["api"]["colleague_tier0"].get("/api/v1/datasets/").json()["results"]
    assert dataset["id"] in {d["id"] for d in listed}


def test_mutant_rule_without_the_label_shows_a_strict_dataset_to_a_colleague(
    lab: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from interlock.access.actions import allow
    from interlock.datasets import access

    dataset = uploaded_dataset(
        lab["api"]["uploader"], token_file(random_tokens(2, 4, 10)), label="amber_strict"
    )
    api = lab["api"]["colleague"]
    assert api.get(f"/api/v1/datasets/{dataset['id']}/").status_code == 404
    real = access.dataset_audience

    def without_label(person: Any, obj: Any) -> Any:
        decided = real(person, obj)
        return allow("mutant") if decided.reason.startswith("TLP:AMBER+STRICT") else decided

    monkeypatch.setattr(access, "dataset_audience", without_label)
    assert api.get(f"/api/v1/datasets/{dataset['id']}/").status_code == 200


def test_the_list_costs_the_same_queries_for_one_dataset_or_many(
    lab: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    api = lab["api"]["uploader"]
    for index in range(4):
        uploaded_dataset(api, token_file(random_tokens(2, 4, 10, seed=index)), label="amber")
    with django_assert_max_num_queries(12):
        assert len(api.get("/api/v1/datasets/").json()["results"]) == 4
