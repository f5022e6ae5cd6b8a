from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from roster.access import SCHOOL_ADMIN_ROLES, guardian_of, roles_of
from roster.models import Role


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url: str


def start_pages(user: User) -> list[NavItem]:
    """The pages a person's roles open, the one they land on after sign-in first."""
    roles = roles_of(user)
    pages = []
    if roles & {Role.TEACHER, Role.COUNSELOR}:
        pages.append(NavItem(_("Today"), reverse("students:today")))
        pages.append(NavItem(_("Messages"), reverse("communication:conversations")))
    if user.is_superuser or roles & SCHOOL_ADMIN_ROLES:
        pages.append(NavItem(_("School overview"), reverse("insights:overview")))
        pages.append(NavItem(_("School notice"), reverse("communication:new_notice")))
        pages.append(NavItem(_("Family questions"), reverse("intake:school_questions")))
        pages.append(NavItem(_("Roster import"), reverse("roster:import_roster")))
    if user.is_superuser or roles & (SCHOOL_ADMIN_ROLES | {Role.TEACHER}):
        pages.append(NavItem(_("Classes"), reverse("roster:section_list")))
    if Role.COUNSELOR in roles:
        pages.append(NavItem(_("Caseload"), reverse("roster:caseload")))
    if not roles and guardian_of(user) is not None:
        pages.append(NavItem(_("My children"), reverse("portal:home")))
    return pages


def navigation_for(user: User) -> list[NavItem]:
    items = start_pages(user)
    if user.is_staff:
        items.append(NavItem(_("Administration"), reverse("admin:index")))
    if user.is_superuser or roles_of(user):
        # Staff protect their password with an authenticator app; families sign in by code and have none.
        items.append(NavItem(_("Account security"), reverse("mfa_index")))
    return items
