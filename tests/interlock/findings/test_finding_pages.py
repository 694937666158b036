"""Finding pages: the list, the detail page, the share dialog preview, and safe markdown."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from interlock.core.markdown import render_markdown
from interlock.findings.models import Finding
from interlock.findings.rules import Audience
from interlock.findings.services import finding_create, finding_share
from tests.interlock.builders import PASSWORD, principal_for

pytestmark = pytest.mark.django_db


def _tags_and_attributes(html: str) -> list[tuple[str, dict[str, str | None]]]:
    from html.parser import HTMLParser

    found: list[tuple[str, dict[str, str | None]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, dict(attrs)))

    Collector().feed(html)
    return found


def test_markdown_is_rendered_without_script_html_or_external_resources() -> None:
    html = render_markdown(
        "# Title\n\n<script>alert(1)</script>\n\n![x](https://evil.example/pixel.png)\n\n"
        "[ok](https://example.org) [bad](javascript:alert(1))\n\n<img src=x onerror=alert(1)>"
    )
    elements = _tags_and_attributes(html)
    tags = {tag for tag, _ in elements}
    assert "h1" in tags and not tags & {"script", "img", "iframe", "style", "object"}
    attributes = [(tag, name, value) for tag, attrs in elements for name, value in attrs.items()]
    assert all(name in ("href", "rel", "title") for _, name, _ in attributes)
    hrefs = [value for _, name, value in attributes if name == "href"]
    assert hrefs == ["https://example.org"]
    assert 'rel="noopener noreferrer nofollow"' in html


def test_author_creates_shares_and_attaches_through_the_pages(network) -> None:
    author = network.person(password=PASSWORD, clearance=1)
    colleague = network.person(author.organisation, password=PASSWORD, clearance=1)
    client = network.signed_in_client(author)
    created = client.post(
        "/findings/new/",
        {
            "title": "Probe finds a truth direction",
            "body": "**bold**",
            "label": "amber",
            "hazard_tier": "1",
            "tags": "probes truth",
        },
    )
    assert created.status_code == 302, created.content[:500]
    finding = Finding.objects.get()
    page = client.get(created["Location"])
    assert b"TLP:AMBER" in page.content and b"<strong>bold</strong>" in page.content
    preview = client.post(
        f"/findings/{finding.uuid}/share/preview/", {"label": "amber", "audience_own_org": "on"}
    )
    assert colleague.display_name.encode() in preview.content
    bad_preview = client.post(
        f"/findings/{finding.uuid}/share/preview/", {"label": "amber", "audience_network": "on"}
    )
    # the refusal in words, under the field's own name, never the API's field name
    assert b"The whole network: only TLP:GREEN" in bad_preview.content
    assert b"audience_network" not in bad_preview.content
    assert (
        client.post(
            f"/findings/{finding.uuid}/share/", {"label": "amber", "audience_own_org": "on"}
        ).status_code
        == 302
    )
    attach = client.post(
        f"/findings/{finding.uuid}/", {"file": SimpleUploadedFile("probe.csv", b"layer,acc\n3,0.97\n")}
    )
    assert attach.status_code == 302
    reader = network.signed_in_client(colleague)
    listing = reader.get("/findings/?tag=probes")
    assert b"Probe finds a truth direction" in listing.content and b"TLP:AMBER" in listing.content
    detail = reader.get(f"/findings/{finding.uuid}/")
    assert (
        b"probe.csv" in detail.content and b"Save audience" not in detail.content
    )  # readers get no share dialog


def test_the_list_never_shows_what_the_viewer_may_not_read(network) -> None:
    author = network.person(password=PASSWORD, clearance=1)
    secret = finding_create(
        actor=principal_for(author), title="CANARY-PAGE-9 hidden", body="x", label="amber"
    )
    finding_share(
        actor=principal_for(author), finding_uuid=secret.uuid, label="amber", audience=Audience(own_org=True)
    )
    outsider = network.signed_in_client(network.person(password=PASSWORD, clearance=3))
    for page in ("/findings/", "/findings/?q=CANARY", f"/findings/{secret.uuid}/"):
        assert b"CANARY-PAGE-9" not in outsider.get(page).content
    assert outsider.get(f"/findings/{secret.uuid}/").status_code == 404


def test_sharing_red_needs_a_recent_reauthentication(network) -> None:
    from datetime import timedelta

    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from interlock.accounts.mfa import totp_code
    from interlock.accounts.middleware import SESSION_REAUTH

    author = network.person(password=PASSWORD, clearance=1)
    finding = finding_create(actor=principal_for(author), title="Dangerous", body="x", label="red")
    client = network.signed_in_client(author)
    session = client.session
    session[SESSION_REAUTH] = (timezone.now() - timedelta(minutes=11)).isoformat()
    session.save()
    response = client.post(f"/findings/{finding.uuid}/share/", {"label": "red"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/reauth/")
    assert Finding.objects.get(pk=finding.pk).state == "draft"
    wrong = client.post(
        "/accounts/reauth/", {"password": "wrong password 123", "code": "000000", "next": "/"}
    )
    assert wrong.status_code == 400
    device = TOTPDevice.objects.get(user=author)
    device.last_t = (
        -1
    )  # the sign-in used this time step's code; a later step's code is what a person would type
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    ok = client.post(
        "/accounts/reauth/",
        {"password": PASSWORD, "code": totp_code(device), "next": f"/findings/{finding.uuid}/"},
    )
    assert ok.status_code == 302 and ok["Location"] == f"/findings/{finding.uuid}/"
    assert client.post(f"/findings/{finding.uuid}/share/", {"label": "red"}).status_code == 302
    assert Finding.objects.get(pk=finding.pk).state == "shared"
    assert (
        client.post(
            "/accounts/reauth/", {"password": PASSWORD, "code": "1", "next": "//evil.example"}
        ).status_code
        == 400
    )
