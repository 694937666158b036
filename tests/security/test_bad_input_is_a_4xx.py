"""No 500 for any input (SECURITY.md): the query strings and bodies an attacker sent the demo.

Each used to reach PostgreSQL as it came — a NUL byte in a text filter (DataError), a filter id
that is not a UUID (ValidationError from the cast), a page number past 64 bits (bigint overflow),
a second organisation whose slug collides with a first one's (IntegrityError) — and answered 500.
Now the API answers 400 with the error envelope naming the field, and the findings page shows
the list with the error above it.

Mutants verified red:
- `FindingFilters.from_query` passing every value through unchecked → the finding-filter tests
  500 (DataError / ValidationError) on both surfaces;
- the page number read with a bare `int()` again → `page=abc` / `-1` / `10**20` red;
- `organisation_apply` back to `slugify(name)[:80] or "org"` → the colliding-slug test 500s;
- the organisation `status` and audit `event` filters passed through → DataError, red;
- the upload's `int(CONTENT_LENGTH)` unchecked → ValueError, red.
"""

from __future__ import annotations

from typing import Any

import pytest

from interlock.findings.models import Finding
from tests.interlock.builders import PASSWORD, finding_shared_with_own_org

pytestmark = pytest.mark.django_db

# (query string, the field the error names)
BAD_FINDING_QUERIES = [
    ("state=%00", "state"),
    ("state=nonsense", "state"),
    ("label=%00", "label"),
    ("tag=%00", "tag"),
    ("tag=" + "t" * 51, "tag"),
    ("q=%00", "q"),
    ("org=not-a-uuid", "org"),
    ("org=%00", "org"),
    ("author=not-a-uuid", "author"),
    ("page=abc", "page"),
    ("page=-1", "page"),
    ("page=0", "page"),
    ("page=99999999999999999999", "page"),
]


@pytest.mark.parametrize(("query", "field"), BAD_FINDING_QUERIES)
@pytest.mark.parametrize("path", ["/api/v1/findings/", "/api/v1/findings/export/"])
def test_a_finding_filter_that_could_never_match_is_a_400_naming_the_field(
    network: Any, api_client_for: Any, path: str, query: str, field: str
) -> None:
    client = api_client_for(network.person())
    if path.endswith("export/") and field == "page":
        query = f"{query}&state=%00"  # the export has no pages; its filters are the same
        field = "state"
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["message"]
    assert field in error["fields"], error


def test_page_size_out_of_range_is_cut_and_garbage_is_a_400(network: Any, api_client_for: Any) -> None:
    client = api_client_for(network.person())
    assert client.get("/api/v1/findings/?page_size=1000").status_code == 200  # cut to 200, as before
    for size in ("abc", "0", "99999999999999999999"):
        response = client.get(f"/api/v1/findings/?page_size={size}")
        assert response.status_code == 400 and "page_size" in response.json()["error"]["fields"]


@pytest.mark.parametrize(("query", "field"), BAD_FINDING_QUERIES)
def test_the_findings_page_shows_the_list_and_the_error_for_a_bad_filter(
    network: Any, api_client_for: Any, query: str, field: str
) -> None:
    author = network.person(password=PASSWORD)
    finding_shared_with_own_org(api_client_for(author), title="Visible finding 7")
    page = network.signed_in_client(author).get(f"/findings/?{query}")
    assert page.status_code == 400
    body = page.content.decode()
    assert "cannot match anything" in body and f"<li>{field}:" in body
    assert "Visible finding 7" in body  # the unfiltered list, not an error page


def test_good_filters_still_filter(network: Any, api_client_for: Any) -> None:
    author = network.person(password=PASSWORD)
    api = api_client_for(author)
    finding_shared_with_own_org(api, title="Filtered finding")
    finding = Finding.objects.get()
    answer = api.get(
        f"/api/v1/findings/?state={finding.state}&label={finding.label}"
        f"&org={finding.owner_org.uuid}&author={author.uuid}&page=1"
    )
    assert answer.status_code == 200 and answer.json()["count"] == 1
    other_org = network.org()
    assert api.get(f"/api/v1/findings/?org={other_org.uuid}").json()["count"] == 0
    page = network.signed_in_client(author).get(f"/findings/?org={finding.owner_org.uuid}")
    assert page.status_code == 200 and b"Filtered finding" in page.content


def test_organisation_names_whose_slugs_collide_are_both_registered(
    network: Any, api_client_for: Any
) -> None:
    steward = api_client_for(network.person(steward=True))
    names = ["a" * 200, "a" * 80 + "b", "!!!", "???"]  # slugs: 80 a's twice, "org" twice
    slugs = []
    for name in names:
        response = steward.post("/api/v1/organisations/", {"name": name}, format="json")
        assert response.status_code == 201, (name[:10], response.content[:300])
        slugs.append(response.json()["slug"])
    assert len(set(slugs)) == len(names) and all(len(slug) <= 80 for slug in slugs)


def test_an_organisation_name_longer_than_the_model_allows_is_a_field_error(
    network: Any, api_client_for: Any
) -> None:
    steward = api_client_for(network.person(steward=True))
    response = steward.post("/api/v1/organisations/", {"name": "n" * 201}, format="json")
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["name"]


def test_other_query_parameters_that_reach_sql_are_checked(network: Any, api_client_for: Any) -> None:
    steward = api_client_for(network.person(steward=True))
    for path, field in (
        ("/api/v1/organisations/?status=%00", "status"),
        ("/api/v1/organisations/?status=sleeping", "status"),
        ("/api/v1/audit-events/?event=%00", "event"),
    ):
        response = steward.get(path)
        assert response.status_code == 400, (path, response.content[:300])
        assert field in response.json()["error"]["fields"]
    assert steward.get("/api/v1/organisations/?status=active").status_code == 200


def test_a_raw_upload_with_a_malformed_content_length_is_a_400(network: Any, api_client_for: Any) -> None:
    person = network.person()
    response = api_client_for(person).generic(
        "POST",
        f"/api/v1/artifacts/?parent_type=library&parent_id={person.organisation.uuid}",
        b"abc",
        content_type="application/octet-stream",
        CONTENT_LENGTH="abc",
    )
    assert response.status_code == 400 and "Content-Length" in response.json()["error"]["fields"]
