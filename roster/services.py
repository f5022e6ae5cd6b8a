import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from accounts.models import User
from roster.access import districts_administered_by, schools_led_by
from roster.imports.progress import clear_progress, write_progress
from roster.imports.run import import_oneroster, import_plain_csv
from roster.models import (
    District,
    Guardian,
    ImportFormat,
    ImportStatus,
    RosterImport,
    School,
    Student,
    StudentGuardian,
)
from roster.phone import normalize_phone

logger = logging.getLogger(__name__)

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


# --- Roster imports -------------------------------------------------------------------------------------------------

IMPORT_EXTENSIONS = {ImportFormat.ONEROSTER: ".zip", ImportFormat.PLAIN_CSV: ".csv"}


def _import_district(*, user: User, format: str, school: School | None, district: District | None) -> District:
    """Where an upload may go, or PermissionDenied: a school the user leads, or a district they administer."""
    if school is not None:
        if not schools_led_by(user).filter(pk=school.pk).exists():
            raise PermissionDenied
        return school.district
    if format != ImportFormat.ONEROSTER:
        raise ValidationError(_("A plain CSV file is one school's roster: choose the school."))
    administered = districts_administered_by(user)
    if district is not None:
        if not administered.filter(pk=district.pk).exists():
            raise PermissionDenied
        return district
    only = list(administered[:2])
    if len(only) != 1:
        raise PermissionDenied
    return only[0]


def start_roster_import(
    *,
    uploaded_by: User,
    upload: UploadedFile,
    format: str,
    school: School | None,
    dry_run: bool,
    district: District | None = None,
) -> RosterImport:
    """Keeps the upload for the task worker and queues its import. `school` None: a district administrator's
    OneRoster import of the whole district (theirs, or `district` when they administer several)."""
    district = _import_district(user=uploaded_by, format=format, school=school, district=district)
    folder = Path(settings.HOMEROOM_IMPORT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    # A name of our own: the uploader's file name never becomes a path.
    stored = folder / f"{uuid.uuid4().hex}{IMPORT_EXTENSIONS[ImportFormat(format)]}"
    with stored.open("xb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    try:
        with transaction.atomic():
            roster_import = RosterImport(
                uploaded_by=uploaded_by,
                district=district,
                school=school,
                format=format,
                file_name=(upload.name or stored.name)[-255:],
                stored_path=str(stored),
                dry_run=dry_run,
            )
            roster_import.full_clean()
            roster_import.save()
            transaction.on_commit(lambda: _enqueue_roster_import(roster_import.pk))
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    return roster_import


def _enqueue_roster_import(import_id: int) -> None:
    run_roster_import_task.enqueue(import_id=import_id)


def run_roster_import(*, import_id: int) -> str:
    """Imports (or checks) one upload and keeps what came of it; the upload is removed whatever happens.
    Returns the import's status, or "" when another worker claimed it first or it has already run."""
    # Of two workers racing for this import, exactly one gets 1 back; the other stops here.
    if RosterImport.objects.filter(id=import_id, status=ImportStatus.QUEUED).update(status=ImportStatus.RUNNING) != 1:
        return ""
    roster_import = RosterImport.objects.select_related("uploaded_by", "school__district", "district").get(id=import_id)
    stored = roster_import.stored_path
    try:
        # Problems and notices are kept as words: in the language of the person who will read them.
        with translation.override(roster_import.uploaded_by.language or settings.LANGUAGE_CODE):
            _import_upload(roster_import, stored)
    finally:
        # A held import keeps its upload until the uploader confirms (or uploads another file).
        if stored and roster_import.status != ImportStatus.HELD:
            Path(stored).unlink(missing_ok=True)
        clear_progress(import_id)
    if roster_import.status != ImportStatus.HELD:
        roster_import.stored_path = ""
    roster_import.finished_at = timezone.now()
    roster_import.save(
        update_fields=[
            "status",
            "summary",
            "problems",
            "problem_count",
            "notices",
            "skipped",
            "skipped_count",
            "held",
            "stored_path",
            "finished_at",
        ]
    )
    return roster_import.status


def confirm_roster_import(*, roster_import: RosterImport, confirmed_by: User) -> bool:
    """The uploader confirms the deactivations a held import would make: it runs again, applying them. False when
    the import is not (or no longer) held."""
    if roster_import.uploaded_by_id != confirmed_by.pk or not roster_import.stored_path:
        return False
    with transaction.atomic():
        claimed = RosterImport.objects.filter(pk=roster_import.pk, status=ImportStatus.HELD).update(
            status=ImportStatus.QUEUED, allow_deactivations=True, finished_at=None
        )
        if claimed != 1:
            return False
        transaction.on_commit(lambda: _enqueue_roster_import(roster_import.pk))
    return True


def _import_upload(roster_import: RosterImport, stored: str) -> None:
    def progress(stage: str, done: int, total: int) -> None:
        try:
            write_progress(roster_import.pk, stage, done, total)
        except OSError:  # a full disk hides the progress bar; it does not stop the import
            logger.warning("Roster import %d: progress not written", roster_import.pk, exc_info=True)

    school, path = roster_import.school, Path(stored)
    try:
        if not stored:  # Path("") is the working directory: never read it as a roster
            raise FileNotFoundError(f"roster import {roster_import.pk} has no stored upload")
        if roster_import.format == ImportFormat.PLAIN_CSV and school is not None:
            result = import_plain_csv(
                path,
                school=school,
                dry_run=roster_import.dry_run,
                progress=progress,
                imported_by=roster_import.uploaded_by,
                allow_deactivations=roster_import.allow_deactivations,
                file_name=roster_import.file_name,
            )
        elif roster_import.format == ImportFormat.ONEROSTER:
            result = import_oneroster(
                path,
                district=roster_import.district,
                # A leader's file may touch only their school; a district's, any school of the district.
                allowed_schools={school.pk} if school is not None else None,
                dry_run=roster_import.dry_run,
                progress=progress,
                imported_by=roster_import.uploaded_by,
                allow_deactivations=roster_import.allow_deactivations,
            )
        else:
            raise ValueError(f"a {roster_import.format} import needs a school")
    except Exception:
        # Not the file's fault: the uploader is told something went wrong, the details go to the log.
        logger.exception("Roster import %d failed", roster_import.pk)
        roster_import.status = ImportStatus.FAILED
        return
    report = result.report
    roster_import.problems = [problem.as_dict() for problem in report.problems]
    roster_import.problem_count = report.problem_count
    roster_import.notices = [str(notice) for notice in report.notices]
    roster_import.skipped = [problem.as_dict() for problem in report.skipped]
    roster_import.skipped_count = report.skipped_count
    roster_import.held = {kind: [count, names] for kind, (count, names) in report.held.items()}
    if not report.ok:
        roster_import.status = ImportStatus.REJECTED
    elif result.held and not roster_import.dry_run:
        roster_import.status = ImportStatus.HELD
    elif result.imported:
        roster_import.status = ImportStatus.IMPORTED
    elif roster_import.dry_run:
        roster_import.status = ImportStatus.CHECKED
    else:
        roster_import.status = ImportStatus.FAILED
    if report.ok:
        roster_import.summary = result.summary.as_dict()


# --- Tasks: beside the services they run, so that nothing imports back (roster.tasks keeps the old paths) --------


@task()
def send_portal_invitation_task(guardian_id: int) -> bool:
    return send_portal_invitation(guardian_id=guardian_id)


@task()
def run_roster_import_task(import_id: int) -> str:
    return run_roster_import(import_id=import_id)
