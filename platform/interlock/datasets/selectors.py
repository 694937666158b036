"""Reads of datasets: those a principal may see, newest first. Reads never import writes."""

from __future__ import annotations

from django.db.models import QuerySet

from interlock.access import Principal, visible
from interlock.datasets.models import UploadedDataset


def dataset_list(*, principal: Principal) -> QuerySet[UploadedDataset]:
    """The datasets `principal` may see (the policy's SQL filter), newest first."""
    queryset = UploadedDataset.objects.select_related("owner_org", "artifact").order_by("-created_at", "-id")
    return visible(principal, queryset)
