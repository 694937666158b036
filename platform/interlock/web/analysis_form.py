"""The analysis request form, generated from a params schema (`analysis_workers.params`): one
labelled field per param with its default, range and help, and the parsing of what was typed
back into typed values, with an error per field and the typed text kept.

Only parsing and rendering live here. What a request may be — the kind, its params, the dataset
and whether it fits the model — is decided by `analysis_request_create` and the registries it reads.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analysis_workers.params import validate_params


@dataclass(frozen=True)
class FormField:
    """One param as an HTML field: `html_name` is prefixed per dataset so that several
    datasets' fields share one form; `value` is the text shown (typed, or the default)."""

    name: str
    html_name: str
    type: str
    value: str
    label: str
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False
    error: str = ""

    @property
    def input_type(self) -> str:
        return "number" if self.type in ("integer", "number") else "text"

    @property
    def step(self) -> str:
        return "1" if self.type == "integer" else "any"

    @property
    def range_text(self) -> str:
        if self.minimum is None and self.maximum is None:
            return ""
        return f"{_number_text(self.minimum)} … {_number_text(self.maximum)}"


def form_fields(
    schema: Mapping[str, Mapping[str, Any]],
    values: Mapping[str, Any],
    *,
    prefix: str,
    typed: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> list[FormField]:
    """The fields of `schema`, showing what was `typed` (after a refused submission) or else `values`."""
    fields = []
    for name, spec in schema.items():
        html_name = f"{prefix}{name}"
        shown = (
            typed[html_name] if typed is not None and html_name in typed else _value_text(values.get(name))
        )
        fields.append(
            FormField(
                name=name,
                html_name=html_name,
                type=str(spec["type"]),
                value=shown,
                label=name.replace("_", " "),
                help=str(spec.get("description", "")),
                minimum=spec.get("minimum"),
                maximum=spec.get("maximum"),
                choices=tuple(spec.get("enum", ())),
                optional="default" in spec and spec["default"] is None,
                error=(errors or {}).get(name, ""),
            )
        )
    return fields


def parse_fields(
    schema: Mapping[str, Mapping[str, Any]], posted: Mapping[str, str], *, prefix: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The typed values of the schema's fields in `posted`, and an error per field that is not
    valid (the schema's own validator: type, range, choices); an empty optional field is None."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, spec in schema.items():
        text = posted.get(f"{prefix}{name}", "").strip()
        if spec["type"] == "boolean":  # an unticked checkbox sends nothing
            text = text or "false"
        try:
            value = _typed(spec, text)
            if value is None and not ("default" in spec and spec["default"] is None):
                raise ValueError(f"{name} is required")
            values[name] = validate_params({name: dict(spec)}, {name: value})[name]
        except ValueError as problem:
            errors[name] = str(problem)
    return values, errors


def _typed(spec: Mapping[str, Any], text: str) -> object:
    if text == "":
        return None
    kind = spec["type"]
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise ValueError("a whole number") from None
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise ValueError("a number") from None
        if not math.isfinite(number):
            raise ValueError("a finite number")
        return number
    if kind == "boolean":
        return text.lower() in ("1", "true", "on", "yes")
    return text


def _value_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number_text(value)
    return str(value)


def _number_text(value: float | None) -> str:
    if value is None:
        return ""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


# --- metrics: flattened for the compare table and the CSV download ---------------------------


def flat_metrics(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, object]:
    """Every scalar of the (nested) metrics under a dotted name; lists by index (`per_chain.0`)."""
    flat: dict[str, object] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flat_metrics(value, f"{name}."))
        elif isinstance(value, list):
            flat.update(flat_metrics({str(i): item for i, item in enumerate(value)}, f"{name}."))
        else:
            flat[name] = value
    return flat


def metrics_csv(metrics: Mapping[str, Any]) -> str:
    """The flattened metrics as CSV: one `metric,value` row each."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["metric", "value"])
    for name, value in flat_metrics(metrics).items():
        writer.writerow([name, _csv_cell(value)])
    return out.getvalue()


def _csv_cell(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    # a cell starting with =, +, - or @ is a formula to a spreadsheet; metrics are numbers, but a
    # string (an error text, a name) is quoted so it stays text
    return f"'{text}" if isinstance(value, str) and text[:1] in ("=", "+", "-", "@") else text


def compare_rows(left: Mapping[str, Any], right: Mapping[str, Any]) -> list[dict[str, object]]:
    """The union of both flattened metrics in order, with the difference where both are numbers."""
    a, b = flat_metrics(left), flat_metrics(right)
    rows = []
    for name in [*a, *(key for key in b if key not in a)]:
        x, y = a.get(name), b.get(name)
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y))
        rows.append(
            {
                "name": name,
                "left": x,
                "right": y,
                # six significant digits: 4.5 - 4.0 shows as 0.5, not 0.5000000000000001
                "delta": float(f"{y - x:.6g}") if numbers else None,  # type: ignore[operator]
                "differs": x != y,
            }
        )
    return rows
