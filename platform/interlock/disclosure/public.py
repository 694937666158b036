"""The public face of released disclosures: a page, an Atom feed and a JSON feed.

They read only `PublicRelease` rows — the released, redacted revision's title and body, and
when. No history, no comments, no risk assessment, no reviewers, no link into the network.
No sign-in; nothing here depends on who asks.
"""

from __future__ import annotations

from typing import Any

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from interlock.core.markdown import render_markdown
from interlock.disclosure.models import PublicRelease

FEED_SIZE = 50


def public_page(request: HttpRequest) -> HttpResponse:
    releases = [
        {"release": release, "html": render_markdown(release.body)}
        for release in PublicRelease.objects.all()[:FEED_SIZE]
    ]
    return render(request, "web/public.html", {"releases": releases})


class PublicAtomFeed(Feed):
    feed_type = Atom1Feed
    title = "Interlock: released findings"
    subtitle = "Findings the network reviewed and released to the public, as released."

    def link(self) -> str:
        return reverse("public")

    def items(self) -> Any:
        return PublicRelease.objects.all()[:FEED_SIZE]

    def item_title(self, item: PublicRelease) -> str:
        return item.title

    def item_description(self, item: PublicRelease) -> str:
        return item.body

    def item_link(self, item: PublicRelease) -> str:
        return f"{reverse('public')}#release-{item.uuid}"

    def item_guid(self, item: PublicRelease) -> str:
        return f"urn:uuid:{item.uuid}"

    def item_pubdate(self, item: PublicRelease) -> Any:
        return item.released_at


def public_json_feed(request: HttpRequest) -> JsonResponse:
    """JSON Feed 1.1."""
    base = request.build_absolute_uri(reverse("public"))
    return JsonResponse(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": PublicAtomFeed.title,
            "home_page_url": base,
            "feed_url": request.build_absolute_uri(reverse("public-feed-json")),
            "items": [
                {
                    "id": f"urn:uuid:{item.uuid}",
                    "url": f"{base}#release-{item.uuid}",
                    "title": item.title,
                    "content_text": item.body,
                    "date_published": item.released_at.isoformat(),
                }
                for item in PublicRelease.objects.all()[:FEED_SIZE]
            ],
        }
    )
