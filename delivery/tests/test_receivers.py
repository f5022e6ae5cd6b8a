"""Delivery hands up through the receiver the app above registers, and works with none registered."""

from collections.abc import Iterator

import pytest

from communication.conversations import Conversations
from communication.models import Interaction
from communication.services import send_message
from delivery import receivers
from delivery.compose import reply_address
from delivery.models import Delivery, DeliveryChannel, DeliveryStatus, Thread
from delivery.outbox import DeliveryOutcome, deliver_batch
from delivery.receivers import EmailReplyOutcome
from delivery.services import receive_email_reply, receive_text_message
from roster.models import Guardian, StudentGuardian


@pytest.fixture
def no_receiver() -> Iterator[None]:
    registered = receivers.receiver()
    receivers.register(receivers.Receiver())
    yield
    receivers.register(registered)


def _sent_to_the_class(world) -> list[Delivery]:
    send_message(
        sender=world.people["teacher"], section=world.section, subject="Reading", body="Ana read well.", tone="positive"
    )
    return list(Delivery.objects.order_by("id"))


def test_communication_registers_its_conversations_at_start_up():
    assert isinstance(receivers.receiver(), Conversations)


def test_the_receiver_says_which_children_each_copy_is_about(world):
    deliveries = _sent_to_the_class(world)

    about = receivers.receiver().students_about(deliveries)

    assert about == {delivery.pk: {world.student.pk} for delivery in deliveries}


def test_a_copy_that_falls_back_moves_its_logged_contact_to_the_new_channel(world):
    parent = Guardian.objects.get(user=world.people["guardian"])
    delivery = next(d for d in _sent_to_the_class(world) if d.guardian_id == parent.pk)

    receivers.receiver().channel_changed(delivery, DeliveryChannel.SMS)

    assert Interaction.objects.get(delivery=delivery).channel == "text"


def test_a_restriction_added_after_sending_stops_the_copy_through_what_the_receiver_says(world, settings):
    settings.HOMEROOM_DELIVERY_RETRY_SECONDS = 60
    deliveries = [d for d in _sent_to_the_class(world) if d.status == DeliveryStatus.QUEUED]
    assert deliveries
    StudentGuardian.objects.filter(student=world.student).update(contact_allowed=False)

    outcomes = deliver_batch(delivery_ids=[delivery.pk for delivery in deliveries])

    assert set(outcomes.values()) == {DeliveryOutcome.FAILED}


@pytest.mark.usefixtures("no_receiver")
def test_with_no_receiver_nothing_sent_back_is_taken(world):
    parent = Guardian.objects.get(user=world.people["guardian"])
    thread = Thread.objects.create(staff=world.people["teacher"], guardian=parent, last_message_at="2026-11-25T12:00Z")
    raw = (
        f"From: {parent.email}\r\nTo: {reply_address(thread.pk)}\r\nSubject: Re: hello\r\n"
        "Message-ID: <one@example.org>\r\n\r\nThank you!\r\n"
    ).encode()

    assert receive_email_reply(raw) == EmailReplyOutcome.UNKNOWN_CONVERSATION
    parent.phone = "+15555550123"
    parent.save()
    assert receive_text_message(phone=parent.phone, body="Thanks") == ""
    assert "no more texts" in receive_text_message(phone=parent.phone, body="STOP")  # keywords are delivery's own
