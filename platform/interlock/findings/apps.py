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
        from interlock_wire import comment_object_id, revision_field_object_id

        register_target(FINDING_TARGET)

        register_sealed_fields(
            SealedFieldSpec(
                FindingRevision,
                ("title_sealed", "body_sealed"),
                "finding__owner_org",
                lambda row, name: revision_field_object_id(
                    revision_uuid=row.uuid, field=name.removesuffix("_sealed")
                ),
            )
        )
        register_sealed_fields(
            SealedFieldSpec(
                Comment,
                ("body_sealed",),
                "finding__owner_org",
                lambda row, name: comment_object_id(comment_uuid=row.uuid),
            )
        )
