from django.http import HttpRequest

from accounts.models import User


class AuthenticatedRequest(HttpRequest):
    """A request behind @login_required: mypy then knows `request.user` is a User."""

    user: User
