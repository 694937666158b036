"""A throwaway Interlock stack for benchmarks and fault tests, in a directory of its own.

    with Stack(Path(tmp), web_workers=4) as stack:
        stack.migrate()
        stack.start()                   # gunicorn + platform worker (with beat) + analysis worker
        ...                             # talk to stack.base_url
        stack.manage("verify_audit")

Everything runs as it does in `manage.py demo`: the settings see no `DATABASE_URL` /
`CELERY_BROKER_URL` and start an embedded PostgreSQL and Redis under the stack's own
`INTERLOCK_DATA_DIR`, so a benchmark never touches the machine's servers, a developer's `var/`
or another run's data. Each Django process (manage.py, gunicorn, celery) is a child process
with that environment; this module imports no Django, so one driver can own several stacks in
turn. Leaving the `with` block stops the processes and the embedded servers, whatever happened.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

ROOT = Path(__file__).resolve().parents[1]

# Variables that would point a child process at servers, keys or files outside the stack.
_FOREIGN = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "DJANGO_SETTINGS_MODULE",
    "INTERLOCK_ENV",
    "INTERLOCK_MASTER_KEY",
    "INTERLOCK_MASTER_KEY_FILE",
    "INTERLOCK_KEYRING_DIR",
    "AUDIT_SEAL_KEY_FILE",
    "ARTIFACT_STORAGE_DIR",
    "EMAIL_FILE_PATH",
    "PROMETHEUS_MULTIPROC_DIR",
)


def free_port() -> int:
    """A loopback port that was free a moment ago (the usual small race is acceptable here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class StackError(RuntimeError):
    """A stack process failed to start or stopped early; the message names its log file."""


class Stack:
    """Embedded PostgreSQL + Redis, gunicorn, the platform worker and an analysis worker under `directory`.

    `web_workers` gunicorn sync workers serve `base_url` on a random loopback port. Process
    output goes to `directory/logs/<name>.log` so that a 5xx can be traced afterwards.
    """

    def __init__(
        self,
        directory: Path,
        *,
        web_workers: int = 2,
        analysis_worker: bool = True,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.directory = directory.resolve()
        self.data_dir = self.directory / "var"
        self.logs = self.directory / "logs"
        self.web_workers = web_workers
        self.analysis_worker = analysis_worker
        self.settings = dict(settings or {})
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._log_files: list[IO[bytes]] = []

    # --- environment and one-off commands -------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        """The environment of every process of the stack: embedded servers under `data_dir`."""
        env = {key: value for key, value in os.environ.items() if key not in _FOREIGN}
        env.update(
            {
                "INTERLOCK_DATA_DIR": str(self.data_dir),
                "DJANGO_SETTINGS_MODULE": "interlock.settings",
                "PYTHONPATH": f"{ROOT / 'platform'}{os.pathsep}{ROOT}",
                # notification e-mails go to files under the data directory, not to stdout
                "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                "INTERLOCK_BASE_URL": self.base_url + "/",
                **self.settings,
            }
        )
        return env

    def manage(
        self, *args: str, timeout: float = 600, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run `manage.py ARGS` against the stack and return what it printed."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise StackError(
                f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
            )
        return done

    def python(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run `python ARGS` (a script that calls `django.setup()` itself) against the stack."""
        done = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise StackError(f"python {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
        return done

    def migrate(self) -> None:
        """Create the schema (this also starts the embedded servers: the settings do it on import)."""
        self.manage("migrate", "--no-input", "-v", "0")

    # --- long-running processes -----------------------------------------------------------

    def start(self) -> None:
        """Start gunicorn, the platform worker with beat, and (unless disabled) an analysis worker;
        return once the web server answers."""
        self.logs.mkdir(parents=True, exist_ok=True)
        self._spawn(
            "web",
            [
                "-m",
                "gunicorn",
                "interlock.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.web_workers),
                "--timeout",
                "120",
                "--backlog",
                "2048",
                # the default control socket is one path per user: two stacks would share it
                "--no-control-socket",
            ],
            self.env,
        )
        self._spawn(
            "platform-worker",
            [
                "-m",
                "celery",
                "-A",
                "interlock.celery",
                "worker",
                "--loglevel",
                "WARNING",
                "--concurrency",
                "1",
                "-Q",
                "platform",
                "--beat",
                "--schedule",
                str(self.data_dir / "celerybeat-schedule"),
            ],
            self.env,
        )
        self._wait_until_up()
        if self.analysis_worker:
            self._spawn("analysis-worker", self._analysis_worker_args(), self._analysis_worker_env())

    def _analysis_worker_env(self) -> dict[str, str]:
        """What `interlock.analyses.keys.worker_environment` hands a worker, and no database URL."""
        script = (
            "import json, sys, django; django.setup();"
            "from interlock.analyses.keys import worker_environment;"
            "print(json.dumps(worker_environment(sys.argv[1])))"
        )
        printed = self.python("-c", script, self.base_url).stdout.strip().splitlines()[-1]
        worker_env: dict[str, str] = json.loads(printed)
        return {**{k: v for k, v in self.env.items() if k != "DATABASE_URL"}, **worker_env}

    @staticmethod
    def _analysis_worker_args() -> list[str]:
        return [
            "-m",
            "celery",
            "-A",
            "analysis_workers.tasks",
            "worker",
            "-Q",
            "cpu",
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
        ]

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop_processes()
        self._log_files.append(log)
        self._processes[name] = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )

    def _wait_until_up(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(self.base_url + "/accounts/login/", timeout=2) as response:  # noqa: S310 - our own loopback URL
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise StackError(f"the web server did not answer within {timeout:.0f} s; see {self.logs / 'web.log'}")

    def check_alive(self) -> None:
        """Raise if a stack process has exited (a crash mid-benchmark must not pass unnoticed)."""
        for name, process in self._processes.items():
            if process.poll() is not None:
                raise StackError(f"{name} exited with {process.returncode}; see {self.logs / name}.log")

    def stop_processes(self) -> None:
        """SIGTERM the processes one by one, newest first, each a warm shutdown; idempotent.

        The analysis worker goes first so that a job it is finishing can still report its
        result to the web server, which goes last."""
        for name in reversed(list(self._processes)):
            process = self._processes.pop(name)
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        for log in self._log_files:
            log.close()
        self._log_files.clear()

    def stop(self) -> None:
        """Stop every process, then the embedded PostgreSQL and Redis of `data_dir`."""
        self.stop_processes()
        if self.data_dir.exists():
            self.manage("embedded", "stop", timeout=120, check=False)

    def __enter__(self) -> Stack:
        self.directory.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def log_tail(self, name: str, characters: int = 4000) -> str:
        """The end of a process's log, for error reports."""
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-characters:] if path.exists() else ""
