"""Celery entry points of the platform side of the pipeline."""

from celery import shared_task

from interlock.analyses.services.dispatch import analysis_sweep


@shared_task(name="interlock.analyses.sweep")
def analysis_sweep_task() -> dict[str, int]:
    return analysis_sweep()
