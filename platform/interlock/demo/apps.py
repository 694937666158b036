from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo network and its analyses: seeding, the `demo` command and the demo-only TOTP helper.

    The top floor: it uses every other app's services and nothing imports it."""

    name = "interlock.demo"
    label = "demo"
