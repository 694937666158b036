from django.apps import AppConfig


class AnalysesConfig(AppConfig):
    name = "interlock.analyses"
    label = "analyses"

    def ready(self) -> None:
        from interlock.analyses import access  # noqa: F401 - registers the rule and the artifact parent
