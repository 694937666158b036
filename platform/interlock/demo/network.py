"""The demo network: who and what `manage.py seed_demo` creates. Idempotent: rerunning reuses it.

Demo people get a password and a TOTP secret that are printed for the demo (and written to
the --json file). This is demo-only: the command refuses to run in production.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from interlock.access.principal import Principal
from interlock.accounts import services as account_services
from interlock.accounts.models import Agreement, Person, Role, TokenScope
from interlock.network import services as network_services
from interlock.network.models import NetworkPolicy, Organisation, OrganisationStatus, SharingGroup


@dataclass(frozen=True)
class DemoPerson:
    email: str
    name: str
    org: str
    role: str
    clearance: int
    steward: bool = False


ORGANISATIONS = [
    (
        "Aletheia Alignment Lab",
        3,
        "Mechanistic interpretability of language models; SLT and developmental interpretability.",
    ),
    ("Beacon Safety Institute", 3, "Evaluations and model organisms of misalignment."),
    ("Cairn Interpretability Collective", 2, "Sparse dictionary learning and circuit discovery."),
]

PEOPLE = [
    DemoPerson(
        "steward@aletheia.example", "Ada Steward", "Aletheia Alignment Lab", Role.ORG_ADMIN, 3, steward=True
    ),
    DemoPerson("researcher@aletheia.example", "Alan Researcher", "Aletheia Alignment Lab", Role.MEMBER, 2),
    DemoPerson("junior@aletheia.example", "Amy Junior", "Aletheia Alignment Lab", Role.MEMBER, 0),
    DemoPerson(
        "steward@beacon.example", "Ben Steward", "Beacon Safety Institute", Role.ORG_ADMIN, 3, steward=True
    ),
    DemoPerson("reviewer@beacon.example", "Bea Reviewer", "Beacon Safety Institute", Role.MEMBER, 2),
    DemoPerson("admin@cairn.example", "Cal Admin", "Cairn Interpretability Collective", Role.ORG_ADMIN, 1),
    DemoPerson("member@cairn.example", "Cleo Member", "Cairn Interpretability Collective", Role.MEMBER, 1),
]

AGREEMENT_TEXT = (
    "Findings shared in this network stay inside the audience their authors chose. You will not "
    "copy, forward or publish them, or use them to advance capabilities, unless a released "
    "disclosure decision allows it. Every sensitive access is audited."
)


def _ensure_org(name: str, ceiling: int, scope: str, founders: list[Person]) -> Organisation:
    org = Organisation.objects.filter(name=name).first()
    if org is not None:
        return org
    if not founders:
        return network_services.organisation_bootstrap(
            name=name, clearance_ceiling=ceiling, declared_scope=scope
        )
    # later organisations go through real vetting: two stewards from other organisations
    org = network_services.organisation_apply(
        actor=Principal.on_behalf_of(founders[0]), name=name, declared_scope=scope, clearance_ceiling=ceiling
    )
    for steward in founders:
        network_services.organisation_approve_activation(
            actor=Principal.on_behalf_of(steward), org_uuid=org.uuid
        )
    org.refresh_from_db()
    return org


# Questions, plans and drafts, never results: demo text states only what the platform measured,
# and these are written before any analysis runs (the measured findings are made from the
# analyses' metrics in `interlock.demo.analyses`).
DEMO_FINDINGS = [
    # (author e-mail, title, label, hazard tier, audience)
    (
        "researcher@aletheia.example",
        "Question for the network: at which training step do your small transformers form induction heads?",
        "green",
        0,
        {"network": True},
    ),
    (
        "researcher@aletheia.example",
        "Plan: ablate the grokking model's key Fourier frequencies and measure its test loss",
        "amber",
        1,
        {"own_org": True, "groups": True},
    ),
    (
        "reviewer@beacon.example",
        "Draft: which layer should a linear probe read for the answer's parity?",
        "amber_strict",
        1,
        {},
    ),
    (
        "steward@aletheia.example",
        "Proposal: weight-restricted LLC on a capability-relevant circuit",
        "red",
        2,
        {},
    ),
]


def _ensure_demo_findings(group: SharingGroup) -> list[dict[str, Any]]:
    """Findings at several labels, shared as their labels allow; created once, listed every time."""
    from interlock.findings.models import Finding, Label
    from interlock.findings.rules import Audience
    from interlock.findings.selectors import revision_title
    from interlock.findings.services import finding_create, finding_share

    out = []
    for email, title, label, hazard, audience in DEMO_FINDINGS:
        author = Person.objects.select_related("organisation").get(email=email)
        existing = [
            f
            for f in Finding.objects.filter(authors=author).select_related("current_revision", "owner_org")
            if f.current_revision and revision_title(f.current_revision, f) == title
        ]
        finding = existing[0] if existing else None
        if finding is None:
            finding = finding_create(
                actor=Principal.on_behalf_of(author),
                title=title,
                body=f"{title}\n\nA demo finding that shows how its label and audience limit who reads it; "
                "it reports no measurement (the measured results are in the analyses' findings).",
                label=label,
                hazard_tier=hazard,
                tags=["demo"],
            )
            finding = finding_share(
                actor=Principal.on_behalf_of(author),
                finding_uuid=finding.uuid,
                label=label,
                audience=Audience(
                    own_org=bool(audience.get("own_org")),
                    network=bool(audience.get("network")),
                    group_uuids=(str(group.uuid),) if audience.get("groups") else (),
                ),
            )
        out.append(
            {
                "id": str(finding.uuid),
                "title": title,
                "owner": finding.owner_org.name,
                "author": email,
                "label": Label(finding.label).label,
                "hazard_tier": finding.hazard_tier,
                "distribution": {
                    "own_org": finding.audience_own_org,
                    "network": finding.audience_network,
                    "groups": [g.name for g in finding.audience_groups.all()],
                },
            }
        )
    return out


def _ensure_totp(person: Person) -> str:
    device = TOTPDevice.objects.filter(user=person, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=person, name="demo authenticator", confirmed=True)
    return base64.b32encode(device.bin_key).decode().rstrip("=")


@transaction.atomic
def seed_demo_network(*, password: str | None = None) -> dict[str, Any]:
    """Create (or reuse) the demo network and return what exists, with fresh API tokens."""
    password = password or f"demo-{secrets.token_urlsafe(9)}"
    if not NetworkPolicy.objects.exists():
        network_services.network_policy_publish(actor=None, changes={})
    agreement = Agreement.objects.order_by("-version").first() or account_services.agreement_publish(
        actor=None, title="Interlock network agreement", text=AGREEMENT_TEXT
    )
    stewards: list[Person] = []
    orgs: dict[str, Organisation] = {}
    people_out: list[dict[str, Any]] = []
    for name, ceiling, scope in ORGANISATIONS:
        orgs[name] = _ensure_org(name, ceiling, scope, stewards[:2] if len(stewards) >= 2 else [])
        for spec in (p for p in PEOPLE if p.org == name):
            person = Person.objects.filter(email=spec.email).first()
            if person is None:
                person = account_services.person_create(
                    actor=None,
                    email=spec.email,
                    display_name=spec.name,
                    organisation=orgs[name],
                    password=None,
                    role=spec.role,
                    clearance=spec.clearance,
                    is_steward=spec.steward,
                )
            person.set_password(password)
            person.save(update_fields=["password"])
            person.acceptances.get_or_create(agreement=agreement)
            if spec.steward:
                stewards.append(person)
    # clearance ≥ 2 needs a steward from another organisation... any steward but the person
    for person in Person.objects.filter(email__in=[p.email for p in PEOPLE], clearance__gte=2):
        if person.effective_clearance() < person.clearance:
            approver = next(s for s in stewards if s.pk != person.pk)
            account_services.clearance_approve(
                actor=Principal.on_behalf_of(approver), person_uuid=person.uuid
            )
    group = SharingGroup.objects.filter(name="Interpretability working group").first()
    if group is None:
        admin = Person.objects.get(email="steward@aletheia.example")
        group = network_services.sharing_group_create(
            actor=Principal.on_behalf_of(admin),
            name="Interpretability working group",
            member_uuids=[orgs["Cairn Interpretability Collective"].uuid],
        )
    for spec in PEOPLE:
        person = Person.objects.select_related("organisation").get(email=spec.email)
        issued = account_services.api_token_create(
            actor=Principal.on_behalf_of(person),
            name="demo",
            scopes=[TokenScope.READ, TokenScope.WRITE, TokenScope.ANALYSES],
            days=30,
        )
        people_out.append(
            {
                "id": str(person.uuid),
                "email": person.email,
                "name": person.display_name,
                "organisation": person.organisation.name,  # type: ignore[union-attr]
                "role": person.role,
                "steward": person.is_steward,
                "clearance": person.effective_clearance(),
                "password": password,
                "totp_secret": _ensure_totp(person),
                "api_token": issued.secret,
            }
        )
    findings_out = _ensure_demo_findings(group)
    return {
        "organisations": [
            {
                "id": str(org.uuid),
                "name": org.name,
                "status": org.status,
                "clearance_ceiling": org.clearance_ceiling,
            }
            for org in Organisation.objects.filter(name__in=orgs).order_by("name")
        ],
        "people": people_out,
        "sharing_groups": [
            {
                "id": str(group.uuid),
                "name": group.name,
                "owner": group.owner_org.name,
                "members": sorted(o.name for o in group.members.all()),
            }
        ],
        "findings": findings_out,
        "agreement_version": agreement.version,
        "active_statuses": [OrganisationStatus.ACTIVE],
    }
