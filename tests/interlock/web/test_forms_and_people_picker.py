"""Refused forms keep what was typed and show each error beside its field, in words; error pages
are the product's own with the way back; the people picker resolves a name or an e-mail address
to one person the signed-in person may see, and its suggestions never show anyone else.

Mutants verified red:
- `accounts.selectors._pickable` returning `Person.objects` instead of `visible(principal, …)` →
  `test_suggestions_and_picks_never_reach_a_person_outside_the_visible_set` red (the suspended
  organisation's member and the inactive person are suggested and picked);
- `web.forms.FormState.refused` putting every problem into the error box → the field-error tests red;
- `SUGGEST_LIMIT` check removed from `people_suggest_view` → the rate-limit test red.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from interlock.findings.models import Finding, FindingGrant
from interlock.findings.services import finding_create
from interlock.network.models import OrganisationStatus
from interlock.web import network_views
from tests.interlock.builders import PASSWORD, principal_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(network: Any) -> dict[str, Any]:
    lab = network.org("Aletheia Alignment Lab")
    partner = network.org("Beacon Safety Institute")
    gone = network.org("Dormant Labs", status=OrganisationStatus.SUSPENDED)
    author = network.person(lab, clearance=1, password=PASSWORD)
    ada = network.person(lab, clearance=1)
    ada.display_name = "Ada Lovelace"
    ada.save()
    twin_a = network.person(partner, clearance=1)
    twin_b = network.person(lab, clearance=1)
    for twin in (twin_a, twin_b):
        twin.display_name = "Sam Twin"
        twin.save()
    hidden = network.person(gone, clearance=1)
    hidden.display_name = "Hidden Adams"
    hidden.save()
    inactive = network.person(partner, clearance=1, active=False)
    inactive.display_name = "Inactive Adamson"
    inactive.save()
    finding = finding_create(actor=principal_for(author), title="Heads", body="x", label="amber")
    return {
        "client": network.signed_in_client(author),
        "author": author,
        "ada": ada,
        "twins": (twin_a, twin_b),
        "hidden": hidden,
        "inactive": inactive,
        "finding": finding,
    }


def _grant(client: Any, finding: Finding, person: str, reason: str = "Reviews our probes") -> Any:
    until = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    return client.post(
        f"/findings/{finding.uuid}/grant/",
        {"person": person, "capability": "read_finding", "expires_at": until, "reason": reason},
    )


def _text(html: bytes) -> str:
    return re.sub(r"<[^>]+>", " ", html.decode())


def test_a_grant_takes_a_name_an_email_or_the_pickers_label(people: dict[str, Any]) -> None:
    client, finding, ada = people["client"], people["finding"], people["ada"]
    for typed in (
        "Ada Lovelace",
        ada.email.upper(),
        "Ada Lovelace (Aletheia Alignment Lab)",
        "  ada   lovelace ",
    ):
        FindingGrant.objects.all().delete()
        response = _grant(client, finding, typed)
        assert response.status_code == 302, typed
        assert FindingGrant.objects.get().user == ada


def test_an_unknown_or_ambiguous_person_is_a_field_error_that_keeps_the_form(people: dict[str, Any]) -> None:
    client, finding = people["client"], people["finding"]
    unknown = _grant(client, finding, "Nobody Here", reason="Keep this reason")
    assert unknown.status_code == 400 and not FindingGrant.objects.exists()
    html = unknown.content.decode()
    assert 'class="field-error" id="grant_person-error"' in html and 'aria-invalid="true"' in html
    assert "Nobody you can see in the network is “Nobody Here”" in html
    assert 'value="Nobody Here"' in html and 'value="Keep this reason"' in html  # nothing typed is lost
    assert 'class="form-errors" role="alert"' in html
    twins = _grant(client, finding, "Sam Twin")
    assert twins.status_code == 400
    problem = _text(twins.content)
    assert "“Sam Twin” matches 2 people" in problem
    assert "Sam Twin (Aletheia Alignment Lab)" in problem and "Sam Twin (Beacon Safety Institute)" in problem
    assert _grant(client, finding, "Sam Twin (Beacon Safety Institute)").status_code == 302
    assert FindingGrant.objects.get().user == people["twins"][0]


def test_suggestions_and_picks_never_reach_a_person_outside_the_visible_set(people: dict[str, Any]) -> None:
    """The attack: typing parts of names and whole e-mail addresses of people the directory hides
    from this member (a suspended organisation's member, an inactive person elsewhere)."""
    client, finding = people["client"], people["finding"]
    hidden, inactive = people["hidden"], people["inactive"]
    shown = client.get("/network/people/suggest/", {"person": "Ada"}).content.decode()
    assert '<option value="Ada Lovelace (Aletheia Alignment Lab)">' in shown
    assert "Hidden" not in shown and "Inactive" not in shown
    for typed in ("Hidden", "Adams", "Inactive", hidden.email, inactive.email):
        answer = client.get("/network/people/suggest/", {"person": typed})
        assert answer.status_code == 200 and "<option" not in answer.content.decode(), typed
    for typed in ("Hidden Adams", hidden.email, str(hidden.uuid), "Inactive Adamson", inactive.email):
        refused = _grant(client, finding, typed)
        assert refused.status_code == 400 and "Nobody you can see" in refused.content.decode(), typed
        assert "Hidden Adams" not in _text(refused.content).replace(f"“{typed}”", "")
        assert "Inactive Adamson" not in _text(refused.content).replace(f"“{typed}”", "")
    assert not FindingGrant.objects.exists()


def test_suggestions_need_a_member_show_no_email_and_are_rate_limited(
    people: dict[str, Any], client: Any, monkeypatch: Any
) -> None:
    assert client.get("/network/people/suggest/", {"person": "Ada"}).status_code in (302, 404)
    member = people["client"]
    answer = member.get("/network/people/suggest/", {"person": "Ada"}).content.decode()
    assert people["ada"].email not in answer
    assert member.get("/network/people/suggest/", {"person": "A"}).content.strip() == b""  # too short
    monkeypatch.setattr(network_views, "SUGGEST_LIMIT", 3)
    codes = [member.get("/network/people/suggest/", {"person": "Ada"}).status_code for _ in range(5)]
    assert codes.count(429) >= 1 and codes[0] == 200


def test_a_refused_share_shows_the_error_beside_the_field_in_words(people: dict[str, Any]) -> None:
    client, finding = people["client"], people["finding"]
    refused = client.post(
        f"/findings/{finding.uuid}/share/", {"label": "amber_strict", "audience_own_org": "on"}
    )
    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'id="own_org-error"' in html and "stricter than TLP 2.0" in html
    assert "audience_own_org:" not in html and "__all__" not in html
    assert 'class="messages"' not in html  # not in the (green) messages box
    # the choices as sent, not as saved
    assert re.search(r'<option value="amber_strict"[^>]* selected', html)
    assert re.search(r'id="own_org" name="audience_own_org" checked', html)


def test_a_new_finding_refused_keeps_its_text_and_names_the_field(people: dict[str, Any]) -> None:
    refused = people["client"].post(
        "/findings/new/", {"title": "Probe", "body": "Long text", "label": "amber", "hazard_tier": "3"}
    )
    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'id="hazard_tier-error"' in html and "__all__" not in html
    assert 'value="Probe"' in html and ">Long text</textarea>" in html


def test_error_pages_are_the_products_own_with_the_way_back(people: dict[str, Any]) -> None:
    client, finding = people["client"], people["finding"]
    for path, status in ((f"/findings/{finding.uuid}/grant/", 405), ("/no/such/page/", 404)):
        page = client.get(path, HTTP_REFERER=f"http://testserver/findings/{finding.uuid}/")
        assert page.status_code == status
        html = page.content.decode()
        assert 'href="/static/web/interlock.css"' in html and 'aria-label="Main"' in html
        assert f'<a href="http://testserver/findings/{finding.uuid}/">Back to the previous page</a>' in html
        assert "Go to the start page" in html
    assert client.get(f"/findings/{finding.uuid}/grant/")["Allow"] == "POST"
    elsewhere = client.get("/no/such/page/", HTTP_REFERER="https://evil.example/")
    assert "evil.example" not in elsewhere.content.decode()


def test_the_token_form_keeps_its_input_and_puts_the_error_beside_days(people: dict[str, Any]) -> None:
    refused = people["client"].post(
        "/accounts/tokens/", {"name": "laptop", "scopes": ["read", "write"], "days": "900"}
    )
    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'id="id_days-error"' in html and 'value="laptop"' in html
    assert re.search(r'value="write" id="scope_write" checked', html)
