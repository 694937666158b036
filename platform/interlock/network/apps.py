from django.apps import AppConfig


class NetworkConfig(AppConfig):
    name = "interlock.network"
    label = "network"

    def ready(self) -> None:
        from interlock.network import access  # noqa: F401 - registers the rules with the policy
