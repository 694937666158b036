"""HTTP IDOR sweep over organisations' own datasets and the analyses that ran on them, as every role.

Every person of a small seeded network — the uploader, a cleared colleague, a colleague below the
tier, the owner organisation's admin, a cleared member and a cleared steward of another
organisation — and an anonymous caller sends every request that takes a dataset's id (its page in
the API, an upload of its file, the file's artifact, and an analysis request naming it in its
body), for each dataset, and every request on an analysis that ran on a TLP:AMBER+STRICT dataset,
in a rolled-back savepoint each. Who may see each object is written below in words from
docs/datasets.md, never from `interlock.access`:

- a dataset the person may not see answers exactly what the same request with an id that exists
  nowhere answers (status and body, the id itself aside), and that is a 404 — never 403 or 5xx;
- a dataset the person may see answers a read with 200;
- the dataset's name (a canary) appears in no answer to anyone outside its audience, lists included.

The sweep fails when a route taking a dataset id is added without a probe here.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.urls import resolve
from rest_framework.test import APIClient

from interlock.analyses.services.requester import analysis_request_create
from tests.interlock.builders import principal_for
from tests.support.datasets import (
    VOCAB,
    approved_checkpoint_for,
    random_tokens,
    register_dataset,
    token_file,
    uploaded_dataset,
)
from tests.support.routes import routes_taking
from tests.support.sweep import normalised_answer

pytestmark = pytest.mark.django_db
SWEPT_PARAMS = ("dataset_id",)
CANARY = {
    "amber_h1": "CANARY-amber-dataset-7d2e",
    "strict_h0": "CANARY-strict-dataset-1b9c",
    "awaiting": "CANARY-awaiting-dataset-44aa",
}

# --- the truth, in words (docs/datasets.md) -------------------------------------------------------
# A dataset is seen by its owner organisation only, narrowed by its label — TLP:AMBER its members,
# TLP:AMBER+STRICT the uploader alone — and by its tier (clearance ≥ tier). A steward is no
# exception, nor is the owner organisation's admin. Only the uploader uploads its file, once.
# An analysis on a dataset is seen by the intersection of its inputs' audiences: the checkpoint's
# organisation (whose members see every analysis on it) narrowed to the dataset's audience — for
# the TLP:AMBER+STRICT dataset, the uploader who requested it alone.
SEES: dict[str, frozenset[str]] = {
    "amber_h1": frozenset({"uploader", "colleague", "admin"}),
    "strict_h0": frozenset({"uploader"}),
    "awaiting": frozenset({"uploader", "colleague", "colleague_tier0", "admin"}),  # AMBER, H0
    "analysis": frozenset({"uploader"}),
}


@dataclass(frozen=True)
class Probe:
    method: str
    route: str  # `{id}` where the object's id goes, `{artifact}` its file's
    obj: str
    raw: bytes | None = None  # an octet-stream body (an upload)
    body: dict[str, Any] | None = None  # a JSON body; `{id}` in it is the dataset's id


def _seed(
    network: Any, api_client_for: Any, capture: Any
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], str]:
    lab, other = network.org("Lab"), network.org("Elsewhere")
    people = {
        "uploader": network.person(lab, clearance=1),
        "colleague": network.person(lab, clearance=1),
        "colleague_tier0": network.person(lab, clearance=0),
        "admin": network.person(lab, role="org_admin", clearance=3),
        "outsider": network.person(other, clearance=3),
        "steward": network.person(other, steward=True, clearance=3),
    }
    api = api_client_for(people["uploader"])
    data = token_file(random_tokens(3, 6, VOCAB))
    datasets = {
        "amber_h1": uploaded_dataset(api, data, name=CANARY["amber_h1"], label="amber", hazard_tier=1),
        "strict_h0": uploaded_dataset(api, data, name=CANARY["strict_h0"], label="amber_strict"),
        "awaiting": register_dataset(api, name=CANARY["awaiting"], label="amber").json(),
    }
    steward = network.person(network.org("Stewards"), steward=True, clearance=3)
    checkpoint = approved_checkpoint_for(people["uploader"], steward, api)
    with capture(execute=False):
        analysis = analysis_request_create(
            actor=principal_for(people["uploader"]),
            checkpoint_uuid=checkpoint.uuid,
            kind="llc",
            params={},
            dataset={"id": datasets["strict_h0"]["id"]},
        )
    datasets["analysis"] = {"id": str(analysis.uuid), "artifact": None, "checkpoint": str(checkpoint.uuid)}
    return people, datasets, str(checkpoint.uuid)


def _probes(datasets: dict[str, dict[str, Any]], checkpoint: str) -> list[Probe]:
    upload = token_file(random_tokens(2, 4, 20))
    request = {"checkpoint": checkpoint, "kind": "llc", "params": {}, "dataset": {"id": "{id}"}}
    probes = [
        Probe("GET", "/api/v1/analyses/{id}/", "analysis"),
        Probe("POST", "/api/v1/analyses/{id}/cancel/", "analysis", body={}),
        Probe(
            "POST",
            "/api/v1/analyses/{id}/releases/",
            "analysis",
            body={"target": "network", "reason": "wider"},
        ),
    ]
    for key, dataset in datasets.items():
        if key == "analysis":
            continue
        probes.append(Probe("POST", "/api/v1/analyses/", key, body=request))
        probes += [
            Probe("GET", "/api/v1/datasets/{id}/", key),
            Probe("GET", "/api/v1/artifacts/?parent_type=dataset&parent_id={id}", key),
            Probe(
                "POST", "/api/v1/artifacts/?parent_type=dataset&parent_id={id}&filename=d.bin", key, upload
            ),
        ]
        if dataset["artifact"]:
            probes += [
                Probe("GET", "/api/v1/artifacts/{artifact}/", key),
                Probe("GET", "/api/v1/artifacts/{artifact}/content/", key),
            ]
    return probes


def _send(client: APIClient, probe: Probe, path: str, object_id: str) -> tuple[int, bytes, str]:
    """One request in a savepoint rolled back afterwards: status, body, Location."""
    with transaction.atomic():
        try:
            if probe.method == "GET":
                response = client.get(path)
            elif probe.body is not None:
                body = json.loads(json.dumps(probe.body).replace("{id}", object_id))
                response = client.post(path, body, format="json")
            else:
                response = client.generic(
                    probe.method,
                    path,
                    probe.raw or b"",  # type: ignore[arg-type]
                    content_type="application/octet-stream",
                )
            return int(response.status_code), bytes(response.content), str(response.get("Location", ""))
        finally:
            transaction.set_rollback(True)


def test_every_role_gets_404_like_a_random_id_for_a_dataset_it_may_not_see(
    network: Any,
    api_client_for: Any,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="django.request")
    people, datasets, checkpoint = _seed(network, api_client_for, django_capture_on_commit_callbacks)
    probes = _probes(datasets, checkpoint)
    probed = {resolve(p.route.split("?")[0].replace("{id}", str(uuid.uuid4()))).view_name for p in probes}
    unswept = sorted(set(routes_taking(SWEPT_PARAMS)) - probed)
    assert unswept == [], f"routes taking a dataset id without a probe in this sweep: {unswept}"

    clients = {name: api_client_for(person) for name, person in people.items()}
    clients["anonymous"] = APIClient()
    requests, problems = 0, []
    for name, client in clients.items():
        for probe in probes:
            dataset = datasets[probe.obj]
            # the id the route names: the dataset's, or its file's for the artifact routes
            real_id = dataset["artifact"] if "{artifact}" in probe.route else dataset["id"]
            random_id = str(uuid.uuid4())
            placeholder = "{artifact}" if "{artifact}" in probe.route else "{id}"
            real = _send(client, probe, probe.route.replace(placeholder, real_id), real_id)
            random = _send(client, probe, probe.route.replace(placeholder, random_id), random_id)
            requests += 2
            answer, random_answer = normalised_answer(*real, real_id), normalised_answer(*random, random_id)
            label = f"{name} {probe.method} {probe.route} ({probe.obj})"
            sees = name in SEES[probe.obj]
            in_body = probe.body is not None and "{id}" in str(probe.body)
            if real[0] >= 500:
                problems.append(f"{label} -> {real[0]}")
            elif in_body and (not sees or name == "anonymous"):
                if answer != random_answer:
                    problems.append(
                        f"{label} -> {real[0]}, but {random[0]} for a random id: {real[1][:160]!r}"
                    )
            elif in_body:
                pass  # a dataset one may use: the request is judged by its fit, not its id
            elif not sees:
                if answer != random_answer:
                    problems.append(
                        f"{label} -> {real[0]}, but {random[0]} for a random id: {real[1][:160]!r}"
                    )
                elif name != "anonymous" and real[0] != 404:
                    problems.append(f"{label} -> {real[0]}, expected 404")
            elif probe.method == "GET" and real[0] != 200 and not probe.route.endswith("/content/"):
                problems.append(f"{label} -> {real[0]}, expected 200")
            problems += [
                f"{label} shows {canary}"
                for key, canary in CANARY.items()
                if name not in SEES[key] and canary.encode() in real[1]
            ]
        if name != "anonymous":
            listed = client.get("/api/v1/datasets/").content
            requests += 1
            problems += [
                f"{name} GET /api/v1/datasets/ shows {canary}"
                for key, canary in CANARY.items()
                if name not in SEES[key] and canary.encode() in listed
            ]
    print(
        f"\nIDOR sweep (datasets): {requests} requests by {len(clients)} roles over {len(probes)} probes, "
        f"{len(problems)} mismatches"
    )
    assert problems == [], "\n".join(problems[:60])
