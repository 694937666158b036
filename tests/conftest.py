"""Shared fixtures: a real PostgreSQL database (pytest-django), people who have passed MFA, clients.

CI sets INTERLOCK_FAIL_ON_SKIP=1: then any skipped test that is not GPU-only fails the run,
so a PostgreSQL or broker test cannot silently stop running.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

SKIP_ALLOWED_MARKERS = {"gpu"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(pytest.mark.skip(reason="needs CUDA"))


_forbidden_skips: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and os.environ.get("INTERLOCK_FAIL_ON_SKIP") == "1":
        keywords = set(report.keywords)
        if not keywords & SKIP_ALLOWED_MARKERS:
            _forbidden_skips.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _forbidden_skips:
        print(f"\nFAILED: {len(_forbidden_skips)} tests were skipped that CI must run:")
        for nodeid in _forbidden_skips:
            print(f"  {nodeid}")
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _fresh_rate_limit_counters() -> Any:
    """Rate-limit counters live in Django's cache, which, unlike the database, outlives a test."""
    yield
    try:
        from django.conf import settings
        from django.core.cache import cache
    except ImportError:  # a GPU machine running only the compute tests has no Django
        return
    if settings.configured:
        cache.clear()


@pytest.fixture
def network() -> Any:
    """Builders for organisations and people (django_db needed by the calling test)."""
    from tests.interlock.builders import NetworkBuilder

    return NetworkBuilder()


@pytest.fixture
def api_client_for() -> Callable[..., Any]:
    from rest_framework.test import APIClient

    from interlock.accounts.services import api_token_create
    from tests.interlock.builders import principal_for

    def make(person: Any, scopes: tuple[str, ...] = ("read", "write", "analyses")) -> APIClient:
        issued = api_token_create(actor=principal_for(person), name="test", scopes=list(scopes), days=1)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
        client.token_secret = issued.secret  # type: ignore[attr-defined]
        return client

    return make


def pytest_configure(config: pytest.Config) -> None:
    """Transactional tests end with Django's flush (TRUNCATE of every table), which our audit
    triggers refuse, as they should. For that flush only, the test session disables triggers
    the way a database superuser could, and restores them at once. The triggers themselves
    are tested in tests/interlock/audit."""
    try:
        from django.db.backends.postgresql.operations import DatabaseOperations
    except ImportError:  # a GPU machine running only the compute tests has no Django
        return

    original = DatabaseOperations.execute_sql_flush

    def flush_with_audit_triggers_paused(self: Any, sql_list: list[str]) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            original(self, sql_list)
        finally:
            with self.connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")

    DatabaseOperations.execute_sql_flush = flush_with_audit_triggers_paused  # type: ignore[method-assign]
