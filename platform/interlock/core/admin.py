"""Django's admin: superusers with a verified MFA session only, and no network data in it.

None of Interlock's protected models are registered here (the policy cannot run inside
generic admin views), and the TOTP device admin is removed so nobody can read MFA secrets.
"""

from django.contrib import admin
from django.contrib.auth.models import Group
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice


def _superuser_with_mfa(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_superuser and user.is_verified())


admin.site.has_permission = _superuser_with_mfa  # type: ignore[method-assign]
for model in (TOTPDevice, Group):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
