"""The person and the principal behind a request, typed, for views that run after authentication."""

from __future__ import annotations

from django.http import HttpRequest

from interlock.access.principal import Principal
from interlock.accounts.models import Person
from interlock.core.errors import NotFound


def person_of(request: HttpRequest) -> Person:
    """`request.user` as a Person; views behind the network gate never see anyone else."""
    user = request.user
    if not isinstance(user, Person):
        raise NotFound
    return user


def principal_of(request: HttpRequest) -> Principal:
    """Who asks and how: the token's principal (DRF puts it in `request.auth`), or the browser
    session with django-otp's verdict on MFA. Built fresh per request, never stored on the person."""
    auth = getattr(request, "auth", None)
    if isinstance(auth, Principal):
        return auth
    person = person_of(request)
    is_verified = getattr(person, "is_verified", None)  # django-otp's OTPMiddleware sets it per request
    return Principal.session(person, mfa_verified=bool(callable(is_verified) and is_verified()))
