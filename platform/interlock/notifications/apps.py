from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "interlock.notifications"
    label = "notifications"

    def ready(self) -> None:
        from interlock.notifications import access  # noqa: F401 - register the rule
