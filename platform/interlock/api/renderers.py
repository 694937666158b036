"""JSON answers that carry content only for a principal that may read it (SECURITY.md).

A token without the `read` scope may still write (comment, vote, upload), but the answer to a
write would otherwise echo what it may not read — a disclosure case's pinned body after a
comment, a finding's text after a revision. For such a principal every successful answer is
cut down, in this one place, to the identifiers and state of what was changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import JSONRenderer

from interlock.access.principal import Principal

CONTENT_FREE_KEYS = ("id", "state", "status", "detail")


class ScopedJSONRenderer(JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        context = renderer_context or {}
        request, response = context.get("request"), context.get("response")
        principal = getattr(request, "auth", None)
        if (
            isinstance(principal, Principal)
            and not principal.reads_content
            and response is not None
            and response.status_code < 400
        ):
            data = (
                {key: data[key] for key in CONTENT_FREE_KEYS if key in data} if isinstance(data, dict) else {}
            )
        return super().render(data, accepted_media_type, renderer_context)
