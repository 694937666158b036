"""The OpenAPI schema describes every answer: no response without a schema, no untyped object.

Clients and the fuzzing suite (tests/security/test_api_schemathesis.py, which validates every
answer against it) read the schema, so a `responses=dict` or a view that borrows an input
serializer to make the schema generate is a lie told to them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from interlock.api import urls as api_urls
from interlock.api.schema import READ_ERRORS, WRITE_ERRORS
from interlock.api.serializers import ErrorSerializer, StrictSerializer
from interlock.core.errors import error_envelope

METHODS = ("get", "put", "post", "patch", "delete")
Operation = tuple[str, str, dict[str, Any]]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema: dict[str, Any]) -> Iterator[Operation]:
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def _untyped(schema: dict[str, Any], node: dict[str, Any], where: str, seen: set[str]) -> Iterator[str]:
    """Every place under `node` that says only "an object" or "anything" without saying why.

    Free-form JSON (an analysis's metrics, a kind's parameter schema) is allowed where the field
    explains itself in a description; an object with neither properties nor a typed value is not.
    """
    ref = node.get("$ref")
    if ref is not None:
        if ref in seen:
            return
        seen.add(ref)
        yield from _untyped(schema, _resolve(schema, node), ref.rsplit("/", 1)[-1], seen)
        return
    meaningful = {key for key in node if key not in ("description", "readOnly", "nullable")}
    if not meaningful and not node.get("description"):
        yield f"{where}: any value, with no description"
    if node.get("type") == "object" and "properties" not in node:
        extra = node.get("additionalProperties")
        if extra in (None, True, {}):
            yield f"{where}: an object with no properties"
    for name, child in node.get("properties", {}).items():
        yield from _untyped(schema, child, f"{where}.{name}", seen)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from _untyped(schema, node[key], f"{where}.{key}", seen)
    for key in ("allOf", "oneOf", "anyOf"):
        for child in node.get(key, []):
            yield from _untyped(schema, child, where, seen)


def _has_named_fields(schema: dict[str, Any], node: dict[str, Any]) -> bool:
    """An object with named fields, a list of them, or one of several such objects (an answer
    that depends on what the caller may read)."""
    node = _resolve(schema, node)
    if "oneOf" in node:
        return all(_has_named_fields(schema, member) for member in node["oneOf"])
    return "properties" in _resolve(schema, node.get("items", node))


def test_every_response_has_a_schema_and_no_untyped_object(schema: dict[str, Any]) -> None:
    problems = []
    operations = list(_operations(schema))
    assert len(operations) >= 50, "the schema lost operations"
    for method, path, operation in operations:
        for code, response in operation["responses"].items():
            label = f"{method} {path} {code}"
            content = response.get("content")
            if code == "204":
                if content:
                    problems.append(f"{label}: a 204 with a body")
                continue
            if not content:
                problems.append(f"{label}: no schema")
                continue
            for media_type, body in content.items():
                node = body.get("schema")
                if not node:
                    problems.append(f"{label} {media_type}: no schema")
                elif media_type == "application/octet-stream":
                    if node != {"type": "string", "format": "binary"}:
                        problems.append(f"{label}: a download that is not a byte stream")
                elif not _has_named_fields(schema, node):
                    problems.append(f"{label}: the body is not an object with named fields")
                else:
                    problems.extend(f"{label}: {where}" for where in _untyped(schema, node, "body", set()))
    assert problems == []


def test_every_operation_documents_the_error_envelope(schema: dict[str, Any]) -> None:
    missing = []
    for method, path, operation in _operations(schema):
        expected = READ_ERRORS if method == "GET" else WRITE_ERRORS
        for code in expected:
            body = operation["responses"].get(str(code), {}).get("content", {}).get("application/json", {})
            if body.get("schema") != {"$ref": "#/components/schemas/Error"}:
                missing.append(f"{method} {path} {code}")
    assert missing == []


def test_the_documented_envelope_is_the_one_the_handler_writes() -> None:
    envelope = error_envelope("invalid", "The request is not valid.", {"title": ["This field is required."]})
    assert ErrorSerializer(envelope).data == envelope
    assert error_envelope("not_found", "Not found.") == {
        "error": {"code": "not_found", "message": "Not found.", "fields": {}}
    }


def test_no_view_borrows_an_input_serializer_as_its_answer() -> None:
    borrowed = []
    for pattern in api_urls.urlpatterns:
        view = getattr(pattern.callback, "view_class", None)
        serializer = getattr(view, "serializer_class", None)
        if isinstance(serializer, type) and issubclass(serializer, StrictSerializer):
            borrowed.append(f"{pattern.name}: {serializer.__name__}")
    assert borrowed == []
