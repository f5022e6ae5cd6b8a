from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class HomeroomAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Accounts come from the school's roster, never from self sign-up.
        return False
