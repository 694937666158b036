"""Analyses on an organisation's own dataset: the requester must be allowed to analyse with it (a
dataset they may not use answers like an id that does not exist), it must fit the kind and the
model before anything is queued, the analysis takes the strictest tier of its inputs, the dataset's
blob travels in the signed ticket, and the result's audience is the intersection of the inputs'."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from interlock.access import visible
from interlock.analyses import keys
from interlock.analyses.models import AnalysisRequest
from interlock.analyses.services.dispatch import analysis_ticket
from interlock.analyses.services.jobs import job_claim
from interlock.checkpoints.models import AnalysisAccessGrant
from interlock_wire import verify_ticket
from tests.interlock.builders import principal_for
from tests.support.datasets import (
    CONTEXT,
    VOCAB,
    approved_checkpoint_for,
    jsonl_file,
    random_tokens,
    register_dataset,
    token_file,
    uploaded_dataset,
)

pytestmark = pytest.mark.django_db

MLP = {"family": "mlp", "config": {"in_dim": 3, "hidden": [4], "out_dim": 2, "activation": "tanh"}}
BUILTIN = {"name": "induction_sequences", "params": {"n": 8, "vocab_size": VOCAB, "seq_len": CONTEXT}}
FAST = {"num_chains": 1, "num_draws": 10, "num_burnin": 0, "batch_size": 4}


@pytest.fixture
def world(network: Any, api_client_for: Any) -> dict[str, Any]:
    lab, other = network.org("Lab"), network.org("Elsewhere")
    people = {
        "requester": network.person(lab, clearance=2),
        "colleague": network.person(lab, clearance=2),
        "admin": network.person(lab, role="org_admin", clearance=2),
        "grantee": network.person(other, clearance=2),
        "grantee_colleague": network.person(other, clearance=2),
    }
    api = {name: api_client_for(person) for name, person in people.items()}
    steward = network.person(network.org("Stewards"), steward=True, clearance=3)
    checkpoint = approved_checkpoint_for(people["requester"], steward, api["requester"])
    return {"people": people, "api": api, "steward": steward, "checkpoint": checkpoint}


def request(api: Any, checkpoint: Any, dataset: Any, kind: str = "llc") -> Any:
    return api.post(
        "/api/v1/analyses/",
        {
            "checkpoint": str(checkpoint.uuid),
            "kind": kind,
            "params": FAST if kind == "llc" else {},
            "dataset": dataset,
        },
        format="json",
    )


def tokens(rows: int = 6, seq_len: int = CONTEXT, vocab: int = VOCAB) -> bytes:
    return token_file(random_tokens(rows, seq_len, vocab))


def test_an_analysis_on_an_uploaded_dataset_is_queued_with_its_blob_in_the_ticket(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    dataset = uploaded_dataset(world["api"]["requester"], tokens(), label="amber", hazard_tier=2)
    with django_capture_on_commit_callbacks(execute=False):
        answer = request(world["api"]["requester"], world["checkpoint"], {"id": dataset["id"]})
    assert answer.status_code == 201, answer.content
    analysis = AnalysisRequest.objects.get(uuid=answer.json()["id"])
    assert analysis.hazard_tier == 2  # the strictest input: the H2 dataset, not the H0 checkpoint
    assert analysis.dataset == {"name": "uploaded", "id": dataset["id"], "format": "token_ids",
                                "params": {"max_rows": 100_000}}  # fmt: skip
    ticket = verify_ticket(
        analysis_ticket(analysis).encode(),
        platform_public_key=keys.platform_signing_key().public_key(),
        fleet_id=analysis_fleet(),
    )
    described = ticket.extra["dataset"]
    assert described["location"] == dataset["artifact"] and described["sha256"] == dataset["sha256"]
    blob = next(b for b in ticket.blobs if b.location == dataset["artifact"])
    assert blob.sha256 == dataset["sha256"] and base64.urlsafe_b64decode(blob.sealed_data_key)
    assert [item["files"][""] for item in ticket.extra["inputs"]] == [str(world["checkpoint"].artifact.uuid)]


def analysis_fleet() -> str:
    from django.conf import settings

    return str(settings.WORKER_FLEET_ID)


def test_a_dataset_the_requester_may_not_use_answers_like_a_random_id(
    world: dict[str, Any], network: Any, api_client_for: Any
) -> None:
    api = world["api"]
    strict = uploaded_dataset(api["colleague"], tokens(), label="amber_strict")
    high = uploaded_dataset(api["admin"], tokens(), label="amber", hazard_tier=2)
    world["people"]["requester"].clearance = 1
    world["people"]["requester"].save()
    foreign = uploaded_dataset(api_client_for(network.person(network.org(), clearance=1)), tokens())
    random = request(api["requester"], world["checkpoint"], {"id": str(uuid.uuid4())})
    assert random.status_code == 404
    for dataset in (strict, high, foreign):
        answer = request(api["requester"], world["checkpoint"], {"id": dataset["id"]})
        assert (answer.status_code, answer.json()) == (404, random.json()), dataset["label"]
    assert not AnalysisRequest.objects.exists()


@pytest.mark.parametrize(
    ("data", "file_format", "dataset_params", "kind", "reason"),
    [
        (tokens(vocab=VOCAB + 5), "token_ids", {}, "llc", "vocabulary has 16 ids"),
        (tokens(seq_len=CONTEXT + 1), "token_ids", {}, "llc", "the model's context is 8"),
        (tokens(), "token_ids", {}, "activation_patching", "takes the dataset modular_addition"),
        (tokens(), "token_ids", {"seq_len": 4}, "llc", "unknown params"),
        (jsonl_file(["a b", "c"]), "jsonl_text", {"seq_len": 8}, "llc", "tokenizer.json"),
        (jsonl_file(["a b", "c"]), "jsonl_text", {"seq_len": 9}, "llc", "9 exceeds the model's context"),
    ],
)
def test_a_dataset_that_does_not_fit_the_model_or_the_kind_is_refused_with_the_reason(
    world: dict[str, Any],
    data: bytes,
    file_format: str,
    dataset_params: dict[str, Any],
    kind: str,
    reason: str,
) -> None:
    api = world["api"]["requester"]
    dataset = uploaded_dataset(api, data, file_format=file_format)
    answer = request(api, world["checkpoint"], {"id": dataset["id"], "params": dataset_params}, kind=kind)
    assert answer.status_code == 400, answer.content
    assert any(reason in line for line in answer.json()["error"]["fields"]["dataset"]), answer.json()
    assert not AnalysisRequest.objects.exists()


def test_a_model_that_reads_no_tokens_and_a_file_still_awaited_are_refused(world: dict[str, Any]) -> None:
    api = world["api"]["requester"]
    mlp = approved_checkpoint_for(world["people"]["requester"], world["steward"], api, spec=MLP)
    dataset = uploaded_dataset(api, tokens())
    answer = request(api, mlp, {"id": dataset["id"]})
    assert answer.status_code == 400 and "reads no tokens" in str(answer.json())
    waiting = register_dataset(api).json()
    answer = request(api, world["checkpoint"], {"id": waiting["id"]})
    assert answer.status_code == 409 and "not been uploaded" in answer.json()["error"]["message"]


def _readers(world: dict[str, Any], analysis_id: str) -> set[str]:
    """Who reads the analysis through the API; the policy's SQL filter must list it to exactly them."""
    readers = set()
    for name, api in world["api"].items():
        read = api.get(f"/api/v1/analyses/{analysis_id}/").status_code == 200
        principal = principal_for(world["people"][name])
        listed = visible(principal, AnalysisRequest.objects.filter(uuid=analysis_id)).exists()
        assert read == listed, name
        if read:
            readers.add(name)
    return readers


def _analysis(world: dict[str, Any], who: str, dataset: dict[str, Any], capture: Any) -> str:
    with capture(execute=False):
        answer = request(world["api"][who], world["checkpoint"], {"id": dataset["id"]})
    assert answer.status_code == 201, answer.content
    return str(answer.json()["id"])


def test_the_result_audience_is_the_intersection_of_the_checkpoints_and_the_datasets(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    capture, api = django_capture_on_commit_callbacks, world["api"]
    AnalysisAccessGrant.objects.create(
        checkpoint=world["checkpoint"],
        grantee=world["people"]["grantee"],
        reason="compare with our corpus",
        state="approved",
        expires_at=timezone.now() + timedelta(days=3),
    )
    amber = uploaded_dataset(api["requester"], tokens(), label="amber")
    strict = uploaded_dataset(api["requester"], tokens(), label="amber_strict")
    theirs = uploaded_dataset(api["grantee"], tokens(), label="amber")
    with capture(execute=False):
        builtin = request(api["requester"], world["checkpoint"], BUILTIN).json()["id"]
    # a built-in dataset: the requester and the checkpoint's organisation
    assert _readers(world, builtin) == {"requester", "colleague", "admin"}
    assert _readers(world, _analysis(world, "requester", amber, capture)) == {
        "requester",
        "colleague",
        "admin",
    }
    assert _readers(world, _analysis(world, "requester", strict, capture)) == {"requester"}
    # a grantee's own dataset on another organisation's checkpoint: the checkpoint's owners do not
    # see results computed on it, nor does the grantee's colleague see the checkpoint's results
    assert _readers(world, _analysis(world, "grantee", theirs, capture)) == {"grantee"}


def test_results_on_an_uploaded_dataset_are_never_released_wider(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    dataset = uploaded_dataset(world["api"]["requester"], tokens(), label="amber")
    analysis_id = _analysis(world, "requester", dataset, django_capture_on_commit_callbacks)
    answer = world["api"]["requester"].post(
        f"/api/v1/analyses/{analysis_id}/releases/",
        {"target": "network", "reason": "Everyone should see this."},
        format="json",
    )
    assert answer.status_code == 403, answer.content


def test_mutant_rule_without_the_dataset_clause_shows_a_strict_datasets_results_to_a_colleague(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from interlock.access.actions import allow
    from interlock.analyses import access

    strict = uploaded_dataset(world["api"]["requester"], tokens(), label="amber_strict")
    analysis_id = _analysis(world, "requester", strict, django_capture_on_commit_callbacks)
    colleague = world["api"]["colleague"]
    assert colleague.get(f"/api/v1/analyses/{analysis_id}/").status_code == 404
    monkeypatch.setattr(access, "dataset_audience", lambda person, dataset: allow("mutant"))
    assert colleague.get(f"/api/v1/analyses/{analysis_id}/").status_code == 200


def test_a_queued_job_stops_when_the_requester_may_no_longer_use_the_dataset(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    dataset = uploaded_dataset(world["api"]["requester"], tokens(), label="amber", hazard_tier=2)
    analysis_id = _analysis(world, "requester", dataset, django_capture_on_commit_callbacks)
    analysis = AnalysisRequest.objects.get(uuid=analysis_id)
    ticket = verify_ticket(
        analysis_ticket(analysis).encode(),
        platform_public_key=keys.platform_signing_key().public_key(),
        fleet_id=analysis_fleet(),
    )
    requester = world["people"]["requester"]
    requester.clearance = 1  # below the dataset's H2 while the job waited
    requester.save()
    claim = job_claim(ticket=ticket, worker_host="w", device="cpu")
    assert claim.refused == "the requester may no longer analyse this checkpoint or dataset"
    analysis.refresh_from_db()
    assert analysis.state == "failed"
