"""Writing the communication log. Every write recounts the term summaries it touches and is audited."""

import datetime
import logging
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.models import AuditAction
from audit.services import record
from communication.letters import Letter
from communication.models import (
    ContactChannel,
    ContactSummary,
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    Direction,
    Interaction,
    InteractionStudent,
    Message,
    MessageKind,
    Outcome,
    Source,
    Tone,
)
from communication.selectors import introduction_recipients, merge_values, term_bounds, term_on
from roster.access import contactable_links_for, sections_taught_by
from roster.models import Guardian, Section, Student, Term

logger = logging.getLogger(__name__)

SUMMARY_COUNTS = ("attempts", "contacts", "positives", "neutrals", "concerns")
SUMMARY_FIELDS = (*SUMMARY_COUNTS, "last_contact_at", "last_contact_tone", "last_attempt_at")


@transaction.atomic
def log_interaction(
    *,
    logged_by: User,
    students: Sequence[Student],
    guardian: Guardian,
    tone: str,
    summary: str,
    channel: str = ContactChannel.CALL,
    direction: str = Direction.TO_FAMILY,
    topic: str = "",
    outcome: str = Outcome.REACHED,
    occurred_at: datetime.datetime | None = None,
    follow_up_on: datetime.date | None = None,
    source: str = Source.LOGGED,
) -> Interaction:
    """Records one contact or attempt with a family about one or more of their children."""
    if not students:
        raise ValidationError(_("Choose at least one student."))
    # Custody: the guardian must be one this user may contact about every one of these students.
    allowed = set(
        contactable_links_for(logged_by)
        .filter(guardian=guardian, student__in=students)
        .values_list("student_id", flat=True)
    )
    if allowed != {student.pk for student in students}:
        raise PermissionDenied
    interaction = Interaction(
        guardian=guardian,
        logged_by=logged_by,
        channel=channel,
        direction=direction,
        tone=tone,
        topic=topic,
        outcome=outcome,
        summary=summary.strip(),
        occurred_at=occurred_at or timezone.now(),
        follow_up_on=follow_up_on,
        source=source,
    )
    interaction.full_clean()
    if interaction.occurred_at > timezone.now() + datetime.timedelta(minutes=5):
        raise ValidationError({"occurred_at": _("A contact cannot be logged in the future.")})
    interaction.save()
    InteractionStudent.objects.bulk_create(InteractionStudent(interaction=interaction, student=s) for s in students)
    if interaction.is_contact:
        _close_follow_ups(logged_by=logged_by, students=students, before=interaction)
    _recount_for(interaction, students)
    for student in students:
        record(actor=logged_by, student=student, action=AuditAction.CHANGED, what=f"logged {interaction}")
    return interaction


def _close_follow_ups(*, logged_by: User, students: Sequence[Student], before: Interaction) -> None:
    """Reaching the family again is the follow-up: this user's open follow-ups on these students are done."""
    # A contact back-dated to before a follow-up was set does not answer it.
    Interaction.objects.filter(
        logged_by=logged_by,
        follow_up_on__isnull=False,
        follow_up_closed_at__isnull=True,
        student_links__student__in=students,
        occurred_at__lte=before.occurred_at,
    ).exclude(pk=before.pk).update(follow_up_closed_at=before.occurred_at)


def _recount_for(interaction: Interaction, students: Sequence[Student]) -> None:
    by_school: dict[int, list[Student]] = {}
    for student in students:
        by_school.setdefault(student.school_id, []).append(student)
    for school_students in by_school.values():
        term = term_on(school_students[0].school, interaction.occurred_at)
        if term is not None:  # a contact in the holidays belongs to no term's counts
            recount_contact_summaries(term=term, students=[s.pk for s in school_students])


def recount_contact_summaries(*, term: Term, students: "QuerySet[Student] | Sequence[int]") -> int:
    """Recounts these students' summaries of a term from the log itself, so they can never drift from it."""
    starts_at, ends_at = term_bounds(term, term.school)
    links = InteractionStudent.objects.filter(
        student_id__in=students, interaction__occurred_at__gte=starts_at, interaction__occurred_at__lt=ends_at
    )
    reached = Q(interaction__outcome=Outcome.REACHED)
    rows = (
        links.order_by()
        .values("student_id")
        .annotate(
            attempts=Count("id"),
            contacts=Count("id", filter=reached),
            positives=Count("id", filter=reached & Q(interaction__tone=Tone.POSITIVE)),
            neutrals=Count("id", filter=reached & Q(interaction__tone=Tone.NEUTRAL)),
            concerns=Count("id", filter=reached & Q(interaction__tone=Tone.CONCERN)),
            last_contact_at=Max("interaction__occurred_at", filter=reached),
            last_attempt_at=Max("interaction__occurred_at"),
        )
    )
    # The last contact's tone in a query of its own: as a subquery annotation it lands in the GROUP BY and runs
    # once per interaction instead of once per student (3.9 s against 0.5 s for 500 students on PostgreSQL).
    last_tones: dict[int, str] = {}
    for student_id, tone in (
        links.filter(reached)
        .order_by("student_id", "-interaction__occurred_at", "-interaction_id")
        .values_list("student_id", "interaction__tone")
    ):
        last_tones.setdefault(student_id, tone)
    summaries = [_summary(term, row, last_tones.get(row["student_id"], "")) for row in rows]
    ContactSummary.objects.bulk_create(
        summaries,
        update_conflicts=True,
        unique_fields=["student", "term"],
        update_fields=list(SUMMARY_FIELDS),
        batch_size=2000,
    )
    # A student whose every interaction of the term is gone keeps no summary.
    ContactSummary.objects.filter(term=term, student_id__in=students).exclude(
        student_id__in=[summary.student_id for summary in summaries]
    ).delete()
    return len(summaries)


def _summary(term: Term, row: dict[str, Any], last_contact_tone: str) -> ContactSummary:
    return ContactSummary(
        term=term,
        student_id=row["student_id"],
        last_contact_tone=last_contact_tone,
        **{name: row[name] for name in (*SUMMARY_COUNTS, "last_contact_at", "last_attempt_at")},
    )


@transaction.atomic
def send_introduction_letter(
    *, sender: User, section: Section, letters: dict[str, Letter], how_to_reach: str, office_hours: str
) -> int:
    """Sends each family of a class that has not had it yet its introduction letter, personalised and in its
    language where the teacher has the letter in it (English otherwise). Each one is logged as a positive contact.
    Returns how many families it went to."""
    if not sections_taught_by(sender).filter(pk=section.pk).exists():
        raise PermissionDenied
    message = Message.objects.create(sender=sender, section=section, kind=MessageKind.INTRODUCTION)
    recipients = introduction_recipients(section=section)
    for recipient in recipients:
        guardian = recipient.guardian
        language = guardian.preferred_language if guardian.preferred_language in letters else "en"
        letter = letters[language].personalised(
            merge_values(
                recipient=recipient,
                sender=sender,
                section=section,
                how_to_reach=how_to_reach,
                office_hours=office_hours,
            )
        )
        channel = DeliveryChannel.EMAIL if guardian.email else DeliveryChannel.APP
        interaction = log_interaction(
            logged_by=sender,
            students=recipient.students,
            guardian=guardian,
            tone=Tone.POSITIVE,
            summary=letter.subject,
            channel=ContactChannel.EMAIL if channel == DeliveryChannel.EMAIL else ContactChannel.APP,
            source=Source.SENT,
        )
        # The in-app inbox is the family's portal: the copy is there as soon as it is saved.
        in_app = channel == DeliveryChannel.APP
        Delivery.objects.create(
            message=message,
            guardian=guardian,
            interaction=interaction,
            channel=channel,
            language=language,
            subject=letter.subject[:200],
            body=letter.body,
            status=DeliveryStatus.SENT if in_app else DeliveryStatus.QUEUED,
            sent_at=timezone.now() if in_app else None,
        )
    transaction.on_commit(lambda: _enqueue_deliveries(message.pk))
    return len(recipients)


def _enqueue_deliveries(message_id: int) -> None:
    from communication.tasks import deliver_task  # tasks import services: import at call time

    queued = Delivery.objects.filter(message_id=message_id, status=DeliveryStatus.QUEUED)
    for delivery_id in queued.values_list("id", flat=True):
        deliver_task.enqueue(delivery_id=delivery_id)


def deliver(*, delivery_id: int) -> bool:
    """Sends one queued email exactly once: of two workers racing for it, one claims it and the other stops.
    Returns whether this call sent it."""
    claimed = Delivery.objects.filter(id=delivery_id, status=DeliveryStatus.QUEUED).update(
        status=DeliveryStatus.SENDING
    )
    if claimed != 1:
        return False
    delivery = Delivery.objects.select_related("guardian", "message__sender").get(id=delivery_id)
    email = EmailMessage(
        subject=delivery.subject,
        body=delivery.body,
        to=[delivery.guardian.email],
        reply_to=[delivery.message.sender.email],
        headers={"Content-Language": delivery.language},
    )
    try:
        email.send()
    except Exception as error:
        Delivery.objects.filter(id=delivery_id).update(status=DeliveryStatus.FAILED, error=str(error)[:300])
        logger.warning("Delivery %s failed: %s", delivery_id, error)
        return False
    Delivery.objects.filter(id=delivery_id).update(status=DeliveryStatus.SENT, sent_at=timezone.now())
    return True
