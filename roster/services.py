from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import User
from roster.access import schools_led_by
from roster.models import Guardian, School, Student, StudentGuardian
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
    the family's language. A member of staff who is also a parent keeps one account for both."""
    if guardian.user_id is not None:
        return guardian.user  # type: ignore[return-value]  # user_id is set, so user is not None
    user = User.objects.filter(email=guardian.email, guardian__isnull=True).first() or User.objects.create_user(
        guardian.email,
        full_name=guardian.display_name,
        language=ui_language_for(guardian.preferred_language),
    )
    guardian.user = user
    guardian.save(update_fields=["user"])
    return user


def families_to_invite(*, school: School) -> QuerySet[Guardian]:
    """Guardians of the school with an email, never invited, whom we may contact and who may see the record."""
    links = StudentGuardian.objects.filter(
        student__school=school, contact_allowed=True, portal_access_allowed=True
    ).order_by()
    # Two guardians sharing one email address share one account: the first one invited holds it.
    taken = Guardian.objects.filter(user__isnull=False).values("user__email")
    return (
        Guardian.objects.filter(id__in=links.values("guardian_id"), portal_invited_at__isnull=True)
        .exclude(email="")
        .exclude(email__in=taken, user__isnull=True)
        .order_by("id")
    )


@transaction.atomic
def invite_families_to_portal(*, invited_by: User, school: School) -> int:
    """Gives each family still to invite a sign-in account and queues its invitation email."""
    if not schools_led_by(invited_by).filter(pk=school.pk).exists():
        raise PermissionDenied
    first_per_email: dict[str, Guardian] = {}
    for guardian in families_to_invite(school=school):
        first_per_email.setdefault(guardian.email, guardian)
    for guardian in first_per_email.values():
        give_portal_account(guardian=guardian)
    guardian_ids = [guardian.id for guardian in first_per_email.values()]
    transaction.on_commit(lambda: _enqueue_invitations(guardian_ids))
    return len(guardian_ids)


def _enqueue_invitations(guardian_ids: list[int]) -> None:
    from roster.tasks import send_portal_invitation_task  # tasks import services: import at call time

    for guardian_id in guardian_ids:
        send_portal_invitation_task.enqueue(guardian_id=guardian_id)


def send_portal_invitation(*, guardian_id: int) -> bool:
    """Sends one family its invitation, exactly once: of two workers racing for it, one claims it and the other
    stops. A failed send releases the claim so that a retry can send it. Returns whether this call sent it."""
    claimed = Guardian.objects.filter(id=guardian_id, portal_invited_at__isnull=True).update(
        portal_invited_at=timezone.now()
    )
    if claimed != 1:
        return False
    guardian = Guardian.objects.select_related("user").get(id=guardian_id)
    language = (guardian.user.language if guardian.user else "") or ui_language_for(guardian.preferred_language)
    try:
        with translation.override(language or settings.LANGUAGE_CODE):
            context = {
                "guardian": guardian,
                "sign_in_url": settings.HOMEROOM_BASE_URL + reverse("account_request_login_code"),
            }
            subject = render_to_string("roster/email/portal_invitation_subject.txt", context).strip()
            body = render_to_string("roster/email/portal_invitation_message.txt", context)
        send_mail(subject, body, None, [guardian.email])
    except Exception:
        Guardian.objects.filter(id=guardian_id).update(portal_invited_at=None)
        raise
    return True
