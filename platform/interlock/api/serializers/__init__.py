"""The API's serializers, one module per app (`network`, `findings`, `checkpoints`, `analyses`,
`artifacts`); this package module holds what every one of them shares.

Input serializers refuse unknown fields; output serializers expose public ids, never pks or
secrets, and are the truth the OpenAPI schema tells: a view renders its answer through the
serializer it declares in `extend_schema`, so the schema cannot drift from the bytes.
The one base of every input serializer, `StrictSerializer`, lives in `interlock.core.inputs`.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from interlock.core.inputs import StrictSerializer


def validated_input(serializer_class: type[StrictSerializer], request: Request) -> dict[str, Any]:
    """The request body checked by `serializer_class` (a 400 naming the fields otherwise)."""
    serializer = serializer_class(data=request.data if request.data is not None else {})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class EmptyInput(StrictSerializer):
    """An action that takes no body (any field sent is refused as unknown)."""


class ReasonInput(StrictSerializer):
    reason = serializers.CharField(max_length=2000)


# --- the error envelope -------------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="A stable machine-readable code: invalid, not_found, conflict, …")
    message = serializers.CharField(
        help_text="A readable sentence; never says whether a hidden object exists."
    )
    # The envelope's key is `fields`; DRF's metaclass takes declared fields off the class, so the
    # name does not shadow `Serializer.fields` (only the type checker sees a clash).
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.JSONField(
            help_text="The messages about one field: a list of strings, or for a nested object the same "
            "mapping again."
        ),
        help_text="Per-field messages, keyed by the field's name (`non_field_errors` for the body as a "
        "whole); empty when no one field is at fault.",
    )


class ErrorSerializer(serializers.Serializer):
    """Every API error, whatever refused the request (`interlock.core.errors.error_envelope`)."""

    error = ErrorDetailSerializer()
