"""Passwords and authenticators: Argon2id, length 12, common passwords, and changes that end sessions.

SECURITY.md: "Argon2id first; minimum length 12; common-password check" and "logout,
deactivation, password or MFA change kill sessions and API tokens"; re-authentication
younger than ten minutes before changing MFA. Each test below fails when its defence is
removed: a weaker validator list lets the short or common password in, a change without
`person_kill_sessions` leaves the second browser and the token working, an authenticator page
without the re-authentication check shows a new QR code to a stale session.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from interlock.accounts.mfa import totp_code
from interlock.accounts.middleware import SESSION_REAUTH
from interlock.accounts.models import Person, Role
from interlock.audit.models import AuditEvent
from tests.interlock.builders import PASSWORD, principal_for

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a different passphrase for the test"


def _second_browser(person: Person) -> Client:
    """Another signed-in session of the same person, using the authenticator's next code.

    A code works once, so the second sign-in takes the code of the next 30-second step (TOTP's
    tolerance of one step accepts it).
    """
    client = Client()
    assert (
        client.post("/accounts/login/", {"username": person.email, "password": PASSWORD}).status_code == 302
    )
    device = TOTPDevice.objects.get(user=person, confirmed=True)
    response = client.post("/accounts/mfa/", {"code": totp_code(device, at=time.time() + 30)})
    assert response.status_code == 302 and response["Location"] == "/", response.content[:300]
    return client


def _still_signed_in(client: Client) -> bool:
    return client.get("/network/").status_code == 200


def test_invitation_refuses_short_and_common_passwords_and_stores_argon2id(network) -> None:
    from interlock.accounts.services import invitation_create

    org = network.org()
    admin = network.person(org, role=Role.ORG_ADMIN)
    secret = invitation_create(
        actor=principal_for(admin), org_uuid=org.uuid, email="joiner@example.org"
    ).secret
    client = Client()
    short = client.post(f"/join/{secret}/", {"display_name": "J", "password": "abcdefghijk"})
    assert short.status_code == 400 and b"at least 12 characters" in short.content
    common = client.post(f"/join/{secret}/", {"display_name": "J", "password": "password1234"})
    assert common.status_code == 400 and b"too common" in common.content
    assert not Person.objects.filter(email="joiner@example.org").exists()
    accepted = client.post(f"/join/{secret}/", {"display_name": "J", "password": PASSWORD})
    assert accepted.status_code == 302
    stored = Person.objects.get(email="joiner@example.org").password
    assert stored.startswith("argon2$argon2id$"), stored.split("$")[0]
    assert PASSWORD not in stored


def test_a_wrong_current_password_or_a_weak_new_one_changes_nothing(network) -> None:
    person = network.person(password=PASSWORD)
    client = network.signed_in_client(person)
    before = Person.objects.get(pk=person.pk)
    attempts = [
        (
            {"current_password": "not my password", "new_password": NEW_PASSWORD},
            b"current password is not right",
        ),
        ({"current_password": PASSWORD, "new_password": "abcdefghijk"}, b"at least 12 characters"),
        ({"current_password": PASSWORD, "new_password": "password1234"}, b"too common"),
        ({"current_password": PASSWORD, "new_password": person.email + "1"}, b"too similar"),
    ]
    for form, message in attempts:
        form.setdefault("new_password_again", form["new_password"])
        response = client.post("/accounts/security/", form)
        assert response.status_code == 400 and message in response.content, form
    mismatch = client.post(
        "/accounts/security/",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD + "x",
        },
    )
    assert mismatch.status_code == 400 and b"two new passwords differ" in mismatch.content
    after = Person.objects.get(pk=person.pk)
    assert after.password == before.password and after.auth_epoch == before.auth_epoch
    assert _still_signed_in(client)
    assert not AuditEvent.objects.filter(event="PASSWORD_CHANGED").exists()


def test_changing_the_password_ends_every_other_session_and_every_token(network, api_client_for) -> None:
    person = network.person(password=PASSWORD)
    here = network.signed_in_client(person)
    elsewhere = _second_browser(person)
    token = api_client_for(person)
    assert _still_signed_in(elsewhere) and token.get("/api/v1/me/").status_code == 200

    response = here.post(
        "/accounts/security/",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
    )
    assert response.status_code == 302

    assert _still_signed_in(here), "the session that changed the password goes on"
    assert elsewhere.get("/network/").status_code == 302, "the other browser is signed out"
    assert token.get("/api/v1/me/").status_code == 401, "API tokens minted before the change stop"
    stored = Person.objects.get(pk=person.pk)
    assert stored.check_password(NEW_PASSWORD) and not stored.check_password(PASSWORD)
    assert stored.password.startswith("argon2$argon2id$")
    old = Client().post("/accounts/login/", {"username": person.email, "password": PASSWORD})
    assert old.status_code == 400
    event = AuditEvent.objects.get(event="PASSWORD_CHANGED", actor_id=person.pk)
    assert NEW_PASSWORD not in str(event.extra) and PASSWORD not in str(event.extra)


def test_replacing_the_authenticator_needs_a_fresh_reauthentication_and_ends_sessions(
    network, api_client_for
) -> None:
    person = network.person(password=PASSWORD)
    here = network.signed_in_client(person)
    elsewhere = _second_browser(person)
    token = api_client_for(person)
    old_device = TOTPDevice.objects.get(user=person, confirmed=True)

    session = here.session
    session[SESSION_REAUTH] = (timezone.now() - timedelta(minutes=11)).isoformat()
    session.save()
    stale = here.get("/accounts/authenticator/")
    assert stale.status_code == 302
    assert stale["Location"] == "/accounts/reauth/?next=/accounts/authenticator/"
    refused = here.post("/accounts/authenticator/", {"code": "123456"})
    assert refused.status_code == 302 and refused["Location"].startswith("/accounts/reauth/")
    assert list(TOTPDevice.objects.filter(user=person).values_list("pk", flat=True)) == [old_device.pk]

    session = here.session
    session[SESSION_REAUTH] = timezone.now().isoformat()
    session.save()
    page = here.get("/accounts/authenticator/")
    assert page.status_code == 200 and b"Replace your authenticator" in page.content
    new_device = TOTPDevice.objects.get(user=person, confirmed=False)
    wrong = "000000" if totp_code(new_device) != "000000" else "111111"
    assert here.post("/accounts/authenticator/", {"code": wrong}).status_code == 400
    assert TOTPDevice.objects.get(pk=old_device.pk).confirmed, "a wrong code changes nothing"
    assert _still_signed_in(elsewhere)
    time.sleep(1.1)  # django-otp throttles a device for a second after a failed code

    confirmed = here.post("/accounts/authenticator/", {"code": totp_code(new_device)})
    assert confirmed.status_code == 302 and confirmed["Location"] == "/accounts/security/"
    assert list(TOTPDevice.objects.filter(user=person, confirmed=True).values_list("pk", flat=True)) == [
        new_device.pk
    ]
    assert not TOTPDevice.objects.filter(pk=old_device.pk).exists(), "the old authenticator is gone"
    assert _still_signed_in(here)
    assert elsewhere.get("/network/").status_code == 302
    assert token.get("/api/v1/me/").status_code == 401
    assert AuditEvent.objects.filter(event="MFA_REPLACED", actor_id=person.pk).count() == 1


def test_a_password_only_session_cannot_reach_the_account_pages(network) -> None:
    person = network.person(password=PASSWORD)
    client = Client()
    assert (
        client.post("/accounts/login/", {"username": person.email, "password": PASSWORD}).status_code == 302
    )
    for page in ("/accounts/security/", "/accounts/authenticator/"):
        response = client.get(page)
        assert response.status_code == 302 and response["Location"] == "/accounts/mfa/", page
    changed = client.post(
        "/accounts/security/",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
    )
    assert changed.status_code == 302 and Person.objects.get(pk=person.pk).check_password(PASSWORD)
