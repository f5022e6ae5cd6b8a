from collections.abc import Callable

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from roster.access import needs_second_factor

# Features no page of Homeroom uses: a script injected into a page cannot switch them on.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)


class PrivatePagesMiddleware:
    """Every page Homeroom serves may hold a child's data (a record, a conversation, a family's link page, an
    export), so none is kept by a browser's cache on a shared computer or by a proxy on the way. Static files are
    served before this runs (WhiteNoise) and stay cacheable."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        add_never_cache_headers(response)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


class SecondFactorMiddleware:
    """Staff who must use an authenticator app (roster.access.needs_second_factor) and have none set one up before
    any other page: a password or an emailed code alone no longer opens a school's records. Sign-in, sign-out and
    setting up the app (allauth's pages) and the language switcher stay open."""

    OPEN_PREFIXES = ("/accounts/", "/language/", "/static/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            settings.HOMEROOM_REQUIRE_SECOND_FACTOR
            and user is not None
            and user.is_authenticated
            and not request.path.startswith(self.OPEN_PREFIXES)
            and needs_second_factor(user)
            and not is_mfa_enabled(user)
        ):
            return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)
