"""Production settings refuse to start without their secrets; `check --deploy` is clean with them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "INTERLOCK_ENV": "production",
    "DJANGO_SECRET_KEY": "x" * 20 + "production-secret-key-for-the-check-only-0123456789",
    "INTERLOCK_MASTER_KEY": "A" * 43 + "=",
    "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
    "CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",
    "ALLOWED_HOSTS": "interlock.example.org",
    "DEBUG": "false",
    "TRUSTED_PROXY_COUNT": "1",  # production sits behind a TLS proxy (SECURE_PROXY_SSL_HEADER)
}


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INTERLOCK_", "DJANGO_", "DATABASE_", "CELERY_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "missing", ["DJANGO_SECRET_KEY", "INTERLOCK_MASTER_KEY", "DATABASE_URL", "CELERY_BROKER_URL"]
)
def test_production_refuses_to_start_without(missing: str) -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = _manage(env, "check")
    assert result.returncode != 0
    assert missing in result.stderr
    assert PRODUCTION_ENV["DJANGO_SECRET_KEY"] not in result.stderr


def test_production_refuses_debug() -> None:
    result = _manage({**PRODUCTION_ENV, "DEBUG": "true"}, "check")
    assert result.returncode != 0 and "DEBUG" in result.stderr


@pytest.mark.parametrize("environment", ["development", "production"])
def test_debug_is_off_unless_explicitly_set(environment: str) -> None:
    """SECURITY.md: no debug page, the demo included. Mutant: `DEBUG` defaulting to `not
    PRODUCTION` (as it did) → development prints True, red."""
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DEBUG"}
    if environment == "development":
        env = {"INTERLOCK_ENV": "development", "INTERLOCK_DATA_DIR": os.environ.get("INTERLOCK_DATA_DIR", "")}
        env = {k: v for k, v in env.items() if v}
        for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
            if name in os.environ:
                env[name] = os.environ[name]  # not the embedded servers
    result = _manage(env, "shell", "-c", "from django.conf import settings; print('DEBUG', settings.DEBUG)")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "DEBUG False" in result.stdout


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = _manage(PRODUCTION_ENV, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr[-2000:]


def test_check_deploy_warns_when_production_trusts_a_proxy_for_the_scheme_but_not_for_the_address() -> None:
    """Behind a proxy with TRUSTED_PROXY_COUNT=0 every person has the proxy's address and five bad
    passwords from anyone lock everyone out. Mutant: the interlock.W001 check removed → clean, red."""
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "TRUSTED_PROXY_COUNT"}
    result = _manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0 and "interlock.W001" in result.stderr, result.stderr[-2000:]
    assert "TRUSTED_PROXY_COUNT" in result.stderr


PROBE = """
import django, json
django.setup()
from django.test import Client
response = Client().get("/accounts/login/", secure=True, HTTP_HOST="interlock.example.org")
print(json.dumps({
    "status": response.status_code,
    "cookies": {name: {"secure": bool(c["secure"]), "path": c["path"], "domain": c["domain"],
                       "httponly": bool(c["httponly"]), "samesite": c["samesite"]}
                for name, c in response.cookies.items()},
    "hsts": response.get("Strict-Transport-Security", ""),
    "csp": response.get("Content-Security-Policy", ""),
    "insecure": Client().get("/accounts/login/", HTTP_HOST="interlock.example.org").status_code,
}))
"""


def test_production_pages_set_host_prefixed_secure_cookies_hsts_and_a_nonce_csp() -> None:
    """SECURITY.md: `__Host-` secure cookies, HSTS, CSP with nonces — read off a real answer of
    the production settings, not off the settings module."""
    import json

    env = {
        **PRODUCTION_ENV,
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        "DJANGO_SETTINGS_MODULE": "interlock.settings",
        "PYTHONPATH": f"{ROOT / 'platform'}{os.pathsep}{ROOT}",
    }
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("INTERLOCK_", "DJANGO_", "CELERY_"))}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status"] == 200 and answer["insecure"] == 301  # plain HTTP is redirected
    assert answer["cookies"], "the sign-in page sets its CSRF cookie"
    for name, cookie in answer["cookies"].items():
        # __Host-: Secure, Path=/, no Domain — the browser refuses it otherwise
        assert name.startswith("__Host-") and cookie["secure"] and cookie["path"] == "/"
        assert not cookie["domain"]
    max_age = int(answer["hsts"].split("max-age=")[1].split(";")[0])
    assert max_age >= 31536000 and "includeSubDomains" in answer["hsts"]
    assert "'nonce-" in answer["csp"] and "unsafe-inline" not in answer["csp"]
