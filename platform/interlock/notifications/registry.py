"""What can be notified about: each app registers its object types (how to load one, who might
hear of it, which page the link opens, how the in-app row is kept) and its message subjects."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from interlock.accounts.models import Person


@dataclass(frozen=True)
class Target:
    """One kind of object people are told about.

    `candidates` narrows who could be told (a cheap SQL pre-filter); the policy still decides for
    each of them at send time. `record` keeps the in-app notification (identifiers only).
    """

    name: str
    load: Callable[[int], Any | None]
    candidates: Callable[[Any], Iterable[Person]]
    page: Callable[[Any], str]
    record: Callable[[Person, str, Any], None]
    subjects: dict[str, str]


_TARGETS: dict[str, Target] = {}


def register_target(target: Target) -> None:
    """Called from an app's `ready()`; a second registration of a name is a programming error."""
    if target.name in _TARGETS and _TARGETS[target.name] != target:
        raise RuntimeError(f"notification target {target.name!r} is registered twice")
    _TARGETS[target.name] = target


def target_named(name: str) -> Target:
    try:
        return _TARGETS[name]
    except KeyError:
        raise LookupError(f"no notification target {name!r} is registered") from None


def subject_of(kind: str) -> str:
    """The words for a kind of notification ("A disclosure case asks for your review"), from the
    registered targets; the kind itself when no target names it."""
    for target in _TARGETS.values():
        if kind in target.subjects:
            return target.subjects[kind]
    return kind.replace("_", " ").capitalize()
