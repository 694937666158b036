from django.apps import AppConfig


class ArtifactsConfig(AppConfig):
    name = "interlock.artifacts"
    label = "artifacts"

    def ready(self) -> None:
        from interlock.artifacts import access  # noqa: F401 - registers the rules with the policy
