from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "interlock.core"
    label = "core"

    def ready(self) -> None:
        # Make the platform's Celery app the current one in every Django process, so tasks
        # sent from web requests and commands go to the configured broker.
        from interlock.celery import app  # noqa: F401
        from interlock.core import (
            admin,  # noqa: F401 - restricts the admin site
            checks,  # noqa: F401 - registers the deployment checks
        )
