from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse

from homeroom.http import AuthenticatedRequest
from roster.access import guardian_of, is_staff_member

View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    """Pages for school staff: families have their own portal, and get a clear 403 here."""

    @login_required
    @wraps(view)
    def wrapper(request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_staff_member(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def guardian_required(view: View) -> View:
    """Pages for families; staff get a clear 403 rather than an empty portal."""

    @login_required
    @wraps(view)
    def wrapper(request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        guardian = guardian_of(request.user)
        if guardian is None:
            raise PermissionDenied
        return view(request, guardian, *args, **kwargs)

    return wrapper
