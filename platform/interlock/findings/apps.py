from django.apps import AppConfig


class FindingsConfig(AppConfig):
    name = "interlock.findings"
    label = "findings"

    def ready(self) -> None:
        from interlock.crypto.fields import SealedFieldSpec, register_sealed_fields
        from interlock.findings import access, attachments  # noqa: F401 - register the rules and the parent type
        from interlock.findings.models import Comment, FindingRevision
        from interlock.findings.notifications import FINDING_TARGET
        from interlock.notifications.registry import register_target

        register_target(FINDING_TARGET)

        register_sealed_fields(
            SealedFieldSpec(
                FindingRevision,
                ("title_sealed", "body_sealed"),
                "finding__owner_org",
                lambda row, name: f"revision:{row.uuid}:{name.removesuffix('_sealed')}",
            )
        )
        register_sealed_fields(
            SealedFieldSpec(
                Comment, ("body_sealed",), "finding__owner_org", lambda row, name: f"comment:{row.uuid}"
            )
        )
