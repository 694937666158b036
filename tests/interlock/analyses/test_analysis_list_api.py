"""GET /api/v1/analyses/: the analyses a person may see, filtered, in a constant number of queries."""

from __future__ import annotations

import pytest

from interlock.analyses.models import AnalysisState
from interlock.analyses.services import requester
from interlock.analyses.services.requester import analysis_request_create
from tests.interlock.builders import principal_for
from tests.support.analyses import FAST, uploaded_checkpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_queue(monkeypatch):
    monkeypatch.setattr(requester, "analysis_dispatch", lambda **_: None)  # nothing to run them


def _request(owner, checkpoint, kind: str = "llc"):
    return analysis_request_create(
        actor=principal_for(owner), checkpoint_uuid=checkpoint.uuid, kind=kind, params=FAST
    )


def test_owner_lists_their_analyses_newest_first_and_a_stranger_sees_none(
    network, api_client_for, no_queue
) -> None:
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    first, second = _request(owner, checkpoint), _request(owner, checkpoint)
    listed = api_client_for(owner).get("/api/v1/analyses/")
    assert listed.status_code == 200, listed.content
    body = listed.json()
    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [str(second.uuid), str(first.uuid)]
    row = body["results"][0]
    assert (row["checkpoint"], row["checkpoint_name"], row["kind"], row["state"]) == (
        str(checkpoint.uuid),
        "mlp",
        "llc",
        "queued",
    )
    assert "metrics" not in row  # lists never open sealed results
    stranger = network.person(clearance=3)
    assert api_client_for(stranger).get("/api/v1/analyses/").json()["count"] == 0


def test_analyses_filter_by_checkpoint_kind_and_state(network, api_client_for, no_queue) -> None:
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    llc = _request(owner, checkpoint)
    _request(owner, checkpoint)
    llc.state = AnalysisState.CANCELLED
    llc.save(update_fields=["state"])
    client = api_client_for(owner)

    def ids(query: str) -> list[str]:
        answer = client.get(f"/api/v1/analyses/?{query}")
        assert answer.status_code == 200, answer.content
        return [row["id"] for row in answer.json()["results"]]

    assert ids("state=cancelled") == [str(llc.uuid)]
    assert len(ids(f"checkpoint={checkpoint.uuid}&kind=llc")) == 2
    assert ids("kind=attention_patterns") == []
    assert ids("checkpoint=00000000-0000-0000-0000-000000000000") == []


def test_bad_analysis_filters_are_a_400_naming_each_field(network, api_client_for) -> None:
    person = network.person(clearance=1)
    answer = api_client_for(person).get("/api/v1/analyses/?state=done&checkpoint=nope")
    assert answer.status_code == 400
    assert set(answer.json()["error"]["fields"]) == {"state", "checkpoint"}


def test_analysis_list_queries_do_not_grow_with_the_page(
    network, api_client_for, no_queue, django_assert_max_num_queries
) -> None:
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    client = api_client_for(owner)
    _request(owner, checkpoint)
    with django_assert_max_num_queries(20) as few:
        client.get("/api/v1/analyses/")
    for _ in range(5):
        _request(owner, checkpoint)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/api/v1/analyses/").json()["count"] == 6
