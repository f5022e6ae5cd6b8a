from django.conf import settings
from django.http import HttpRequest

from accounts.models import User


class AuthenticatedRequest(HttpRequest):
    """A request behind @login_required: mypy then knows `request.user` is a User."""

    user: User


def language_of_link(request: HttpRequest, preferred: str) -> str:
    """The language of a page a family opens from a link it was sent: the family's own, unless they chose another
    with the page's language switcher. Not the browser's: a phone set to English still shows a family that reads
    Spanish its language."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    return chosen if chosen in {code for code, _name in settings.LANGUAGES} else preferred
