"""Deliver notifications in the test's process: Celery's eager mode runs the real delivery task
where `.delay` is called (at commit), instead of leaving it on the broker for a platform worker."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from interlock.celery import app


@contextmanager
def notifications_delivered_at_commit() -> Iterator[None]:
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = before
