"""Figures for SECURITY.md's authentication rules: guesses per account-hour and MFA-bypass routes.

- Password guesses: an attacker tries one account for a simulated hour, one guess every
  10 seconds, each from a new address (and a spoofed `X-Forwarded-For`). We count the guesses
  the platform actually checked against the stored hash (locked-out ones never are). With
  django-axes locking by username (5 failures, 15-minute cool-off that does not restart) that
  is at most 20 per account-hour. The same measurement with the lockout keyed on the
  (username, address) pair — the classic misconfiguration — counts every guess, so the test
  shows it would catch the weaker defence.
- TOTP guesses: a password-only session guessing codes for a simulated hour; django-otp's
  throttle (delay 2^(n-1) s after n failures) lets about a dozen through; the right code
  during the throttle is refused.
- MFA bypass: every URL of the resolver, GET and POST, with real ids of objects the person
  could otherwise act on, from a session that passed the password but not MFA. The only
  acceptable answers are the gate's: a redirect to the MFA page for pages, 401/403 for the API,
  and no 2xx from the worker or metrics routes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from interlock.accounts.mfa import totp_code
from interlock.accounts.models import ApiToken, Person
from interlock.findings.rules import Audience
from interlock.findings.services import finding_create, finding_share
from interlock.network.services import sharing_group_create
from tests.interlock.builders import PASSWORD, principal_for
from tests.support.routes import PUBLIC, routes
from tests.support.sweep import approved_tiered_checkpoint, finished_analysis

pytestmark = pytest.mark.django_db
GUESS_EVERY = timedelta(seconds=10)
HOUR = timedelta(hours=1)


@contextmanager
def _clock(start: datetime) -> Iterator[list[datetime]]:
    """`timezone.now()` under the test's control, also where axes imported `now` by name."""
    now = [start]
    with (
        mock.patch("django.utils.timezone.now", side_effect=lambda: now[0]),
        mock.patch("axes.attempts.now", side_effect=lambda: now[0]),
        mock.patch("axes.handlers.proxy.now", side_effect=lambda: now[0]),
    ):
        yield now


def _password_guesses_evaluated(email: str, during: timedelta = HOUR) -> tuple[int, int]:
    """(passwords actually checked against the hash, guesses sent)."""
    attempts = 0
    checked = mock.patch.object(Person, "check_password", autospec=True, side_effect=Person.check_password)
    with checked as check_password, _clock(timezone.now()) as now:
        end = now[0] + during
        while now[0] < end:
            address = f"10.{attempts // 65025 % 255}.{attempts // 255 % 255}.{attempts % 255 + 1}"
            response = Client(REMOTE_ADDR=address).post(
                "/accounts/login/",
                {"username": email, "password": f"guess number {attempts:06d}"},
                HTTP_X_FORWARDED_FOR=f"192.0.2.{attempts % 250 + 1}",
            )
            assert response.status_code in (200, 400, 429), response.status_code
            attempts += 1
            now[0] += GUESS_EVERY
        return check_password.call_count, attempts


def test_failed_logins_evaluated_per_account_hour_is_bounded_by_the_lockout(network: Any) -> None:
    person = network.person(password=PASSWORD)
    evaluated, attempts = _password_guesses_evaluated(person.email)
    print(f"\npassword guesses evaluated per account-hour: {evaluated} of {attempts} (rotating addresses)")
    assert 0 < evaluated <= 20
    # the measurement catches the weaker defence: lockout keyed on (username, address) pairs
    victim = network.person(password=PASSWORD)
    with override_settings(AXES_LOCKOUT_PARAMETERS=[["username", "ip_address"]]):
        weak, weak_attempts = _password_guesses_evaluated(victim.email, during=timedelta(minutes=10))
    print(f"with the lockout keyed on (username, address), 10 minutes: {weak} of {weak_attempts}")
    assert weak == weak_attempts > 20


def test_totp_guesses_evaluated_per_account_hour_are_throttled(network: Any) -> None:
    person = network.person(password=PASSWORD)
    device = TOTPDevice.objects.get(user=person)
    client = Client()
    assert (
        client.post("/accounts/login/", {"username": person.email, "password": PASSWORD}).status_code == 302
    )
    right = totp_code(device)
    wrong = [f"{(int(right) + offset) % 1_000_000:06d}" for offset in range(10_000, 1_000_000, 9_973)]
    attempts = 0
    with _clock(timezone.now()) as now:
        end = now[0] + HOUR
        while now[0] < end:
            response = client.post("/accounts/mfa/", {"code": wrong[attempts % len(wrong)]})
            assert response.status_code == 400
            attempts += 1
            now[0] += GUESS_EVERY
        device.refresh_from_db()
        evaluated = device.throttling_failure_count
        refused = client.post("/accounts/mfa/", {"code": totp_code(device)})
    print(f"\nTOTP guesses evaluated per account-hour: {evaluated} of {attempts}")
    assert 0 < evaluated <= 13
    assert refused.status_code == 400, "the right code got through while throttled"


def _real_ids(network: Any, api_client_for: Any, capture: Any) -> tuple[Any, dict[str, str]]:
    """A steward and org admin of high clearance with one object of every kind to act on."""
    home, other = network.org("Home"), network.org("Other")
    person = network.person(home, role="org_admin", steward=True, clearance=3, password=PASSWORD)
    other_steward = network.person(other, steward=True, clearance=3)
    colleague = network.person(home, clearance=1)
    finding = finding_create(actor=principal_for(person), title="Mine", body="text", label="amber")
    finding_share(
        actor=principal_for(person), finding_uuid=finding.uuid, label="amber", audience=Audience(own_org=True)
    )
    attachment = api_client_for(person).generic(
        "POST",
        f"/api/v1/artifacts/?parent_type=finding&parent_id={finding.uuid}",
        b"bytes",
        content_type="application/octet-stream",
    )
    checkpoint = approved_tiered_checkpoint(person, other_steward, api_client_for, "model", 0)
    analysis = finished_analysis(person, checkpoint, capture)
    from interlock.artifacts.models import Artifact
    from interlock.disclosure.services.cases import case_open
    from tests.support.disclosure import ASSESSMENT

    case = case_open(
        actor=principal_for(person),
        finding_uuid=finding.uuid,
        target="network",
        rationale="Time to widen.",
        assessment=ASSESSMENT,
    )
    group = sharing_group_create(actor=principal_for(person), name="Friends", member_uuids=[str(other.uuid)])
    plot = Artifact.objects.get(parent_type="analysis", parent_id=analysis.uuid)
    token = ApiToken.objects.filter(person=person).first()
    ids = {
        "finding_id": str(finding.uuid),
        "artifact_id": attachment.json()["id"],
        "checkpoint_id": str(checkpoint.uuid),
        "analysis_id": str(analysis.uuid),
        "plot_id": str(plot.uuid),
        "case_id": str(case.uuid),
        "org_id": str(home.uuid),
        "person_id": str(colleague.uuid),
        "group_id": str(group.uuid),
        "token_id": str(token.pk if token else 1),
        "number": "1",
        "verb": "comment",
        "action": "comment",
    }
    return person, ids


def _fill(route: str, ids: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        return ids.get(match.group(1), "00000000-0000-4000-8000-000000000000")

    route = re.sub(r"<(?:\w+:)?(\w+)>", one, route)
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", one, route).strip("^$")
    return "/" + route


# routes a password-only session is meant to reach, and what anyone reaches without signing in
MFA_PAGES = {"web:mfa", "web:logout", "web:login"}


def test_no_route_is_reachable_with_a_password_but_without_mfa(
    network: Any, api_client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    person, ids = _real_ids(network, api_client_for, django_capture_on_commit_callbacks)
    client = Client()
    assert (
        client.post("/accounts/login/", {"username": person.email, "password": PASSWORD}).status_code == 302
    )
    checked = 0
    bypasses: list[str] = []
    for name, route in routes():
        if name in PUBLIC or name in MFA_PAGES:
            continue
        path = _fill(route, ids)
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            checked += 1
            status = response.status_code
            if path.startswith("/api/"):
                gated = status in (401, 403)
            elif path.startswith(("/internal/", "/metrics")):
                gated = not 200 <= status < 300
            else:
                gated = status == 302 and response["Location"] == "/accounts/mfa/"
            if not gated:
                bypasses.append(f"{method.upper()} {path} ({name}) -> {status}")
    print(f"\nMFA-bypass routes: {len(bypasses)} of {checked} route × method probes")
    assert checked > 120
    assert bypasses == []
