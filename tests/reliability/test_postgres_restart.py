"""PostgreSQL restarted (crash-style, `pg_ctl restart -m immediate`) during a burst of writes.

A throwaway stack (bench/stack.py: embedded PostgreSQL and Redis, gunicorn, the platform worker)
takes findings from three people as fast as they can post them; half a second into the burst its
database is killed and restarted. Every write answered 201 must exist exactly once afterwards,
every other write must have answered 503 with `Retry-After` (never a 500, never a hang), no
finding may lack its revision or its audit event, and the audit chain must verify. Prints the
fault line for docs/reliability.md with the recovery time (first refused write → first write
acknowledged after the last refusal).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
from django.db import OperationalError

from bench.stack import Stack
from interlock import embedded

BURST_SECONDS = 6.0
RESTART_AFTER = 0.5

COUNT_PARTIAL = """
import json, django; django.setup()
from interlock.audit.models import AuditEvent
from interlock.findings.models import Finding
findings = list(Finding.objects.values_list("pk", flat=True))
audited = set(AuditEvent.objects.filter(event="FINDING_CREATED").values_list("target_id", flat=True))
print(json.dumps({
    "findings": len(findings),
    "without_revision": Finding.objects.filter(revisions__isnull=True).count(),
    "without_audit": sum(str(pk) not in audited for pk in findings),
}))
"""


def _restart_postgres(stack: Stack) -> None:
    directory = stack.data_dir / "postgres"
    # the server outlives pg_ctl: it must not hold our pipes open (its output goes to its log)
    subprocess.run(
        [
            str(embedded._pg_bin("pg_ctl")),
            *("-D", str(directory / "pgdata"), "-l", str(directory / "postgres.log")),
            *("-m", "immediate", "-w", "restart"),
        ],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
        **embedded._run_as(),
    )


def test_postgres_restarted_during_a_burst_of_writes_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    # DEBUG off, as in production: uncaught errors go to the error handlers, not the debug page
    with Stack(
        tmp_path / "stack", web_workers=2, analysis_worker=False, settings={"DEBUG": "false"}
    ) as stack:
        stack.migrate()
        stack.start()
        network_file = tmp_path / "network.json"
        stack.python(
            "bench/load_test.py",
            "--seed-network",
            str(network_file),
            "--people",
            "3",
            "--base-url",
            stack.base_url,
        )
        people = json.loads(network_file.read_text())
        acked: dict[str, int] = {}
        refused: list[tuple[str, int, str]] = []
        timeline: list[tuple[float, bool]] = []  # (answered at, acknowledged)
        lock = threading.Lock()
        stop = time.monotonic() + BURST_SECONDS

        def write(person: dict[str, Any], who: int) -> None:
            with httpx.Client(
                base_url=stack.base_url, headers={"Authorization": f"Bearer {person['token']}"}, timeout=30
            ) as client:
                number = 0
                while time.monotonic() < stop:
                    title = f"burst {who}-{number}"
                    number += 1
                    try:
                        response = client.post(
                            "/api/v1/findings/", json={"title": title, "body": "written during a restart"}
                        )
                        status, retry = response.status_code, response.headers.get("Retry-After", "")
                    except httpx.HTTPError as problem:
                        status, retry = 0, type(problem).__name__
                    with lock:
                        timeline.append((time.monotonic(), status == 201))
                        if status == 201:
                            acked[title] = acked.get(title, 0) + 1
                        else:
                            refused.append((title, status, retry))
                    if status != 201:
                        time.sleep(0.2)

        threads = [threading.Thread(target=write, args=(person, who)) for who, person in enumerate(people)]
        for thread in threads:
            thread.start()
        time.sleep(RESTART_AFTER)
        _restart_postgres(stack)
        for thread in threads:
            thread.join()
        stack.check_alive()

        stored: dict[str, int] = {}
        for person in people:
            with httpx.Client(
                base_url=stack.base_url, headers={"Authorization": f"Bearer {person['token']}"}, timeout=30
            ) as client:
                page = client.get("/api/v1/findings/", params={"page_size": 1000, "q": "burst"}).json()
                for item in page["results"]:
                    stored[item["title"]] = stored.get(item["title"], 0) + 1
        counts = json.loads(stack.python("-c", COUNT_PARTIAL).stdout.strip().splitlines()[-1])
        stack.stop_processes()
        stack.manage("seal_audit")
        verified = stack.manage("verify_audit", check=False)

    lost = sum(1 for title in acked if stored.get(title, 0) == 0)
    duplicated = sum(count - 1 for count in stored.values() if count > 1)
    server_errors = [entry for entry in refused if entry[1] >= 500 and entry[1] != 503]
    not_retryable = [entry for entry in refused if entry[1] == 503 and entry[2] != "5"]
    partial = counts["without_revision"] + counts["without_audit"]
    timeline.sort()
    failures = [at for at, ok in timeline if not ok]
    back = [at for at, ok in timeline if ok and failures and at > failures[-1]]
    recovery = back[0] - failures[0] if back else float("inf")
    saved_anyway = sum(stored.get(title, 0) for title, _, _ in refused)
    print(
        f"\nfault PostgreSQL restarted during writes: injected 1 ({len(acked)} writes acknowledged, "
        f"{len(refused)} refused: {sorted({status for _, status, _ in refused})}, of which "
        f"{saved_anyway} committed before the connection dropped), lost {lost}, "
        f"duplicated {duplicated}, partial {partial}, recovery {recovery:.1f} s"
    )
    assert verified.returncode == 0, verified.stderr
    assert acked and refused, "the restart did not land inside the burst"
    assert (lost, duplicated, partial) == (0, 0, 0)
    assert server_errors == [] and not_retryable == [], (server_errors[:5], not_retryable[:5])
    # a refused write either never happened or (connection cut after commit) exists once
    assert all(stored.get(title, 0) <= 1 for title, _, _ in refused)


@pytest.mark.django_db
def test_a_lost_database_connection_answers_503_with_retry_after(network: Any, api_client_for: Any) -> None:
    client = api_client_for(network.person())
    client.raise_request_exception = False
    with mock.patch(
        "interlock.api.views.MeApi.get", side_effect=OperationalError("server closed the connection")
    ):
        response = client.get("/api/v1/me/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "unavailable"
    assert "server closed" not in response.content.decode()
    with mock.patch("interlock.api.views.MeApi.get", side_effect=ValueError("a bug with a secret in it")):
        response = client.get("/api/v1/me/")
    assert response.status_code == 500 and "secret" not in response.content.decode()
