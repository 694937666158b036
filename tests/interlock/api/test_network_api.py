"""The network API: forbidden looks like missing, bad input is refused cleanly, revocation is immediate."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from interlock.accounts.models import ApiToken, Person, Role
from interlock.audit.models import AuditEvent
from interlock.network.models import Organisation, OrganisationStatus

pytestmark = pytest.mark.django_db


def _snapshot() -> tuple[int, int, int, list[tuple[str, str]]]:
    return (
        Organisation.objects.count(),
        Person.objects.count(),
        AuditEvent.objects.count(),
        sorted(Organisation.objects.values_list("name", "status")),
    )


def test_forbidden_organisation_answers_exactly_like_a_missing_one(network, api_client_for) -> None:
    member = network.person()
    applicant = network.org(status=OrganisationStatus.APPLICANT)
    client = api_client_for(member)
    forbidden = client.get(f"/api/v1/organisations/{applicant.uuid}/")
    missing = client.get(f"/api/v1/organisations/{uuid.uuid4()}/")
    garbage = client.get("/api/v1/organisations/not-a-uuid/")
    assert forbidden.status_code == missing.status_code == garbage.status_code == 404
    assert forbidden.content == missing.content == garbage.content
    assert forbidden.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}


def test_forbidden_person_and_actions_answer_like_missing(network, api_client_for) -> None:
    member = network.person()
    stranger = network.person(network.org(status=OrganisationStatus.SUSPENDED))
    client = api_client_for(member)
    for path in ("", "suspend/", "role/"):
        forbidden = (
            client.post(f"/api/v1/people/{stranger.uuid}/{path}", {}, format="json")
            if path
            else client.get(f"/api/v1/people/{stranger.uuid}/")
        )
        missing = (
            client.post(f"/api/v1/people/{uuid.uuid4()}/{path}", {}, format="json")
            if path
            else client.get(f"/api/v1/people/{uuid.uuid4()}/")
        )
        assert forbidden.status_code == missing.status_code
        assert forbidden.content == missing.content


def test_audit_log_is_invisible_to_non_stewards(network, api_client_for) -> None:
    assert api_client_for(network.person(role=Role.ORG_ADMIN)).get("/api/v1/audit-events/").status_code == 404
    steward = network.person(steward=True)
    response = api_client_for(steward).get("/api/v1/audit-events/")
    assert response.status_code == 200
    assert AuditEvent.objects.filter(event="AUDIT_LOG_VIEWED", actor_id=steward.pk).exists()


def test_two_stewards_from_other_orgs_activate_an_applicant(network, api_client_for) -> None:
    applicant = network.org(status=OrganisationStatus.APPLICANT)
    first, second = network.person(steward=True), network.person(steward=True)
    url = f"/api/v1/organisations/{applicant.uuid}/approve/"
    assert api_client_for(first).post(url, {}, format="json").json()["status"] == "applicant"
    again = api_client_for(first).post(url, {}, format="json")
    assert again.status_code == 409
    assert api_client_for(second).post(url, {}, format="json").json()["status"] == "active"
    events = list(AuditEvent.objects.filter(target_id=str(applicant.pk)).values_list("event", flat=True))
    assert events.count("ORGANISATION_ACTIVATION_APPROVED") == 2 and "ORGANISATION_ACTIVATED" in events


def test_a_steward_cannot_vet_their_own_organisation(network, api_client_for) -> None:
    org = network.org()
    steward = network.person(org, steward=True)
    response = api_client_for(steward).post(
        f"/api/v1/organisations/{org.uuid}/suspend/", {"reason": "x"}, format="json"
    )
    assert response.status_code == 403
    org.refresh_from_db()
    assert org.status == OrganisationStatus.ACTIVE


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"name": "x",', "application/json", 400, "parse_error"),
        (b'{"name": NaN}', "application/json", 400, "parse_error"),
        (b'{"name": "a", "name": "b"}', "application/json", 400, "parse_error"),
        (b'["not", "an", "object"]', "application/json", 400, "invalid"),
        (b'{"name": "Valid", "members": "not-a-list"}', "application/json", 400, "invalid"),
        (b'{"name": "Valid", "colour": "blue"}', "application/json", 400, "invalid"),
        (b'{"name": "Valid", "members": ["not-a-uuid"]}', "application/json", 400, "invalid"),
        (b"name=Valid", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (json.dumps({"name": "x" * 2_000_000}).encode(), "application/json", 413, "too_large"),
    ],
)
def test_bad_input_gets_a_clear_4xx_and_changes_nothing(
    network, api_client_for, body, content_type, status, code
) -> None:
    admin = network.person(role=Role.ORG_ADMIN)
    client = api_client_for(admin)
    before = _snapshot()
    response = client.generic("POST", "/api/v1/sharing-groups/", body, content_type=content_type)
    assert response.status_code == status, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert _snapshot() == before


def test_unknown_field_is_named_in_the_error(network, api_client_for) -> None:
    client = api_client_for(network.person(role=Role.ORG_ADMIN))
    response = client.post("/api/v1/sharing-groups/", {"name": "G", "colour": "blue"}, format="json")
    assert response.json()["error"]["fields"] == {"colour": ["Unknown field."]}


def test_expired_revoked_and_malformed_tokens_are_refused(network, api_client_for) -> None:
    person = network.person()
    client = api_client_for(person)
    assert client.get("/api/v1/me/").status_code == 200
    token = ApiToken.objects.get(person=person)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = client.get("/api/v1/me/")
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "not_authenticated"
    for header in ("Bearer", "Bearer ilk_x_y", "Token abc", f"Bearer {client.token_secret}x"):
        assert APIClient(HTTP_AUTHORIZATION=header).get("/api/v1/me/").status_code == 401


def test_token_scope_limits_methods(network, api_client_for) -> None:
    admin = network.person(role=Role.ORG_ADMIN)
    read_only = api_client_for(admin, scopes=("read",))
    assert read_only.get("/api/v1/sharing-groups/").status_code == 200
    response = read_only.post("/api/v1/sharing-groups/", {"name": "G"}, format="json")
    assert response.status_code == 403 and "write" in response.json()["error"]["message"]


def test_suspended_person_token_stops_on_the_next_request(network, api_client_for) -> None:
    org = network.org()
    person = network.person(org)
    admin = network.person(org, role=Role.ORG_ADMIN)
    client = api_client_for(person)
    assert client.get("/api/v1/me/").status_code == 200
    assert (
        api_client_for(admin).post(f"/api/v1/people/{person.uuid}/suspend/", {}, format="json").status_code
        == 200
    )
    assert client.get("/api/v1/me/").status_code == 401


def test_suspended_organisation_tokens_stop_working(network, api_client_for) -> None:
    org = network.org()
    person = network.person(org)
    client = api_client_for(person)
    steward = network.person(steward=True)
    response = api_client_for(steward).post(
        f"/api/v1/organisations/{org.uuid}/suspend/", {"reason": "breach"}, format="json"
    )
    assert response.status_code == 200
    assert client.get("/api/v1/organisations/").status_code == 401


def test_lists_are_filtered_by_the_policy(network, api_client_for) -> None:
    member = network.person()
    hidden = network.org(status=OrganisationStatus.APPLICANT)
    names = [o["name"] for o in api_client_for(member).get("/api/v1/organisations/").json()["results"]]
    assert hidden.name not in names and member.organisation.name in names
    steward_names = [
        o["name"]
        for o in api_client_for(network.person(steward=True))
        .get("/api/v1/organisations/?page_size=200")
        .json()["results"]
    ]
    assert hidden.name in steward_names


def test_list_queries_do_not_grow_with_rows(network, api_client_for, django_assert_max_num_queries) -> None:
    member = network.person()
    client = api_client_for(member)
    for _ in range(30):
        network.person(member.organisation)
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/people/?page_size=50")
    assert response.status_code == 200 and response.json()["count"] >= 31


def test_hidden_sharing_group_members_are_null_for_members(network, api_client_for) -> None:
    owner_org, member_org = network.org(), network.org()
    admin = network.person(owner_org, role=Role.ORG_ADMIN)
    created = api_client_for(admin).post(
        "/api/v1/sharing-groups/",
        {"name": "Quiet", "members": [str(member_org.uuid)], "hide_members": True},
        format="json",
    )
    assert created.status_code == 201 and created.json()["members"] is not None
    seen = api_client_for(network.person(member_org)).get(f"/api/v1/sharing-groups/{created.json()['id']}/")
    assert seen.status_code == 200 and seen.json()["members"] is None
    outsider = api_client_for(network.person()).get(f"/api/v1/sharing-groups/{created.json()['id']}/")
    assert outsider.status_code == 404


def test_clearance_two_needs_a_steward_and_respects_the_ceiling(network, api_client_for) -> None:
    org = network.org(ceiling=2)
    admin = network.person(org, role=Role.ORG_ADMIN)
    person = network.person(org)
    too_high = api_client_for(admin).post(
        f"/api/v1/people/{person.uuid}/clearance/", {"clearance": 3}, format="json"
    )
    assert too_high.status_code == 400
    set_two = api_client_for(admin).post(
        f"/api/v1/people/{person.uuid}/clearance/", {"clearance": 2}, format="json"
    )
    assert set_two.json()["effective_clearance"] == 1
    approved = api_client_for(network.person(steward=True)).post(
        f"/api/v1/people/{person.uuid}/clearance/approve/", {}, format="json"
    )
    assert approved.json()["effective_clearance"] == 2


def test_openapi_schema_and_docs_are_served() -> None:
    client = APIClient()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200 and "/api/v1/organisations/" in schema.content.decode()
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()
    # the strict CSP blocks inline scripts and styles: Swagger UI starts from a script file of its own
    page = docs.content.decode()
    assert "<style" not in page and " style=" not in page
    assert re.findall(r"<script(?![^>]*\ssrc=)", page) == []
    assert '<script src="/api/docs/?script="></script>' in page
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode() and "/api/schema/" in script.content.decode()
