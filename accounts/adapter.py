from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal.httpkit import get_client_ip
from django.http import HttpRequest
from django.utils import translation

from accounts.models import User


class HomeroomAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Accounts come from the school's roster, never from self sign-up.
        return False

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # Failed passwords count per account *and* client address: ten guesses from one place stop that place, never
        # the teacher signing in from their classroom. The per-address limit (settings) stops a guesser spraying.
        account = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{account}:{get_client_ip(request) or ''}"

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        # A family reads Homeroom's mail in its own language, whatever the language of the browser that asked.
        user = context.get("user") or User.objects.filter(email=email.lower()).first()
        language = getattr(user, "language", "") or translation.get_language()
        with translation.override(language):
            super().send_mail(template_prefix, email, context)
