"""`manage.py demo`: the main job on embedded defaults — migrate, seed, serve, work, print logins."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from interlock.demo.analyses import run_demo_analyses
from interlock.demo.network import seed_demo_network


class Command(BaseCommand):
    help = "Run the demo: embedded services, migrations, the demo network, a web server and a worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-serve", action="store_true", help="prepare everything, print the logins, exit"
        )
        parser.add_argument(
            "--exit-when-ready",
            action="store_true",
            help="run the whole demo job (servers, training, analyses), print the logins, then stop",
        )
        parser.add_argument("--json", dest="json_path", default=None, help="also write the demo network here")

    def handle(
        self,
        *args: Any,
        port: int,
        no_serve: bool,
        exit_when_ready: bool,
        json_path: str | None,
        **options: Any,
    ) -> None:
        if settings.PRODUCTION:
            raise CommandError("the demo is refused when INTERLOCK_ENV=production")
        self.stdout.write(f"[1/5] embedded PostgreSQL and Redis are up (data in {settings.DATA_DIR})")
        self.stdout.write("[2/5] migrating")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write("[3/5] seeding the demo network")
        created = seed_demo_network()
        path = Path(json_path) if json_path else Path(settings.DATA_DIR) / "demo.json"
        path.write_text(json.dumps(created, indent=2))
        path.chmod(0o600)
        url = f"http://127.0.0.1:{port}/"
        if no_serve:
            self._print_logins(created, url, path)
            return
        self.stdout.write(
            "[4/5] starting the web server, the platform worker (with beat) and an analysis worker"
        )
        processes = self._start(port)
        try:
            self._wait_until_up(url)
            self.stdout.write(
                "[5/5] train a model, upload it encrypted, approve it, analyse it, share the results"
            )

            def healthy() -> None:
                if any(process.poll() is not None for process in processes):
                    raise CommandError("a demo process stopped unexpectedly; see the output above")

            created["analysis_demo"] = run_demo_analyses(
                base_url=url, created=created, say=self.stdout.write, healthy=healthy
            )
            path.write_text(json.dumps(created, indent=2))
            self._print_logins(created, url, path)
            if exit_when_ready:
                return
            while all(process.poll() is None for process in processes):
                time.sleep(1)
            raise CommandError("a demo process stopped unexpectedly; see the output above")
        except KeyboardInterrupt:
            self.stdout.write("stopping the demo")
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=30)

    def _start(self, port: int) -> list[subprocess.Popen[bytes]]:
        root = Path(settings.REPO_DIR)
        env = {
            **os.environ,
            "PYTHONPATH": f"{root / 'platform'}{os.pathsep}{root}",
            # whatever the shell says: the demo serves the product's error pages, never the debug page
            "DEBUG": "false",
            # notification e-mails go to files, not into the demo's terminal
            "EMAIL_BACKEND": os.environ.get(
                "EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend"
            ),
        }
        web = subprocess.Popen(  # noqa: S603 - fixed argument list
            [
                sys.executable,
                "-m",
                "gunicorn",
                "interlock.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--timeout",
                "120",
            ],
            cwd=root,
            env=env,
        )
        worker = subprocess.Popen(  # noqa: S603 - fixed argument list
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "interlock.celery",
                "--quiet",
                "worker",
                "--loglevel",
                "WARNING",
                "--concurrency",
                "1",
                "-Q",
                "platform",
                "--beat",
                "--schedule",
                str(Path(settings.DATA_DIR) / "celerybeat-schedule"),
            ],
            cwd=root,
            env=env,
        )
        # The analysis worker: no database credentials, only the job-protocol keys it needs.
        from interlock.analyses.keys import worker_environment

        analysis_env = {
            **{k: v for k, v in env.items() if k != "DATABASE_URL"},
            **worker_environment(f"http://127.0.0.1:{port}"),
        }
        analysis_worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "analysis_workers.tasks",
                "--quiet",
                "worker",
                "-Q",
                "cpu",
                "--concurrency",
                "1",
                "--loglevel",
                "WARNING",
            ],
            cwd=root,
            env=analysis_env,
        )
        return [web, worker, analysis_worker]

    def _wait_until_up(self, url: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "accounts/login/", timeout=2) as response:  # noqa: S310 - our own loopback URL
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise CommandError("the web server did not answer within 60 s")

    def _print_logins(self, created: dict[str, Any], url: str, path: Path) -> None:
        self.stdout.write("")
        self.stdout.write(f"Interlock demo is ready at {url}")
        self.stdout.write(
            "Sign in with any of these (demo-only credentials; MFA codes: `python manage.py demo_totp EMAIL`"
        )
        self.stdout.write("or add the TOTP secret to an authenticator app):")
        for person in created["people"]:
            role = "steward" if person["steward"] else person["role"]
            self.stdout.write(
                f"  {person['email']:<30} password {person['password']}  ({person['organisation']}, {role}, "
                f"tier {person['clearance']}, TOTP secret {person['totp_secret']})"
            )
        self.stdout.write(f"Everything created is listed in {path} (API tokens included).")
        self.stdout.write(f"Notification e-mails are written to {settings.EMAIL_FILE_PATH}.")
