"""The one base for input serializers: unknown fields are refused, never ignored.

It lives at the bottom of the house (not in `interlock.api`) because an app's own tables name
their inputs too: the disclosure transition table carries each action's input serializer, and
both the API and the pages validate with it.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """A write serializer that rejects fields it does not know (a typo must not be ignored silently)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)
