"""Findings through the API: the lifecycle, refusals, and the side views where peer systems leaked."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from interlock.accounts.models import Role
from interlock.audit.models import AuditEvent
from interlock.findings.models import Finding
from interlock.findings.rules import Audience
from interlock.findings.services import finding_share
from interlock.network.models import SharingGroup
from interlock.notifications.models import Notification
from interlock.notifications.tasks import deliver
from tests.interlock.builders import principal_for

pytestmark = pytest.mark.django_db

CANARY = "CANARY-ZX81-invisible"


@pytest.fixture
def world(network):
    """Owner org with an author and a colleague, a partner org in a sharing group, an outsider org."""
    owner, partner, outsider_org = network.org("Owner"), network.org("Partner"), network.org("Outsider")
    group = SharingGroup.objects.create(name="Circle", owner_org=owner)
    group.members.set([owner, partner])
    return {
        "author": network.person(owner, clearance=3, role=Role.ORG_ADMIN),
        "colleague": network.person(owner, clearance=1),
        "partner": network.person(partner, clearance=1),
        "outsider": network.person(outsider_org, clearance=3),
        "group": group,
    }


def _create(client, **fields):
    body = {"title": "Head 1.3 implements induction", "body": "Ablating it breaks copying.", **fields}
    response = client.post("/api/v1/findings/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _share(client, finding_id, **fields):
    return client.post(f"/api/v1/findings/{finding_id}/share/", fields, format="json")


def test_draft_share_read_revise_comment_lifecycle(
    world, api_client_for, django_capture_on_commit_callbacks
) -> None:
    author, colleague, partner = (api_client_for(world[k]) for k in ("author", "colleague", "partner"))
    finding_id = _create(author, label="amber", tags=["induction", "ablation"])
    assert colleague.get(f"/api/v1/findings/{finding_id}/").status_code == 404  # drafts: authors only
    with django_capture_on_commit_callbacks() as callbacks:
        shared = _share(
            author, finding_id, label="amber", audience_own_org=True, groups=[str(world["group"].uuid)]
        )
    assert shared.status_code == 200, shared.content
    assert len(callbacks) == 1  # the notification is enqueued on commit
    read = colleague.get(f"/api/v1/findings/{finding_id}/").json()
    assert read["title"] == "Head 1.3 implements induction" and read["label_display"] == "TLP:AMBER"
    assert "audience" not in read  # only authors see the audience composition
    assert partner.get(f"/api/v1/findings/{finding_id}/").status_code == 200
    assert api_client_for(world["outsider"]).get(f"/api/v1/findings/{finding_id}/").status_code == 404
    revised = author.post(
        f"/api/v1/findings/{finding_id}/revisions/",
        {"title": "Head 1.3 is induction", "body": "Ablating it breaks copying.\nSelf-repair by 2.1."},
        format="json",
    )
    assert revised.status_code == 201 and revised.json()["number"] == 2
    second = colleague.get(f"/api/v1/findings/{finding_id}/revisions/2/").json()
    assert "+Self-repair by 2.1." in second["diff_from_previous"]
    assert (
        colleague.post(
            f"/api/v1/findings/{finding_id}/revisions/", {"title": "x", "body": "y"}, format="json"
        ).status_code
        == 403
    )
    comment = partner.post(f"/api/v1/findings/{finding_id}/comments/", {"body": "Replicated."}, format="json")
    assert comment.status_code == 201
    reply = author.post(
        f"/api/v1/findings/{finding_id}/comments/",
        {"body": "Thanks", "parent": comment.json()["id"]},
        format="json",
    )
    assert reply.status_code == 201
    thread = colleague.get(f"/api/v1/findings/{finding_id}/comments/").json()
    assert [c["body"] for c in thread] == ["Replicated.", "Thanks"] and thread[1]["parent"] == comment.json()[
        "id"
    ]


@pytest.mark.parametrize(
    ("label", "audience", "field"),
    [
        ("amber_strict", {"audience_own_org": True}, "audience_own_org"),
        ("amber_strict", {"groups": "GROUP"}, "groups"),
        ("amber", {"audience_network": True}, "audience_network"),
        ("clear", {}, "label"),
    ],
)
def test_inconsistent_label_and_audience_is_refused(world, api_client_for, label, audience, field) -> None:
    author = api_client_for(world["author"])
    finding_id = _create(author)
    if audience.get("groups") == "GROUP":
        audience = {"groups": [str(world["group"].uuid)]}
    before = Finding.objects.values_list("label", "audience_own_org", "audience_network", "state").get(
        uuid=finding_id
    )
    response = _share(author, finding_id, label=label, **audience)
    assert response.status_code == 400 and field in response.json()["error"]["fields"]
    assert (
        Finding.objects.values_list("label", "audience_own_org", "audience_network", "state").get(
            uuid=finding_id
        )
        == before
    )


def test_red_with_an_organisation_audience_is_refused_by_the_service(world) -> None:
    from interlock.core.errors import ApplicationError

    finding = services_create(world["author"])
    with pytest.raises(ApplicationError) as refused:
        finding_share(
            actor=principal_for(world["author"]),
            finding_uuid=finding.uuid,
            label="red",
            audience=Audience(own_org=True),
        )
    assert "audience_own_org" in refused.value.extra


def services_create(author):
    from interlock.findings.services import finding_create

    return finding_create(actor=principal_for(author), title="t", body="b", label="red")


def test_red_reads_are_audited_and_authors_see_the_readers(world, api_client_for) -> None:
    author = api_client_for(world["author"])
    finding_id = _create(author, label="red")
    refused = _share(author, finding_id, label="red")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "reauthentication_required"
    finding_share(
        actor=principal_for(world["author"]), finding_uuid=finding_id, label="red", audience=Audience()
    )
    grant = author.post(
        f"/api/v1/findings/{finding_id}/grants/",
        {
            "person": str(world["outsider"].uuid),
            "capability": "read_finding",
            "expires_at": (timezone.now() + timedelta(days=2)).isoformat(),
            "reason": "external review",
        },
        format="json",
    )
    assert grant.status_code == 201, grant.content
    outsider = api_client_for(world["outsider"])
    assert outsider.get(f"/api/v1/findings/{finding_id}/").status_code == 200
    assert api_client_for(world["colleague"]).get(f"/api/v1/findings/{finding_id}/").status_code == 404
    readers = author.get(f"/api/v1/findings/{finding_id}/readers/").json()
    assert [r["person"] for r in readers] == [world["outsider"].display_name]
    assert outsider.get(f"/api/v1/findings/{finding_id}/readers/").status_code == 403
    assert (
        outsider.post(f"/api/v1/findings/{finding_id}/comments/", {"body": "hi"}, format="json").status_code
        == 403
    )
    assert author.delete(f"/api/v1/findings/{finding_id}/grants/{world['outsider'].uuid}/").status_code == 204
    assert outsider.get(f"/api/v1/findings/{finding_id}/").status_code == 404


def test_share_preview_lists_exactly_who_will_read(world, api_client_for) -> None:
    author = api_client_for(world["author"])
    finding_id = _create(author)
    preview = author.post(
        f"/api/v1/findings/{finding_id}/share/preview/",
        {"label": "amber", "groups": [str(world["group"].uuid)]},
        format="json",
    ).json()
    names = {r["name"] for r in preview["readers"]}
    from interlock.accounts.models import Person

    in_group = Person.objects.filter(organisation__in=world["group"].members.all(), is_active=True)
    assert names == {p.display_name for p in in_group}
    assert world["outsider"].display_name not in names and world["partner"].display_name in names
    _share(author, finding_id, label="amber", groups=[str(world["group"].uuid)])
    for key in ("colleague", "partner", "outsider"):
        status = api_client_for(world[key]).get(f"/api/v1/findings/{finding_id}/").status_code
        assert (status == 200) == (world[key].display_name in names)


def test_forbidden_finding_endpoints_answer_like_missing_ones(world, api_client_for) -> None:
    author = api_client_for(world["author"])
    finding_id = _create(author, label="red")
    outsider = api_client_for(world["outsider"])
    missing_id = str(uuid.uuid4())
    for method, path, body in [
        ("get", "/", None),
        ("get", "/revisions/", None),
        ("get", "/revisions/1/", None),
        ("post", "/revisions/", {"title": "t", "body": "b"}),
        ("post", "/share/", {"label": "green"}),
        ("post", "/share/preview/", {"label": "green"}),
        ("get", "/grants/", None),
        ("get", "/comments/", None),
        ("post", "/comments/", {"body": "x"}),
        ("get", "/readers/", None),
        ("post", "/withdraw/", {"reason": "x"}),
        ("delete", f"/grants/{world['author'].uuid}/", None),
    ]:
        call = getattr(outsider, method)
        kwargs = {"format": "json"} if body is not None else {}
        forbidden = call(
            f"/api/v1/findings/{finding_id}{path}", *([body] if body is not None else []), **kwargs
        )
        missing = call(
            f"/api/v1/findings/{missing_id}{path}", *([body] if body is not None else []), **kwargs
        )
        assert forbidden.status_code == missing.status_code == 404, path
        assert forbidden.content == missing.content, path
    attachment = outsider.get(f"/api/v1/artifacts/?parent_type=finding&parent_id={finding_id}")
    assert attachment.status_code == 404


def test_side_views_do_not_leak_invisible_findings(world, api_client_for) -> None:
    """Counts, facets, tag values, search, exports, notifications and e-mails: built from visible()."""
    author = api_client_for(world["author"])
    secret_id = _create(author, title=f"{CANARY} title", body=f"{CANARY} body", tags=["secret-tag-zx81"])
    _share(author, secret_id, label="amber", audience_own_org=True)
    public_id = _create(author, title="Public note", body="shared widely", tags=["open"])
    _share(author, public_id, label="green", audience_network=True)
    outsider = api_client_for(world["outsider"])
    listing = outsider.get("/api/v1/findings/?facets=1").json()
    assert listing["count"] == 1 and [f["id"] for f in listing["results"]] == [public_id]
    assert "secret-tag-zx81" not in listing["facets"]["tag"] and sum(listing["facets"]["label"].values()) == 1
    for query in (CANARY, "secret-tag-zx81"):
        found = outsider.get(f"/api/v1/findings/?q={query}&facets=1").json()
        assert found["count"] == 0 and CANARY not in str(found)
    assert outsider.get("/api/v1/findings/?tag=secret-tag-zx81").json()["count"] == 0
    export = outsider.get("/api/v1/findings/export/")
    assert CANARY not in export.content.decode() and len(export.json()["findings"]) == 1
    mail.outbox.clear()
    deliver(kind="finding_shared", target_type="finding", target_id=Finding.objects.get(uuid=secret_id).pk)
    recipients = {m.to[0] for m in mail.outbox}
    assert world["outsider"].email not in recipients and world["colleague"].email in recipients
    assert all(CANARY not in m.body and CANARY not in m.subject for m in mail.outbox)
    assert not Notification.objects.filter(recipient=world["outsider"]).exists()
    error = outsider.get(f"/api/v1/findings/{secret_id}/revisions/1/")
    assert CANARY not in error.content.decode()
    colleague_view = api_client_for(world["colleague"]).get(f"/api/v1/findings/?q={CANARY}").json()
    assert colleague_view["count"] == 1


def test_notifications_are_rechecked_at_send_time(world, api_client_for) -> None:
    author = api_client_for(world["author"])
    finding_id = _create(author)
    _share(author, finding_id, label="amber", groups=[str(world["group"].uuid)])
    world["group"].members.remove(world["partner"].organisation)  # the partner org leaves before the send
    mail.outbox.clear()
    deliver(kind="finding_shared", target_type="finding", target_id=Finding.objects.get(uuid=finding_id).pk)
    assert world["partner"].email not in {m.to[0] for m in mail.outbox}


def test_hazard_tier_needs_clearance_for_everyone(world, api_client_for) -> None:
    author = api_client_for(world["author"])
    finding_id = _create(author, hazard_tier=2)
    _share(author, finding_id, label="green", audience_network=True)
    assert (
        api_client_for(world["colleague"]).get(f"/api/v1/findings/{finding_id}/").status_code == 404
    )  # tier 1
    assert (
        api_client_for(world["outsider"]).get(f"/api/v1/findings/{finding_id}/").status_code == 200
    )  # tier 3
    low = api_client_for(world["colleague"])
    refused = low.post("/api/v1/findings/", {"title": "t", "body": "b", "hazard_tier": 3}, format="json")
    assert refused.status_code == 400 and "hazard_tier" in refused.json()["error"]["fields"]


def test_attachments_are_authorised_through_their_finding(world, api_client_for) -> None:
    author = api_client_for(world["author"])
    finding_id = _create(author)
    _share(author, finding_id, label="amber", audience_own_org=True)
    upload = author.generic(
        "POST",
        f"/api/v1/artifacts/?parent_type=finding&parent_id={finding_id}&filename=plot.png",
        b"\x89PNG...",
        content_type="application/octet-stream",
    )
    assert upload.status_code == 201
    colleague = api_client_for(world["colleague"])
    assert (
        b"".join(colleague.get(f"/api/v1/artifacts/{upload.json()['id']}/content/").streaming_content)
        == b"\x89PNG..."
    )
    denied = colleague.generic(
        "POST",
        f"/api/v1/artifacts/?parent_type=finding&parent_id={finding_id}",
        b"x",
        content_type="application/octet-stream",
    )
    assert denied.status_code == 403  # may read, may not attach
    author.post(f"/api/v1/findings/{finding_id}/withdraw/", {"reason": "wrong"}, format="json")
    assert colleague.get(f"/api/v1/artifacts/{upload.json()['id']}/content/").status_code == 404
    assert AuditEvent.objects.filter(event="FINDING_WITHDRAWN").count() == 1


def test_list_queries_are_constant(world, api_client_for, django_assert_max_num_queries) -> None:
    author = api_client_for(world["author"])
    for i in range(25):
        fid = _create(author, title=f"finding {i}", tags=[f"t{i}"])
        _share(author, fid, label="green", audience_network=True)
    client = api_client_for(world["outsider"])
    with django_assert_max_num_queries(20):
        response = client.get("/api/v1/findings/?page_size=50")
    assert response.json()["count"] == 25
