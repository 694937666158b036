"""The worker's Celery side: `analysis.run(ticket)`. JSON only, late acks, prefetch 1, time limits.

Start a worker with: `celery -A analysis_workers.tasks worker -Q cpu --concurrency 1`
(environment: CELERY_BROKER_URL, PLATFORM_URL, WORKER_* and PLATFORM_*_PUBLIC_KEY_FILE).
"""

from __future__ import annotations

import os

from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded

app = Celery("analysis_workers", broker=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.update(
    accept_content=["json"],
    task_serializer="json",
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_soft_time_limit=int(os.environ.get("WORKER_SOFT_TIME_LIMIT", "3300")),
    task_time_limit=int(os.environ.get("WORKER_TIME_LIMIT", "3600")),
    broker_transport_options={"visibility_timeout": int(os.environ.get("WORKER_TIME_LIMIT", "3600")) + 600},
    worker_max_tasks_per_child=20,
    task_ignore_result=True,
)


# A pool process whose job the soft time limit interrupted gets no other job: the exception
# arrives asynchronously, at any line (halfway through one of the imports torch makes lazily,
# say), and can leave the interpreter broken for every later job in that process; since such a
# job now fails for good at once, one broken process would fail them all (seen: the next job
# failing on "partially initialized module 'torch._dynamo'"). Its next task leaves the process
# before starting: the message goes back to the queue (acks late, task_reject_on_worker_lost)
# and the pool starts a fresh process, which runs it.
_interrupted_by_time_limit = False


@app.task(name="analysis.run")
def run_analysis_task(ticket: str) -> str:
    global _interrupted_by_time_limit
    if _interrupted_by_time_limit:
        raise SystemExit("a soft time limit interrupted this pool process; a fresh one takes the job")
    import torch

    from analysis_workers.jobs import PlatformLink, WorkerConfig, run_job
    from analysis_workers.sandbox import job_sandbox

    torch.set_num_threads(max(1, int(os.environ.get("WORKER_TORCH_THREADS", "1"))))
    config = WorkerConfig.from_environment()
    try:
        with job_sandbox(memory_limit_mb=int(os.environ.get("WORKER_MEMORY_LIMIT_MB", "0"))):
            return run_job(ticket, config, left_to_caller=(SoftTimeLimitExceeded,))
    except SoftTimeLimitExceeded as problem:
        _interrupted_by_time_limit = True
        # the same job would overrun again: fail it for good instead of retrying until the cap
        # (the hard limit, later, kills a child that ignores this; its lease then expires as after a crash)
        limit = app.conf.task_soft_time_limit
        PlatformLink(config, ticket).call(
            "/internal/jobs/fail/",
            error_class=type(problem).__name__,
            message=f"ran past the time limit of {limit} s",
            permanent=True,
        )
        return "failed"
