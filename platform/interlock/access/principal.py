"""Who is asking, and how they authenticated: the first argument of every policy question.

A `Principal` is a person plus the way they reached us — a browser session (with or without
MFA), an API token with its scopes, or the platform itself asking on a person's behalf when the
person is not present (a queued job at claim time, a notification recipient at send time, the
share dialog's "who would read this"). Nothing about authentication is ever patched onto the
`Person` row: the policy reads it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from interlock.accounts.models import TokenScope

if TYPE_CHECKING:
    from interlock.accounts.models import Person


class Via(StrEnum):
    SESSION = "session"
    TOKEN = "token"  # noqa: S105 - a way of signing in, not a secret
    ON_BEHALF = "on_behalf"


ALL_SCOPES = frozenset(TokenScope.values)


@dataclass(frozen=True, eq=False)
class Principal:
    person: Person
    via: Via
    mfa_verified: bool
    scopes: frozenset[str] = ALL_SCOPES

    @classmethod
    def session(cls, person: Person, *, mfa_verified: bool) -> Principal:
        """A browser session; django-otp tells whether it passed MFA."""
        return cls(person=person, via=Via.SESSION, mfa_verified=mfa_verified)

    @classmethod
    def token(cls, person: Person, scopes: list[str] | frozenset[str]) -> Principal:
        """An API token: minted only from an MFA-verified session, dead with the person's auth epoch."""
        return cls(person=person, via=Via.TOKEN, mfa_verified=True, scopes=frozenset(scopes))

    @classmethod
    def on_behalf_of(cls, person: Person) -> Principal:
        """The platform re-checking a person who is not here (a job, a message, a preview).

        MFA guards sessions, and there is none; everything else about the person — account,
        organisation, agreement, clearance, grants — is checked exactly as for a session."""
        return cls(person=person, via=Via.ON_BEHALF, mfa_verified=True)

    @property
    def pk(self) -> int:
        return int(self.person.pk)

    @property
    def organisation_id(self) -> int:
        """The home organisation's id; 0 (which matches no row) for a person without one, whom
        the network gate refuses before any rule or filter runs."""
        return self.person.organisation_id or 0

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def reads_content(self) -> bool:
        """An answer may carry content (titles, bodies, metrics) only for a principal that may read."""
        return TokenScope.READ in self.scopes

    def __repr__(self) -> str:
        return (
            f"Principal({self.person.pk}, {self.via}, mfa={self.mfa_verified}, scopes={sorted(self.scopes)})"
        )
