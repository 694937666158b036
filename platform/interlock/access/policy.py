"""The one policy: every protected model registers its rule and SQL filter here, once.

`can(principal, action, obj)` runs, in this order and nowhere else: the network gate (account,
MFA, organisation, agreement), the token scope the action needs, then the object's registered
rule — which evaluates the three axes (audience, TLP label, hazard tier) for objects that carry
them, and for derived objects asks the rule of what they inherit from. `visible(principal,
queryset)` is the same decision as one SQL filter, for lists, counts, facets and exports.

`registrations()` is the table docs/access.md is generated from; tests prove every model holding
protected content has an entry (tests/interlock/access/test_registry_complete.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from interlock.access.actions import Action, Decision, deny, scope_of
from interlock.access.gate import network_gate
from interlock.access.principal import Principal


class _Network:
    """Stands for the network as a whole (for actions such as reading the audit log)."""

    def __repr__(self) -> str:
        return "NETWORK"


NETWORK = _Network()

Rule = Callable[[Principal, Action, Any], Decision]
Filter = Callable[[Principal, QuerySet[Any]], QuerySet[Any]]
M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Registration:
    """One protected object type: how it is decided, filtered and where its axes come from."""

    model: type
    rule: Rule
    filter: Filter | None
    actions: tuple[Action, ...]
    axes: str  # where label and tier come from: "its own", "its finding's", "strictest input", …
    audience: str  # who sees it, in one sentence (docs/access.md)


_REGISTRY: dict[type, Registration] = {}


def register(
    model: type,
    *,
    rule: Rule,
    filter_: Filter | None,
    actions: tuple[Action, ...],
    axes: str,
    audience: str,
) -> None:
    """Apps register each protected model next to it, in `<app>/access.py`."""
    if issubclass(model, Model) and filter_ is None:
        raise TypeError(f"{model.__name__}: a protected model needs an SQL filter as well as a rule")
    _REGISTRY[model] = Registration(model, rule, filter_, actions, axes, audience)


def registrations() -> list[Registration]:
    _load_app_rules()
    return sorted(_REGISTRY.values(), key=lambda r: (r.model.__module__, r.model.__name__))


def _principal(principal: object) -> Principal:
    if not isinstance(principal, Principal):
        # A bare Person says nothing about how they authenticated: never guess.
        raise TypeError(f"the policy takes a Principal, not {type(principal).__name__}")
    return principal


def can(principal: Principal, action: Action, obj: object) -> Decision:
    """Allow or deny, with a reason (for logs and tests; never shown to the denied person)."""
    principal = _principal(principal)
    gate = network_gate(principal)
    if not gate:
        return gate
    scope = scope_of(action)
    if not principal.has_scope(scope):
        return deny(f"token lacks the '{scope}' scope")
    registration = _registration_of(type(obj))
    if registration is None:
        return deny(f"no rule for {type(obj).__name__}")
    return registration.rule(principal, action, obj)


def sees(principal: Principal, obj: object) -> Decision:
    """Whether the object exists for this principal (the VIEW rule, whatever the token's scopes).

    Chokepoints ask this first, so a write-only token can still write to what it may see, and
    an object it may not see answers exactly like a missing one."""
    principal = _principal(principal)
    gate = network_gate(principal)
    if not gate:
        return gate
    registration = _registration_of(type(obj))
    if registration is None:
        return deny(f"no rule for {type(obj).__name__}")
    return registration.rule(principal, Action.VIEW, obj)


def visible(principal: Principal, queryset: QuerySet[M]) -> QuerySet[M]:
    """The rows of `queryset` that `principal` may see, filtered in SQL. Empty when the gate denies."""
    principal = _principal(principal)
    if not network_gate(principal):
        return queryset.none()
    registration = _registration_of(queryset.model)
    if registration is None or registration.filter is None:
        return queryset.none()
    return registration.filter(principal, queryset)


def _registration_of(model: type) -> Registration | None:
    registration = _REGISTRY.get(model)
    if registration is None:
        _load_app_rules()
        registration = _REGISTRY.get(model)
    return registration


def _load_app_rules() -> None:
    """Import every app's `access` module (they register themselves); idempotent."""
    from django.apps import apps

    for config in apps.get_app_configs():
        if config.name.startswith("interlock."):
            try:
                __import__(f"{config.name}.access")
            except ModuleNotFoundError as missing:
                if missing.name != f"{config.name}.access":
                    raise
