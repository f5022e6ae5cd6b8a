"""A family's conversation with a member of staff: its replies (from the portal, an email, a text) logged as contacts,
office hours and the automatic answer outside them, which conversation a text answers, and the "who is this?"
queue for what cannot be told. Registered with delivery as the receiver of what families send back."""

import datetime
import logging
import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import User
from audit.models import AuditAction
from audit.services import record_many
from communication.models import (
    Direction,
    Interaction,
    InteractionStudent,
    OfficeHours,
    Reply,
    Source,
    Tone,
    UnroutedReason,
    UnroutedReply,
)
from communication.selectors import (
    is_closed_to_family,
    office_days,
    office_hours_opening,
    placements_for,
    thread_students,
    unrouted_replies_visible_to,
)
from communication.services import CONTACT_CHANNEL_OF, recount_for_students
from delivery import receivers
from delivery.compose import absolute_url, reply_code
from delivery.inbound import InboundEmail
from delivery.models import SUBJECT_MAX_LENGTH, Delivery, DeliveryChannel, DeliveryStatus, Message, MessageKind, Thread
from delivery.outbox import enqueue_message
from delivery.receivers import EmailReplyOutcome
from delivery.services import check_message_text
from roster.access import staff_students_visible_to
from roster.models import Guardian, School, Student

logger = logging.getLogger(__name__)


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
    recount_for_students(students, at=now)
    # A family without a sign-in account acts through the conversation; the audit names its member of staff.
    actor = thread.guardian.user or thread.staff
    what = f"reply by {channel} in conversation {thread.pk}"
    record_many(actor=actor, students=students, action=AuditAction.CHANGED, what=what)
    Thread.objects.filter(pk=thread.pk).update(last_message_at=now, last_personal_at=now)
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
        transaction.on_commit(lambda: enqueue_message(message.pk))


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


# Texts to one number from several families' conversations this close together: nobody can tell which one a reply
# answers, so it waits for staff. Further apart, the reply answers the latest (the short code settles it either way).
SHARED_NUMBER_AMBIGUOUS_WITHIN = datetime.timedelta(hours=24)


_REPLY_CODE = re.compile(r"^\s*#?\s*(\d{4})\b[\s:.,;-]*|(?:^|\s)#\s?(\d{4})\b")


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


def mark_read_by_staff(*, thread: Thread, now: datetime.datetime | None = None) -> int:
    return thread.replies.filter(read_at__isnull=True).update(read_at=now or timezone.now())


class Conversations(receivers.Receiver):
    """What delivery hands up, registered in CommunicationConfig.ready(): what each copy is about (the children
    its logged contact names), a channel change (the contact follows), and what families send back."""

    def students_about(self, deliveries: Sequence[Delivery]) -> dict[int, set[int]]:
        about: dict[int, set[int]] = {}
        rows = InteractionStudent.objects.filter(interaction__delivery__in=[delivery.pk for delivery in deliveries])
        for delivery_id, student_id in rows.values_list("interaction__delivery_id", "student_id"):
            about.setdefault(delivery_id, set()).add(student_id)
        return about

    def channel_changed(self, delivery: Delivery, channel: str) -> None:
        Interaction.objects.filter(delivery=delivery).update(channel=CONTACT_CHANNEL_OF[channel])

    def email_reply(self, email: InboundEmail, *, thread: Thread, now: datetime.datetime | None) -> EmailReplyOutcome:
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

    def text_reply(
        self,
        *,
        phone: str,
        guardians: Sequence[Guardian],
        body: str,
        message_sid: str,
        school_name: str,
        now: datetime.datetime,
    ) -> str:
        """A text into the conversation it answers (route_text_reply), or the queue when that cannot be told."""
        if message_sid and _received_before(message_sid):
            return ""  # the provider sending the same text again
        route = route_text_reply(guardians=guardians, body=body)
        if route.thread is None and not route.candidates:
            return _("%(school)s: this number cannot take replies. Please write in Homeroom: %(url)s") % {
                "school": school_name,
                "url": absolute_url(reverse("portal:home")),
            }
        try:
            if route.thread is not None:
                receive_reply(
                    thread=route.thread, body=route.body, channel=DeliveryChannel.SMS, external_id=message_sid, now=now
                )
                return ""
            queue_unrouted_reply(
                channel=DeliveryChannel.SMS,
                sender=phone,
                body=body,
                reason=route.reason,
                candidates=route.candidates,
                external_id=message_sid,
                now=now,
            )
        except ValidationError as error:
            return " ".join(error.messages)
        if route.reason != UnroutedReason.SHARED_NUMBER:
            return _("%(school)s: thank you, your message reached the school.") % {"school": school_name}
        return _(
            "%(school)s: thank you, your message reached the school. Several families share this number: "
            "to reach the right teacher at once, start your text with the code (#1234) from their message."
        ) % {"school": school_name}
