"""The analyses pages: the request form generated per kind (defaults, ranges, only what fits the
model), the live status partial, re-run, compare, metrics downloads; invisible to outsiders."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest

from analysis_workers.datasets import registry as dataset_registry
from analysis_workers.kinds import registry
from interlock.analyses.models import AnalysisRequest, AnalysisResult
from interlock.crypto.fields import seal_text
from interlock_wire import analysis_result_object_id
from tests.interlock.builders import PASSWORD, approved_checkpoint
from tests.support.analyses import uploaded_checkpoint

pytestmark = pytest.mark.django_db

TRANSFORMER = {
    "family": "transformer",
    "config": {
        "d_vocab": 8,
        "n_ctx": 3,
        "d_model": 16,
        "n_heads": 2,
        "d_head": 8,
        "d_mlp": 32,
        "n_layers": 1,
        "act_fn": "relu",
        "normalization": None,
        "attn_only": False,
    },
}


def _form(kind: str, dataset: str, **changed: Any) -> dict[str, str]:
    """What a browser sends for `kind` on the built-in `dataset` with the published defaults
    (and `changed`: `p.<param>` or `<dataset param>` overrides), as the generated form names them."""
    posted = {"kind": kind, "dataset": f"builtin:{dataset}"}
    for name, spec in registry()[kind].params_schema.items():
        posted[f"p.{name}"] = "" if spec.get("default") is None else str(spec["default"])
    for name, spec in dataset_registry()[dataset].params_schema.items():
        posted[f"builtin:{dataset}.{name}"] = str(spec["default"])
    return {**posted, **{key: str(value) for key, value in changed.items()}}


def _signed_in(network: Any, person: Any) -> Any:
    person.set_password(PASSWORD)
    person.save()
    return network.signed_in_client(person)


def _finish(analysis: AnalysisRequest, metrics: dict[str, Any]) -> None:
    """Leave the analysis as a worker would: succeeded, with sealed metrics."""
    AnalysisRequest.objects.filter(pk=analysis.pk).update(state="succeeded", progress=1.0)
    result = AnalysisResult(request=analysis)
    result.metrics_sealed = seal_text(
        org=analysis.checkpoint.owner_org,
        object_id=analysis_result_object_id(request_uuid=analysis.uuid),
        text=json.dumps({"metrics": metrics, "seconds": 1.5}),
    )
    result.save()


def _field_value(html: bytes, name: str) -> str:
    found = re.search(rb'name="' + re.escape(name.encode()) + rb'"[^>]*value="([^"]*)"', html)
    assert found is not None, f"no field {name}"
    return found.group(1).decode()


def test_request_follow_and_read_results_in_the_pages(
    network, api_client_for, django_capture_on_commit_callbacks
) -> None:
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    client = _signed_in(network, owner)
    form = client.get(f"/checkpoints/{checkpoint.uuid}/analyse/?kind=llc")
    assert form.status_code == 200
    # labelled fields with the schema's defaults and ranges; an mlp runs no transformer kinds
    assert b'<label for="f-p.num_draws">num draws</label>' in form.content
    assert _field_value(form.content, "p.num_draws") == str(
        registry()["llc"].params_schema["num_draws"]["default"]
    )
    assert b'min="10" max="20000"' in form.content
    assert b"?kind=essential_dynamics" in form.content and b"?kind=attention_patterns" not in form.content
    # token datasets do not fit an mlp: shown as not offered, with the reason, and disabled
    assert b"Not offered for this model" in form.content
    assert re.search(rb'value="builtin:modular_addition"[^>]*disabled', form.content)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            f"/checkpoints/{checkpoint.uuid}/analyse/", _form("llc", "regression", **{"p.num_draws": 100})
        )
    assert response.status_code == 302, response.content[-2000:]
    analysis = AnalysisRequest.objects.get()
    assert analysis.params["num_draws"] == 100 and analysis.dataset["name"] == "regression"
    status = client.get(f"/analyses/{analysis.uuid}/status/")
    assert b'hx-trigger="every 2s"' in status.content and b"Queued" in status.content
    assert b"position 1 in the" in status.content
    _finish(analysis, {"llc_mean": 4.2, "llc_std": 0.1, "llc_per_chain": [4.1, 4.3], "init_loss": 0.01})
    done = client.get(f"/analyses/{analysis.uuid}/")
    assert b"4.200" in done.content and b"every 2s" not in done.content
    assert b"Re-run with changed parameters" in done.content
    as_csv = client.get(f"/analyses/{analysis.uuid}/metrics.csv")
    assert as_csv["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(as_csv.content.decode())))
    assert rows[0] == ["metric", "value"] and ["llc_per_chain.1", "4.3"] in rows
    as_json = client.get(f"/analyses/{analysis.uuid}/metrics.json")
    assert json.loads(as_json.content)["llc_mean"] == 4.2
    outsider = network.signed_in_client(network.person(clearance=3, password=PASSWORD))
    for path in (
        f"/analyses/{analysis.uuid}/",
        f"/analyses/{analysis.uuid}/status/",
        f"/analyses/{analysis.uuid}/metrics.csv",
        f"/analyses/{analysis.uuid}/metrics.json",
        f"/checkpoints/{checkpoint.uuid}/analyse/",
        f"/checkpoints/{checkpoint.uuid}/analyse/?from={analysis.uuid}",
    ):
        assert outsider.get(path).status_code == 404, path
    assert (
        outsider.post(f"/checkpoints/{checkpoint.uuid}/analyse/", _form("llc", "regression")).status_code
        == 404
    )
    assert client.get(f"/analyses/{analysis.uuid}/metrics.xml").status_code == 404


def test_a_value_out_of_range_is_refused_next_to_its_field_and_what_was_typed_stays(
    network, api_client_for
) -> None:
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    client = _signed_in(network, owner)
    posted = _form(
        "llc", "regression", **{"p.num_draws": 5, "p.step_size": "tiny", "builtin:regression.n": 7}
    )
    refused = client.post(f"/checkpoints/{checkpoint.uuid}/analyse/", posted)
    assert refused.status_code == 400 and AnalysisRequest.objects.count() == 0
    page = refused.content.decode()
    assert "num_draws must be between 10 and 20000, got 5" in page and "a number" in page
    assert _field_value(refused.content, "p.num_draws") == "5"
    assert _field_value(refused.content, "p.step_size") == "tiny"
    assert _field_value(refused.content, "builtin:regression.n") == "7"  # valid, kept as typed


def test_the_form_fits_a_transformer_and_refuses_a_dataset_that_does_not(
    network, api_client_for, django_capture_on_commit_callbacks
) -> None:
    org = network.org()
    owner = network.person(org, clearance=1)
    steward = network.person(steward=True)
    checkpoint = approved_checkpoint(api_client_for, owner, steward, TRANSFORMER, name="modadd")
    client = _signed_in(network, owner)
    form = client.get(f"/checkpoints/{checkpoint.uuid}/analyse/?kind=attention_patterns")
    assert form.status_code == 200
    # p = d_vocab - 1; the induction sequences within the vocabulary (8) and the context (3)
    assert _field_value(form.content, "builtin:modular_addition.p") == "7"
    assert _field_value(form.content, "builtin:induction_sequences.vocab_size") == "8"
    assert _field_value(form.content, "builtin:induction_sequences.seq_len") == "3"
    assert _field_value(form.content, "builtin:induction_sequences.max_period") == "1"
    assert b"?kind=grokking_progress" in form.content  # a transformer-only kind, AL3 allows it
    too_big = _form("attention_patterns", "modular_addition", **{"builtin:modular_addition.p": 50})
    refused = client.post(f"/checkpoints/{checkpoint.uuid}/analyse/", too_big)
    assert refused.status_code == 400 and AnalysisRequest.objects.count() == 0
    assert b"the model&#x27;s vocabulary has 8" in refused.content
    assert _field_value(refused.content, "builtin:modular_addition.p") == "50"
    not_offered = client.post(
        f"/checkpoints/{checkpoint.uuid}/analyse/", _form("attention_patterns", "regression")
    )
    assert not_offered.status_code == 400 and b"choose one of the datasets offered" in not_offered.content
    fits = _form("attention_patterns", "modular_addition", **{"builtin:modular_addition.p": 7})
    with django_capture_on_commit_callbacks(execute=False):
        assert client.post(f"/checkpoints/{checkpoint.uuid}/analyse/", fits).status_code == 302
    assert AnalysisRequest.objects.get().dataset["params"]["p"] == 7


def test_only_kinds_the_approval_allows_are_offered(network, api_client_for) -> None:
    owner, checkpoint = uploaded_checkpoint(network, api_client_for, level=2)
    client = _signed_in(network, owner)
    # every kind that runs on an mlp needs AL3
    assert client.get(f"/checkpoints/{checkpoint.uuid}/analyse/").status_code == 403
    refused = client.post(f"/checkpoints/{checkpoint.uuid}/analyse/", _form("llc", "regression"))
    assert refused.status_code == 403 and AnalysisRequest.objects.count() == 0


def test_rerun_prefills_the_form_and_compare_shows_both_side_by_side(
    network, api_client_for, django_capture_on_commit_callbacks
) -> None:
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    client = _signed_in(network, owner)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(
            f"/checkpoints/{checkpoint.uuid}/analyse/",
            _form("llc", "regression", **{"p.num_draws": 100, "builtin:regression.n": 500}),
        )
    first = AnalysisRequest.objects.get()
    again = client.get(f"/checkpoints/{checkpoint.uuid}/analyse/?from={first.uuid}")
    assert _field_value(again.content, "p.num_draws") == "100"
    assert _field_value(again.content, "builtin:regression.n") == "500"
    with django_capture_on_commit_callbacks(execute=False):
        client.post(
            f"/checkpoints/{checkpoint.uuid}/analyse/",
            _form("llc", "regression", **{"p.num_draws": 200, "builtin:regression.n": 500}),
        )
    second = AnalysisRequest.objects.exclude(pk=first.pk).get()
    _finish(first, {"llc_mean": 4.0, "diagnostics": {"r_hat": 1.01}})
    _finish(second, {"llc_mean": 4.5, "diagnostics": {"r_hat": 1.02}})
    detail = client.get(f"/analyses/{first.uuid}/")
    assert str(second.uuid).encode() in detail.content  # offered to compare with
    compared = client.get(f"/analyses/compare/?a={first.uuid}&b={second.uuid}")
    assert compared.status_code == 200
    page = compared.content.decode()
    assert "params.num_draws" in page and "llc_mean" in page and "diagnostics.r_hat" in page
    assert re.search(r"llc_mean</th><td>4.0</td><td>4.5</td><td>0.5</td>", page), page[
        page.index("Metrics</th>") :
    ][:600]
    outsider = network.signed_in_client(network.person(clearance=3, password=PASSWORD))
    assert outsider.get(f"/analyses/compare/?a={first.uuid}&b={second.uuid}").status_code == 404
    other_kind = AnalysisRequest.objects.filter(pk=second.pk)
    other_kind.update(kind="essential_dynamics")
    assert client.get(f"/analyses/compare/?a={first.uuid}&b={second.uuid}").status_code == 400


def test_the_form_offers_the_organisations_uploaded_datasets_that_fit_and_only_those(
    network, api_client_for, django_capture_on_commit_callbacks
) -> None:
    from tests.support.datasets import CONTEXT, TOKEN_SPEC, VOCAB, random_tokens, token_file, uploaded_dataset

    org = network.org()
    owner = network.person(org, clearance=1)
    checkpoint = approved_checkpoint(api_client_for, owner, network.person(steward=True), TOKEN_SPEC)
    api = api_client_for(owner)
    fits = uploaded_dataset(api, token_file(random_tokens(20, CONTEXT, VOCAB)), name="fits the model")
    too_long = uploaded_dataset(api, token_file(random_tokens(20, CONTEXT + 4, VOCAB)), name="rows too long")
    colleague = network.person(org, clearance=1)
    private = uploaded_dataset(
        api_client_for(colleague), token_file(random_tokens(4, 4, VOCAB)), name="theirs"
    )
    client = _signed_in(network, owner)
    page = client.get(f"/checkpoints/{checkpoint.uuid}/analyse/?kind=logit_lens").content.decode()
    assert f'value="uploaded:{fits["id"]}"' in page and "fits the model" in page
    assert re.search(rf'value="uploaded:{too_long["id"]}"[^>]*disabled', page)
    assert "the model&#x27;s context is 8" in page
    assert "theirs" not in page and private["id"] not in page  # AMBER+STRICT: the uploader's alone
    key = f"uploaded:{fits['id']}"
    posted = {"kind": "logit_lens", "p.max_prompts": "16", "dataset": key, f"{key}.max_rows": "10"}
    with django_capture_on_commit_callbacks(execute=False):
        assert client.post(f"/checkpoints/{checkpoint.uuid}/analyse/", posted).status_code == 302
    created = AnalysisRequest.objects.get()
    assert created.uploaded_dataset.uuid.hex == fits["id"].replace("-", "")
    assert created.dataset["params"] == {"max_rows": 10}
    stolen = {**posted, "dataset": f"uploaded:{private['id']}", f"uploaded:{private['id']}.max_rows": "10"}
    refused = client.post(f"/checkpoints/{checkpoint.uuid}/analyse/", stolen)
    assert refused.status_code == 400 and b"choose one of the datasets offered" in refused.content
    assert AnalysisRequest.objects.count() == 1
