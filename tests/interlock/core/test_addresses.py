"""The client address for login throttling, one condition a row (interlock.core.addresses)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from interlock.core.addresses import client_address

PROXY = "10.0.0.2"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, None, PROXY),  # no proxy configured: the connection's address
        (0, "192.0.2.10", PROXY),  # ... and the header is ignored
        (1, "192.0.2.10", "192.0.2.10"),  # nginx appended the client
        (1, "198.51.100.1, 192.0.2.10", "192.0.2.10"),  # the client's own entries are ignored
        (1, "198.51.100.1,192.0.2.10 ", "192.0.2.10"),  # spacing does not matter
        (2, "198.51.100.1, 192.0.2.10, 10.0.0.9", "192.0.2.10"),  # two proxies: second from the right
        (1, None, PROXY),  # not through the proxy (a health check): the connection
        (2, "192.0.2.10", PROXY),  # fewer entries than proxies: not through them all
        (1, "not-an-address", PROXY),  # a proxy appending garbage is not believed
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address(settings: Any, proxies: int, forwarded: str | None, expected: str) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    request = RequestFactory().get("/accounts/login/", REMOTE_ADDR=PROXY, **headers)
    assert client_address(request) == expected
