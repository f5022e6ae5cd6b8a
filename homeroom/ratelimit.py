"""Limits on public pages that need no sign-in, counted in the shared cache (Redis in production)."""

import time

from django.core.cache import cache
from django.http import HttpRequest


def within_limit(request: HttpRequest, *, scope: str, key: str, limit: int, per_seconds: int = 60) -> bool:
    """Counts this request in a fixed window, once for the client's address and once for `key` (a link, say),
    and says whether both counts are still within `limit`."""
    window = int(time.time() // per_seconds)
    allowed = True
    for who in (f"ip:{request.META.get('REMOTE_ADDR', '')}", f"key:{key}"):
        name = f"ratelimit:{scope}:{who}:{window}"
        if cache.add(name, 1, timeout=per_seconds):
            continue
        try:
            allowed = cache.incr(name) <= limit and allowed
        except ValueError:  # expired between add and incr: a new window
            cache.add(name, 1, timeout=per_seconds)
    return allowed
