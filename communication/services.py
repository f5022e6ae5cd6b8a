"""Writing the communication log. Every write recounts the term summaries it touches and is audited."""

import contextlib
import datetime
import logging
import re
import smtplib
import time
import uuid
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any, Self
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, models, transaction
from django.db.models import Count, F, Max, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_tasks import task

from accounts.models import User
from audit.models import AuditAction
from audit.services import record, record_many
from communication.inbound import InboundEmail, read_email, without_control_characters
from communication.letters import Letter
from communication.mime import quick_folding
from communication.models import (
    MESSAGE_MAX_LENGTH,
    NO_LONGER_CONTACTABLE,
    SUBJECT_MAX_LENGTH,
    ContactChannel,
    ContactSummary,
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    Direction,
    EmailOptOut,
    Interaction,
    InteractionStudent,
    Message,
    MessageKind,
    Moment,
    OfficeHours,
    Outcome,
    PhoneOptOut,
    Reply,
    Source,
    Thread,
    Tone,
    UnroutedReason,
    UnroutedReply,
    validate_one_line,
)
from communication.selectors import (
    OptOuts,
    Recipient,
    channels_for,
    families_in_care_of,
    families_of_school,
    family_window_opens,
    held_until,
    introduction_recipients,
    is_closed_to_family,
    merge_values,
    office_days,
    office_hours_opening,
    opt_outs_of,
    placements_for,
    retry_delay,
    schools_of_guardians,
    term_bounds,
    term_on,
    thread_students,
    translations_of,
    unrouted_replies_visible_to,
)
from communication.sms import Keyword, SmsBackend, SmsError, keyword_of, sms_backend
from roster.access import contactable_links_for, schools_led_by, sections_taught_by, staff_students_visible_to
from roster.models import Guardian, School, Section, Student, StudentGuardian, Term

logger = logging.getLogger(__name__)

SUMMARY_COUNTS = ("attempts", "contacts", "positives", "neutrals", "concerns")
SUMMARY_MOMENTS = ("last_contact_at", "last_attempt_at", "last_positive_at")
SUMMARY_FIELDS = (*SUMMARY_COUNTS, *SUMMARY_MOMENTS, "last_contact_tone")


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
    moment: str = "",
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
        moment=moment,
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
        _close_follow_ups(logged_by=logged_by, students=students, at=interaction.occurred_at, keep=interaction)
    _recount_for_students(students, at=interaction.occurred_at)
    for student in students:
        record(actor=logged_by, student=student, action=AuditAction.CHANGED, what=f"logged {interaction}")
    return interaction


def _close_follow_ups(
    *, logged_by: User, students: Sequence[Student], at: datetime.datetime, keep: Interaction | None = None
) -> None:
    """Reaching the family again is the follow-up: this user's open follow-ups on these students are done, but
    the one the contact itself sets (`keep`)."""
    # A contact back-dated to before a follow-up was set does not answer it.
    answered = Interaction.objects.filter(
        logged_by=logged_by,
        follow_up_on__isnull=False,
        follow_up_closed_at__isnull=True,
        student_links__student__in=students,
        occurred_at__lte=at,
    )
    if keep is not None:
        answered = answered.exclude(pk=keep.pk)
    answered.update(follow_up_closed_at=at)


def recount_contact_summaries(*, term: Term, students: "QuerySet[Student] | Sequence[int]") -> int:
    """Recounts these students' summaries of a term from the log itself, so they can never drift from it."""
    starts_at, ends_at = term_bounds(term, term.school)
    links = InteractionStudent.objects.filter(
        student_id__in=students, interaction__occurred_at__gte=starts_at, interaction__occurred_at__lt=ends_at
    )
    reached = Q(interaction__outcome=Outcome.REACHED)
    positive = reached & Q(interaction__tone=Tone.POSITIVE)
    rows = (
        links.order_by()
        .values("student_id")
        .annotate(
            attempts=Count("id"),
            contacts=Count("id", filter=reached),
            positives=Count("id", filter=positive),
            neutrals=Count("id", filter=reached & Q(interaction__tone=Tone.NEUTRAL)),
            concerns=Count("id", filter=reached & Q(interaction__tone=Tone.CONCERN)),
            last_contact_at=Max("interaction__occurred_at", filter=reached),
            last_attempt_at=Max("interaction__occurred_at"),
            last_positive_at=Max("interaction__occurred_at", filter=positive),
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
        **{name: row[name] for name in (*SUMMARY_COUNTS, *SUMMARY_MOMENTS)},
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
    opt_outs = opt_outs_of(recipient.guardian for recipient in recipients)
    now = timezone.now()
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
        planned = _plan_delivery(recipient, now, opt_outs=opt_outs)
        interaction = log_interaction(
            logged_by=sender,
            students=recipient.students,
            guardian=guardian,
            tone=Tone.POSITIVE,
            summary=letter.subject,
            channel=CONTACT_CHANNEL_OF[planned.channel],
            source=Source.SENT,
        )
        words = Words(language, letter.subject[:SUBJECT_MAX_LENGTH], letter.body)
        planned.delivery(message, guardian, words, interaction=interaction, thread=None, now=now).save()
    transaction.on_commit(lambda: _enqueue_deliveries(message.pk))
    return len(recipients)


DELIVERY_BATCH_SIZE = 200  # one task's share: one mail server connection each, and little held by a lost worker

CONTACT_CHANNEL_OF: dict[str, str] = {
    DeliveryChannel.EMAIL: ContactChannel.EMAIL,
    DeliveryChannel.SMS: ContactChannel.TEXT,
    DeliveryChannel.APP: ContactChannel.APP,
}


def _enqueue_deliveries(message_id: int) -> None:
    queued = Delivery.objects.filter(message_id=message_id, status=DeliveryStatus.QUEUED).order_by("id")
    enqueue_batches(queued.values_list("id", "not_before"))


def enqueue_batches(deliveries: Iterable[tuple[int, datetime.datetime | None]]) -> int:
    """Queues deliveries as tasks of a batch each, those held for quiet hours to run when the hours end. Returns
    how many tasks it queued."""
    now = timezone.now()
    by_moment: dict[datetime.datetime | None, list[int]] = {}
    for delivery_id, not_before in deliveries:
        by_moment.setdefault(not_before if not_before and not_before > now else None, []).append(delivery_id)
    tasks = 0
    for run_after, ids in by_moment.items():
        task = deliver_batch_task.using(run_after=run_after) if run_after else deliver_batch_task
        for start in range(0, len(ids), DELIVERY_BATCH_SIZE):
            task.enqueue(delivery_ids=ids[start : start + DELIVERY_BATCH_SIZE])
            tasks += 1
    return tasks


class DeliveryOutcome(StrEnum):
    SENT = "sent"
    NOT_CLAIMED = "not claimed"  # another worker has it, or it is done, or its time has not come
    HELD = "held"  # quiet hours began while it waited: it goes when they end
    RETRYING = "retrying"
    FELL_BACK = "fell back"  # this channel failed or was opted out of: the next one takes over
    FAILED = "failed"


def deliver(*, delivery_id: int, now: datetime.datetime | None = None) -> DeliveryOutcome:
    return deliver_batch(delivery_ids=[delivery_id], now=now).get(delivery_id, DeliveryOutcome.NOT_CLAIMED)


def deliver_batch(*, delivery_ids: Sequence[int], now: datetime.datetime | None = None) -> dict[int, DeliveryOutcome]:
    """Sends queued deliveries exactly once each, over one connection to the mail server: a batch claims what is
    still queued in one UPDATE, so of two workers racing for a delivery one has it and the other passes.
    A temporary failure (the server busy or away) is retried with exponential back-off; a permanent one, or the
    last try, moves to the family's next channel or fails for the teacher to see. Nothing goes to a family the
    school may no longer contact, to a number that texted STOP, or in the family's quiet hours unless urgent."""
    now = now or timezone.now()
    claim = uuid.uuid4()
    Delivery.objects.filter(id__in=delivery_ids, status=DeliveryStatus.QUEUED).filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    ).update(status=DeliveryStatus.SENDING, claimed_at=now, claim=claim, attempts=F("attempts") + 1)
    deliveries = list(
        Delivery.objects.filter(id__in=delivery_ids, claim=claim, status=DeliveryStatus.SENDING)
        .select_related("guardian", "message__sender")
        .order_by("id")
    )
    if not deliveries:
        return {}
    contactable = _still_contactable(deliveries)
    schools = schools_of_guardians({delivery.guardian_id for delivery in deliveries})
    opt_outs = opt_outs_of(delivery.guardian for delivery in deliveries)
    later: list[tuple[int, datetime.datetime | None]] = []  # what goes again, queued in a task or two at the end
    hold = _Hold(claim)
    outcomes = {}
    with _Outbox() as outbox:
        for index, delivery in enumerate(deliveries):
            if not hold.renew(delivery, remaining=len(deliveries) - index):
                outcomes[delivery.pk] = DeliveryOutcome.NOT_CLAIMED  # the hold lapsed and another worker has it
                continue
            outcomes[delivery.pk] = _deliver_one(
                delivery,
                school=schools[delivery.guardian_id],
                contactable=delivery.pk in contactable,
                opt_outs=opt_outs,
                outbox=outbox,
                now=now,
                later=later,
            )
    enqueue_batches(later)
    return outcomes


class _Hold:
    """A batch's claim on its deliveries, renewed every third of HOMEROOM_DELIVERY_CLAIM_SECONDS while it runs (a
    heartbeat): a claim not renewed for that long was lost with its worker, and `deliver_pending` puts it back.
    Should this worker have stalled past it all the same, what another worker has taken since is left to it."""

    def __init__(self, claim: uuid.UUID) -> None:
        self.claim = claim
        self.every = settings.HOMEROOM_DELIVERY_CLAIM_SECONDS / 3
        self.renewed = time.monotonic()
        self.held: set[int] | None = None  # None: every delivery not done yet

    def renew(self, delivery: Delivery, *, remaining: int) -> bool:
        """Whether the batch still holds the next delivery, of `remaining` not done yet; renews the hold when due."""
        if time.monotonic() - self.renewed >= self.every:
            self.renewed = time.monotonic()
            mine = Delivery.objects.filter(claim=self.claim, status=DeliveryStatus.SENDING)
            if mine.update(claimed_at=timezone.now()) < remaining:
                self.held = set(mine.values_list("id", flat=True))
        return self.held is None or delivery.pk in self.held


def _deliver_one(
    delivery: Delivery,
    *,
    school: School,
    contactable: bool,
    opt_outs: OptOuts,
    outbox: "_Outbox",
    now: datetime.datetime,
    later: list[tuple[int, datetime.datetime | None]],
) -> DeliveryOutcome:
    if not contactable:
        _still_held(delivery).update(status=DeliveryStatus.FAILED, claim=None, error=NO_LONGER_CONTACTABLE)
        return DeliveryOutcome.FAILED
    window_opens = family_window_opens(school, now, delivery.guardian.time_zone)
    if window_opens > now and not _ignores_quiet_hours(delivery.message):
        _still_held(delivery).update(
            status=DeliveryStatus.QUEUED, not_before=window_opens, claim=None, attempts=F("attempts") - 1
        )
        later.append((delivery.pk, window_opens))
        return DeliveryOutcome.HELD
    if not _channel_open(delivery, opt_outs):
        return _fall_back(delivery, opt_outs, error=_("The family opted out of this channel."), later=later)
    try:
        provider_id = outbox.send(delivery, school)
    except Exception as error:
        return _after_failure(delivery, error, now=now, school=school, opt_outs=opt_outs, later=later)
    _mark_sent(delivery, provider_id)
    return DeliveryOutcome.SENT


def _mark_sent(delivery: Delivery, provider_id: str) -> None:
    """Recorded the moment the provider took it, one statement per message, so that a worker lost mid-batch
    leaves at most the one message it was sending in doubt. The statement is written once: building the ORM's
    UPDATE costs four times as much as running it, and a school-wide notice runs it 10,000 times."""
    with connection.cursor() as cursor:
        cursor.execute(
            _MARK_SENT_SQL,
            [
                DeliveryStatus.SENT,
                models.DateTimeField().get_db_prep_value(timezone.now(), connection),
                provider_id,
                delivery.pk,
                models.UUIDField().get_db_prep_value(delivery.claim, connection),
                DeliveryStatus.SENDING,
            ],
        )


# The table's name is the model's own, never input.
_MARK_SENT_SQL = (
    f"UPDATE {Delivery._meta.db_table} SET status = %s, sent_at = %s, error = '', claim = NULL, "  # noqa: S608
    "provider_id = %s WHERE id = %s AND claim = %s AND status = %s"
)


def _still_held(delivery: Delivery) -> QuerySet[Delivery]:
    """The delivery, if this batch still holds it: a claim gone stale and taken by another worker is not ours."""
    return Delivery.objects.filter(id=delivery.pk, claim=delivery.claim, status=DeliveryStatus.SENDING)


def _is_essential(message: Message) -> bool:
    """What reaches an address that unsubscribed: an urgent notice, and the answer to a family's own message."""
    return message.is_urgent or message.kind == MessageKind.AUTO_REPLY


def _channel_open(delivery: Delivery, opt_outs: OptOuts) -> bool:
    """Whether the family has closed this channel since the delivery was planned (its preference was applied
    then: an automatic answer goes back the way the family wrote, whatever it prefers)."""
    guardian = delivery.guardian
    if delivery.channel == DeliveryChannel.SMS:
        return bool(guardian.phone) and guardian.phone not in opt_outs.phones
    if delivery.channel == DeliveryChannel.EMAIL:
        return bool(guardian.email) and (_is_essential(delivery.message) or guardian.email not in opt_outs.emails)
    return True


def _ignores_quiet_hours(message: Message) -> bool:
    """An urgent notice goes at once; so does an automatic reply, to a family that has just written."""
    return message.is_urgent or message.kind == MessageKind.AUTO_REPLY


def _still_contactable(deliveries: Sequence[Delivery]) -> set[int]:
    """The deliveries whose family the school may still contact about the children the message is about (any
    of its children, for what is about none: a school notice, an automatic reply), in two queries."""
    about = {delivery.interaction_id: delivery.pk for delivery in deliveries if delivery.interaction_id}
    allowed_interactions = InteractionStudent.objects.filter(
        interaction_id__in=list(about),
        student__guardian_links__guardian_id=F("interaction__guardian_id"),
        student__guardian_links__contact_allowed=True,
    ).values_list("interaction_id", flat=True)
    allowed = {about[interaction_id] for interaction_id in allowed_interactions}
    about_none = {delivery.guardian_id for delivery in deliveries if not delivery.interaction_id}
    if about_none:
        allowed_guardians = set(
            StudentGuardian.objects.filter(guardian_id__in=about_none, contact_allowed=True).values_list(
                "guardian_id", flat=True
            )
        )
        allowed |= {d.pk for d in deliveries if not d.interaction_id and d.guardian_id in allowed_guardians}
    return allowed


class _Outbox:
    """The batch's ways out: one mail server connection, opened on the first email and again after a failure."""

    def __init__(self) -> None:
        self._mail: BaseEmailBackend | None = None
        # Why the mail server could not be reached: the rest of the batch is retried later rather than each family's
        # copy waiting for its own connection to fail (a server that does not answer takes EMAIL_TIMEOUT each).
        self._mail_unreachable: Exception | None = None
        self._sms: SmsBackend | None = None
        self._rendered: dict[tuple[Any, ...], tuple[str, str]] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._close_mail()

    def send(self, delivery: Delivery, school: School) -> str:
        """Sends one delivery by its channel; returns the provider's id for it, if any."""
        if delivery.channel == DeliveryChannel.SMS:
            self._sms = self._sms or sms_backend()
            return self._sms.send(to=delivery.guardian.phone, body=text_message_for(delivery, school))
        if self._mail_unreachable is not None:
            raise self._mail_unreachable
        if self._mail is None:
            mail = get_connection(fail_silently=False)
            try:
                mail.open()
            except OSError as error:  # refused, timed out, hung up, TLS refused
                self._mail_unreachable = error
                raise
            self._mail = mail
        try:
            self._mail.send_messages([email_for(delivery, school, self._rendered)])
        except Exception:
            self._close_mail()  # a connection that failed once is not trusted with the next family's copy
            raise
        return ""

    def _close_mail(self) -> None:
        if self._mail is not None:
            with contextlib.suppress(Exception):
                self._mail.close()
            self._mail = None


def email_for(
    delivery: Delivery, school: School, rendered: dict[tuple[Any, ...], tuple[str, str]] | None = None
) -> EmailMultiAlternatives:
    """The family's copy as an email in its language: plain text and HTML, no tracking of any kind. `rendered`
    keeps the parts already written for a batch, to be reused for the families reading the same words."""
    context = _outgoing_context(delivery, school)
    text, html = _email_parts(delivery, context, {} if rendered is None else rendered)
    subject = context["subject"]
    headers = {"Content-Language": delivery.language, "Message-ID": _message_id(delivery)}
    if context["unsubscribe_url"]:
        # RFC 8058: mail programs show an "Unsubscribe" button that posts here without opening a page.
        headers["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if delivery.message.kind == MessageKind.AUTO_REPLY:
        headers["Auto-Submitted"] = "auto-replied"  # RFC 3834: no mail program answers it back
    email = _FamilyEmail(
        subject=subject, body=text, to=[delivery.guardian.email], reply_to=[_reply_to(delivery)], headers=headers
    )
    email.attach_alternative(html, "text/html")
    return email


class _FamilyEmail(EmailMultiAlternatives):
    # Read by django-anymail, which would otherwise leave tracking to the provider account's default.
    track_opens = False
    track_clicks = False

    def message(self, *args: Any, **kwargs: Any) -> Any:
        message = super().message(*args, **kwargs)
        # A random boundary of our own: left to draw one, the standard library compiles a regular expression per
        # email to check it against the text, a sixth of the time a school-wide notice spends on each family.
        message.set_boundary(f"=_homeroom_{uuid.uuid4().hex}")
        message.policy = quick_folding
        return message


# Stand-ins for each family's own links while the parts are written once for all who read the same words.
LINK_STAND_INS = {"read_url": "https://read.invalid/", "unsubscribe_url": "https://unsubscribe.invalid/"}


def _email_parts(
    delivery: Delivery, context: dict[str, Any], rendered: dict[tuple[Any, ...], tuple[str, str]]
) -> tuple[str, str]:
    """The text and HTML parts. The families of one message reading one language get the same words and differ
    only in their links: the parts are written once (two templates, a fifth of the time each family costs) and
    each family's links put in. The links need no escaping: signed tokens and numbers only."""
    links = {name: context[name] for name in LINK_STAND_INS if context[name]}
    key = (
        delivery.message_id,
        delivery.language,
        delivery.subject,
        delivery.body,
        delivery.machine_translated,
        bool(delivery.thread_id),
        tuple(links),
    )
    if key not in rendered:
        stand_in_context = {**context, **{name: LINK_STAND_INS[name] for name in links}}
        with translation.override(delivery.language):
            rendered[key] = (
                render_to_string("communication/email/message.txt", stand_in_context),
                render_to_string("communication/email/message.html", stand_in_context),
            )
    text, html = rendered[key]
    for name, link in links.items():
        text, html = text.replace(LINK_STAND_INS[name], link), html.replace(LINK_STAND_INS[name], link)
    return text, html


SMS_BODY_LENGTH = 320  # two or three texts; the rest is a tap away


def text_message_for(delivery: Delivery, school: School) -> str:
    context = {**_outgoing_context(delivery, school), "reply_code": shared_number_reply_code(delivery)}
    with translation.override(delivery.language):
        return render_to_string("communication/email/message_sms.txt", context).strip()


def _outgoing_context(delivery: Delivery, school: School) -> dict[str, Any]:
    message = delivery.message
    subject, body = delivery.subject, delivery.body
    if message.is_urgent:
        with translation.override(delivery.language):
            subject = _("Urgent: %(subject)s") % {"subject": subject}
    return {
        "delivery": delivery,
        "language": delivery.language,
        "subject": subject,
        "body": body,
        "short_body": body if len(body) <= SMS_BODY_LENGTH else body[: SMS_BODY_LENGTH - 1].rstrip() + "…",
        "original_subject": message.subject,
        "original_body": message.body,
        "sender": message.sender.full_name,
        "school": school.name,
        "office_phone": school.office_phone,
        "read_url": _read_url(delivery),
        "can_reply_by_email": bool(delivery.thread_id and settings.HOMEROOM_REPLY_DOMAIN),
        "unsubscribe_url": ""
        if message.is_urgent or message.kind == MessageKind.AUTO_REPLY
        else absolute_url(_path_with("communication:unsubscribe", unsubscribe_token(delivery.guardian.email))),
    }


def absolute_url(path: str) -> str:
    return settings.HOMEROOM_BASE_URL + path


def _read_url(delivery: Delivery) -> str:
    if delivery.thread_id:
        return absolute_url(_path_with("portal:conversation", str(delivery.thread_id)))
    return absolute_url(reverse("portal:home"))


PATH_ARGUMENT = "0000000000"


@lru_cache(maxsize=8)
def _path_pattern(name: str) -> str:
    return reverse(name, args=[PATH_ARGUMENT])


def _path_with(name: str, argument: str) -> str:
    """reverse(name, args=[argument]) for an argument that needs no quoting: reverse() walks the URL patterns
    every time, a tenth of what a school-wide notice costs per family."""
    return _path_pattern(name).replace(PATH_ARGUMENT, argument)


def _message_id(delivery: Delivery) -> str:
    """The delivery's own Message-ID, stored before it is first sent: every sending of it carries the same."""
    if delivery.email_id:
        return delivery.email_id
    domain = urlsplit(settings.HOMEROOM_BASE_URL).hostname or "homeroom.invalid"
    return f"<delivery-{delivery.pk}@{domain}>"


def reply_address(thread_id: int) -> str:
    """reply+ID-SIGNATURE@ the reply domain: the signature proves the address came from us, so a family's answer
    reaches its own conversation and nobody can write into another's by guessing a number."""
    signature = salted_hmac("homeroom.reply", str(thread_id)).hexdigest()[:20]
    return f"reply+{thread_id}-{signature}@{settings.HOMEROOM_REPLY_DOMAIN}"


def _reply_to(delivery: Delivery) -> str:
    if delivery.thread_id and settings.HOMEROOM_REPLY_DOMAIN:
        return reply_address(delivery.thread_id)
    return delivery.message.sender.email


def unsubscribe_token(email: str) -> str:
    return signing.dumps(email, salt="homeroom.unsubscribe", compress=True)


def is_temporary_failure(error: Exception) -> bool:
    """The provider's own answer where there is one (SMTP 4xx: try later; 5xx: never); a server that could not be
    reached or hung up is temporary. Anything else is a message that cannot be sent as it is."""
    if isinstance(error, SmsError):
        return error.temporary
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return any(400 <= code < 500 for code, _message in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(error, smtplib.SMTPServerDisconnected | OSError)


def _after_failure(
    delivery: Delivery,
    error: Exception,
    *,
    now: datetime.datetime,
    school: School,
    opt_outs: OptOuts,
    later: list[tuple[int, datetime.datetime | None]],
) -> DeliveryOutcome:
    """A permanent failure moves to the family's next channel, or fails. A temporary one is tried again with capped
    exponential back-off: by the next channel after a few tries when the family has one, else for the whole retry
    window. Past the window the sender is told it did not go, and `deliver_pending` still tries it now and then
    (every RETRY_MAX_SECONDS) for LATE_RETRY_DAYS from the first failure: a server back after the window delivers."""
    message = str(error)[:300] or error.__class__.__name__
    logger.warning("Delivery %s, try %s, failed: %s", delivery.pk, delivery.attempts, message)
    if not is_temporary_failure(error):
        return _fall_back(delivery, opt_outs, error=message, later=later)
    failing_since = delivery.failing_since or now
    window_ends = failing_since + datetime.timedelta(hours=settings.HOMEROOM_DELIVERY_RETRY_WINDOW_HOURS)
    tried_enough = delivery.attempts >= settings.HOMEROOM_DELIVERY_MAX_ATTEMPTS or now >= window_ends
    if tried_enough and _next_channel(delivery, opt_outs):
        return _fall_back(delivery, opt_outs, error=message, later=later)
    retry_at = now + retry_delay(
        attempts=delivery.attempts,
        base_seconds=settings.HOMEROOM_DELIVERY_RETRY_SECONDS,
        cap_seconds=settings.HOMEROOM_DELIVERY_RETRY_MAX_SECONDS,
    )
    if not _ignores_quiet_hours(delivery.message):
        retry_at = family_window_opens(school, retry_at, delivery.guardian.time_zone)
    held = _still_held(delivery)
    if now < window_ends:
        held.update(
            status=DeliveryStatus.QUEUED, not_before=retry_at, failing_since=failing_since, error=message, claim=None
        )
        later.append((delivery.pk, retry_at))
        return DeliveryOutcome.RETRYING
    late_retries_end = failing_since + datetime.timedelta(days=settings.HOMEROOM_DELIVERY_LATE_RETRY_DAYS)
    held.update(
        status=DeliveryStatus.FAILED,
        not_before=retry_at if retry_at < late_retries_end else None,
        failing_since=failing_since,
        error=message,
        claim=None,
    )
    return DeliveryOutcome.FAILED


def _next_channel(delivery: Delivery, opt_outs: OptOuts) -> str | None:
    """The family's next way to be reached, not tried yet for this delivery."""
    tried = {delivery.channel, delivery.fallback_from}
    usable = channels_for(delivery.guardian, opt_outs, essential=_is_essential(delivery.message))
    return next((channel for channel in usable if channel not in tried), None)


def _fall_back(
    delivery: Delivery, opt_outs: OptOuts, *, error: str, later: list[tuple[int, datetime.datetime | None]]
) -> DeliveryOutcome:
    """Moves a delivery its channel failed to the family's next one; with none left it has failed for good (and is
    still in the family's Homeroom inbox)."""
    pending = _still_held(delivery)
    channel = _next_channel(delivery, opt_outs)
    if channel is None:
        pending.update(status=DeliveryStatus.FAILED, error=error, claim=None, not_before=None)
        return DeliveryOutcome.FAILED
    pending.update(
        channel=channel,
        fallback_from=delivery.fallback_from or delivery.channel,
        status=DeliveryStatus.QUEUED,
        attempts=0,
        not_before=None,
        failing_since=None,
        claim=None,
        error=error,
    )
    if delivery.interaction_id:
        Interaction.objects.filter(pk=delivery.interaction_id).update(channel=CONTACT_CHANNEL_OF[channel])
    later.append((delivery.pk, None))
    return DeliveryOutcome.FELL_BACK


def deliver_pending(*, now: datetime.datetime | None = None) -> int:
    """Puts back in the queue what a lost worker held and what was given up after the retry window but is due for
    another try, and enqueues every delivery whose time has come (a retry's too): run it every few minutes, so that
    nothing queued is lost with a worker, a task queue or a long outage. Returns how many it enqueued; a delivery
    enqueued twice is still sent once."""
    now = now or timezone.now()
    stalled_since = now - datetime.timedelta(seconds=settings.HOMEROOM_DELIVERY_CLAIM_SECONDS)
    stalled = Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=stalled_since).update(
        status=DeliveryStatus.QUEUED, not_before=now, claim=None
    )
    if stalled:
        logger.warning("Put back %s deliveries held by a worker that stopped renewing its claim.", stalled)
    Delivery.objects.filter(status=DeliveryStatus.FAILED, failing_since__isnull=False, not_before__lte=now).update(
        status=DeliveryStatus.QUEUED
    )
    due = Delivery.objects.filter(status=DeliveryStatus.QUEUED).filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    )
    ids = list(due.order_by("id").values_list("id", flat=True))
    enqueue_batches((delivery_id, None) for delivery_id in ids)
    return len(ids)


# --- Messages and conversations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentMessage:
    message: Message
    families: int
    by_email: int
    by_text: int
    # When email and texts wait for families' quiet hours to end: the latest such moment, in the families' time.
    held_until: datetime.datetime | None


def check_message_text(*, subject: str, body: str) -> tuple[str, str]:
    """A subject is one line (a line break in it could forge mail headers); neither part empty or oversized."""
    subject, body = subject.strip(), body.strip()
    errors = {}
    if not subject:
        errors["subject"] = _("Write a subject.")
    elif len(subject) > SUBJECT_MAX_LENGTH:
        errors["subject"] = _("Keep the subject under %(limit)s characters.") % {"limit": SUBJECT_MAX_LENGTH}
    else:
        try:
            validate_one_line(subject)
        except ValidationError as error:
            errors["subject"] = error.messages[0]
    if not body:
        errors["body"] = _("Write a message.")
    elif len(body) > MESSAGE_MAX_LENGTH:
        errors["body"] = _("Keep the message under %(limit)s characters (it has %(length)s).") % {
            "limit": MESSAGE_MAX_LENGTH,
            "length": len(body),
        }
    if errors:
        raise ValidationError(errors)
    return subject, body


@transaction.atomic
def send_message(
    *,
    sender: User,
    subject: str,
    body: str,
    tone: str,
    section: Section | None = None,
    guardian_ids: Sequence[int] = (),
    now: datetime.datetime | None = None,
) -> SentMessage:
    """Writes to the families of a class, or to families chosen one by one, that the sender may contact: one
    copy per family in its conversation with the sender, logged as a contact in the message's tone. Email goes
    out in the background, in the families' waking hours; the in-app copy is there at once. All or nothing:
    every family gets it or none does."""
    subject, body = check_message_text(subject=subject, body=body)
    if tone not in Tone.values:
        raise ValidationError({"tone": _("Choose the tone of the message.")})
    if section is None and not guardian_ids:
        raise ValidationError(_("Choose a class or at least one family."))
    if section is not None and not sections_taught_by(sender).filter(pk=section.pk).exists():
        raise PermissionDenied
    now = now or timezone.now()
    recipients = families_in_care_of(sender=sender, section=section)
    if section is None:
        chosen = set(guardian_ids)
        recipients = [recipient for recipient in recipients if recipient.guardian.pk in chosen]
    if not recipients:
        raise ValidationError(_("None of these families may be contacted by you: nothing was sent."))
    translations = translations_of(
        subject=subject,
        body=body,
        source=sender.language or "en",
        languages=[r.guardian.preferred_language for r in recipients],
    )
    message = Message.objects.create(
        sender=sender, section=section, kind=MessageKind.NOTE, subject=subject, body=body, tone=tone
    )
    letters = [(recipient, words_for(message, recipient.guardian, translations)) for recipient in recipients]
    return _send_as_contacts(message, letters, summary=subject, now=now)


def _send_as_contacts(
    message: Message,
    letters: Sequence[tuple["Recipient", "Words"]],
    *,
    summary: str,
    moment: str = "",
    now: datetime.datetime,
) -> SentMessage:
    """Each family's copy of a message from a member of staff, in its conversation with them, logged as a contact
    about its children in the message's tone; email and texts go out in the background, in waking hours."""
    sender = message.sender
    recipients = [recipient for recipient, _words in letters]
    opt_outs = opt_outs_of(recipient.guardian for recipient in recipients)
    plan = [_plan_delivery(recipient, now, opt_outs=opt_outs) for recipient in recipients]
    interactions = Interaction.objects.bulk_create(
        [
            Interaction(
                guardian=recipient.guardian,
                logged_by=sender,
                channel=CONTACT_CHANNEL_OF[planned.channel],
                tone=message.tone,
                moment=moment,
                summary=summary,
                occurred_at=now,
                source=Source.SENT,
            )
            for recipient, planned in zip(recipients, plan, strict=True)
        ],
        batch_size=1000,
    )
    students = [student for recipient in recipients for student in recipient.students]
    InteractionStudent.objects.bulk_create(
        [
            InteractionStudent(interaction=interaction, student=student)
            for interaction, recipient in zip(interactions, recipients, strict=True)
            for student in recipient.students
        ],
        batch_size=1000,
    )
    threads = _threads_with(staff=sender, guardian_ids=[recipient.guardian.pk for recipient in recipients], now=now)
    Delivery.objects.bulk_create(
        [
            planned.delivery(
                message,
                recipient.guardian,
                words,
                interaction=interaction,
                thread=threads[recipient.guardian.pk],
                now=now,
            )
            for interaction, (recipient, words), planned in zip(interactions, letters, plan, strict=True)
        ],
        batch_size=1000,
    )
    _close_follow_ups(logged_by=sender, students=students, at=now)
    _recount_for_students(students, at=now)
    record_many(actor=sender, students=students, action=AuditAction.CHANGED, what=f"sent message {message.pk}")
    transaction.on_commit(lambda: _enqueue_deliveries(message.pk))
    return _sent(message, plan)


@dataclass(frozen=True)
class Words:
    """What one family reads, in which language: the sender's own words or a machine translation of them."""

    language: str
    subject: str
    body: str
    machine_translated: bool = False


def words_for(message: Message, guardian: Guardian, translations: dict[str, tuple[str, str]]) -> Words:
    language = guardian.preferred_language
    if language in translations:
        return Words(language, *translations[language], machine_translated=True)
    return Words(language, message.subject, message.body)


# --- Good news ------------------------------------------------------------------------------------------------

GOOD_NEWS_MAX_LENGTH = 500  # one sentence, said on the phone or read on one


def _check_good_news(moment: str, sentence: str) -> str:
    errors = {}
    if moment not in Moment.values:
        errors["moment"] = _("Choose what kind of good news it is.")
    sentence = " ".join(sentence.split())
    if not sentence:
        errors["sentence"] = _("Say what happened, in a sentence.")
    elif len(sentence) > GOOD_NEWS_MAX_LENGTH:
        errors["sentence"] = _("Keep it to a sentence: under %(limit)s characters.") % {"limit": GOOD_NEWS_MAX_LENGTH}
    if errors:
        raise ValidationError(errors)
    return sentence


def log_good_news_call(
    *,
    user: User,
    student: Student,
    guardian: Guardian,
    moment: str,
    sentence: str,
    now: datetime.datetime | None = None,
) -> Interaction:
    """The teacher called the family with good news: logged as a positive call about the child, with its kind."""
    sentence = _check_good_news(moment, sentence)
    return log_interaction(
        logged_by=user,
        students=[student],
        guardian=guardian,
        tone=Tone.POSITIVE,
        moment=moment,
        summary=sentence,
        channel=ContactChannel.CALL,
        occurred_at=now,
    )


@transaction.atomic
def send_good_news(
    *, user: User, student: Student, moment: str, sentence: str, now: datetime.datetime | None = None
) -> SentMessage:
    """Good news told to every family member the teacher may contact about the child, each in their language: the
    kind of moment in Homeroom's own translated words, then the teacher's sentence (machine-translated, and
    labelled so, where a translator is configured). Logged as a positive contact with each of them."""
    sentence = _check_good_news(moment, sentence)
    links = list(
        contactable_links_for(user)
        .filter(student=student)
        .select_related("guardian", "student__school")
        .order_by("-is_primary_contact", "guardian__last_name", "guardian__first_name", "guardian_id")
    )
    if not links:
        raise ValidationError(_("No family member of this child may be contacted by you: nothing was sent."))
    source = user.language or "en"
    with translation.override(source):
        subject, body = _good_news_words(student, moment, sentence)
    translations = translations_of(
        subject="", body=sentence, source=source, languages=[link.guardian.preferred_language for link in links]
    )
    message = Message.objects.create(
        sender=user, kind=MessageKind.GOOD_NEWS, subject=subject, body=body, tone=Tone.POSITIVE
    )
    letters = []
    for link in links:
        language = link.guardian.preferred_language
        translated = translations.get(language)
        with translation.override(language):
            words = Words(
                language,
                *_good_news_words(student, moment, translated[1] if translated else sentence),
                machine_translated=translated is not None,
            )
        letters.append((Recipient(link.guardian, [link.student]), words))
    return _send_as_contacts(message, letters, summary=sentence, moment=moment, now=now or timezone.now())


def _good_news_words(student: Student, moment: str, sentence: str) -> tuple[str, str]:
    child = student.preferred_name or student.first_name
    return _("Good news about %(child)s") % {"child": child}, f"{Moment(moment).sentence(child)}\n\n{sentence}"


@dataclass(frozen=True)
class PlannedDelivery:
    """How a family's copy will go out: its first channel and, in its quiet hours, when."""

    channel: str
    not_before: datetime.datetime | None
    time_zone: str

    def delivery(
        self,
        message: Message,
        guardian: Guardian,
        words: Words,
        *,
        interaction: Interaction | None,
        thread: Thread | None,
        now: datetime.datetime,
    ) -> Delivery:
        in_app = self.channel == DeliveryChannel.APP
        return Delivery(
            message=message,
            guardian=guardian,
            interaction=interaction,
            thread=thread,
            channel=self.channel,
            language=words.language,
            subject=words.subject,
            body=words.body,
            machine_translated=words.machine_translated,
            # The in-app copy is the family's portal: there as soon as it is saved.
            status=DeliveryStatus.SENT if in_app else DeliveryStatus.QUEUED,
            sent_at=now if in_app else None,
            not_before=self.not_before,
        )


@transaction.atomic
def send_notice(
    *,
    sender: User,
    school: School,
    subject: str,
    body: str,
    urgent: bool = False,
    now: datetime.datetime | None = None,
) -> SentMessage:
    """A school leader's notice to every family of the school, each in its language, by its own channel. An
    urgent one (a closure, an emergency) goes out in quiet hours too, reaches addresses that unsubscribed, and
    says it is urgent. Not a contact about any child: it is not in the communication log."""
    if not schools_led_by(sender).filter(pk=school.pk).exists():
        raise PermissionDenied
    subject, body = check_message_text(subject=subject, body=body)
    now = now or timezone.now()
    recipients = families_of_school(school)
    if not recipients:
        raise ValidationError(_("The school has no family it may contact: nothing was sent."))
    translations = translations_of(
        subject=subject,
        body=body,
        source=sender.language or "en",
        languages=[recipient.guardian.preferred_language for recipient in recipients],
    )
    message = Message.objects.create(
        sender=sender, kind=MessageKind.NOTICE, subject=subject, body=body, is_urgent=urgent
    )
    opt_outs = opt_outs_of(recipient.guardian for recipient in recipients)
    plan = [_plan_delivery(recipient, now, opt_outs=opt_outs, urgent=urgent) for recipient in recipients]
    Delivery.objects.bulk_create(
        [
            planned.delivery(
                message,
                recipient.guardian,
                words_for(message, recipient.guardian, translations),
                interaction=None,
                thread=None,
                now=now,
            )
            for recipient, planned in zip(recipients, plan, strict=True)
        ],
        batch_size=1000,
    )
    transaction.on_commit(lambda: _enqueue_deliveries(message.pk))
    return _sent(message, plan)


@transaction.atomic
def send_to_each_family(
    *,
    sender: User,
    kind: str,
    letters: Sequence[tuple[Recipient, Words]],
    section: Section | None = None,
    in_conversation: bool = False,
    now: datetime.datetime | None = None,
) -> SentMessage:
    """Homeroom's own message on a member of staff's behalf, in words of each family's own (a link that is
    theirs alone), by the family's channel, in its waking hours. Not a contact about the child: not in the log.
    `in_conversation` puts it in each family's conversation with the sender, so that an answer reaches them
    there. The caller has checked that the sender may write to these families."""
    now = now or timezone.now()
    message = Message.objects.create(sender=sender, section=section, kind=kind)
    opt_outs = opt_outs_of(recipient.guardian for recipient, _words in letters)
    plan = [_plan_delivery(recipient, now, opt_outs=opt_outs) for recipient, _words in letters]
    guardian_ids = [recipient.guardian.pk for recipient, _words in letters]
    threads = _threads_with(staff=sender, guardian_ids=guardian_ids, now=now) if in_conversation else {}
    Delivery.objects.bulk_create(
        [
            planned.delivery(
                message,
                recipient.guardian,
                words,
                interaction=None,
                thread=threads.get(recipient.guardian.pk),
                now=now,
            )
            for (recipient, words), planned in zip(letters, plan, strict=True)
        ]
    )
    transaction.on_commit(lambda: _enqueue_deliveries(message.pk))
    return _sent(message, plan)


def _plan_delivery(
    recipient: Recipient, now: datetime.datetime, *, opt_outs: OptOuts | None = None, urgent: bool = False
) -> PlannedDelivery:
    guardian = recipient.guardian
    channels = channels_for(guardian, opt_outs or OptOuts(), essential=urgent)
    if not channels:
        return PlannedDelivery(DeliveryChannel.APP, None, guardian.time_zone)
    school = recipient.students[0].school
    return PlannedDelivery(
        channels[0], None if urgent else held_until(school, guardian.time_zone, now), guardian.time_zone
    )


def _sent(message: Message, plan: Sequence[PlannedDelivery]) -> SentMessage:
    held = [
        planned.not_before.astimezone(zoneinfo.ZoneInfo(planned.time_zone))
        for planned in plan
        if planned.not_before is not None
    ]
    return SentMessage(
        message=message,
        families=len(plan),
        by_email=sum(planned.channel == DeliveryChannel.EMAIL for planned in plan),
        by_text=sum(planned.channel == DeliveryChannel.SMS for planned in plan),
        held_until=max(held, key=lambda moment: moment.replace(tzinfo=None), default=None),
    )


def _threads_with(*, staff: User, guardian_ids: list[int], now: datetime.datetime) -> dict[int, Thread]:
    """Each family's conversation with this member of staff, started where there is none, now its latest."""
    existing = Thread.objects.filter(staff=staff, guardian_id__in=guardian_ids)
    known = set(existing.values_list("guardian_id", flat=True))
    Thread.objects.bulk_create(
        [
            Thread(staff=staff, guardian_id=guardian_id, last_message_at=now)
            for guardian_id in guardian_ids
            if guardian_id not in known
        ],
        batch_size=1000,
        ignore_conflicts=True,  # a second message sent at the same moment started it first
    )
    existing.update(last_message_at=now)
    return {thread.guardian_id: thread for thread in existing}


def _recount_for_students(students: Sequence[Student], *, at: datetime.datetime) -> None:
    by_school: dict[int, list[Student]] = {}
    for student in students:
        by_school.setdefault(student.school_id, []).append(student)
    for school_students in by_school.values():
        term = term_on(school_students[0].school, at)
        if term is not None:  # a contact in the holidays belongs to no term's counts
            recount_contact_summaries(term=term, students=[s.pk for s in school_students])


@transaction.atomic
def reply_from_family(
    *, user: User, thread: Thread, body: str, channel: str = DeliveryChannel.APP, now: datetime.datetime | None = None
) -> Reply:
    """A family member's answer, written in the portal, in their own conversation."""
    if thread.guardian.user_id != user.pk:
        raise PermissionDenied
    return receive_reply(thread=thread, body=body, channel=channel, now=now)


@transaction.atomic
def receive_reply(
    *,
    thread: Thread,
    body: str,
    channel: str,
    external_id: str = "",
    attachments: Sequence[dict[str, Any]] = (),
    now: datetime.datetime | None = None,
) -> Reply:
    """A family's answer in its conversation with a member of staff, from the portal, an email or a text, logged
    as a contact from the family about the children that person has in their care. Outside the person's office
    hours the family is told when they will answer, and the person hears of it when those hours begin. The same
    email or text received twice (a provider retrying) is kept once."""
    if external_id and (known := Reply.objects.filter(external_id=external_id).first()):
        return known
    _subject, body = check_message_text(subject="-", body=body)
    students = thread_students(thread=thread)
    if not students:
        raise ValidationError(
            _("%(name)s no longer teaches your children: please write to the school office.")
            % {"name": thread.staff.full_name}
        )
    now = now or timezone.now()
    interaction = Interaction.objects.create(
        guardian=thread.guardian,
        logged_by=thread.staff,
        channel=CONTACT_CHANNEL_OF[channel],
        direction=Direction.FROM_FAMILY,
        tone=Tone.NEUTRAL,
        summary=body[:2000],
        occurred_at=now,
        source=Source.RECEIVED,
    )
    InteractionStudent.objects.bulk_create(InteractionStudent(interaction=interaction, student=s) for s in students)
    _recount_for_students(students, at=now)
    # A family without a sign-in account acts through the conversation; the audit names its member of staff.
    actor = thread.guardian.user or thread.staff
    what = f"reply by {channel} in conversation {thread.pk}"
    record_many(actor=actor, students=students, action=AuditAction.CHANGED, what=what)
    Thread.objects.filter(pk=thread.pk).update(last_message_at=now)
    opening = office_hours_opening(OfficeHours.objects.filter(staff_id=thread.staff_id).first(), now)
    reply = Reply.objects.create(
        thread=thread,
        interaction=interaction,
        body=body,
        channel=channel,
        received_at=now,
        notify_at=opening or now,
        external_id=external_id,
        attachments=list(attachments),
    )
    if opening is not None:
        _answer_outside_office_hours(thread, channel=channel, opening=opening, school=students[0].school, now=now)
    return reply


AUTO_REPLY_QUIET_PERIOD = datetime.timedelta(hours=12)  # one automatic answer per evening, not one per message


def _answer_outside_office_hours(
    thread: Thread, *, channel: str, opening: datetime.datetime, school: School, now: datetime.datetime
) -> None:
    """Tells the family, in its language and by the way it wrote, when the member of staff will answer and whom
    to call meanwhile."""
    if thread.deliveries.filter(
        message__kind=MessageKind.AUTO_REPLY, message__created_at__gte=now - AUTO_REPLY_QUIET_PERIOD
    ).exists():
        return
    staff, guardian = thread.staff, thread.guardian
    hours = staff.office_hours
    language = guardian.preferred_language
    with translation.override(language):
        subject = _("Automatic reply: %(name)s will answer soon") % {"name": staff.full_name}
        body = office_hours_answer(
            hours=hours, staff=staff, opening=opening, family_zone=guardian.time_zone, school=school
        )
    message = Message.objects.create(sender=staff, kind=MessageKind.AUTO_REPLY, subject=subject, body=body)
    outside = channel != DeliveryChannel.APP
    Delivery.objects.create(
        message=message,
        guardian=guardian,
        thread=thread,
        channel=channel,
        language=language,
        subject=subject,
        body=body,
        status=DeliveryStatus.QUEUED if outside else DeliveryStatus.SENT,
        sent_at=None if outside else now,
    )
    if outside:
        transaction.on_commit(lambda: _enqueue_deliveries(message.pk))


def office_hours_answer(
    *, hours: OfficeHours, staff: User, opening: datetime.datetime, family_zone: str, school: School
) -> str:
    """The automatic answer, in the active language: when the person reads messages and when they will answer
    (in the family's time), and the school office for what cannot wait."""
    days = office_days(hours)
    answer_at = opening.astimezone(zoneinfo.ZoneInfo(family_zone))
    text = _(
        "Thank you for your message. %(name)s reads messages on %(days)s, %(opens)s to %(closes)s, and will "
        "answer after %(time)s on %(day)s (your time)."
    ) % {
        "name": staff.full_name,
        "days": days,
        "opens": hours.opens_at.strftime("%H:%M"),
        "closes": hours.closes_at.strftime("%H:%M"),
        "time": date_format(answer_at, "G:i"),
        "day": date_format(answer_at, "l j F"),
    }
    if school.office_phone:
        text += " " + _("For anything urgent, call the school office at %(phone)s.") % {"phone": school.office_phone}
    else:
        text += " " + _("For anything urgent, call %(school)s's office.") % {"school": school.name}
    return text


def set_office_hours(
    *, staff: User, weekdays: str, opens_at: datetime.time, closes_at: datetime.time, time_zone: str
) -> OfficeHours:
    if not weekdays or opens_at >= closes_at:
        raise ValidationError(_("Choose at least one day, and a start before the end."))
    hours, _created = OfficeHours.objects.update_or_create(
        staff=staff,
        defaults={"weekdays": weekdays, "opens_at": opens_at, "closes_at": closes_at, "time_zone": time_zone},
    )
    return hours


def clear_office_hours(*, staff: User) -> None:
    OfficeHours.objects.filter(staff=staff).delete()


# --- What families send back by email and text --------------------------------------------------------------------

REPLY_ADDRESS = re.compile(r"^reply\+(\d+)-([0-9a-f]{20})@", re.IGNORECASE)


def thread_of_reply_address(addresses: Iterable[str]) -> Thread | None:
    """The conversation a reply+ID-SIGNATURE address stands for, when its signature is ours."""
    for address in addresses:
        if (match := REPLY_ADDRESS.match(address)) is None:
            continue
        thread_id = int(match.group(1))
        if constant_time_compare(reply_address(thread_id).split("@")[0].lower(), address.split("@")[0].lower()):
            return Thread.objects.select_related("guardian", "staff").filter(pk=thread_id).first()
    return None


class EmailReplyOutcome(StrEnum):
    RECEIVED = "received"
    AUTOMATIC = "automatic"  # an auto-reply or a bounce: never answered, to keep mail from looping
    UNKNOWN_CONVERSATION = "unknown conversation"
    # From another address than the family's: not trusted with its thread, it waits for staff to say whose it is.
    NOT_THE_FAMILY = "not the family"
    WAITING = "waiting for staff"  # the conversation is closed to the family member: staff see it, it enters none
    REFUSED = "refused"  # empty, oversized, or the teacher no longer teaches the children


def receive_email_reply(raw: bytes, *, now: datetime.datetime | None = None) -> EmailReplyOutcome:
    """A family's emailed answer, from the mail server's hook or a mailbox, into its conversation. Raises
    InboundEmailError for what is not an email at all."""
    email = read_email(raw)
    if email.auto_submitted:
        return EmailReplyOutcome.AUTOMATIC
    thread = thread_of_reply_address(email.recipients)
    if thread is None:
        return EmailReplyOutcome.UNKNOWN_CONVERSATION
    if email.sender != thread.guardian.email.lower():
        # Anyone can write to an address they have seen: staff who know the family decide whose it is.
        logger.warning("Reply to conversation %s from another address than the family's: queued", thread.pk)
        return _queue_email(email, thread=thread, reason=UnroutedReason.OTHER_SENDER, now=now)
    if is_closed_to_family(thread):
        return _queue_email(email, thread=thread, reason=UnroutedReason.CLOSED, now=now)
    try:
        receive_reply(
            thread=thread,
            body=_email_reply_text(email),
            channel=DeliveryChannel.EMAIL,
            external_id=email.message_id[:200],
            attachments=[attachment.as_json() for attachment in email.attachments],
            now=now,
        )
    except ValidationError as error:
        logger.warning("Reply to conversation %s refused: %s", thread.pk, error.messages)
        return EmailReplyOutcome.REFUSED
    return EmailReplyOutcome.RECEIVED


def _queue_email(
    email: InboundEmail, *, thread: Thread, reason: str, now: datetime.datetime | None
) -> EmailReplyOutcome:
    try:
        queue_unrouted_reply(
            channel=DeliveryChannel.EMAIL,
            sender=email.sender,
            subject=email.subject,
            body=_email_reply_text(email),
            reason=reason,
            candidates=[thread],
            attachments=[attachment.as_json() for attachment in email.attachments],
            external_id=email.message_id[:200],
            now=now,
        )
    except ValidationError as error:
        logger.warning("Reply to conversation %s refused: %s", thread.pk, error.messages)
        return EmailReplyOutcome.REFUSED
    return EmailReplyOutcome.NOT_THE_FAMILY if reason == UnroutedReason.OTHER_SENDER else EmailReplyOutcome.WAITING


def _email_reply_text(email: InboundEmail) -> str:
    """What the family wrote; a photo sent with no words still reaches the conversation, named below it."""
    if email.text.strip() or not email.attachments:
        return email.text
    return _("(No text: only attachments.)")


def receive_text_message(*, phone: str, body: str, message_sid: str = "", now: datetime.datetime | None = None) -> str:
    """A text a family sent back: STOP, START and HELP (and their usual synonyms, Spanish ones too) are answered
    at once; anything else is a reply in the conversation it answers (route_text_reply), or waits for staff when
    that cannot be told. Returns the answer to text back, in the family's language, or "" for none."""
    now = now or timezone.now()
    phone, body = without_control_characters(phone), without_control_characters(body)
    message_sid = without_control_characters(message_sid)
    guardians = list(Guardian.objects.filter(phone=phone).order_by("id"))
    language = guardians[0].preferred_language if guardians else "en"
    school = schools_of_guardians([guardians[0].pk]).get(guardians[0].pk) if guardians else None
    school_name = school.name if school else "Homeroom"
    keyword = keyword_of(body)
    with translation.override(language):
        if keyword == Keyword.STOP:
            PhoneOptOut.objects.get_or_create(phone=phone, defaults={"opted_out_at": now})
            return _("%(school)s: you will get no more texts from Homeroom. Reply START to get them again.") % {
                "school": school_name
            }
        if keyword == Keyword.START:
            PhoneOptOut.objects.filter(phone=phone).delete()
            return _("%(school)s: you will get texts from Homeroom again. Reply STOP to stop them.") % {
                "school": school_name
            }
        if keyword == Keyword.HELP:
            office = school.office_phone if school and school.office_phone else ""
            return (
                _("%(school)s messages through Homeroom. Call the office at %(phone)s. Reply STOP to stop texts.")
                if office
                else _("%(school)s messages through Homeroom. Reply STOP to stop texts.")
            ) % {"school": school_name, "phone": office}
        if message_sid and _received_before(message_sid):
            return ""  # Twilio sending the same text again
        route = route_text_reply(guardians=guardians, body=body)
        if route.thread is None and not route.candidates:
            return _("%(school)s: this number cannot take replies. Please write in Homeroom: %(url)s") % {
                "school": school_name,
                "url": absolute_url(reverse("portal:home")),
            }
        try:
            if route.thread is None:
                queue_unrouted_reply(
                    channel=DeliveryChannel.SMS,
                    sender=phone,
                    body=body,
                    reason=route.reason,
                    candidates=route.candidates,
                    external_id=message_sid,
                    now=now,
                )
                if route.reason != UnroutedReason.SHARED_NUMBER:
                    return _("%(school)s: thank you, your message reached the school.") % {"school": school_name}
                return _(
                    "%(school)s: thank you, your message reached the school. Several families share this number: "
                    "to reach the right teacher at once, start your text with the code (#1234) from their message."
                ) % {"school": school_name}
            receive_reply(
                thread=route.thread, body=route.body, channel=DeliveryChannel.SMS, external_id=message_sid, now=now
            )
        except ValidationError as error:
            return " ".join(error.messages)
    return ""


# --- Which conversation a text answers; the "who is this?" queue -------------------------------------------------

# Texts to one number from several families' conversations this close together: nobody can tell which one a reply
# answers, so it waits for staff. Further apart, the reply answers the latest (the short code settles it either way).
SHARED_NUMBER_AMBIGUOUS_WITHIN = datetime.timedelta(hours=24)
_REPLY_CODE = re.compile(r"^\s*#?\s*(\d{4})\b[\s:.,;-]*|(?:^|\s)#\s?(\d{4})\b")


def reply_code(thread_id: int) -> str:
    """The four digits a family sharing its number with another puts in a text to say which conversation it
    answers. Only compared with the conversations of the number that texted, so four digits are enough."""
    return f"{int(salted_hmac('homeroom.text-reply', str(thread_id)).hexdigest()[:8], 16) % 10000:04d}"


def shared_number_reply_code(delivery: Delivery) -> str:
    """The reply code a text carries when its number is another family member's too; "" when it is nobody else's."""
    phone = delivery.guardian.phone
    if not delivery.thread_id or not phone:
        return ""
    shared = Guardian.objects.filter(phone=phone).exclude(pk=delivery.guardian_id).exists()
    return reply_code(delivery.thread_id) if shared else ""


@dataclass(frozen=True)
class TextRoute:
    """Where a text goes: `thread`, with `body` (its reply code taken out); or, with no thread, the queue, with
    the conversations it may answer and why it waits."""

    thread: Thread | None
    body: str
    candidates: list[Thread]
    reason: str = ""


def route_text_reply(*, guardians: Sequence[Guardian], body: str) -> TextRoute:
    """The conversation a text from these family members' number answers: the one its reply code names, else the
    one the last text to the number came from. Queued when texts from several families' conversations came close
    together, or no text went to the number and it has more than one family's; and when the conversation answered
    is closed to the family member (a custody order or the school): a reply never enters it."""
    threads = list(
        Thread.objects.filter(guardian__in=guardians).select_related("guardian", "staff").order_by("-last_message_at")
    )
    if not threads:
        return TextRoute(None, body, [])
    for match in _REPLY_CODE.finditer(body):  # "1530 works" starts with digits that are no code: try the next
        code = match.group(1) or match.group(2)
        named = [thread for thread in threads if reply_code(thread.pk) == code]
        if len(named) == 1:
            rest = (body[: match.start()] + " " + body[match.end() :]).strip()
            return _open_or_queued(named[0], body=rest or body, candidates=threads)
    texts = Delivery.objects.filter(
        thread__in=threads,
        channel=DeliveryChannel.SMS,
        status__in=[DeliveryStatus.SENT, DeliveryStatus.DELIVERED],
        sent_at__isnull=False,
    )
    latest = texts.order_by("-sent_at", "-id").first()
    if latest is None:
        if len({thread.guardian_id for thread in threads}) > 1:
            return TextRoute(None, body, threads, UnroutedReason.SHARED_NUMBER)
        return _open_or_queued(threads[0], body=body, candidates=threads)
    latest_at = latest.sent_at or timezone.now()  # never None: the query asked for sent texts
    since = latest_at - SHARED_NUMBER_AMBIGUOUS_WITHIN
    # A text the number sent back in between answered what came before it: only what came after is in question.
    answered = Reply.objects.filter(thread__in=threads, channel=DeliveryChannel.SMS, received_at__lte=latest_at)
    last_answer = answered.aggregate(at=Max("received_at"))["at"]
    if last_answer is not None and last_answer > since:
        since = last_answer
    recent = set(texts.filter(sent_at__gte=since).values_list("thread_id", flat=True))
    by_id = {thread.pk: thread for thread in threads}
    if len({by_id[thread_id].guardian_id for thread_id in recent}) > 1:
        return TextRoute(None, body, [by_id[thread_id] for thread_id in sorted(recent)], UnroutedReason.SHARED_NUMBER)
    return _open_or_queued(by_id[latest.thread_id or 0], body=body, candidates=threads)


def _open_or_queued(thread: Thread, *, body: str, candidates: list[Thread]) -> TextRoute:
    if is_closed_to_family(thread):
        return TextRoute(None, body, candidates, UnroutedReason.CLOSED)
    return TextRoute(thread, body, candidates)


def _received_before(external_id: str) -> bool:
    return (
        Reply.objects.filter(external_id=external_id).exists()
        or UnroutedReply.objects.filter(external_id=external_id).exists()
    )


@transaction.atomic
def queue_unrouted_reply(
    *,
    channel: str,
    sender: str,
    body: str,
    reason: str,
    candidates: Sequence[Thread],
    subject: str = "",
    attachments: Sequence[dict[str, Any]] = (),
    external_id: str = "",
    now: datetime.datetime | None = None,
) -> UnroutedReply:
    """A reply Homeroom could not place, kept for staff who see one of the children of the conversations it may
    answer. The same email or text received twice is queued once."""
    if external_id and (known := UnroutedReply.objects.filter(external_id=external_id).first()):
        return known
    _subject, body = check_message_text(subject="-", body=body)
    unrouted = UnroutedReply(
        channel=channel,
        sender=sender[:254],
        subject=" ".join(subject.split())[:SUBJECT_MAX_LENGTH],
        body=body,
        attachments=list(attachments),
        reason=reason,
        received_at=now or timezone.now(),
        external_id=external_id[:200],
    )
    unrouted.full_clean()
    unrouted.save()
    unrouted.candidates.set(candidates)
    guardian_ids = {thread.guardian_id for thread in candidates}
    unrouted.students.set(
        Student.objects.filter(guardian_links__guardian_id__in=guardian_ids, is_active=True).distinct()
    )
    return unrouted


@transaction.atomic
def place_unrouted_reply(*, staff: User, unrouted: UnroutedReply, thread: Thread, request: Any = None) -> Reply:
    """A member of staff puts a waiting reply in the conversation it answers: from then on it is that
    conversation's reply, logged as a contact from the family. Only a conversation it may answer, open to the
    family and about a child this person sees, and only once."""
    locked = UnroutedReply.objects.select_for_update().filter(pk=unrouted.pk, handled_at__isnull=True).first()
    if locked is None or not unrouted_replies_visible_to(staff).filter(pk=unrouted.pk).exists():
        raise PermissionDenied
    if thread.pk not in {choice.thread.pk for choice in placements_for(staff=staff, unrouted=locked)}:
        raise PermissionDenied
    now = timezone.now()
    reply = receive_reply(
        thread=thread,
        body=locked.body,
        channel=locked.channel,
        external_id=locked.external_id,
        attachments=locked.attachments,
        now=locked.received_at,
    )
    UnroutedReply.objects.filter(pk=locked.pk).update(handled_at=now, handled_by=staff, reply=reply)
    record_many(
        actor=staff,
        students=thread_students(thread=thread),
        action=AuditAction.CHANGED,
        what=f"placed a waiting {locked.channel} reply in conversation {thread.pk}",
        request=request,
    )
    return reply


@transaction.atomic
def set_aside_unrouted_reply(*, staff: User, unrouted: UnroutedReply, request: Any = None) -> None:
    """A waiting reply that answers none of the conversations (a wrong number, spam): kept, but no longer waiting."""
    visible = unrouted_replies_visible_to(staff).filter(pk=unrouted.pk)
    waiting = UnroutedReply.objects.filter(pk__in=visible.values("pk"))
    if not waiting.update(handled_at=timezone.now(), handled_by=staff):
        raise PermissionDenied
    record_many(
        actor=staff,
        students=unrouted.students.filter(pk__in=staff_students_visible_to(staff)),
        action=AuditAction.CHANGED,
        what=f"set aside waiting reply {unrouted.pk}",
        request=request,
    )


def record_text_status(*, provider_id: str, status: str, error_code: str = "") -> None:
    """The SMS provider's report on a text: delivered, or it did not arrive and the next channel takes over."""
    delivery = (
        Delivery.objects.filter(provider_id=provider_id, channel=DeliveryChannel.SMS)
        .select_related("guardian", "message")
        .first()
    )
    if delivery is None:
        return
    if status == "delivered":
        Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENT).update(status=DeliveryStatus.DELIVERED)
    elif status in ("undelivered", "failed"):
        claim = uuid.uuid4()
        claimed = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENT).update(
            status=DeliveryStatus.SENDING, claim=claim
        )
        if claimed:
            delivery.claim = claim
            error = _("The text did not arrive (provider code %(code)s).") % {"code": error_code or "?"}
            later: list[tuple[int, datetime.datetime | None]] = []
            _fall_back(delivery, opt_outs_of([delivery.guardian]), error=error, later=later)
            enqueue_batches(later)


def unsubscribe_email(*, email: str, now: datetime.datetime | None = None) -> None:
    EmailOptOut.objects.get_or_create(email=email.lower(), defaults={"opted_out_at": now or timezone.now()})


def resubscribe_email(*, email: str) -> None:
    EmailOptOut.objects.filter(email=email.lower()).delete()


def email_of_unsubscribe_token(token: str) -> str | None:
    try:
        return str(signing.loads(token, salt="homeroom.unsubscribe"))
    except signing.BadSignature:
        return None


def mark_read_by_staff(*, thread: Thread, now: datetime.datetime | None = None) -> int:
    return thread.replies.filter(read_at__isnull=True).update(read_at=now or timezone.now())


def mark_read_by_family(*, thread: Thread, now: datetime.datetime | None = None) -> int:
    return thread.deliveries.filter(read_at__isnull=True).update(read_at=now or timezone.now())


# --- Tasks: beside the services they run, so that nothing imports back (communication.tasks keeps the old path) ---


@task()
def deliver_batch_task(delivery_ids: list[int]) -> dict[str, int]:
    """Sends a batch of deliveries; returns how many ended which way, for the task's result."""
    outcomes = deliver_batch(delivery_ids=delivery_ids)
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome.value] = counts.get(outcome.value, 0) + 1
    return counts
