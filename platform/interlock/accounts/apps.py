from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "interlock.accounts"
    label = "accounts"

    def ready(self) -> None:
        from interlock.accounts import access  # noqa: F401 - registers the rules with the policy
