"""Reads about the network. Lists always go through `interlock.access.visible`."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from interlock.access.principal import Principal
from interlock.network.models import NetworkPolicy, Organisation, SharingGroup, default_policy_document


def network_policy_current() -> dict[str, Any]:
    """The newest published policy document (the built-in default before the first one)."""
    policy = NetworkPolicy.objects.order_by("-version").first()
    document = default_policy_document()
    if policy is not None:
        document.update(policy.document)
    return document


def organisation_list(*, principal: Principal, status: str | None = None) -> QuerySet[Organisation]:
    from interlock.access import visible

    queryset = visible(principal, Organisation.objects.all())
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("name")


def sharing_group_list(*, principal: Principal) -> QuerySet[SharingGroup]:
    from interlock.access import visible

    return visible(principal, SharingGroup.objects.select_related("owner_org")).order_by("name")
