"""Limits on public pages that need no sign-in (a family's link), counted in the shared cache (Redis in
production). Only failures count: a link that works is never refused, so a stranger guessing links from the same
address (a school's or a proxy's) cannot shut families out. The links' secrets are far too long to guess; the limit
makes guessing slower still, and keeps the database out of a flood."""

import time

from allauth.core.internal.httpkit import get_client_ip
from django.core.cache import cache
from django.http import HttpRequest


def _counter(request: HttpRequest, scope: str, per_seconds: int) -> str:
    # The client's own address, read the way allauth reads it (ALLAUTH_TRUSTED_PROXY_COUNT behind a proxy).
    window = int(time.time() // per_seconds)
    return f"ratelimit:{scope}:{get_client_ip(request) or ''}:{window}"


def too_many_failures(request: HttpRequest, *, scope: str, limit: int, per_seconds: int = 60) -> bool:
    """Whether this address has already failed `limit` times in the current window."""
    return int(cache.get(_counter(request, scope, per_seconds), 0)) >= limit


def count_failure(request: HttpRequest, *, scope: str, per_seconds: int = 60) -> None:
    name = _counter(request, scope, per_seconds)
    if not cache.add(name, 1, timeout=per_seconds):
        try:
            cache.incr(name)
        except ValueError:  # expired between add and incr: a new window
            cache.add(name, 1, timeout=per_seconds)
