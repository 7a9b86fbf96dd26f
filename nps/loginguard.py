"""Brute-force protection for staff logins: too many failures lock the name and the address.

Failures are counted per username and per client address in the default cache; after
LOGIN_FAILURE_LIMIT failures within LOGIN_LOCKOUT_SECONDS the backend refuses every
attempt for that name or address, right password or not, until the window passes.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


def _keys(request: HttpRequest | None, username: str | None) -> list[str]:
    keys = [f"login-fail:user:{(username or '').lower()}"]
    if request is not None:
        keys.append(f"login-fail:addr:{request.META.get('REMOTE_ADDR', '')}")
    return keys


def login_locked(request: HttpRequest | None, username: str | None) -> bool:
    return any(
        cache.get(key, 0) >= settings.LOGIN_FAILURE_LIMIT for key in _keys(request, username)
    )


def login_failure_record(request: HttpRequest | None, username: str | None) -> None:
    for key in _keys(request, username):
        cache.add(key, 0, settings.LOGIN_LOCKOUT_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, settings.LOGIN_LOCKOUT_SECONDS)


def login_failures_clear(request: HttpRequest | None, username: str | None) -> None:
    cache.delete_many(_keys(request, username))


class LockoutBackend(ModelBackend):
    """ModelBackend that refuses while the name or address is locked out."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        if login_locked(request, username):
            raise PermissionDenied("Too many failed logins; try again later.")
        return super().authenticate(request, username=username, password=password, **kwargs)


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    login_failure_record(request, credentials.get("username"))


def on_logged_in(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: Any
) -> None:
    login_failures_clear(request, user.get_username())
