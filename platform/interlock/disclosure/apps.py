from django.apps import AppConfig


class DisclosureConfig(AppConfig):
    name = "interlock.disclosure"
    label = "disclosure"

    def ready(self) -> None:
        from interlock.crypto.fields import SealedFieldSpec, register_sealed_fields
        from interlock.disclosure import access  # noqa: F401 - registers the rules with the policy
        from interlock.disclosure.models import DisclosureCase
        from interlock.disclosure.notifications import CASE_TARGET
        from interlock.disclosure.rules import sealed_text_id
        from interlock.notifications.registry import register_target

        register_target(CASE_TARGET)

        register_sealed_fields(
            SealedFieldSpec(
                DisclosureCase,
                ("rationale_sealed", "assessment_sealed", "redacted_title_sealed", "redacted_body_sealed"),
                "finding__owner_org",
                # the id the services seal with and the selectors open with: rotation must match it
                lambda row, name: sealed_text_id(row, name.removesuffix("_sealed")),
            )
        )
