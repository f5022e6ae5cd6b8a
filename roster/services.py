from django.conf import settings
from django.db import transaction

from accounts.models import User
from roster.models import Guardian, Student, StudentGuardian
from roster.phone import normalize_phone

UI_LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


def ui_language_for(family_language: str) -> str:
    """The portal's language for a family: theirs where the pages are translated, otherwise empty (the browser's)."""
    return family_language if family_language in UI_LANGUAGE_CODES else ""


@transaction.atomic
def create_guardian(
    *,
    first_name: str,
    last_name: str,
    email: str = "",
    phone: str = "",
    preferred_language: str = "en",
    **details: str,
) -> Guardian:
    guardian = Guardian(
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email.strip().lower(),
        phone=normalize_phone(phone),
        preferred_language=preferred_language,
        **details,
    )
    guardian.full_clean()
    guardian.save()
    return guardian


@transaction.atomic
def link_guardian(*, student: Student, guardian: Guardian, relationship: str, **flags: bool) -> StudentGuardian:
    link = StudentGuardian(student=student, guardian=guardian, relationship=relationship, **flags)
    link.full_clean()
    link.save()
    return link


@transaction.atomic
def give_portal_account(*, guardian: Guardian) -> User:
    """A sign-in account for a guardian: no password (they sign in with a code sent to their email), pages in
    the family's language."""
    if guardian.user_id is not None:
        return guardian.user  # type: ignore[return-value]  # user_id is set, so user is not None
    user = User.objects.create_user(
        guardian.email,
        full_name=guardian.display_name,
        language=ui_language_for(guardian.preferred_language),
    )
    guardian.user = user
    guardian.save(update_fields=["user"])
    return user
