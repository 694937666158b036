from django.apps import AppConfig


class CheckpointsConfig(AppConfig):
    name = "interlock.checkpoints"
    label = "checkpoints"

    def ready(self) -> None:
        from interlock.artifacts.parents import register_recorded_hook
        from interlock.checkpoints import access  # noqa: F401 - registers the rule and the artifact parent
        from interlock.checkpoints.services import checkpoint_pin_artifact

        register_recorded_hook("checkpoint", checkpoint_pin_artifact)
