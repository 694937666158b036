"""Sign-in: password then TOTP, codes work once, lockout, session lifetime and revocation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from interlock.accounts.mfa import totp_code
from interlock.accounts.middleware import SESSION_SEEN, SESSION_STARTED
from interlock.accounts.models import AgreementAcceptance, Role
from interlock.network.models import OrganisationStatus
from tests.interlock.builders import PASSWORD, principal_for

pytestmark = pytest.mark.django_db

NETWORK_PAGES = ["/", "/network/", "/network/sharing-groups/", "/accounts/tokens/"]


def _password_only(person) -> Client:
    client = Client()
    assert (
        client.post("/accounts/login/", {"username": person.email, "password": PASSWORD}).status_code == 302
    )
    return client


def test_password_only_session_reaches_only_the_mfa_pages(network) -> None:
    person = network.person(password=PASSWORD)
    client = _password_only(person)
    for page in NETWORK_PAGES:
        response = client.get(page)
        assert response.status_code == 302 and response["Location"] == "/accounts/mfa/", page
    assert client.get("/api/v1/me/").status_code in (401, 403)
    assert client.get("/accounts/mfa/").status_code == 200


def test_full_sign_in_reaches_the_network(network) -> None:
    person = network.person(password=PASSWORD)
    client = network.signed_in_client(person)
    for page in NETWORK_PAGES:
        assert client.get(page).status_code == 200, page
    assert client.get("/api/v1/me/").json()["email"] == person.email


def test_mfa_gives_a_new_session_key(network) -> None:
    person = network.person(password=PASSWORD)
    client = _password_only(person)
    before = client.session.session_key
    device = TOTPDevice.objects.get(user=person)
    client.post("/accounts/mfa/", {"code": totp_code(device)})
    assert client.session.session_key != before


def test_a_totp_code_works_only_once(network) -> None:
    person = network.person(password=PASSWORD)
    device = TOTPDevice.objects.get(user=person)
    code = totp_code(device)
    first = _password_only(person)
    assert first.post("/accounts/mfa/", {"code": code})["Location"] == "/"
    second = _password_only(person)
    response = second.post("/accounts/mfa/", {"code": code})
    assert response.status_code == 400 and b"not valid" in response.content
    assert second.get("/network/").status_code == 302


def test_wrong_mfa_code_is_refused_and_audited(network) -> None:
    from interlock.audit.models import AuditEvent

    person = network.person(password=PASSWORD)
    client = _password_only(person)
    response = client.post(
        "/accounts/mfa/",
        {"code": "000000" if totp_code(TOTPDevice.objects.get(user=person)) != "000000" else "111111"},
    )
    assert response.status_code == 400
    assert AuditEvent.objects.filter(event="MFA_FAILED", actor_id=person.pk).exists()


def test_first_sign_in_enrols_an_authenticator(network) -> None:
    person = network.person(password=PASSWORD, mfa=False)
    client = _password_only(person)
    page = client.get("/accounts/mfa/")
    assert page.status_code == 200 and b"<svg" in page.content
    device = TOTPDevice.objects.get(user=person, confirmed=False)
    assert client.post("/accounts/mfa/", {"code": totp_code(device)})["Location"] == "/"
    assert client.get("/network/").status_code == 200


def test_agreement_must_be_accepted_first(network) -> None:
    person = network.person(password=PASSWORD, accepted=False)
    client = network.signed_in_client(person)
    assert client.get("/network/")["Location"] == "/accounts/agreement/"
    version = network.agreement().version
    assert client.post("/accounts/agreement/", {"version": version}).status_code == 302
    assert client.get("/network/").status_code == 200
    assert AgreementAcceptance.objects.filter(person=person).count() == 1


def test_login_locks_after_repeated_failures_and_spoofed_forwarding_does_not_help(network) -> None:
    person = network.person(password=PASSWORD)
    client = Client()
    for attempt in range(5):
        response = client.post(
            "/accounts/login/",
            {"username": person.email, "password": "wrong password!!"},
            HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}",
        )
        assert response.status_code in (400, 429)
    locked = client.post(
        "/accounts/login/", {"username": person.email, "password": PASSWORD}, HTTP_X_FORWARDED_FOR="10.9.9.9"
    )
    assert locked.status_code == 429
    # another username from the same address is locked too (ip_address is a lockout parameter)
    other = network.person(password=PASSWORD)
    assert client.post("/accounts/login/", {"username": other.email, "password": PASSWORD}).status_code == 429


def test_behind_the_proxy_a_guesser_locks_out_only_their_own_address_and_the_accounts_they_tried(
    network, settings
) -> None:
    """Deployed behind nginx (TRUSTED_PROXY_COUNT=1, every request from the proxy's REMOTE_ADDR,
    nginx appending the client's address to X-Forwarded-For): five bad passwords from address X
    lock X — however the attacker varies the X-Forwarded-For they send — and the accounts they
    tried, but person B signs in from address Y. Mutants: TRUSTED_PROXY_COUNT=0 (the shipped
    default before) → everyone shares the proxy's address and B is locked out, red; the client
    taken from the left of the header → the attacker's rotating spoofed entries dodge the address
    lock, red."""
    settings.TRUSTED_PROXY_COUNT = 1
    proxy, attacker_address, person_b_address = "10.0.0.2", "192.0.2.10", "203.0.113.5"
    victims = [network.person(password=PASSWORD) for _ in range(5)]
    for n, victim in enumerate(victims):
        response = Client(REMOTE_ADDR=proxy).post(
            "/accounts/login/",
            {"username": victim.email, "password": "wrong password!!"},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, {attacker_address}",  # spoofed entry, then nginx's
        )
        assert response.status_code == (429 if n == 4 else 400)  # the fifth failure locks
    attacker_own = network.person(password=PASSWORD)  # right password, but from the locked address
    from_x = Client(REMOTE_ADDR=proxy).post(
        "/accounts/login/",
        {"username": attacker_own.email, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR=f"198.51.100.99, {attacker_address}",
    )
    assert from_x.status_code == 429
    person_b = network.person(password=PASSWORD)
    from_y = Client(REMOTE_ADDR=proxy).post(
        "/accounts/login/",
        {"username": person_b.email, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR=person_b_address,
    )
    assert from_y.status_code == 302, from_y.content[:300]


def test_idle_session_expires(network) -> None:
    person = network.person(password=PASSWORD)
    client = network.signed_in_client(person)
    session = client.session
    session[SESSION_SEEN] = (timezone.now() - timedelta(minutes=31)).isoformat()
    session.save()
    assert client.get("/network/").status_code == 302


def test_absolute_session_lifetime_is_enforced(network) -> None:
    person = network.person(password=PASSWORD)
    client = network.signed_in_client(person)
    session = client.session
    session[SESSION_STARTED] = (timezone.now() - timedelta(hours=12, minutes=1)).isoformat()
    session.save()
    assert client.get("/network/").status_code == 302


def test_suspended_person_session_stops_on_the_next_request(network) -> None:
    org = network.org()
    person = network.person(org, password=PASSWORD)
    admin = network.person(org, role=Role.ORG_ADMIN, password=PASSWORD)
    client = network.signed_in_client(person)
    assert client.get("/network/").status_code == 200
    admin_client = network.signed_in_client(admin)
    assert admin_client.post(f"/network/my-organisation/people/{person.uuid}/suspend/").status_code == 302
    assert client.get("/network/").status_code == 302
    assert client.get("/api/v1/me/").status_code in (401, 403)


def test_suspended_organisation_session_stops(network) -> None:
    org = network.org()
    person = network.person(org, password=PASSWORD)
    client = network.signed_in_client(person)
    org.status = OrganisationStatus.SUSPENDED
    org.save()
    assert client.get("/network/").status_code in (302, 403)


def test_logout_kills_the_session(network) -> None:
    person = network.person(password=PASSWORD)
    client = network.signed_in_client(person)
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/network/").status_code == 302


def test_authenticated_pages_are_not_cached_and_carry_a_csp(network) -> None:
    client = network.signed_in_client(network.person(password=PASSWORD))
    response = client.get("/network/")
    assert response["Cache-Control"] == "no-store"
    csp = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp and "unsafe-inline" not in csp


def test_invitation_is_single_use(network) -> None:
    from interlock.accounts.services import invitation_create

    org = network.org()
    admin = network.person(org, role=Role.ORG_ADMIN)
    issued = invitation_create(actor=principal_for(admin), org_uuid=org.uuid, email="new@example.org")
    client = Client()
    weak = client.post(f"/join/{issued.secret}/", {"display_name": "New", "password": "short"})
    assert weak.status_code == 400
    ok = client.post(f"/join/{issued.secret}/", {"display_name": "New", "password": PASSWORD})
    assert ok.status_code == 302
    again = Client().post(f"/join/{issued.secret}/", {"display_name": "Twice", "password": PASSWORD})
    assert again.status_code == 404
    assert org.people.filter(email="new@example.org").count() == 1


def test_steward_pages_are_hidden_from_members(network) -> None:
    client = network.signed_in_client(network.person(password=PASSWORD))
    assert client.get("/network/vetting/").status_code == 404
    assert client.get("/network/audit/").status_code == 404
    steward = network.signed_in_client(network.person(steward=True, password=PASSWORD))
    assert steward.get("/network/vetting/").status_code == 200
    page = steward.get("/network/audit/").content
    assert b"Verify the whole chain now" in page and b"Chain verified" not in page  # no full walk per load
    assert b"Chain verified" in steward.get("/network/audit/?verify=1").content
