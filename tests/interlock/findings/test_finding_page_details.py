"""The finding page's reading aids: a coloured diff between any two revisions, a confirmation step
before withdrawing, a new-finding form that offers only the tiers the author's clearance reaches,
and a list that says what limits what anyone sees."""

from __future__ import annotations

from typing import Any

import pytest

from interlock.findings.models import Finding, FindingState
from interlock.findings.services import finding_create, finding_revise
from tests.interlock.builders import PASSWORD, principal_for

pytestmark = pytest.mark.django_db


def _author(network: Any, clearance: int = 1) -> tuple[Any, Any]:
    author = network.person(network.org("Owner Lab"), clearance=clearance, password=PASSWORD)
    return author, network.signed_in_client(author)


def test_any_two_revisions_compare_as_a_coloured_diff(network: Any) -> None:
    author, client = _author(network)
    finding = finding_create(actor=principal_for(author), title="Bump", body="one\ntwo\nthree", label="amber")
    for body in ("one\nTWO\nthree", "one\nTWO\nthree\nfour"):
        finding_revise(actor=principal_for(author), finding_uuid=finding.uuid, title="Bump", body=body)
    default = client.get(f"/findings/{finding.uuid}/").content.decode()  # 3 against 2
    assert "from revision 2 to 3" in default and '<li class="diff-added">' in default and "four" in default
    chosen = client.get(f"/findings/{finding.uuid}/?from=1&to=3").content.decode()
    assert "from revision 1 to 3" in chosen
    assert "<del>two</del>" in chosen and "<ins>TWO</ins>" in chosen
    assert '<pre class="diff">' not in chosen
    same = client.get(f"/findings/{finding.uuid}/?from=2&to=2").content.decode()
    assert "Choose two different revisions." in same
    assert client.get(f"/findings/{finding.uuid}/?from=x&to=99").status_code == 200  # nonsense: the default


def test_withdrawing_asks_for_confirmation_first(network: Any) -> None:
    author, client = _author(network)
    finding = finding_create(actor=principal_for(author), title="Bump", body="text", label="amber")
    html = client.get(f"/findings/{finding.uuid}/").content.decode()
    confirm = html.split('<details class="confirm"', 1)[1].split("</details>", 1)[0]
    assert f"/findings/{finding.uuid}/withdraw/" in confirm and "cannot be undone" in confirm
    assert (
        Finding.objects.get(pk=finding.pk).state != FindingState.WITHDRAWN
    )  # opening the page changes nothing


@pytest.mark.parametrize(("clearance", "offered"), [(0, ["0"]), (1, ["0", "1"])])
def test_the_new_finding_form_offers_only_tiers_the_author_is_cleared_for(
    network: Any, clearance: int, offered: list[str]
) -> None:
    _, client = _author(network, clearance=clearance)
    html = client.get("/findings/new/").content.decode()
    select = html.split('id="hazard_tier"', 1)[1].split("</select>", 1)[0]
    assert [t for t in ("0", "1", "2", "3") if f'value="{t}"' in select] == offered


def test_the_list_explains_what_limits_what_anyone_sees(network: Any) -> None:
    _, client = _author(network)
    html = client.get("/findings/").content.decode()
    assert "Only findings you may read are counted or listed" in html and "clearance" in html
