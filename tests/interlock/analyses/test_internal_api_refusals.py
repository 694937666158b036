"""Refusals at the internal job API: an anonymous caller can no longer grow the audit chain.

Calls without a valid worker credential are counted (Prometheus), limited per address (429 with
`Retry-After` past 30 a minute) and audited once per address per hour. A real worker whose
ticket is refused is still audited every time.

Mutants verified red:
- `_unauthenticated` auditing every call again (no `first_in_window`) → 200 audit rows, red;
- the limiter removed (`rate_limit_exceeded` never consulted) → no 429, red;
- the metric not incremented → red;
- the once-per-window rule applied to ticket refusals too (a worker's refusals deduplicated) →
  `test_a_worker_whose_ticket_is_refused_is_audited_every_time_and_never_limited` red.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from interlock.analyses import keys
from interlock.audit.models import AuditEvent
from interlock_wire import sign_request

pytestmark = pytest.mark.django_db
PATHS = ["claim", "blob", "progress", "result", "fail"]


def _refusals(reason: str) -> float:
    return REGISTRY.get_sample_value("interlock_job_api_refusals_total", {"reason": reason}) or 0.0


def _audited() -> int:
    return AuditEvent.objects.filter(event="JOB_REFUSED").count()


@pytest.fixture
def frozen_clock(monkeypatch: Any) -> None:
    """One rate-limit window for the whole test, whatever the wall clock does meanwhile."""
    now = time.time()
    monkeypatch.setattr("interlock.core.rate_limits.time.time", lambda: now)


def test_anonymous_calls_are_counted_limited_and_audited_once(frozen_clock: None) -> None:
    attacker = Client(REMOTE_ADDR="198.51.100.7")
    before_rows, before_count = _audited(), _refusals("bad_credential")
    statuses = []
    for n in range(200):
        response = attacker.post(
            f"/internal/jobs/{PATHS[n % len(PATHS)]}/",
            b'{"ticket": "x"}',
            content_type="application/json",
            HTTP_X_WORKER_TIMESTAMP=str(int(time.time())),
            HTTP_X_WORKER_SIGNATURE="0" * 64,
        )
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert 1 <= int(response["Retry-After"]) <= 60
            assert response.json()["error"]["code"] == "rate_limited"
    assert statuses[:30] == [401] * 30 and statuses[30:] == [429] * 170
    assert _refusals("bad_credential") - before_count == 200
    assert _audited() - before_rows == 1
    row = AuditEvent.objects.filter(event="JOB_REFUSED").order_by("-seq").first()
    assert row is not None and row.extra["reason"] == "bad worker credential"
    assert "198.51.100.7" not in json.dumps(row.extra)  # a salted HMAC of the address, not the address
    # another address has its own budget and its own audit row
    other = Client(REMOTE_ADDR="203.0.113.9").post(
        "/internal/jobs/claim/", b"{}", content_type="application/json"
    )
    assert other.status_code == 401 and _audited() - before_rows == 2


def _signed(client: Client, path: str, body: dict[str, Any]) -> Any:
    raw = json.dumps(body).encode()
    now = int(time.time())
    return client.post(
        path,
        raw,
        content_type="application/json",
        HTTP_X_WORKER_TIMESTAMP=str(now),
        HTTP_X_WORKER_SIGNATURE=sign_request(keys.worker_credential(), "POST", path, raw, now),
    )


def test_a_worker_whose_ticket_is_refused_is_audited_every_time_and_never_limited(frozen_clock: None) -> None:
    address = "198.51.100.20"
    noisy = Client(REMOTE_ADDR=address)
    for _ in range(40):  # the address is past its bad-call limit ...
        noisy.post("/internal/jobs/claim/", b"{}", content_type="application/json")
    before_rows, before_count = _audited(), _refusals("ticket_malformed")
    worker = Client(REMOTE_ADDR=address)  # ... and a real worker shares it
    for _ in range(3):
        response = _signed(worker, "/internal/jobs/claim/", {"ticket": "not-a-ticket"})
        assert response.status_code == 403 and response.json()["error"]["code"] == "job_refused"
    assert _audited() - before_rows == 3
    assert _refusals("ticket_malformed") - before_count == 3
