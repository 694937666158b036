"""django-guardian stores grants; our policy decides (SECURITY.md, Access). Guardian's permissive
paths stay shut: its object-permission backend is not installed (so `has_perm(perm, obj)` can
never say yes for a grant or for a superuser), and the admin shows no protected model and no
grant table (GuardedModelAdmin would let staff edit everyone's grants)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.utils import timezone

from interlock.access import Action, can, registrations
from interlock.findings.models import Finding, FindingGrant
from tests.interlock.builders import principal_for


def test_guardian_backend_is_not_installed() -> None:
    assert not any("guardian" in backend for backend in settings.AUTHENTICATION_BACKENDS)


def test_the_admin_registers_no_protected_model_and_no_grant_table() -> None:
    registered = set(admin.site._registry)
    protected = {registration.model for registration in registrations()}
    assert protected, "the policy registers its models at start-up"
    assert registered.isdisjoint(protected | {FindingGrant}), registered & (protected | {FindingGrant})


@pytest.mark.django_db
def test_stored_grants_and_superuser_flags_give_nothing_the_policy_does_not(network) -> None:
    """Django answers `has_perm` True for any active superuser — the footgun the AST check in
    tests/security/test_primitives.py keeps out of the code. The policy ignores the flag, an
    expired grant row and a grant to a deactivated person."""
    from interlock.findings.models import FindingState, Label

    owner_org = network.org()
    author = network.person(owner_org)
    finding = Finding.objects.create(owner_org=owner_org, label=Label.AMBER, state=FindingState.SHARED)
    finding.authors.set([author])
    read = Permission.objects.get(codename="read_finding")
    superuser = network.person(network.org())
    superuser.is_superuser = superuser.is_staff = True
    superuser.save()
    deactivated = network.person(owner_org, active=False)
    now = timezone.now()
    for person, expires_at in ((superuser, now - timedelta(days=1)), (deactivated, now + timedelta(days=1))):
        FindingGrant.objects.create(
            content_object_id=finding.pk,
            user=person,
            permission=read,
            granted_by=author,
            reason="footgun test",
            expires_at=expires_at,
        )
    assert superuser.has_perm("findings.read_finding", finding)  # Django's answer: never asked
    assert not can(principal_for(superuser), Action.VIEW, finding)
    assert not can(principal_for(deactivated), Action.VIEW, finding)
    assert can(principal_for(author), Action.VIEW, finding)  # the control: the policy does let the author in
