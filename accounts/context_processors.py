from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise, SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from roster.access import SCHOOL_ADMIN_ROLES, guardian_of, roles_of
from roster.models import Role


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url: str


def _items_for(user: User) -> list[NavItem]:
    roles = roles_of(user)
    items = []
    if user.is_superuser or roles & SCHOOL_ADMIN_ROLES:
        items.append(NavItem(_("School overview"), reverse("insights:overview")))
    if user.is_superuser or roles & {Role.TEACHER, Role.LEADER, Role.DISTRICT_ADMIN}:
        items.append(NavItem(_("Classes"), reverse("roster:section_list")))
    if Role.COUNSELOR in roles:
        items.append(NavItem(_("Caseload"), reverse("roster:caseload")))
    if not roles and guardian_of(user) is not None:
        items.append(NavItem(_("My children"), reverse("portal:home")))
    if user.is_staff:
        items.append(NavItem(_("Administration"), reverse("admin:index")))
    if roles or user.is_superuser:
        # Staff protect their password with an authenticator app; families sign in by code and have none.
        items.append(NavItem(_("Account security"), reverse("mfa_index")))
    return items


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    # Lazy: pages that render no navigation (errors, admin) pay no query for it.
    return {"nav_items": SimpleLazyObject(lambda: _items_for(user))}
