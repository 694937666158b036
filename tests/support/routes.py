"""Every URL pattern of the project, and the ones that are public on purpose."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver

PUBLIC = {
    "web:login",
    "web:invitation",
    "schema",
    "api-docs",
    "api-redoc",
    "admin:login",
    "admin:jsi18n",
    "public",
    "public-feed-atom",
    "public-feed-json",
}


def routes(patterns=None, prefix: str = "", namespace: str = ""):  # type: ignore[no-untyped-def]
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else (pattern.name or "")
            yield name, prefix + str(pattern.pattern)
