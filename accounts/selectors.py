from accounts.models import User
from roster.access import SCHOOL_ADMIN_ROLES, guardian_of, roles_of
from roster.models import Role


def home_url_name(user: User) -> str | None:
    """Where a person lands after sign-in: the page their role starts from, or None when they have none."""
    roles = roles_of(user)
    if user.is_superuser or roles & SCHOOL_ADMIN_ROLES:
        return "insights:overview"
    if Role.TEACHER in roles:
        return "roster:section_list"
    if Role.COUNSELOR in roles:
        return "roster:caseload"
    if guardian_of(user) is not None:
        return "portal:home"
    return None
