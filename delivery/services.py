"""What the apps above hand delivery: a message for people, each family's words, planned by channel and waking hours;
and what comes back (an email, a text), parsed here and handed up to the app that registered for it."""

import datetime
import logging
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from delivery import receivers
from delivery.compose import thread_of_reply_address
from delivery.inbound import read_email, without_control_characters
from delivery.models import (
    MESSAGE_MAX_LENGTH,
    SUBJECT_MAX_LENGTH,
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    EmailOptOut,
    Message,
    PhoneOptOut,
    Thread,
    validate_one_line,
)
from delivery.outbox import enqueue_message
from delivery.receivers import EmailReplyOutcome
from delivery.selectors import OptOuts, Recipient, channels_for, held_until, opt_outs_of, schools_of_guardians
from delivery.sms import Keyword, keyword_of
from roster.models import Guardian, Section

logger = logging.getLogger(__name__)


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
        thread: Thread | None,
        now: datetime.datetime,
    ) -> Delivery:
        in_app = self.channel == DeliveryChannel.APP
        return Delivery(
            message=message,
            guardian=guardian,
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


def plan_delivery(
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


def sent_summary(message: Message, plan: Sequence[PlannedDelivery]) -> SentMessage:
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


def threads_with(*, staff: User, guardian_ids: list[int], now: datetime.datetime, personal: bool) -> dict[int, Thread]:
    """Each family's conversation with this member of staff, started where there is none, now its latest. A
    `personal` message (to this one family) also brings it up the member of staff's list."""
    existing = Thread.objects.filter(staff=staff, guardian_id__in=guardian_ids)
    known = set(existing.values_list("guardian_id", flat=True))
    personal_at = now if personal else None
    Thread.objects.bulk_create(
        [
            Thread(staff=staff, guardian_id=guardian_id, last_message_at=now, last_personal_at=personal_at)
            for guardian_id in guardian_ids
            if guardian_id not in known
        ],
        batch_size=1000,
        ignore_conflicts=True,  # a second message sent at the same moment started it first
    )
    existing.update(last_message_at=now, **({"last_personal_at": now} if personal else {}))
    return {thread.guardian_id: thread for thread in existing}


def write_copies(
    message: Message,
    letters: Sequence[tuple[Recipient, Words]],
    plan: Sequence[PlannedDelivery],
    *,
    threads: dict[int, Thread],
    now: datetime.datetime,
) -> list[Delivery]:
    """Each family's copy of a message, in its words and by its planned channel, in its conversation where
    `threads` has one: the in-app copy is there at once, email and texts are queued when the transaction commits.
    Returned in the order of `letters`, saved."""
    deliveries = Delivery.objects.bulk_create(
        [
            planned.delivery(message, recipient.guardian, words, thread=threads.get(recipient.guardian.pk), now=now)
            for (recipient, words), planned in zip(letters, plan, strict=True)
        ],
        batch_size=1000,
    )
    transaction.on_commit(lambda: enqueue_message(message.pk))
    return deliveries


@transaction.atomic
def send_to_each_family(
    *,
    sender: User,
    kind: str,
    letters: Sequence[tuple[Recipient, Words]],
    section: Section | None = None,
    in_conversation: bool = False,
    to_many: bool = False,
    now: datetime.datetime | None = None,
) -> SentMessage:
    """Homeroom's own message on a member of staff's behalf, in words of each family's own (a link that is
    theirs alone), by the family's channel, in its waking hours. `in_conversation` puts it in each family's
    conversation with the sender, so that an answer reaches them there; `to_many`: a form letter to many families
    at once. The caller has checked that the sender may write to these families."""
    now = now or timezone.now()
    message = Message.objects.create(sender=sender, section=section, kind=kind, to_many=to_many)
    opt_outs = opt_outs_of(recipient.guardian for recipient, _words in letters)
    plan = [plan_delivery(recipient, now, opt_outs=opt_outs) for recipient, _words in letters]
    guardian_ids = [recipient.guardian.pk for recipient, _words in letters]
    threads = (
        threads_with(staff=sender, guardian_ids=guardian_ids, now=now, personal=not to_many) if in_conversation else {}
    )
    write_copies(message, letters, plan, threads=threads, now=now)
    return sent_summary(message, plan)


def unsubscribe_email(*, email: str, now: datetime.datetime | None = None) -> None:
    EmailOptOut.objects.get_or_create(email=email.lower(), defaults={"opted_out_at": now or timezone.now()})


def resubscribe_email(*, email: str) -> None:
    EmailOptOut.objects.filter(email=email.lower()).delete()


def mark_read_by_family(*, thread: Thread, now: datetime.datetime | None = None) -> int:
    return thread.deliveries.filter(read_at__isnull=True).update(read_at=now or timezone.now())


def receive_email_reply(raw: bytes, *, now: datetime.datetime | None = None) -> EmailReplyOutcome:
    """A family's emailed answer, from the mail server's hook or a mailbox: an automatic one (an auto-reply, a
    bounce) is never answered, to keep mail from looping; one to a reply address that is ours goes up to the
    receiver with its conversation. Raises InboundEmailError for what is not an email at all."""
    email = read_email(raw)
    if email.auto_submitted:
        return EmailReplyOutcome.AUTOMATIC
    thread = thread_of_reply_address(email.recipients)
    if thread is None:
        return EmailReplyOutcome.UNKNOWN_CONVERSATION
    return receivers.receiver().email_reply(email, thread=thread, now=now)


def receive_text_message(*, phone: str, body: str, message_sid: str = "", now: datetime.datetime | None = None) -> str:
    """A text a family sent back: STOP, START and HELP (and their usual synonyms, Spanish ones too) are answered
    here at once; anything else goes up to the receiver, to reach the conversation it answers. Returns the answer
    to text back, in the family's language, or "" for none."""
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
        return receivers.receiver().text_reply(
            phone=phone, guardians=guardians, body=body, message_sid=message_sid, school_name=school_name, now=now
        )
