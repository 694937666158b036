"""Strict conversion between a family's frozen config dataclass and its JSON form.

Specs arrive from uploaders we vet but do not trust, so a config is built only from
exactly the fields its dataclass declares, each of exactly the declared JSON type: no
unknown keys, no `true` where an integer belongs, no `4.0` for 4. Written once here
and used by every family, so every family refuses bad specs the same way. Range checks
(sizes of at least 1, at most `MAX_DIMENSION`) belong to each config's `__post_init__`,
which may use `require_dimension`.

Supported field annotations: `int`, `float`, `bool`, `str`, `tuple[int, ...]` (a JSON
list of at most `MAX_LIST_LENGTH` integers) and `X | None` of any of these.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from analysis_workers.specs.errors import CheckpointError

MAX_PARAMETERS = 200_000_000
MAX_DIMENSION = 65_536
MAX_LIST_LENGTH = 64
MAX_STRING_LENGTH = 64

_SCALARS: tuple[type, ...] = (int, float, bool, str)


def require_dimension(path: str, value: int, *, low: int = 1, high: int = MAX_DIMENSION) -> None:
    """CheckpointError unless `low <= value <= high` (types are already checked by `config_from_dict`)."""
    if not low <= value <= high:
        raise CheckpointError(f"{path} must be an integer from {low} to {high}, got {value}")


def check_annotations(config_class: type[Any]) -> None:
    """TypeError if a config field has an annotation this module cannot read strictly (a bug in a family)."""
    if not dataclasses.is_dataclass(config_class):
        raise TypeError(f"{config_class!r} is not a dataclass")
    for name, annotation in _field_types(config_class).items():
        if _unwrap_optional(annotation)[0] not in (*_SCALARS, tuple[int, ...]):
            raise TypeError(f"{config_class.__name__}.{name}: unsupported annotation {annotation!r}")


def config_from_dict(config_class: type[Any], raw: object, *, family: str) -> Any:
    """An instance of `config_class` from JSON-like `raw`; CheckpointError naming the field otherwise.

    Errors the dataclass's own validation raises (any ValueError) become CheckpointError too.
    """
    if not isinstance(raw, dict):
        raise CheckpointError(f"{family}.config must be a JSON object")
    fields = {field.name: field for field in dataclasses.fields(config_class)}
    unknown = sorted(repr(key)[:40] for key in raw if key not in fields)
    if unknown:
        raise CheckpointError(f"{family}.config has unknown keys: {', '.join(unknown)}")
    types_by_name = _field_types(config_class)
    values: dict[str, Any] = {}
    for name, field in fields.items():
        path = f"{family}.config.{name}"
        if name not in raw:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise CheckpointError(f"{path} is required")
            continue
        values[name] = _read(path, raw[name], types_by_name[name])
    try:
        return config_class(**values)
    except CheckpointError:
        raise
    except ValueError as problem:
        raise CheckpointError(str(problem)) from None


def config_to_dict(config: Any) -> dict[str, Any]:
    """The JSON form of a config (tuples become lists), the inverse of `config_from_dict`."""
    return {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in dataclasses.asdict(config).items()
    }


def _field_types(config_class: type[Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(config_class)
    return {field.name: hints[field.name] for field in dataclasses.fields(config_class)}


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """(inner annotation, whether None is allowed) for `X | None`; (annotation, False) otherwise."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        members = [member for member in typing.get_args(annotation) if member is not type(None)]
        if len(members) == 1 and len(typing.get_args(annotation)) == 2:
            return members[0], True
    return annotation, False


def _read(path: str, value: object, annotation: Any) -> object:
    inner, optional = _unwrap_optional(annotation)
    if value is None:
        if optional:
            return None
        raise CheckpointError(f"{path} must not be null")
    if inner is bool:
        if not isinstance(value, bool):
            raise CheckpointError(f"{path} must be true or false")
        return value
    if inner is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise CheckpointError(f"{path} must be an integer")
        return value
    if inner is float:
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            raise CheckpointError(f"{path} must be a finite number")
        return float(value)
    if inner is str:
        if not isinstance(value, str) or len(value) > MAX_STRING_LENGTH:
            raise CheckpointError(f"{path} must be a string of at most {MAX_STRING_LENGTH} characters")
        return value
    if inner == tuple[int, ...]:
        if not isinstance(value, list | tuple) or len(value) > MAX_LIST_LENGTH:
            raise CheckpointError(f"{path} must be a list of at most {MAX_LIST_LENGTH} integers")
        return tuple(_read(f"{path}[{index}]", item, int) for index, item in enumerate(value))
    raise CheckpointError(f"{path}: unsupported field type")  # check_annotations rules this out
