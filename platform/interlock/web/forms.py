"""A refused form, shown again: what was typed, and each error beside its field in words.

Services raise `ApplicationError(message, {field: [problems]})` with the field names of the API
(`audience_own_org`, `expires_at`, nested ones like `assessment.enables`, `non_field_errors`).
A page shows each problem next to the field it names; a problem for no field of that form goes
into the form's error box under a name a person reads, never the internal one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from interlock.core.errors import ApplicationError

# internal field names → the words a page uses for them (only for problems shown away from the field)
FIELD_WORDS = {
    "audience_own_org": "My whole organisation",
    "audience_network": "The whole network",
    "groups": "Sharing groups",
    "group": "Sharing group",
    "label": "Label",
    "hazard_tier": "Hazard tier",
    "person": "Person",
    "capability": "Access",
    "expires_at": "Until",
    "embargo_until": "Embargo until",
    "until": "Embargo end",
    "target": "Target audience",
    "redacted_title": "Redacted title",
    "redacted_body": "Redacted text",
    "file": "File",
    "scopes": "Scopes",
    "days": "Valid for",
}
_NO_FIELD = ("__all__", "non_field_errors", "detail")


def _leaves(extra: Mapping[str, Any]) -> Iterable[tuple[str, list[str]]]:
    """(field, problems) pairs of a possibly nested error dict; a nested field keeps its own name."""
    for key, value in extra.items():
        if isinstance(value, Mapping):
            yield from _leaves(value)
        elif isinstance(value, list | tuple):
            yield key, [str(problem) for problem in value]
        else:
            yield key, [str(value)]


def field_words(name: str) -> str:
    return FIELD_WORDS.get(name, name.replace("_", " ").capitalize())


@dataclass
class FormState:
    """One form as it was sent and refused. `data` and `lists` hold the input for the template;
    `errors` the problems by the form's own field names; `other` the rest, already in words."""

    message: str = ""
    status: int = 400  # the page's status: the refusal's own when it is a 403 or 409, else 400
    data: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    other: list[str] = field(default_factory=list)

    @classmethod
    def refused(
        cls, sent: QueryDict | Mapping[str, Any], failure: ApplicationError, *, fields: Iterable[str]
    ) -> FormState:
        names = set(fields)
        state = cls(message=failure.message, status=failure.status if failure.status in (403, 409) else 400)
        if isinstance(sent, QueryDict):
            state.data = {key: sent.get(key, "") for key in sent if key != "csrfmiddlewaretoken"}
            state.lists = {key: sent.getlist(key) for key in sent if key != "csrfmiddlewaretoken"}
        else:
            state.data = {key: str(value) for key, value in sent.items() if key != "csrfmiddlewaretoken"}
        for name, problems in _leaves(failure.extra):
            if name in names:
                state.errors.setdefault(name, []).extend(problems)
            elif name in _NO_FIELD:
                state.other.extend(problems)
            else:
                state.other.extend(f"{field_words(name)}: {problem}" for problem in problems)
        return state
