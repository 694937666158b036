"""The address of the person's machine, for login throttling: behind `TRUSTED_PROXY_COUNT`
reverse proxies, the entry the outermost one of them appended to `X-Forwarded-For`.

Each proxy in front of the web tier appends the address it received the connection from (nginx's
`$proxy_add_x_forwarded_for`). With n trusted proxies the last n entries are theirs, so the n-th
from the right is the client as the outermost proxy saw it. Everything to its left came from the
client and is ignored: a spoofed `X-Forwarded-For` neither resets nor dodges a lockout.

With `TRUSTED_PROXY_COUNT=0` (no proxy: gunicorn faces the clients) the header is ignored and the
connection's own address is the client's. Behind a proxy that setting is wrong the other way:
every person shares the proxy's address, and five failed sign-ins from anyone lock out everyone
(django-axes locks by address as well as by username); `manage.py check --deploy` warns about it
(`interlock.W001`). A request with fewer entries than expected did not come through the proxies
(a health check on the pod, a caller on an internal network); its connection address is used.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """AXES_CLIENT_IP_CALLABLE: the client's address as the outermost trusted proxy saw it."""
    connection = str(request.META.get("REMOTE_ADDR", ""))
    proxies = int(settings.TRUSTED_PROXY_COUNT)
    if proxies <= 0:
        return connection
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [entry for entry in forwarded if entry]
    if len(forwarded) < proxies:
        return connection
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:  # a proxy that appends something else is misconfigured; do not trust it
        return connection
