from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.selectors import navigation_for


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    # Lazy: pages that render no navigation (errors, admin) pay no query for it.
    return {"nav_items": SimpleLazyObject(lambda: navigation_for(user))}
