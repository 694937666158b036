"""The audit row is written in the act's own transaction, and holds ids and hashes, never content.

SECURITY.md, Audit: "if the audit row cannot be written, the act fails" and "Entries hold ids
and hashes (or salted HMACs) of sensitive values, never the values themselves, and never
secrets."

The first attack makes the audit table refuse every insert (a PostgreSQL trigger, as a full
disk or a broken chain lock would) and then performs real acts through the API: each answers
with an error and leaves nothing behind. Its mutant writes the audit row after the commit, the
"best effort" pattern, and the same check then finds acts that happened without a record.

The second plants a distinct canary in every free-text field people fill in — titles, bodies,
comments, reasons, file names, checkpoint and token names — and in the secrets they hold
(password, token secret), performs the acts, and searches every column of every audit row.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from analysis_workers import zoo
from interlock.accounts.models import Person, Role
from interlock.accounts.services import api_token_create
from interlock.artifacts.models import Artifact
from interlock.audit import services as audit_services
from interlock.audit.models import AuditEvent
from interlock.checkpoints.models import Checkpoint
from interlock.findings.models import Comment, Finding
from interlock.network.models import SharingGroup
from tests.interlock.builders import PASSWORD, finding_shared_with_own_org, principal_for, sharing_group_of

pytestmark = pytest.mark.django_db

REFUSAL = "audit store refuses writes (test)"


@contextmanager
def _audit_table_refuses_inserts() -> Iterator[None]:
    """A BEFORE INSERT trigger on the audit table that raises; dropped again afterwards."""
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_refuse_audit_insert() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$"
        )
        cursor.execute(
            f'CREATE TRIGGER test_refuse_audit_insert BEFORE INSERT ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION test_refuse_audit_insert()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP TRIGGER test_refuse_audit_insert ON "{table}"')
            cursor.execute("DROP FUNCTION test_refuse_audit_insert()")


class _Lab:
    """An org admin (also a steward) with a shared finding, a sharing group and a colleague."""

    def __init__(self, network: Any, api_client_for: Callable[..., Any]) -> None:
        self.org = network.org("Lab")
        self.admin = network.person(
            self.org, role=Role.ORG_ADMIN, clearance=3, steward=True, password=PASSWORD
        )
        self.colleague = network.person(self.org, clearance=1)
        self.api = api_client_for(self.admin)
        self.api.raise_request_exception = False  # see the answer a client would get
        self.finding_id = finding_shared_with_own_org(self.api)
        self.group = sharing_group_of(self.org)


def _acts(lab: _Lab) -> list[tuple[str, Callable[[], Any], Callable[[], object]]]:
    """(name, the act through the API, a reading of the state it would change)."""
    finding = f"/api/v1/findings/{lab.finding_id}"

    def finding_state() -> object:
        row = Finding.objects.get(uuid=lab.finding_id)
        groups = sorted(row.audience_groups.values_list("pk", flat=True))
        return (row.label, row.audience_network, groups, row.current_revision_id, row.state)

    return [
        (
            "create a finding",
            lambda: lab.api.post("/api/v1/findings/", {"title": "t", "body": "b"}, format="json"),
            lambda: Finding.objects.count(),
        ),
        (
            "revise",
            lambda: lab.api.post(f"{finding}/revisions/", {"title": "t2", "body": "b2"}, format="json"),
            finding_state,
        ),
        (
            "share",
            lambda: lab.api.post(
                f"{finding}/share/",
                {"label": "amber", "audience_own_org": True, "groups": [str(lab.group.uuid)]},
                format="json",
            ),
            finding_state,
        ),
        (
            "comment",
            lambda: lab.api.post(f"{finding}/comments/", {"body": "seen it"}, format="json"),
            lambda: Comment.objects.count(),
        ),
        (
            "withdraw",
            lambda: lab.api.post(f"{finding}/withdraw/", {"reason": "superseded"}, format="json"),
            finding_state,
        ),
        (
            "suspend a person",
            lambda: lab.api.post(f"/api/v1/people/{lab.colleague.uuid}/suspend/", {}, format="json"),
            lambda: Person.objects.get(pk=lab.colleague.pk).is_active,
        ),
        (
            "change a sharing group",
            lambda: lab.api.patch(
                f"/api/v1/sharing-groups/{lab.group.uuid}/", {"hide_members": True}, format="json"
            ),
            lambda: SharingGroup.objects.get(pk=lab.group.pk).hide_members,
        ),
        (
            "register a checkpoint",
            lambda: lab.api.post(
                "/api/v1/checkpoints/", {"name": "mlp", "spec": zoo.example_spec("mlp")}, format="json"
            ),
            lambda: Checkpoint.objects.count(),
        ),
        (
            "upload an artifact",
            lambda: lab.api.generic(
                "POST",
                f"/api/v1/artifacts/?parent_type=finding&parent_id={lab.finding_id}&filename=a.txt",
                b"activations",
                content_type="application/octet-stream",
            ),
            lambda: Artifact.objects.count(),
        ),
    ]


def _acts_without_a_record(lab: _Lab) -> list[str]:
    """Run every act while the audit table refuses writes; list those that took effect anyway."""
    escaped: list[str] = []
    audit_rows = AuditEvent.objects.count()
    for name, act, state in _acts(lab):
        before = state()
        with transaction.atomic(), _audit_table_refuses_inserts():
            response = act()
            after = state()
        if response.status_code < 500 or after != before:
            escaped.append(f"{name}: {response.status_code}, state {before!r} -> {after!r}")
        assert REFUSAL not in response.content.decode(errors="replace"), (
            "the database's error reached the client"
        )
    assert AuditEvent.objects.count() == audit_rows
    return escaped


def test_an_act_whose_audit_row_cannot_be_written_does_not_happen(network, api_client_for) -> None:
    lab = _Lab(network, api_client_for)
    assert _acts_without_a_record(lab) == []
    for name, act, _state in _acts(lab)[:4]:  # and with the audit store back, the same acts work
        assert act().status_code in (200, 201), name


def test_the_check_catches_an_audit_written_after_the_commit(
    network, api_client_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mutant: 'best effort' auditing, deferred to after the commit and allowed to fail."""
    original = audit_services.audit_record

    def after_commit(**kwargs: Any) -> None:
        def write() -> None:
            try:
                with transaction.atomic():
                    original(**kwargs)
            except DatabaseError:
                pass

        transaction.on_commit(write)

    for module in list(sys.modules.values()):
        if getattr(module, "audit_record", None) is original and module.__name__.startswith("interlock"):
            monkeypatch.setattr(module, "audit_record", after_commit)
    lab = _Lab(network, api_client_for)
    assert len(_acts_without_a_record(lab)) == len(_acts(lab))


CANARIES = {
    "finding title": "CANARY-title-7Q2",
    "finding body": "CANARY-body-8R3",
    "revision title": "CANARY-revtitle-9S4",
    "revision body": "CANARY-revbody-1T5",
    "comment": "CANARY-comment-2U6",
    "grant reason": "CANARY-grantreason-3V7",
    "withdraw reason": "CANARY-withdraw-4W8",
    "suspension reason": "CANARY-suspend-5X9",
    "file name": "CANARY-filename-6Y1.txt",
    "checkpoint name": "CANARY-checkpoint-7Z2",
    "token name": "CANARY-token-8A3",
}


def test_audit_rows_hold_no_content_and_no_secret(network, api_client_for) -> None:
    lab = _Lab(network, api_client_for)
    api, finding = lab.api, None
    created = api.post(
        "/api/v1/findings/",
        {"title": CANARIES["finding title"], "body": CANARIES["finding body"], "label": "amber"},
        format="json",
    )
    assert created.status_code == 201, created.content
    finding = f"/api/v1/findings/{created.json()['id']}"
    answers = [
        api.post(f"{finding}/share/", {"label": "amber", "audience_own_org": True}, format="json"),
        api.post(
            f"{finding}/revisions/",
            {"title": CANARIES["revision title"], "body": CANARIES["revision body"]},
            format="json",
        ),
        api.post(f"{finding}/comments/", {"body": CANARIES["comment"]}, format="json"),
        api.post(
            f"{finding}/grants/",
            {
                "person": str(lab.colleague.uuid),
                "capability": "read_finding",
                "expires_at": (timezone.now() + timedelta(days=2)).isoformat(),
                "reason": CANARIES["grant reason"],
            },
            format="json",
        ),
        api.generic(
            "POST",
            f"/api/v1/artifacts/?parent_type=finding&parent_id={created.json()['id']}"
            f"&filename={CANARIES['file name']}",
            b"layer 3 activations",
            content_type="application/octet-stream",
        ),
        api.post(
            "/api/v1/checkpoints/",
            {"name": CANARIES["checkpoint name"], "spec": zoo.example_spec("mlp")},
            format="json",
        ),
        api.post(f"{finding}/withdraw/", {"reason": CANARIES["withdraw reason"]}, format="json"),
    ]
    for answer in answers:
        assert answer.status_code in (200, 201), answer.content
    other = network.org("Other")
    suspended = api_client_for(network.person(steward=True)).post(
        f"/api/v1/organisations/{other.uuid}/suspend/",
        {"reason": CANARIES["suspension reason"]},
        format="json",
    )
    assert suspended.status_code == 200, suspended.content
    token = api_token_create(
        actor=principal_for(lab.admin), name=CANARIES["token name"], scopes=["read"], days=1
    )
    browser = network.signed_in_client(lab.admin)  # a real sign-in: password and TOTP code
    assert browser.get("/network/").status_code == 200

    rows = list(AuditEvent.objects.values_list("actor_label", "event", "target_type", "target_id", "extra"))
    audited = {row[1] for row in rows}
    expected = {
        "FINDING_CREATED",
        "FINDING_SHARED",
        "FINDING_REVISED",
        "COMMENT_CREATED",
        "FINDING_GRANT_CREATED",
        "ARTIFACT_UPLOADED",
        "CHECKPOINT_REGISTERED",
        "FINDING_WITHDRAWN",
        "ORGANISATION_SUSPENDED",
        "TOKEN_CREATED",
        "PERSON_LOGGED_IN",
        "MFA_VERIFIED",
    }
    assert expected <= audited, f"acts without their audit row: {sorted(expected - audited)}"
    text = "\n".join(str(row) for row in rows)
    leaked = {what: canary for what, canary in CANARIES.items() if canary in text}
    secrets = {"password": PASSWORD, "token secret": token.secret, "token secret body": token.secret[12:]}
    leaked |= {what: "(secret)" for what, secret in secrets.items() if secret in text}
    assert not leaked, f"audit rows hold content or secrets: {sorted(leaked)}"
