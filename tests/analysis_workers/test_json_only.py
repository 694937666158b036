"""Celery accepts JSON only: a pickled message on the broker never runs its payload.

SECURITY.md: "Celery accepts JSON only." Anyone who can write to the broker (a leaked broker
password, a compromised neighbour on the queue host) could otherwise run code on a worker by
publishing a pickle whose `__reduce__` calls what it likes. The attack here publishes such a
message straight onto a real worker's queue on the real broker — for the analysis worker and
for the platform's own worker — and watches the worker refuse it. The last test removes the
defence (the same worker, told to accept pickle) and shows the payload then runs, so the check
above it can fail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue

ROOT = Path(__file__).resolve().parents[2]
REFUSAL = "Refusing to deserialize untrusted content of type pickle"


class _MakesADirectory:
    """Unpickling this calls os.mkdir(path): harmless, and visible from outside the worker."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.path),))


def _broker_url() -> str:
    from django.conf import settings

    return str(settings.CELERY_BROKER_URL)


def _start_worker(
    app_module: str, queue: str, log: Path, *, accept_pickle: bool = False
) -> subprocess.Popen[bytes]:
    """A real worker of `app_module` on its own queue; `accept_pickle` is the removed defence."""
    arguments = ["worker", "-Q", queue, "--concurrency", "1", "--loglevel", "WARNING"]
    arguments += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    if accept_pickle:
        command = [
            sys.executable,
            "-c",
            f"from {app_module} import app; app.conf.accept_content = ['json', 'pickle']; "
            f"app.worker_main({arguments!r})",
        ]
    else:
        command = [sys.executable, "-m", "celery", "-A", app_module, *arguments]
    environment = {
        **os.environ,
        "CELERY_BROKER_URL": _broker_url(),
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'platform'}",
    }
    if accept_pickle:
        environment["C_FORCE_ROOT"] = "1"  # Celery itself refuses pickle as root; the mutant insists
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
        start_new_session=True,
    )


def _publish_pickle(queue: str, task_name: str, payload: object) -> None:
    """A task message of Celery's protocol 2 whose body is a pickle, as an attacker would send it."""
    exchange = Exchange(queue, type="direct")
    with Connection(_broker_url()) as connection:
        connection.Producer().publish(
            ([payload], {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}),
            exchange=exchange,
            routing_key=queue,
            declare=[Queue(queue, exchange, routing_key=queue)],
            serializer="pickle",
            headers={
                "lang": "py",
                "task": task_name,
                "id": str(uuid.uuid4()),
                "argsrepr": "",
                "kwargsrepr": "",
            },
        )


def _attack(
    tmp_path: Path, app_module: str, task_name: str, *, accept_pickle: bool = False
) -> tuple[bool, str]:
    """Publish the pickle to a fresh worker; return (did the payload run, the worker's log)."""
    queue = f"json-only-{uuid.uuid4().hex[:8]}"
    marker = tmp_path / f"payload-ran-{queue}"
    log = tmp_path / f"{queue}.log"
    worker = _start_worker(app_module, queue, log, accept_pickle=accept_pickle)
    try:
        _publish_pickle(queue, task_name, _MakesADirectory(marker))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace") if log.exists() else ""
            if REFUSAL in text or marker.exists():
                break
            time.sleep(0.3)
        time.sleep(1.0)  # a payload that ran after the refusal line would show by now
        return marker.exists(), log.read_text(errors="replace")
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)


@pytest.mark.parametrize(
    ("app_module", "task_name"),
    [("analysis_workers.tasks", "analysis.run"), ("interlock.celery", "interlock.notifications.deliver")],
    ids=["analysis-worker", "platform-worker"],
)
def test_a_pickled_message_is_refused_and_its_payload_never_runs(
    tmp_path: Path, app_module: str, task_name: str
) -> None:
    ran, log = _attack(tmp_path, app_module, task_name)
    assert REFUSAL in log, log[-2000:]
    assert not ran, "the pickle's payload ran inside the worker"


def test_the_attack_runs_its_payload_once_the_defence_is_removed(tmp_path: Path) -> None:
    ran, log = _attack(tmp_path, "analysis_workers.tasks", "analysis.run", accept_pickle=True)
    assert ran, log[-2000:]
