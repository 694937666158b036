"""Deployment checks of our own, run by `manage.py check --deploy` (SECURITY.md: clean at
`--fail-level WARNING` with production settings)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def trusted_proxy_count_check(app_configs: Any, **kwargs: Any) -> list[Warning]:
    """Production trusts a reverse proxy for the scheme (SECURE_PROXY_SSL_HEADER), so it sits
    behind one; with TRUSTED_PROXY_COUNT=0 every client then has the proxy's address and a few
    failed sign-ins from anyone lock the whole network out. A warning, not a refusal to start:
    an operator may need to start the web tier to fix its proxy, and `check --deploy` is the
    gate every deployment passes (docs/operations.md)."""
    if settings.TRUSTED_PROXY_COUNT > 0 or not settings.SECURE_PROXY_SSL_HEADER:
        return []
    return [
        Warning(
            "TRUSTED_PROXY_COUNT is 0 while SECURE_PROXY_SSL_HEADER trusts a reverse proxy: every "
            "client will share the proxy's address, and failed sign-ins from anyone lock everyone out.",
            hint="Set TRUSTED_PROXY_COUNT to the number of proxies in front of the web tier "
            "(1 behind the shipped nginx).",
            id="interlock.W001",
        )
    ]
