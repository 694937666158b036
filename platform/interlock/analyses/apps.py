from django.apps import AppConfig


class AnalysesConfig(AppConfig):
    name = "interlock.analyses"
    label = "analyses"

    def ready(self) -> None:
        from interlock.analyses import access  # noqa: F401 - registers the rule and the artifact parent
        from interlock.analyses.models import AnalysisResult
        from interlock.crypto.fields import SealedFieldSpec, register_sealed_fields
        from interlock_wire import analysis_result_object_id

        # metrics are sealed under the checkpoint owner's key: rotation must re-wrap them too
        register_sealed_fields(
            SealedFieldSpec(
                AnalysisResult,
                ("metrics_sealed",),
                "request__checkpoint__owner_org",
                lambda row, name: analysis_result_object_id(request_uuid=row.request.uuid),
            )
        )
