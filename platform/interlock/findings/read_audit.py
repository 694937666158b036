"""The reader row: every read of TLP:RED or TLP:AMBER+STRICT text is recorded, on every path.

The finding page, a revision, a diff, a comment thread, a search hit, an export and a
disclosure case all open the same sealed text; each calls `record_content_read` as it opens
it, so the authors' "who read this" list (`finding_readers`) sees every reader, whatever the
path. The row holds ids only (SECURITY.md: audit entries never hold the content).
"""

from __future__ import annotations

from django.db import transaction

from interlock.access.principal import Principal
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.findings.access import AUDITED_LABELS
from interlock.findings.models import Finding


def record_content_read(principal: Principal, finding: Finding, *, via: str, revision: int | None) -> None:
    """One reader row for this principal and finding, if its label asks for it."""
    if finding.label not in AUDITED_LABELS:
        return
    with transaction.atomic():
        audit_record(
            actor=principal,
            event=Event.FINDING_READ,
            target=finding,
            extra={"revision": revision, "label": finding.label, "via": via},
        )
