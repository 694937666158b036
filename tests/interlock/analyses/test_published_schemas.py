"""The schemas `GET /api/v1/analysis-kinds/` publishes are the ones `POST /api/v1/analyses/`
validates against: a client that sends every kind's and every dataset's published defaults, on a
checkpoint of a published family that takes the dataset and is big enough for its defaults, gets
201. (Before, "regression" was published with the linear teacher's schema — `d_in`, `d_out`, … —
and validated against the checkpoint-labelled one, so the published defaults were refused.)
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from analysis_workers import zoo
from analysis_workers.kinds import token_limits
from tests.interlock.builders import approved_checkpoint

pytestmark = pytest.mark.django_db


def _defaults(schema: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {name: rule["default"] for name, rule in schema.items() if rule.get("default") is not None}


def _spec_fitting(family: str, datasets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The family's example spec, its vocabulary and context widened to hold the published token
    datasets' defaults (modular addition's p + 1 token ids in 3 positions, the induction sequences'
    vocabulary and length): the request check refuses a dataset that does not fit the model."""
    spec = copy.deepcopy(zoo.example_spec(family))
    addition = _defaults(datasets["modular_addition"]["params_schema"])
    induction = _defaults(datasets["induction_sequences"]["params_schema"])
    vocab = max(addition["p"] + 1, induction["vocab_size"])
    context = max(3, induction["seq_len"])
    if family == "transformer":
        spec["config"].update(d_vocab=vocab, n_ctx=context)
    elif family == "hf_causal_lm":
        spec["config"].update(vocab_size=vocab, n_positions=context)
    return spec


def _approved_series(
    api_client_for: Any, owner: Any, steward: Any, family: str, datasets: dict[str, dict[str, Any]]
) -> list[Any]:
    spec = _spec_fitting(family, datasets)
    return [
        approved_checkpoint(
            api_client_for, owner, steward, spec, name=f"{family} {p}", series=family, position=p, seed=p
        )
        for p in (1, 2)
    ]


def _family_taking(families: list[str], takes: str) -> str:
    """The first of a kind's published families whose example model takes this dataset's examples
    (token ids for a language model, vectors otherwise): a token dataset cannot feed a deep linear
    network, and the request check says so (400)."""
    for family in families:
        if (token_limits(zoo.example_spec(family)) is None) == (takes == "vectors"):
            return family
    raise AssertionError(f"no published family takes {takes}: {families}")


def test_every_kind_and_dataset_accepts_its_published_defaults(
    network: Any, api_client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    owner = network.person(clearance=1)
    steward = network.person(steward=True, clearance=1)
    api = api_client_for(owner)
    published = api.get("/api/v1/analysis-kinds/").json()
    datasets = {dataset["name"]: dataset for dataset in published["datasets"]}
    series = {}
    created = []
    for kind in published["kinds"]:
        for dataset_name in kind["datasets"]:
            family = _family_taking(kind["families"], datasets[dataset_name]["takes"])
            if family not in series:
                series[family] = _approved_series(api_client_for, owner, steward, family, datasets)
            body = {
                "checkpoint": str(series[family][-1].uuid),
                "kind": kind["name"],
                "params": _defaults(kind["params_schema"]),
                "dataset": {
                    "name": dataset_name,
                    "params": _defaults(datasets[dataset_name]["params_schema"]),
                },
            }
            with django_capture_on_commit_callbacks(execute=False):
                answer = api.post("/api/v1/analyses/", body, format="json")
            assert answer.status_code == 201, (kind["name"], dataset_name, answer.content)
            created.append((kind["name"], dataset_name))
    assert {name for name, _ in created} == {kind["name"] for kind in published["kinds"]}
    assert "regression" in {dataset for _, dataset in created}
