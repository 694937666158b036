"""Every URL pattern of the project, and the ones that are public on purpose."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver

PUBLIC = {
    "web:login",
    "web:invitation",
    "schema",
    "api-docs",
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


def routes_taking(params: tuple[str, ...]) -> dict[str, str]:
    """Every route (name -> pattern) with a path parameter of one of `params`: the routes a sweep
    over those objects must probe, so a new one that takes such an id cannot go unswept."""
    return {
        name: pattern
        for name, pattern in routes()
        if any(f":{param}>" in pattern or f"<{param}>" in pattern for param in params)
    }
