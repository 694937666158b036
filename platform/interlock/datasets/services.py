"""Registering an organisation's dataset and pinning its file when it arrives — each audited."""

from __future__ import annotations

from django.db import transaction

from analysis_workers.datasets.uploaded import FORMATS, DatasetFileError, inspect
from interlock.access import Principal
from interlock.access.clearance import clearance_allows
from interlock.artifacts.models import Artifact
from interlock.artifacts.selectors import artifact_plaintext
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.core.errors import ApplicationError, InvalidState, PolicyDenied
from interlock.datasets.models import DatasetLabel, DatasetState, UploadedDataset

# Why each TLP label a dataset may not carry is refused (DESIGN.md's label ↔ audience table).
REFUSED_LABELS = {
    "red": "TLP:RED goes to named people with explicit, expiring grants, which datasets do not have; "
    "use amber_strict (the uploader alone)",
    "green": "TLP:GREEN would let recipients share it across the network; a dataset stays in its "
    "organisation: use amber or amber_strict",
    "clear": "TLP:CLEAR is public; a dataset stays in its organisation: use amber or amber_strict",
}


@transaction.atomic
def dataset_register(
    *,
    actor: Principal,
    name: str,
    file_format: str,
    label: str = DatasetLabel.AMBER_STRICT,
    hazard_tier: int = 0,
) -> UploadedDataset:
    """A dataset of the actor's organisation awaiting its file (sent to /api/v1/artifacts/ with
    parent_type=dataset), with its label and tier fixed now."""
    errors: dict[str, list[str]] = {}
    if not name.strip() or len(name) > 200:
        errors["name"] = ["1–200 characters"]
    if file_format not in FORMATS:
        errors["format"] = [f"one of {', '.join(FORMATS)}"]
    if label in REFUSED_LABELS:
        errors["label"] = [REFUSED_LABELS[label]]
    elif label not in DatasetLabel.values:
        errors["label"] = [f"one of {', '.join(DatasetLabel.values)}"]
    if not 0 <= hazard_tier <= 3:
        errors["hazard_tier"] = ["0, 1, 2 or 3"]
    elif not clearance_allows(actor.person, hazard_tier):
        errors["hazard_tier"] = ["above your clearance"]
    if errors:
        raise ApplicationError("The dataset is not valid.", errors)
    organisation = actor.person.organisation
    if organisation is None:
        raise PolicyDenied("You need a home organisation to register datasets.")
    dataset = UploadedDataset.objects.create(
        owner_org=organisation,
        uploaded_by=actor.person,
        name=name.strip(),
        format=file_format,
        label=label,
        hazard_tier=hazard_tier,
    )
    audit_record(
        actor=actor,
        event=Event.DATASET_REGISTERED,
        target=dataset,
        extra={"format": file_format, "label": label, "hazard_tier": hazard_tier},
    )
    return dataset


def dataset_pin_artifact(artifact: Artifact) -> None:
    """Called in the upload's transaction (the artifacts app's recorded hook for dataset parents):
    the file is read back once, decrypted in memory, and must be a dataset of the declared format;
    its SHA-256 and facts are pinned. A refusal rolls the upload back and its ciphertext is deleted."""
    locked = UploadedDataset.objects.select_for_update().get(uuid=artifact.parent_id)
    if locked.state != DatasetState.AWAITING_UPLOAD:
        raise InvalidState("This dataset already has its file.")
    try:
        facts = inspect(locked.format, artifact_plaintext(artifact))
    except DatasetFileError as problem:
        raise ApplicationError(
            f"The file is not a {locked.format} dataset: {problem}; nothing was kept.",
            {"file": [str(problem)]},
        ) from None
    locked.artifact = artifact
    locked.sha256 = artifact.sha256
    locked.state = DatasetState.UPLOADED
    locked.rows = facts.rows
    locked.seq_len = facts.seq_len
    locked.max_token_id = facts.max_token_id
    locked.attention_mask = facts.attention_mask
    locked.save(
        update_fields=["artifact", "sha256", "state", "rows", "seq_len", "max_token_id", "attention_mask"]
    )
    audit_record(
        actor=artifact.created_by,
        event=Event.DATASET_PINNED,
        target=locked,
        extra={"sha256": artifact.sha256, "size": artifact.size, "rows": facts.rows},
    )
