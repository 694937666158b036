"""No debug page where a person can reach it, the demo included (SECURITY.md): `DEBUG` is off
unless explicitly set, and every error a person can cause gets the product's own page in the
site's layout — 400, 403 (a refusal, a CSRF failure), 404, 405 and 500 — while the API and the
worker routes get the JSON error envelope.

Mutants verified red:
- `DEBUG` defaulting to `not PRODUCTION` again → the forced 500 in a development process is
  Django's technical page (traceback, settings, the exception's text): both subprocess tests red;
- the demo's web server started without `DEBUG=false` in its environment, with `DEBUG=true` in
  the shell → `test_the_demo_serves_with_debug_off_whatever_the_shell_says` red;
- `member_required` catching only `NotFound` → a reader's attachment upload is an uncaught
  `PolicyDenied` (500): `test_a_reader_attaching_to_a_finding_gets_a_403_page` red;
- no `MethodNotAllowedPageMiddleware` → the 405 has an empty body: red.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.interlock.builders import PASSWORD, finding_shared_with_own_org

ROOT = Path(__file__).resolve().parents[3]
SECRET_IN_THE_EXCEPTION = "canary-exception-text-" + uuid.uuid4().hex

FORCED_500 = """
import django, json, sys
django.setup()
from unittest import mock
from django.conf import settings
from django.test import Client

def explode(*args, **kwargs):
    raise RuntimeError(sys.argv[1])

client = Client(raise_request_exception=False)
with mock.patch("interlock.web.account_views.EmailAuthenticationForm", explode), \\
     mock.patch("interlock.analyses.internal_api.keys.worker_credential", explode):
    page = client.get("/accounts/login/")
    api = client.post("/internal/jobs/claim/", b"{}", content_type="application/json")
print(json.dumps({
    "debug": settings.DEBUG,
    "settings": [str(settings.CELERY_BROKER_URL), settings.SECRET_KEY, str(settings.DATA_DIR)],
    "page": [page.status_code, page["Content-Type"], page.content.decode()],
    "api": [api.status_code, api["Content-Type"], api.content.decode()],
}))
"""


def _development_env(**extra: str) -> dict[str, str]:
    """This process's environment as a developer's shell would have it: no DEBUG, no production."""
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "INTERLOCK_ENV", "INTERLOCK_TESTING")}
    env.update(
        DJANGO_SETTINGS_MODULE="interlock.settings", PYTHONPATH=f"{ROOT / 'platform'}{os.pathsep}{ROOT}"
    )
    env.update(extra)
    return env


def _forced_500(env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", FORCED_500, SECRET_IN_THE_EXCEPTION],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_by_default_debug_is_off_and_a_500_is_the_products_page_with_nothing_inside() -> None:
    """A real development process with the default settings (DEBUG unset), the sign-in page and a
    worker route made to raise: the page is ours, in the site's layout, and carries neither the
    exception, a traceback nor a setting; the worker route gets the envelope."""
    answer = _forced_500(_development_env())
    assert answer["debug"] is False
    status, content_type, body = answer["page"]
    assert status == 500 and content_type.startswith("text/html")
    assert "INTERLOCK" in body and "Something went wrong on our side" in body
    assert 'href="/static/web/interlock.css"' in body  # the site's stylesheet, so its look
    api_status, api_type, api_body = answer["api"]
    assert api_status == 500 and api_type == "application/json"
    assert json.loads(api_body) == {
        "error": {
            "code": "server_error",
            "message": "Something went wrong on our side; it has been logged.",
            "fields": {},
        }
    }
    for text in (body, api_body):
        assert SECRET_IN_THE_EXCEPTION not in text and "RuntimeError" not in text
        assert "Traceback" not in text and "settings" not in text.lower()
        for value in answer["settings"]:
            assert value not in text


def test_the_demo_serves_with_debug_off_whatever_the_shell_says(monkeypatch: Any) -> None:
    """The demo's processes are started with DEBUG=false even when the shell exported DEBUG=true."""
    from interlock.demo.management.commands import demo

    started: list[dict[str, str]] = []

    class Recorder:
        def __init__(self, args: list[str], **kwargs: Any) -> None:
            started.append({"command": " ".join(args), **kwargs["env"]})

    monkeypatch.setenv("DEBUG", "true")
    monkeypatch.setattr(demo.subprocess, "Popen", Recorder)
    monkeypatch.setattr("interlock.analyses.keys.worker_environment", lambda url: {"PLATFORM_URL": url})
    demo.Command()._start(8999)
    web = next(env for env in started if "gunicorn" in env["command"])
    assert web["DEBUG"] == "false"
    assert all(env["DEBUG"] == "false" for env in started)


# --- the pages themselves -------------------------------------------------------------------------


def _without_per_response_tokens(html: bytes) -> bytes:
    """The page minus what differs on every answer anyway: CSRF tokens and CSP nonces."""
    return re.sub(
        rb'"X-CSRFToken": "[^"]+"|name="csrfmiddlewaretoken" value="[^"]+"|nonce="[^"]+"', b"", html
    )


@pytest.mark.django_db
def test_a_reader_attaching_to_a_finding_gets_a_403_page_and_an_outsider_a_404_like_a_missing_one(
    network: Any, api_client_for: Any
) -> None:
    author = network.person(password=PASSWORD)
    finding_id = finding_shared_with_own_org(api_client_for(author))
    reader = network.signed_in_client(network.person(author.organisation, password=PASSWORD))
    refused = reader.post(f"/findings/{finding_id}/", {"file": SimpleUploadedFile("x.csv", b"a,b\n")})
    assert refused.status_code == 403
    assert b"Not allowed" in refused.content and b"INTERLOCK" in refused.content  # the site's layout
    outsider = network.signed_in_client(network.person(password=PASSWORD))
    hidden = outsider.post(f"/findings/{finding_id}/", {"file": SimpleUploadedFile("x.csv", b"a,b\n")})
    missing = outsider.post(f"/findings/{uuid.uuid4()}/", {"file": SimpleUploadedFile("x.csv", b"a,b\n")})
    assert hidden.status_code == missing.status_code == 404
    assert _without_per_response_tokens(hidden.content) == _without_per_response_tokens(missing.content)


@pytest.mark.django_db
def test_404_405_and_csrf_failures_are_the_products_pages(network: Any) -> None:
    client = network.signed_in_client(network.person(password=PASSWORD))
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404 and b"Not found" in missing.content and b"INTERLOCK" in missing.content
    wrong_method = client.get("/accounts/logout/")  # POST only
    assert wrong_method.status_code == 405 and wrong_method["Allow"] == "POST"
    assert (
        b"does not accept that kind of request" in wrong_method.content
        and b"INTERLOCK" in wrong_method.content
    )
    forged = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "a", "password": "b"})
    assert (
        forged.status_code == 403 and b"Reload the page" in forged.content and b"INTERLOCK" in forged.content
    )
    assert b"verification failed" not in forged.content and b"cookie not set" not in forged.content


@pytest.mark.django_db
def test_machines_get_the_error_envelope_for_404_and_405(network: Any, api_client_for: Any) -> None:
    api = api_client_for(network.person())
    missing = api.get("/api/v1/no-such-endpoint/")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}
    worker_route = Client().get("/internal/jobs/claim/")
    assert worker_route.status_code == 405 and worker_route.json()["error"]["code"] == "method_not_allowed"
