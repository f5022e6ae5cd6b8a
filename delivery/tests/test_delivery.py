"""Delivery as background work, against a real SMTP server: retries with back-off on temporary failures, a
permanent failure the teacher sees, quiet hours in the family's day, restrictions checked at sending time, and
nothing lost or doubled when a worker is lost."""

import datetime
import io
import itertools
import re
import zoneinfo
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.db.models import Min, Q
from django.urls import reverse
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from communication.letters import default_letter
from communication.services import send_introduction_letter, send_message
from communication.tests.conftest import NEW_YORK, NOW, at
from delivery.models import Delivery, DeliveryChannel, DeliveryStatus
from delivery.outbox import DeliveryOutcome, _Outbox, deliver, deliver_batch, deliver_pending
from delivery.selectors import retry_delay, send_window_opens
from homeroom.testing import Mailbox, count_security_probes, free_port
from roster.models import Guardian, StudentGuardian
from roster.tests.factories import EnrollmentFactory, GuardianFactory, StudentGuardianFactory

pytestmark = pytest.mark.usefixtures("on_a_wednesday_in_november")

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
DAY = NOW.date()


# --- The rules -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "opens"),
    [
        (12, 0, at(DAY, 12)),  # inside the window: now
        (8, 0, at(DAY, 8)),  # the window opens on the hour
        (7, 59, at(DAY, 8)),  # early morning: at 8:00 the same day
        (20, 59, at(DAY, 20, 59)),
        (21, 0, at(DAY + datetime.timedelta(days=1), 8)),  # the evening: at 8:00 the next day
        (23, 30, at(DAY + datetime.timedelta(days=1), 8)),
    ],
)
def test_email_waits_for_the_familys_day(hour, minute, opens):
    assert send_window_opens(now=at(DAY, hour, minute), zone=NEW_YORK, from_hour=8, until_hour=21) == opens


def test_the_window_is_the_familys_not_the_servers():
    noon_in_new_york = at(DAY, 12)  # 2:00 the next morning in Tokyo
    opens = send_window_opens(now=noon_in_new_york, zone=TOKYO, from_hour=8, until_hour=21)
    assert opens.astimezone(TOKYO) == datetime.datetime(2026, 11, 26, 8, 0, tzinfo=TOKYO)


def test_a_school_may_narrow_the_window():
    assert send_window_opens(now=at(DAY, 18), zone=NEW_YORK, from_hour=9, until_hour=18) == at(
        DAY + datetime.timedelta(days=1), 9
    )


def test_retries_back_off_exponentially():
    delays = [retry_delay(attempts=n, base_seconds=60) for n in (1, 2, 3, 4)]
    assert delays == [datetime.timedelta(minutes=m) for m in (1, 2, 4, 8)]


# --- A real SMTP server that can refuse ------------------------------------------------------------------------


class RefusingMailbox(Mailbox):
    """Answers the next codes in `refusals` (e.g. "451 Try again later") before accepting again."""

    def __init__(self) -> None:
        super().__init__()
        self.refusals: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusals:
            return self.refusals.pop(0)
        return await super().handle_DATA(server, session, envelope)


class SmtpServer:
    """A local SMTP server that can go away and come back on the same port."""

    def __init__(self, mailbox: RefusingMailbox) -> None:
        self.port = free_port()
        self.mailbox = mailbox
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(settings) -> Iterator[tuple[SmtpServer, RefusingMailbox]]:
    mailbox = RefusingMailbox()
    server = SmtpServer(mailbox)
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.HOMEROOM_DELIVERY_RETRY_SECONDS = 60
    settings.HOMEROOM_DELIVERY_MAX_ATTEMPTS = 3
    yield server, mailbox
    server.stop()


def _queue_letter_to_all(world) -> None:
    send_introduction_letter(
        sender=world.people["teacher"],
        section=world.section,
        letters={"en": default_letter("en")},
        how_to_reach="the office",
        office_hours="Tuesdays",
    )


def _queue_letter(world) -> Delivery:
    _queue_letter_to_all(world)
    return Delivery.objects.get()


def _state(delivery: Delivery) -> tuple[str, int]:
    delivery.refresh_from_db()
    return delivery.status, delivery.attempts


def test_a_busy_server_is_tried_again_after_a_minute_and_the_family_gets_one_copy(world, smtp):
    _server, mailbox = smtp
    mailbox.refusals = ["451 4.3.2 Try again later"]
    delivery = _queue_letter(world)

    assert deliver(delivery_id=delivery.id, now=NOW) == DeliveryOutcome.RETRYING
    assert _state(delivery) == (DeliveryStatus.QUEUED, 1)
    assert delivery.not_before == NOW + datetime.timedelta(minutes=1) and "451" in delivery.error
    # Not before its time, however often a worker asks.
    assert deliver(delivery_id=delivery.id, now=NOW + datetime.timedelta(seconds=59)) == DeliveryOutcome.NOT_CLAIMED

    assert deliver(delivery_id=delivery.id, now=NOW + datetime.timedelta(minutes=1)) == DeliveryOutcome.SENT
    assert deliver(delivery_id=delivery.id, now=NOW + datetime.timedelta(minutes=5)) == DeliveryOutcome.NOT_CLAIMED
    assert _state(delivery) == (DeliveryStatus.SENT, 2)
    assert len(mailbox.messages) == 1
    # Its own Message-ID, drawn when it was queued: the same however many times it is sent.
    assert mailbox.messages[0]["Message-ID"] == delivery.email_id
    assert re.fullmatch(r"<[0-9a-f]{32}@127\.0\.0\.1>", delivery.email_id)


def test_a_server_that_went_away_is_tried_again_when_it_is_back(world, smtp):
    server, mailbox = smtp
    delivery = _queue_letter(world)
    server.stop()

    assert deliver(delivery_id=delivery.id, now=NOW) == DeliveryOutcome.RETRYING

    server.start()
    assert deliver(delivery_id=delivery.id, now=NOW + datetime.timedelta(minutes=1)) == DeliveryOutcome.SENT
    assert len(mailbox.messages) == 1


def test_a_refused_address_fails_at_once_with_the_servers_reason(client, world, smtp):
    _server, mailbox = smtp
    mailbox.refusals = ["550 5.1.1 No such user"]
    Guardian.objects.update(phone="")  # no other way to reach the family
    delivery = _queue_letter(world)

    assert deliver(delivery_id=delivery.id, now=NOW) == DeliveryOutcome.FAILED

    assert _state(delivery) == (DeliveryStatus.FAILED, 1)
    assert "No such user" in delivery.error
    assert delivery.not_before is None  # for good: not tried again
    assert deliver_pending(now=NOW + datetime.timedelta(days=1)) == 0
    assert mailbox.messages == []
    # A letter is in no conversation: the teacher is told on their messages page.
    client.force_login(world.people["teacher"])
    page = client.get(reverse("communication:conversations")).content.decode()
    assert f"Not delivered to {delivery.guardian.display_name}: Email failed" in page
    assert "No such user" in page


def test_a_family_reached_one_way_is_tried_all_through_the_retry_window_then_the_teacher_is_told(world, smtp, settings):
    _server, mailbox = smtp
    settings.HOMEROOM_DELIVERY_RETRY_WINDOW_HOURS = 24
    mailbox.refusals = ["451 busy"] * 1000
    Guardian.objects.update(phone="")  # no other way to reach the family
    delivery = _queue_letter(world)
    Delivery.objects.filter(id=delivery.id).update(not_before=None)
    delivery.message.is_urgent = True  # no quiet hours in the way
    delivery.message.save(update_fields=["is_urgent"])

    outcomes, tries = [], [NOW]
    while not outcomes or outcomes[-1] == DeliveryOutcome.RETRYING:
        outcomes.append(deliver(delivery_id=delivery.id, now=tries[-1]))
        delivery.refresh_from_db()
        tries.append(delivery.not_before)

    # 1, 2, 4... minutes, then every hour: the last try falls at least 24 hours after the first failure.
    assert outcomes[-1] == DeliveryOutcome.FAILED and len(outcomes) > settings.HOMEROOM_DELIVERY_MAX_ATTEMPTS
    assert tries[-2] - NOW >= datetime.timedelta(hours=24)
    assert max(later - earlier for earlier, later in itertools.pairwise(tries)) == datetime.timedelta(hours=1)
    assert delivery.status == DeliveryStatus.FAILED and "busy" in delivery.error
    assert delivery.failing_since == NOW
    # Given up on, but `deliver_pending` tries it again an hour later: a server back after the window delivers.
    moment = tries[-1]
    assert moment == tries[-2] + datetime.timedelta(hours=1)
    assert deliver_pending(now=moment - datetime.timedelta(seconds=1)) == 0
    assert deliver_pending(now=moment) == 1
    mailbox.refusals = []
    assert deliver(delivery_id=delivery.id, now=moment) == DeliveryOutcome.SENT
    assert len(mailbox.messages) == 1


def test_retries_are_never_more_than_the_cap_apart():
    delays = [retry_delay(attempts=n, base_seconds=60, cap_seconds=3600) for n in (6, 7, 8, 500)]
    assert delays == [datetime.timedelta(minutes=m) for m in (32, 60, 60, 60)]


def test_a_letter_written_at_night_waits_for_eight_in_the_morning(world, smtp, time_machine):
    _server, mailbox = smtp
    evening = at(DAY, 22)
    time_machine.move_to(evening)
    delivery = _queue_letter(world)

    morning = at(DAY + datetime.timedelta(days=1), 8)
    assert delivery.not_before == morning
    assert deliver(delivery_id=delivery.id, now=evening) == DeliveryOutcome.NOT_CLAIMED
    assert deliver(delivery_id=delivery.id, now=morning) == DeliveryOutcome.SENT
    assert len(mailbox.messages) == 1


def test_a_retry_that_would_fall_in_quiet_hours_waits_for_the_morning(world, smtp):
    _server, mailbox = smtp
    mailbox.refusals = ["421 closing"]
    delivery = _queue_letter(world)
    late = at(DAY, 20, 59)

    assert deliver(delivery_id=delivery.id, now=late) == DeliveryOutcome.RETRYING

    delivery.refresh_from_db()
    assert delivery.not_before == at(DAY + datetime.timedelta(days=1), 8)


def test_an_urgent_notice_goes_out_in_quiet_hours(world, smtp):
    _server, mailbox = smtp
    delivery = _queue_letter(world)
    Delivery.objects.filter(id=delivery.id).update(not_before=None)
    delivery.message.is_urgent = True
    delivery.message.save(update_fields=["is_urgent"])

    assert deliver(delivery_id=delivery.id, now=at(DAY, 23)) == DeliveryOutcome.SENT
    assert len(mailbox.messages) == 1


def test_a_delivery_reached_in_quiet_hours_is_held_not_sent(world, smtp):
    _server, mailbox = smtp
    delivery = _queue_letter(world)  # queued at noon

    assert deliver(delivery_id=delivery.id, now=at(DAY, 23)) == DeliveryOutcome.HELD

    assert _state(delivery) == (DeliveryStatus.QUEUED, 0)
    assert delivery.not_before == at(DAY + datetime.timedelta(days=1), 8)
    assert mailbox.messages == []


def test_a_family_restricted_after_the_letter_was_queued_receives_nothing(world, smtp):
    _server, mailbox = smtp
    delivery = _queue_letter(world)
    StudentGuardian.objects.filter(guardian=delivery.guardian).update(contact_allowed=False)

    assert deliver(delivery_id=delivery.id, now=NOW) == DeliveryOutcome.FAILED

    assert mailbox.messages == []
    assert _state(delivery)[0] == DeliveryStatus.FAILED


def test_what_a_lost_worker_held_is_sent_once_by_the_next(world, smtp, settings):
    _server, mailbox = smtp
    delivery = _queue_letter(world)
    claimed_at = NOW - datetime.timedelta(seconds=settings.HOMEROOM_DELIVERY_CLAIM_SECONDS + 1)
    Delivery.objects.filter(id=delivery.id).update(status=DeliveryStatus.SENDING, claimed_at=claimed_at, attempts=1)

    assert deliver_pending(now=NOW) == 1
    assert deliver(delivery_id=delivery.id, now=NOW) == DeliveryOutcome.SENT
    assert deliver_pending(now=NOW) == 0
    assert len(mailbox.messages) == 1


def test_a_worker_that_stalled_past_its_claim_leaves_what_was_put_back_to_the_next(world, smtp, settings, monkeypatch):
    _server, mailbox = smtp
    student = EnrollmentFactory(section=world.section, student__first_name="Bo").student
    StudentGuardianFactory(student=student, guardian=GuardianFactory(email="bo.family@example.org"))
    _queue_letter_to_all(world)
    first, second = Delivery.objects.order_by("id")
    settings.HOMEROOM_DELIVERY_CLAIM_SECONDS = 0  # the batch renews its claim before each delivery
    real_send = _Outbox.send

    def send_while_deliver_pending_runs(outbox: _Outbox, delivery: Delivery, school: Any) -> str:
        deliver_pending(now=NOW + datetime.timedelta(seconds=1))  # the claim has lapsed: the rest is put back
        return real_send(outbox, delivery, school)

    monkeypatch.setattr(_Outbox, "send", send_while_deliver_pending_runs)
    outcomes = deliver_batch(delivery_ids=[first.id, second.id], now=NOW)

    # The one in flight went (and will go once more); the one put back is left to the worker that takes it.
    assert outcomes[second.id] == DeliveryOutcome.NOT_CLAIMED
    assert [message["To"] for message in mailbox.messages] == [first.guardian.email]
    assert _state(second) == (DeliveryStatus.QUEUED, 1)


def test_a_claim_a_live_worker_still_holds_is_left_alone(world, smtp):
    delivery = _queue_letter(world)
    Delivery.objects.filter(id=delivery.id).update(status=DeliveryStatus.SENDING, claimed_at=NOW, attempts=1)

    assert deliver_pending(now=NOW + datetime.timedelta(minutes=1)) == 0
    assert _state(delivery) == (DeliveryStatus.SENDING, 1)


# --- An outage longer than the retry window ----------------------------------------------------------------------


def _work_through_the_queue() -> None:
    """What production runs: `manage.py deliver_pending` (cron), then a task worker taking every task now due."""
    call_command("deliver_pending", stdout=io.StringIO())
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    for task_result in DBTaskResult.objects.ready():
        task_result.claim(worker.worker_id)
        worker.run_task(task_result)  # the worker's own loop closes the test's database connection


def _next_try(after: datetime.datetime) -> datetime.datetime | None:
    waiting = Delivery.objects.filter(Q(status=DeliveryStatus.QUEUED) | Q(status=DeliveryStatus.FAILED))
    return waiting.filter(not_before__gt=after).aggregate(next=Min("not_before"))["next"]


@pytest.mark.security
def test_a_mail_server_down_past_the_retry_window_loses_no_email(client, world, smtp, settings, time_machine):
    """31 families reached by email alone, the mail server refusing connections for 26 hours (the retry window is
    24), then back: each family gets its email once. The teacher sees the retries, then that it did not go."""
    server, mailbox = smtp
    settings.HOMEROOM_DELIVERY_MAX_ATTEMPTS = 6
    settings.HOMEROOM_DELIVERY_RETRY_MAX_SECONDS = 60 * 60
    settings.HOMEROOM_DELIVERY_RETRY_WINDOW_HOURS = 24
    for n in range(30):  # and Ana's parent
        student = EnrollmentFactory(section=world.section, student__first_name=f"Kid{n}").student
        StudentGuardianFactory(student=student, guardian=GuardianFactory(email=f"family{n}@example.org"))
    Guardian.objects.update(phone="")  # no other way to reach them
    teacher = world.people["teacher"]
    server.stop()
    send_message(
        sender=teacher, section=world.section, subject="Field trip on Friday", body="Bring a lunch.", tone="neutral"
    )
    families = set(Delivery.objects.filter(channel=DeliveryChannel.EMAIL).values_list("guardian__email", flat=True))
    parent = Guardian.objects.get(user=world.people["guardian"])
    thread_page = reverse("communication:conversation", args=[parent.threads.get().pk])
    client.force_login(teacher)

    back_at = NOW + datetime.timedelta(hours=26)
    clock: datetime.datetime | None = NOW
    pages: dict[str, str] = {}
    while clock is not None and clock < back_at + datetime.timedelta(hours=3):
        time_machine.move_to(clock)
        if clock >= back_at and server.controller is None:
            server.start()
        _work_through_the_queue()
        moment = "retrying" if clock < NOW + datetime.timedelta(hours=23) else "given up"
        if clock < back_at:
            pages[moment] = client.get(thread_page).content.decode()
            pages[f"list {moment}"] = client.get(reverse("communication:conversations")).content.decode()
        clock = _next_try(after=clock)

    received_by = Counter(address.addr_spec for message in mailbox.messages for address in message["To"].addresses)
    lost = len(families - set(received_by))
    doubled = sum(count - 1 for count in received_by.values())
    count_security_probes("SMTP down past the retry window", probes=len(families), lost=lost, doubled=doubled)
    assert len(families) == 31
    assert (lost, doubled) == (0, 0)
    assert set(Delivery.objects.filter(channel=DeliveryChannel.EMAIL).values_list("status", flat=True)) == {"sent"}
    name = parent.display_name
    assert "trying again at" in pages["retrying"] and f"Not delivered to {name}" not in pages["retrying"]
    assert f"Not delivered to {name}" in pages["given up"]
    assert "The message is in their Homeroom inbox" in pages["given up"]
    assert "Homeroom tries again at" in pages["given up"]
    assert f"Not delivered to {name}" in pages["list given up"] and "Not delivered" not in pages["list retrying"]
