from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "interlock.datasets"
    label = "datasets"

    def ready(self) -> None:
        from interlock.artifacts.parents import register_recorded_hook
        from interlock.datasets import access  # noqa: F401 - registers the rule and the artifact parent
        from interlock.datasets.services import dataset_pin_artifact

        register_recorded_hook("dataset", dataset_pin_artifact)
