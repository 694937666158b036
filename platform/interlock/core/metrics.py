"""Prometheus metrics: request latency by route, analysis jobs, queue depth, audit seal age, and
refusals at the internal job API.

Labels never carry ids or paths (route names only), so metrics leak nothing about objects and
stay low-cardinality. Under gunicorn with several workers set PROMETHEUS_MULTIPROC_DIR (an
empty directory, wiped at each start) and the scrape aggregates every worker's samples.

`/metrics` answers only a bearer token equal to INTERLOCK_METRICS_TOKEN (constant-time
comparison) and is a plain 404 otherwise, also when no token is configured.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

REQUEST_SECONDS = Histogram(
    "interlock_http_request_seconds",
    "Time to answer an HTTP request, by route name, method and status class.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
JOBS = Counter(
    "interlock_analysis_jobs_total", "Analysis jobs that ended, by kind and outcome.", ["kind", "outcome"]
)
JOB_API_REFUSALS = Counter(
    "interlock_job_api_refusals_total",
    "Calls to the internal job API refused before any job was touched, by reason "
    "(bad_credential, ticket_<why>); rate_limited counts the bad calls answered 429.",
    ["reason"],
)
JOB_SECONDS = Histogram(
    "interlock_analysis_job_seconds",
    "Wall time of finished analysis jobs from claim to result, by kind.",
    ["kind"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)


class MetricsMiddleware:
    """Times every request; the label is the URL pattern's name, never the path."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.view_name if match is not None and match.view_name else "unmatched"
        REQUEST_SECONDS.labels(route, request.method or "", f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started
        )
        return response


def record_job(kind: str, outcome: str, seconds: float | None) -> None:
    JOBS.labels(kind, outcome).inc()
    if seconds is not None:
        JOB_SECONDS.labels(kind).observe(seconds)


class ScrapeTimeCollector(Collector):
    """Values read when Prometheus scrapes: queue depth on the broker, and the age of the newest seal."""

    def describe(self) -> list[Any]:
        return []  # registering must not touch the database or the broker

    def collect(self) -> Iterator[Any]:
        depth = GaugeMetricFamily(
            "interlock_queue_depth", "Messages waiting on a broker queue.", labels=["queue"]
        )
        for queue, count in queue_depths().items():
            depth.add_metric([queue], count)
        yield depth
        from interlock.audit.models import AuditSeal

        newest = AuditSeal.objects.order_by("-sealed_at").values_list("sealed_at", flat=True).first()
        age = GaugeMetricFamily("interlock_audit_seal_age_seconds", "Seconds since the newest audit seal.")
        if newest is not None:
            from django.utils import timezone

            age.add_metric([], (timezone.now() - newest).total_seconds())
        yield age


def queue_depths() -> dict[str, int]:
    """Messages waiting on each analysis and platform queue, asked of the broker itself."""
    from interlock.celery import app

    queues = [q for q in {"platform", settings.ANALYSIS_QUEUE, settings.ANALYSIS_GPU_QUEUE} if q]
    depths: dict[str, int] = {}
    try:
        with app.connection_for_read() as connection:
            channel = connection.default_channel
            for name in sorted(queues):
                try:
                    declared = channel.queue_declare(queue=name, passive=True)
                    depths[name] = int(declared.message_count)
                except Exception:  # a queue nobody declared yet holds nothing
                    depths[name] = 0
                    channel = connection.channel()
    except Exception:  # the broker is down: report no sample rather than fail the scrape
        return {}
    return depths


def _registry() -> CollectorRegistry:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    registry.register(ScrapeTimeCollector())
    return registry


_scrape_collector = ScrapeTimeCollector()
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    REGISTRY.register(_scrape_collector)


def metrics_view(request: HttpRequest) -> HttpResponse:
    expected = settings.METRICS_TOKEN
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not expected or not hmac.compare_digest(offered.encode(), expected.encode()):
        raise Http404
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
