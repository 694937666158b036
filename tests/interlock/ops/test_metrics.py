"""/metrics: hidden without the right token; request latency by route name (no ids); job counters
move when jobs end; queue depth is what the broker holds."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from interlock.core.metrics import queue_depths, record_job

pytestmark = pytest.mark.django_db
TOKEN = "metrics-" + uuid.uuid4().hex


def _scrape(client: Client) -> dict[str, list[Any]]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return {
        family.name: family.samples for family in text_string_to_metric_families(response.content.decode())
    }


def test_metrics_are_a_404_without_the_token(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_request_latency_is_labelled_by_route_name_never_by_path(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN
    secret_id = str(uuid.uuid4())
    client.get(f"/findings/{secret_id}/")
    client.get("/accounts/login/")
    samples = _scrape(client)["interlock_http_request_seconds"]
    routes = {s.labels["route"] for s in samples}
    assert "web:login" in routes and "web:finding" in routes
    assert not any(secret_id in str(s.labels) for s in samples)
    count = next(
        s.value
        for s in samples
        if s.name.endswith("_count") and s.labels["route"] == "web:login" and s.labels["status"] == "2xx"
    )
    assert count >= 1


def test_job_counters_and_durations_move(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN

    def value(samples: list[Any], name: str, **labels: str) -> float:
        return sum(
            s.value
            for s in samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    before = _scrape(client)
    record_job("llc", "succeeded", 12.0)
    record_job("llc", "failed", None)
    after = _scrape(client)
    for outcome in ("succeeded", "failed"):
        delta = value(
            after["interlock_analysis_jobs"], "interlock_analysis_jobs_total", kind="llc", outcome=outcome
        ) - value(
            before.get("interlock_analysis_jobs", []),
            "interlock_analysis_jobs_total",
            kind="llc",
            outcome=outcome,
        )
        assert delta == 1
    assert (
        value(after["interlock_analysis_job_seconds"], "interlock_analysis_job_seconds_count", kind="llc")
        >= 1
    )


def test_queue_depth_is_read_from_the_broker(settings: Any) -> None:
    from interlock.celery import app

    queue = f"depth-{uuid.uuid4().hex[:8]}"
    settings.ANALYSIS_GPU_QUEUE = queue
    for _ in range(3):
        app.send_task("analysis.run", args=["not-a-ticket"], queue=queue)
    try:
        assert queue_depths()[queue] == 3
    finally:
        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge(queue)
    assert queue_depths()[queue] == 0
