"""Brute-force protection for staff logins: the page a locked (username, address) pair sees.

django-axes counts the failures and refuses a locked pair (settings, "staff logins"); this
module only answers for it, in the staff member's language, instead of axes' plain text.
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def login_locked_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any]
) -> HttpResponse:
    """The lockout page (429): who is locked, for how long, and that an admin can unlock."""
    context = {
        "username": (credentials or {}).get("username", ""),
        "minutes": max(1, round(settings.LOGIN_LOCKOUT_SECONDS / 60)),
    }
    return render(request, "nps/login_locked.html", context, status=429)
