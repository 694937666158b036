"""Who may see, upload to and analyse with an organisation's own datasets.

A dataset carries all three axes of its own, each checked on its own line, every clause needing
them all — the uploader included:

- hazard tier: clearance ≥ the tier;
- audience: the owner organisation (never stewards or anyone else: a dataset needs no approval,
  so nobody outside its organisation has a reason to see it);
- label: TLP:AMBER reaches the owner organisation's members; TLP:AMBER+STRICT only the uploader,
  the one person of the owner organisation the dataset names (no grants to name others).

Actions: see it (VIEW); upload its file (ATTACH: the uploader, once, while it awaits its file);
analyse with it (ANALYSE: whoever sees it; the analysis's result audience is then the intersection
of the dataset's and the checkpoint's, `interlock.analyses.access`). Its file is never downloaded
back: it goes to workers only, inside a signed job ticket.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from interlock.access import policy
from interlock.access.actions import Action, Decision, allow, deny
from interlock.access.clearance import clearance_allows, max_visible_tier
from interlock.access.lookups import access_by_uuid
from interlock.access.principal import Principal
from interlock.accounts.models import Person
from interlock.artifacts.parents import ArtifactParent, register_parent
from interlock.core.errors import NotFound
from interlock.datasets.models import DatasetLabel, DatasetState, UploadedDataset


def dataset_audience(person: Person, dataset: UploadedDataset) -> Decision:
    """The three axes for one person: tier, organisation, label."""
    if not clearance_allows(person, dataset.hazard_tier):
        return deny("clearance below the dataset's hazard tier")
    if person.organisation_id != dataset.owner_org_id:
        return deny("not the owner organisation")
    if dataset.label == DatasetLabel.AMBER:
        return allow("a member of the owner organisation (TLP:AMBER)")
    if dataset.label == DatasetLabel.AMBER_STRICT:
        return (
            allow("the uploader (TLP:AMBER+STRICT)")
            if person.pk == dataset.uploaded_by_id
            else deny("TLP:AMBER+STRICT: the uploader alone")
        )
    return deny(f"label {dataset.label} is not one a dataset may carry")


def dataset_rule(principal: Principal, action: Action, dataset: UploadedDataset) -> Decision:
    if action not in (Action.VIEW, Action.ANALYSE, Action.ATTACH):
        return deny(f"{action} does not apply to datasets")
    audience = dataset_audience(principal.person, dataset)
    if action != Action.ATTACH or not audience:
        return audience
    if principal.pk != dataset.uploaded_by_id:
        return deny("only the uploader uploads the file")
    if dataset.state != DatasetState.AWAITING_UPLOAD:
        return deny("the file is already there; register a new dataset")
    return allow("uploader")


def visible_datasets(principal: Principal, queryset: QuerySet[UploadedDataset]) -> QuerySet[UploadedDataset]:
    person = principal.person
    label = Q(label=DatasetLabel.AMBER) | Q(label=DatasetLabel.AMBER_STRICT, uploaded_by_id=person.pk)
    return (
        queryset.filter(hazard_tier__lte=max_visible_tier(person))
        .filter(owner_org_id=principal.organisation_id)
        .filter(label)
    )


def access_dataset_by_id(principal: Principal, dataset_uuid: object, *, action: Action) -> UploadedDataset:
    """The dataset if `principal` may do `action` on it; NotFound when they may not see it."""
    return access_by_uuid(
        principal,
        UploadedDataset.objects.select_related("owner_org", "artifact"),
        dataset_uuid,
        action=action,
    )


def _dataset_parent(principal: Principal, parent_id: str, action: Action) -> ArtifactParent:
    """A dataset's file: its metadata to whoever sees the dataset, the upload to its uploader;
    its content to nobody over HTTP (it travels to workers in a job ticket only)."""
    if action not in (Action.VIEW, Action.ATTACH):
        raise NotFound
    dataset = access_dataset_by_id(principal, parent_id, action=action)
    return ArtifactParent("dataset", str(dataset.uuid), dataset.owner_org, kind="dataset")


DATASET_AXES = "its own label (TLP:AMBER or AMBER+STRICT) and hazard tier"

policy.register(
    UploadedDataset,
    rule=dataset_rule,
    filter_=visible_datasets,
    actions=(Action.VIEW, Action.ATTACH, Action.ANALYSE),
    axes=DATASET_AXES,
    audience="cleared members of the owner organisation (AMBER); the cleared uploader alone (AMBER+STRICT)",
)
register_parent(
    "dataset",
    _dataset_parent,
    lambda principal: visible_datasets(principal, UploadedDataset.objects.all()).values("uuid"),
)
