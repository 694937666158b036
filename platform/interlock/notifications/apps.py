from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "interlock.notifications"
    label = "notifications"
