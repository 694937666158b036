"""Fixed-window counters in Django's cache: how often one client did something within a window.

A window is `seconds` long and aligned to the epoch, so every process that shares the cache
counts into the same key. With the default per-process cache (`CACHE_URL` unset: local memory)
each gunicorn worker counts on its own, so a limit holds per worker process — a deployment
that wants one count for the whole web tier points `CACHE_URL` at a shared Redis.

Keys carry a hash of the client's address, never the address itself.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.core.cache import cache


def _key(scope: str, client: str, seconds: int) -> tuple[str, int]:
    now = time.time()
    window = int(now // seconds)
    digest = hashlib.sha256(client.encode()).hexdigest()[:32]
    left = math.ceil((window + 1) * seconds - now)
    return f"interlock:{scope}:{digest}:{window}", max(left, 1)


def rate_limit_exceeded(scope: str, client: str, *, limit: int, seconds: int) -> int | None:
    """Count one event of `client` in `scope`. Past `limit` events in the current window, the
    seconds until the window ends (for `Retry-After`); otherwise None."""
    key, left = _key(scope, client, seconds)
    cache.add(key, 0, timeout=seconds + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr: this is the window's first event again
        cache.add(key, 1, timeout=seconds + 1)
        count = 1
    return left if count > limit else None


def first_in_window(scope: str, client: str, *, seconds: int) -> bool:
    """True once per `client` per window of `seconds` in `scope`, False for every later call."""
    key, _ = _key(scope, client, seconds)
    return bool(cache.add(key, 1, timeout=seconds + 1))
