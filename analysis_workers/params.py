"""Parameter schemas and their one validator, shared by every registry that takes user params.

A schema is plain JSON (the platform renders forms from it and the API publishes it):

    {"n": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1000,
           "description": "number of samples"},
     "subspace_dim": {"type": "integer", "minimum": 1, "maximum": 4096, "default": None,
                      "description": "..."},          # default None: optional, may be null
     "mode": {"type": "string", "enum": ["a", "b"], "default": "a", "description": "..."}}

`type` is one of integer, number, boolean, string; `minimum`/`maximum` bound numbers
(inclusive), `enum` lists allowed strings; a param without `default` is required.
Torch-free, so the web tier can import it.
"""

from __future__ import annotations

import math
from typing import Any

PARAM_TYPES = ("integer", "number", "boolean", "string")
_SPEC_KEYS = {"type", "minimum", "maximum", "default", "description", "enum", "title"}


def check_schema(schema: dict[str, dict[str, Any]]) -> None:
    """ValueError if `schema` itself is malformed (a bug in a registry, caught at import)."""
    for name, spec in schema.items():
        if not isinstance(spec, dict) or spec.get("type") not in PARAM_TYPES or set(spec) - _SPEC_KEYS:
            raise ValueError(
                f"schema for {name!r}: needs a type in {PARAM_TYPES} and only {sorted(_SPEC_KEYS)}"
            )
        if not isinstance(spec.get("description", ""), str):
            raise ValueError(f"schema for {name!r}: description must be a string")
        if "default" in spec and spec["default"] is not None:
            validate_params(
                {name: {k: v for k, v in spec.items() if k != "default"}}, {name: spec["default"]}
            )


def validate_params(schema: dict[str, dict[str, Any]], params: object) -> dict[str, Any]:
    """`params` checked against `schema`, with defaults filled in (a new dict; `params` is untouched).

    ValueError naming the field for unknown keys, missing required ones, wrong types and
    values out of range.
    """
    if not isinstance(params, dict):
        raise ValueError("params must be a JSON object")
    unknown = sorted(repr(key)[:40] for key in params if key not in schema)
    if unknown:
        raise ValueError(f"unknown params: {', '.join(unknown)}; allowed: {', '.join(sorted(schema))}")
    clean: dict[str, Any] = {}
    for name, spec in schema.items():
        if name in params:
            value = params[name]
        elif "default" in spec:
            value = spec["default"]
        else:
            raise ValueError(f"{name} is required")
        if value is None and "default" in spec and spec["default"] is None:
            clean[name] = None
            continue
        clean[name] = _check_value(name, spec, value)
    return clean


def _check_value(name: str, spec: dict[str, Any], value: object) -> object:
    kind = spec["type"]
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string")
        if "enum" in spec and value not in spec["enum"]:
            raise ValueError(f"{name} must be one of {', '.join(map(str, spec['enum']))}")
        return value
    if kind == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"{name} must be an integer")
    if kind == "number" and (
        not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value)
    ):
        raise ValueError(f"{name} must be a finite number")
    number: float = value  # type: ignore[assignment]
    low, high = spec.get("minimum"), spec.get("maximum")
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{name} must be between {low} and {high}, got {number}")
    return float(number) if kind == "number" else number
