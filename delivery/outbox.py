"""The outbox: sending each family's copy exactly once, in its waking hours, by its channel, with retries, the next
channel when one fails, and nothing to a family the school may no longer contact."""

import contextlib
import datetime
import logging
import smtplib
import time
import uuid
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any, Self

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, models
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from delivery import receivers
from delivery.compose import email_for, text_message_for
from delivery.models import (
    NO_LONGER_CONTACTABLE,
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    Message,
    MessageKind,
)
from delivery.selectors import (
    OptOuts,
    channels_for,
    family_window_opens,
    opt_outs_of,
    retry_delay,
    schools_of_guardians,
)
from delivery.sms import SmsBackend, SmsError, sms_backend
from roster.models import School, StudentGuardian

logger = logging.getLogger(__name__)


DELIVERY_BATCH_SIZE = 200  # one task's share: one mail server connection each, and little held by a lost worker


def enqueue_message(message_id: int) -> None:
    """Queues the copies of a message waiting to go out by email or text (run it once their transaction commits)."""
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
    """The deliveries whose family the school may still contact about the children the copy is about (any of its
    children, for a copy about none: a school notice, an automatic reply), in two queries."""
    about = receivers.receiver().students_about(deliveries)
    allowed = set(
        StudentGuardian.objects.filter(
            guardian_id__in={delivery.guardian_id for delivery in deliveries}, contact_allowed=True
        ).values_list("guardian_id", "student_id")
    )
    allowed_guardians = {guardian_id for guardian_id, _student_id in allowed}
    return {
        delivery.pk
        for delivery in deliveries
        if (
            any((delivery.guardian_id, student_id) in allowed for student_id in about[delivery.pk])
            if delivery.pk in about
            else delivery.guardian_id in allowed_guardians
        )
    }


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
    receivers.receiver().channel_changed(delivery, channel)
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


@task()
def deliver_batch_task(delivery_ids: list[int]) -> dict[str, int]:
    """Sends a batch of deliveries; returns how many ended which way, for the task's result."""
    outcomes = deliver_batch(delivery_ids=delivery_ids)
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome.value] = counts.get(outcome.value, 0) + 1
    return counts
