"""Test builders for the network: direct model writes where setup is not the behaviour under test."""

from __future__ import annotations

import itertools
from typing import Any

from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from interlock.access.principal import Principal
from interlock.accounts.mfa import totp_code
from interlock.accounts.models import Agreement, AgreementAcceptance, Person, Role
from interlock.network.models import Organisation, OrganisationStatus, SharingGroup

PASSWORD = "correct horse battery staple 42"
_counter = itertools.count()


def principal_for(person: Person, *, mfa: bool = True) -> Principal:
    """The person as a signed-in browser session (MFA passed unless `mfa=False`): what services
    and the policy take. Tests say how the person authenticated; nothing is patched onto them."""
    return Principal.session(person, mfa_verified=mfa)


class NetworkBuilder:
    def agreement(self) -> Agreement:
        agreement = Agreement.objects.order_by("-version").first()
        return agreement or Agreement.objects.create(version=1, title="Agreement", text="Keep it inside.")

    def org(
        self, name: str | None = None, *, status: str = OrganisationStatus.ACTIVE, ceiling: int = 3
    ) -> Organisation:
        n = next(_counter)
        name = name or f"Org {n}"
        return Organisation.objects.create(
            name=name, slug=f"org-{n}", status=status, clearance_ceiling=ceiling
        )

    def person(
        self,
        org: Organisation | None = None,
        *,
        role: str = Role.MEMBER,
        clearance: int = 0,
        steward: bool = False,
        active: bool = True,
        mfa: bool = True,
        accepted: bool = True,
        password: str | None = None,
    ) -> Person:
        n = next(_counter)
        org = org or self.org()
        person = Person.objects.create_user(
            email=f"person{n}@example.org",
            password=password,
            display_name=f"Person {n}",
            organisation=org,
            role=role,
            clearance=clearance,
            is_steward=steward,
            is_active=active,
        )
        if clearance >= 2:
            approver = Person.objects.create_user(
                email=f"approver{n}@example.org", display_name="Approver", organisation=org
            )
            person.clearance_approved_by = approver
            person.clearance_approved_level = clearance
            from datetime import timedelta

            from django.utils import timezone

            person.clearance_expires_at = timezone.now() + timedelta(days=30)
            person.save()
        if accepted:
            AgreementAcceptance.objects.create(person=person, agreement=self.agreement())
        else:
            self.agreement()
        if mfa:
            TOTPDevice.objects.create(user=person, name="test", confirmed=True)
        return person

    def signed_in_client(self, person: Person, password: str = PASSWORD) -> Client:
        """A browser-like client that went through the real password + TOTP sign-in."""
        client = Client()
        response = client.post("/accounts/login/", {"username": person.email, "password": password})
        assert response.status_code == 302, response.content[:500]
        device = TOTPDevice.objects.get(user=person, confirmed=True)
        response = client.post("/accounts/mfa/", {"code": totp_code(device)})
        assert response.status_code == 302 and response["Location"] == "/", response.content[:500]
        return client


def finding_shared_with_own_org(
    api: Any, title: str = "Head 2.1 copies", body: str = "Ablation breaks it."
) -> str:
    """Create a finding through the API and share it AMBER with the author's organisation; its id."""
    created = api.post("/api/v1/findings/", {"title": title, "body": body}, format="json")
    assert created.status_code == 201, created.content
    finding_id = str(created.json()["id"])
    shared = api.post(
        f"/api/v1/findings/{finding_id}/share/", {"label": "amber", "audience_own_org": True}, format="json"
    )
    assert shared.status_code == 200, shared.content
    return finding_id


def sharing_group_of(org: Organisation, name: str = "Circle") -> SharingGroup:
    """A sharing group owned by `org` with `org` as its only member."""
    group = SharingGroup.objects.create(name=name, owner_org=org)
    group.members.set([org])
    return group


def approved_checkpoint(
    api_client_for: Any,
    owner: Person,
    steward: Person,
    spec: dict[str, Any],
    *,
    name: str = "model",
    hazard_tier: int = 0,
    series: str = "",
    position: int | None = None,
    seed: int = 0,
) -> Any:
    """A checkpoint registered by `owner`, its weights uploaded through the API (encrypted as they
    arrive) and approved at AL3 by `steward` — the path every analysis test needs first."""
    from datetime import timedelta

    import torch
    from django.utils import timezone

    from analysis_workers import zoo
    from interlock.checkpoints.services import checkpoint_approve, checkpoint_register

    checkpoint = checkpoint_register(
        actor=principal_for(owner),
        name=name,
        spec=spec,
        hazard_tier=hazard_tier,
        series=series,
        position=position,
    )
    weights = zoo.save_checkpoint(zoo.build(spec, generator=torch.Generator().manual_seed(seed)), spec)
    uploaded = api_client_for(owner).generic(
        "POST",
        f"/api/v1/artifacts/?parent_type=checkpoint&parent_id={checkpoint.uuid}",
        weights,
        content_type="application/octet-stream",
    )
    assert uploaded.status_code == 201, uploaded.content
    checkpoint.refresh_from_db()
    checkpoint_approve(
        actor=principal_for(steward),
        checkpoint_uuid=checkpoint.uuid,
        access_level=3,
        expires_at=timezone.now() + timedelta(days=5),
        sha256=checkpoint.sha256,
    )
    return checkpoint
