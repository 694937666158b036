"""Field-level writes: generic updates can never set label, owner, audience, state or key ids.

SECURITY.md, Access. Three attacks:

1. The published OpenAPI schema: no write operation takes a protected field except the ones
   whose whole job is to set it (creating a finding sets its first label; the re-authenticated
   share operation sets label and audience). A new endpoint that accepts `state` or `owner_org`
   fails here before it ships.
2. Every generic update (and the creations whose owner the platform must decide) receives a
   valid body plus one protected field at a time: a 400 naming the field, and the row — its
   columns and its many-to-many audience — is exactly as before. The same valid body alone then
   succeeds, so the 400 was the extra field's doing. With the strict input check removed (the
   last test's mutant) the attack gets 2xx answers and this test fails.
3. Uploads (query parameters and multipart fields) and the web forms take no such field either:
   an artifact's owner and key version come from its parent and the owner's active key, and a
   revision form posted with `label`/`state`/`owner_org` changes only title and body.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db.models import Model

from analysis_workers import zoo
from interlock.accounts.models import Person, Role
from interlock.artifacts.models import Artifact
from interlock.checkpoints.models import Checkpoint
from interlock.core.inputs import StrictSerializer
from interlock.crypto.models import OrgKeyVersion
from interlock.findings.models import Comment, Finding, FindingRevision
from tests.interlock.builders import PASSWORD, finding_shared_with_own_org, sharing_group_of

pytestmark = pytest.mark.django_db

# protected names, and the operations whose dedicated purpose is to set them
PROTECTED = {
    "label",
    "tlp",
    "owner",
    "owner_org",
    "organisation",
    "uploaded_by",
    "requester",
    "audience",
    "audience_own_org",
    "audience_network",
    "audience_groups",
    "groups",
    "state",
    "status",
    "key_version",
    "key_version_id",
    "key_id",
    "data_key",
    "wrapped_data_key",
    "artifact",
    "approval_id",
}
DEDICATED = {
    "findings_create": {"label"},  # the first label, chosen by the author at creation
    "datasets_register": {"label"},  # a dataset's label, chosen once by its uploader at registration
    "findings_share": {"label", "audience_own_org", "audience_network", "groups"},
    "findings_share_preview": {"label", "audience_own_org", "audience_network", "groups"},
}
ATTACK_VALUES: dict[str, Any] = {
    "label": "clear",
    "tlp": "clear",
    "owner": None,  # filled with another organisation's id
    "owner_org": None,
    "organisation": None,
    "audience_network": True,
    "audience_own_org": True,
    "groups": [],
    "state": "published",
    "status": "active",
    "key_version": 1,
    "key_id": "v1",
    "wrapped_data_key": "AAAA",
    "id": None,
    "uuid": None,
}


def _schema() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _request_fields(schema: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    components = schema["components"]["schemas"]
    names: set[str] = set()
    for content in operation.get("requestBody", {}).get("content", {}).values():
        body = content.get("schema", {})
        if "$ref" in body:
            body = components[body["$ref"].rsplit("/", 1)[-1]]
        for member in [body, *body.get("oneOf", [])]:  # one endpoint, one input per action
            if "$ref" in member:
                member = components[member["$ref"].rsplit("/", 1)[-1]]
            names |= set(member.get("properties", {}))
    names |= {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    return names


def test_no_write_operation_in_the_schema_takes_a_protected_field_outside_its_own_endpoint() -> None:
    schema = _schema()
    offending: list[str] = []
    writes = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in ("post", "put", "patch", "delete"):
                continue
            writes += 1
            fields = _request_fields(schema, operation)
            protected = {f for f in fields if f in PROTECTED or f.startswith(("key_", "wrapped_"))}
            extra = protected - DEDICATED.get(operation["operationId"], set())
            if extra:
                offending.append(f"{method.upper()} {path} ({operation['operationId']}): {sorted(extra)}")
    assert writes >= 30, "the schema lost its write operations"
    assert not offending, "write operations that take protected fields:\n" + "\n".join(offending)
    for operation_id in DEDICATED:
        assert any(
            op.get("operationId") == operation_id for ops in schema["paths"].values() for op in ops.values()
        ), f"{operation_id} is gone: update DEDICATED"


def _snapshot(row: Model) -> dict[str, Any]:
    """Every column and every many-to-many set of a row, read afresh from the database."""
    fresh = type(row).objects.get(pk=row.pk)
    state = {field.attname: getattr(fresh, field.attname) for field in fresh._meta.concrete_fields}
    for field in fresh._meta.many_to_many:
        state[field.name] = sorted(getattr(fresh, field.name).values_list("pk", flat=True))
    return state


class _World:
    """An author's organisation with a shared finding and a sharing group; a second organisation."""

    def __init__(self, network: Any, api_client_for: Callable[..., Any]) -> None:
        self.org = network.org("Owner")
        self.other = network.org("Elsewhere")
        self.author = network.person(
            self.org, role=Role.ORG_ADMIN, clearance=3, steward=True, password=PASSWORD
        )
        self.api = api_client_for(self.author)
        self.finding_id = finding_shared_with_own_org(self.api)
        self.finding = Finding.objects.get(uuid=self.finding_id)
        self.group = sharing_group_of(self.org)
        self.colleague = network.person(self.org)

    def attack_value(self, field: str) -> Any:
        value = ATTACK_VALUES[field]
        if value is None:
            return (
                str(self.other.uuid) if field in ("owner", "owner_org", "organisation") else str(uuid.uuid4())
            )
        return value


# (name, method, path, valid body, the rows that must not change, the row count that must not grow)
UPDATES: list[
    tuple[
        str, str, Callable[[_World], str], dict[str, Any], Callable[[_World], list[Model]], type[Model] | None
    ]
] = [
    (
        "finding revision",
        "post",
        lambda w: f"/api/v1/findings/{w.finding_id}/revisions/",
        {"title": "Head 2.1 copies tokens", "body": "Ablating it breaks copying."},
        lambda w: [w.finding],
        FindingRevision,
    ),
    (
        "finding comment",
        "post",
        lambda w: f"/api/v1/findings/{w.finding_id}/comments/",
        {"body": "Seen the same in layer 3."},
        lambda w: [w.finding],
        Comment,
    ),
    (
        "sharing group update",
        "patch",
        lambda w: f"/api/v1/sharing-groups/{w.group.uuid}/",
        {"hide_members": True},
        lambda w: [w.group],
        None,
    ),
    (
        "person role",
        "post",
        lambda w: f"/api/v1/people/{w.colleague.uuid}/role/",
        {"role": "member"},
        lambda w: [w.colleague],
        None,
    ),
    (
        "checkpoint registration",
        "post",
        lambda w: "/api/v1/checkpoints/",
        {"name": "mlp step 100", "spec": zoo.example_spec("mlp")},
        lambda w: [],
        Checkpoint,
    ),
]


def _attack_every_update(network: Any, api_client_for: Callable[..., Any]) -> list[str]:
    """Send each update with one protected field at a time; return what went wrong (empty if nothing)."""
    world = _World(network, api_client_for)
    problems: list[str] = []
    for name, method, path_of, body, rows_of, counted in UPDATES:
        path = path_of(world)
        for field in ATTACK_VALUES:
            before = [_snapshot(row) for row in rows_of(world)]
            count = counted.objects.count() if counted else 0
            response = getattr(world.api, method)(
                path, {**body, field: world.attack_value(field)}, format="json"
            )
            fields = response.json().get("error", {}).get("fields", {}) if response.status_code == 400 else {}
            if response.status_code != 400 or field not in fields:
                problems.append(f"{name} with {field!r}: {response.status_code}, not a 400 naming the field")
            if [_snapshot(row) for row in rows_of(world)] != before:
                problems.append(f"{name} with {field!r}: a row changed")
            if counted and counted.objects.count() != count:
                problems.append(f"{name} with {field!r}: a {counted.__name__} was created")
        control = getattr(world.api, method)(path, body, format="json")
        if control.status_code not in (200, 201):
            problems.append(
                f"{name}: the valid body alone got {control.status_code} {control.content[:200]!r}"
            )
    return problems


def test_generic_updates_refuse_protected_fields_and_change_nothing(network, api_client_for) -> None:
    problems = _attack_every_update(network, api_client_for)
    assert not problems, "\n".join(problems)


def test_the_attack_finds_the_hole_when_unknown_fields_are_ignored(
    network, api_client_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mutant: DRF's default, which silently drops unknown fields instead of refusing them."""
    monkeypatch.setattr(StrictSerializer, "to_internal_value", StrictSerializer.__mro__[1].to_internal_value)
    problems = _attack_every_update(network, api_client_for)
    assert len(problems) >= len(UPDATES) * len(ATTACK_VALUES), problems[:5]


def test_an_upload_takes_its_owner_and_key_from_the_platform_not_from_the_request(
    network, api_client_for
) -> None:
    world = _World(network, api_client_for)
    foreign_key = OrgKeyVersion.objects.filter(organisation=world.other).first()
    query = (
        f"parent_type=finding&parent_id={world.finding_id}&filename=notes.txt"
        f"&owner_org={world.other.uuid}&key_version={foreign_key.pk if foreign_key else 1}&state=released"
    )
    raw = world.api.generic(
        "POST", f"/api/v1/artifacts/?{query}", b"layer 3 activations", content_type="application/octet-stream"
    )
    assert raw.status_code == 201, raw.content
    multipart = world.api.post(
        f"/api/v1/artifacts/?parent_type=finding&parent_id={world.finding_id}",
        {
            "file": _named_file(b"more notes", "more.txt"),
            "owner_org": str(world.other.uuid),
            "key_version": "1",
            "wrapped_data_key": "AAAA",
        },
        format="multipart",
    )
    assert multipart.status_code == 201, multipart.content
    active = OrgKeyVersion.objects.get(organisation=world.org, state="active")
    for answer in (raw, multipart):
        artifact = Artifact.objects.get(uuid=answer.json()["id"])
        assert artifact.owner_org_id == world.org.pk
        assert artifact.key_version_id == active.pk
        assert bytes(artifact.wrapped_data_key) != b"\x00\x00\x00"


def _named_file(content: bytes, name: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="text/plain")


def test_the_revision_form_changes_title_and_body_only(network, api_client_for) -> None:
    world = _World(network, api_client_for)
    browser = network.signed_in_client(world.author)
    before = _snapshot(world.finding)
    response = browser.post(
        f"/findings/{world.finding_id}/revise/",
        {
            "title": "Head 2.1 copies, revised",
            "body": "Also in layer 4.",
            "label": "clear",
            "state": "withdrawn",
            "owner_org": str(world.other.uuid),
            "audience_network": "on",
            "groups": str(world.group.uuid),
        },
    )
    assert response.status_code == 302
    after = _snapshot(world.finding)
    assert after["current_revision_id"] != before["current_revision_id"], "the revision was saved"
    changed = {key for key in before if before[key] != after[key]}
    assert changed <= {"current_revision_id", "updated_at"}, changed
    assert Person.objects.get(pk=world.author.pk).is_active
