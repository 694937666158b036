"""Beat tasks: release approved cases whose embargo is over (exactly once), remind reviewers."""

from __future__ import annotations

from celery import shared_task

from interlock.disclosure.services.release import release_due, remind_due


@shared_task(name="interlock.disclosure.release_due")
def release_due_task() -> dict[str, int]:
    counts = release_due()
    counts["reminded"] = remind_due()
    return counts
