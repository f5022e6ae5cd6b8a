"""How a message reaches a family: by its preferred channel (text, email or the portal), around numbers that texted
STOP and addresses that unsubscribed, falling back when a channel fails, in the family's own waking hours. What
families text back (STOP, START, HELP, replies), the provider's delivery reports, school notices, office hours
with their automatic answer, and one-click unsubscribe.

Texts go to the memory backend; email goes over real SMTP to a local server."""

import datetime
import re
import zoneinfo
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from twilio.request_validator import RequestValidator

from communication.conversations import reply_from_family, set_office_hours
from communication.models import Direction, Interaction, OfficeHours, Reply, Tone
from communication.selectors import families_of_school, office_hours_opening
from communication.services import send_message, send_notice
from communication.tests.conftest import NOW, TODAY, at
from delivery.compose import unsubscribe_token
from delivery.models import (
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    EmailOptOut,
    Message,
    MessageKind,
    PhoneOptOut,
    Thread,
)
from delivery.outbox import DeliveryOutcome, deliver, deliver_batch
from delivery.sms import MemorySmsBackend, SmsError
from roster.models import Channel, Guardian
from roster.tests.factories import EnrollmentFactory, GuardianFactory, StudentGuardianFactory

pytestmark = pytest.mark.usefixtures("on_a_wednesday_in_november")  # Wednesday 25 November 2026, noon in New York

AUTH_TOKEN = "test-twilio-auth-token"
PARENT_PHONE = "+16175550142"
OFFICE_PHONE = "+16175550100"
LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")
THURSDAY = TODAY + datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def texts(settings, monkeypatch):
    """Texts go to the memory backend's outbox, emptied for each test; webhooks are signed with a known token."""
    settings.HOMEROOM_SMS_BACKEND = "delivery.sms.MemorySmsBackend"
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    monkeypatch.setattr(MemorySmsBackend, "fail_with", None)
    MemorySmsBackend.outbox.clear()
    yield MemorySmsBackend.outbox
    MemorySmsBackend.outbox.clear()


@pytest.fixture
def parent(world) -> Guardian:
    """Ana's parent, with a mobile of a known number; by default she prefers email."""
    guardian = Guardian.objects.get(user=world.people["guardian"])
    guardian.phone = PARENT_PHONE
    guardian.save(update_fields=["phone"])
    return guardian


def _change(guardian: Guardian, **fields) -> Guardian:
    for name, value in fields.items():
        setattr(guardian, name, value)
    guardian.save(update_fields=list(fields))
    return guardian


def _send(world, **fields):
    """The teacher writes to the families of 3A: Ana's parent is the one the school may contact."""
    fields.setdefault("subject", "Our trip to the science museum")
    fields.setdefault("body", "We leave at 9:00 on Friday. Please send a packed lunch.")
    fields.setdefault("tone", Tone.NEUTRAL)
    return send_message(sender=world.people["teacher"], section=world.section, **fields)


def _copy_for(guardian: Guardian) -> Delivery:
    return Delivery.objects.filter(guardian=guardian).latest("id")


def _twilio_post(client: Client, name: str, params: dict[str, str], *, token: str = AUTH_TOKEN):
    """Calls a webhook the way Twilio does: the POSTed params, signed with the auth token over the public URL."""
    path = reverse(f"delivery:{name}")
    signature = RequestValidator(token).compute_signature(settings.HOMEROOM_BASE_URL + path, params)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def _text_in(client: Client, body: str, *, phone: str = PARENT_PHONE, sid: str = "SM" + "1" * 32):
    return _twilio_post(client, "incoming_text", {"From": phone, "To": "+15555550100", "Body": body, "MessageSid": sid})


def _message_in(response) -> str:
    match = re.search(r"<Message>(.*)</Message>", response.text, re.DOTALL)
    assert match, f"no <Message> in {response.text!r}"
    return match.group(1)


# --- Which channel ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preferred", "channel", "status"),
    [
        (Channel.SMS, DeliveryChannel.SMS, DeliveryStatus.QUEUED),
        (Channel.EMAIL, DeliveryChannel.EMAIL, DeliveryStatus.QUEUED),
        (Channel.APP, DeliveryChannel.APP, DeliveryStatus.SENT),  # the portal inbox: there at once
    ],
)
def test_a_family_with_email_and_a_mobile_is_reached_the_way_it_prefers(world, parent, preferred, channel, status):
    _change(parent, preferred_channel=preferred)

    sent = _send(world)

    delivery = _copy_for(parent)
    assert (delivery.channel, delivery.status) == (channel, status)
    assert (sent.by_text, sent.by_email) == (int(channel == "sms"), int(channel == "email"))


def test_a_family_reached_in_the_app_has_nothing_waiting_for_a_worker(world, parent, texts, mailbox):
    _change(parent, preferred_channel=Channel.APP)

    _send(world)

    delivery = _copy_for(parent)
    assert delivery.sent_at == NOW
    assert deliver(delivery_id=delivery.id, now=NOW) == DeliveryOutcome.NOT_CLAIMED
    assert texts == [] and mailbox.messages == []


def test_a_number_that_texted_stop_never_gets_a_text_and_the_family_gets_email(world, parent):
    _change(parent, preferred_channel=Channel.SMS)
    PhoneOptOut.objects.create(phone=PARENT_PHONE, opted_out_at=NOW)

    sent = _send(world)

    assert _copy_for(parent).channel == DeliveryChannel.EMAIL
    assert Interaction.objects.get(guardian=parent).channel == "email"
    assert (sent.by_text, sent.by_email) == (0, 1)


def test_a_number_that_texted_stop_and_no_email_leaves_the_portal_inbox(world, parent):
    _change(parent, preferred_channel=Channel.SMS, email="")
    PhoneOptOut.objects.create(phone=PARENT_PHONE, opted_out_at=NOW)

    _send(world)

    delivery = _copy_for(parent)
    assert (delivery.channel, delivery.status) == (DeliveryChannel.APP, DeliveryStatus.SENT)


def test_an_unsubscribed_address_gets_no_message_by_email_but_does_get_an_urgent_notice(world, parent):
    _change(parent, phone="")
    _send(world, subject="Picture day")
    assert _copy_for(parent).channel == DeliveryChannel.EMAIL  # before: email

    EmailOptOut.objects.create(email=parent.email, opted_out_at=NOW)
    _send(world, subject="Picture day, again")
    send_notice(sender=world.people["leader"], school=world.school, subject="Book fair", body="On Monday.")
    send_notice(sender=world.people["leader"], school=world.school, subject="Closed today", body="Snow.", urgent=True)

    by_subject = {d.subject: d.channel for d in Delivery.objects.filter(guardian=parent)}
    assert by_subject == {
        "Picture day": DeliveryChannel.EMAIL,
        "Picture day, again": DeliveryChannel.APP,
        "Book fair": DeliveryChannel.APP,
        "Closed today": DeliveryChannel.EMAIL,
    }


# --- Texts going out ----------------------------------------------------------------------------------------------


def test_a_text_carries_the_school_the_subject_a_link_and_how_to_stop(world, parent, texts):
    _change(parent, preferred_channel=Channel.SMS)
    _send(world)
    delivery = _copy_for(parent)
    assert texts == []

    assert deliver(delivery_id=delivery.id, now=NOW) == DeliveryOutcome.SENT

    [text] = texts
    thread = Thread.objects.get(guardian=parent)
    assert text.to == PARENT_PHONE
    assert text.body.startswith("Maple Elementary: Our trip to the science museum")
    assert "packed lunch" in text.body
    assert settings.HOMEROOM_BASE_URL + reverse("portal:conversation", args=[thread.pk]) in text.body
    assert "Reply STOP to stop texts." in text.body
    delivery.refresh_from_db()
    assert (delivery.status, delivery.provider_id, delivery.channel) == (DeliveryStatus.SENT, text.id, "sms")


def test_a_spanish_speaking_family_gets_its_text_in_spanish(world, parent, texts):
    _change(parent, preferred_channel=Channel.SMS, preferred_language="es")
    _send(world)

    deliver(delivery_id=_copy_for(parent).id, now=NOW)

    [text] = texts
    assert "Maple Elementary" in text.body
    assert "Reply STOP" not in text.body and "Read and reply" not in text.body
    assert "ALTO" in text.body  # the Spanish opt-out word, as in the Spanish HELP answer


# --- Falling back -------------------------------------------------------------------------------------------------


def test_a_text_refused_for_good_goes_by_email_instead(world, parent, texts, mailbox, monkeypatch):
    _change(parent, preferred_channel=Channel.SMS)
    _send(world)
    delivery = _copy_for(parent)
    assert Interaction.objects.get(guardian=parent).channel == "text"
    monkeypatch.setattr(
        MemorySmsBackend, "fail_with", SmsError("The 'To' number is not a valid phone number.", temporary=False)
    )

    assert deliver(delivery_id=delivery.id, now=NOW) == DeliveryOutcome.FELL_BACK

    delivery.refresh_from_db()
    assert (delivery.channel, delivery.fallback_from, delivery.status, delivery.attempts) == (
        DeliveryChannel.EMAIL,
        DeliveryChannel.SMS,
        DeliveryStatus.QUEUED,
        0,
    )
    assert "not a valid phone number" in delivery.error
    assert Interaction.objects.get(guardian=parent).channel == "email"  # the log says how it really went
    assert texts == [] and mailbox.messages == []

    assert deliver(delivery_id=delivery.id, now=NOW) == DeliveryOutcome.SENT

    email = mailbox.wait_for_message_to(parent.email)
    assert email["Subject"] == "Our trip to the science museum"
    assert "packed lunch" in email.get_body(preferencelist=("plain",)).get_content()
    assert texts == []


def test_a_text_the_provider_cannot_take_now_is_tried_again_later_by_text(world, parent, texts, monkeypatch, settings):
    settings.HOMEROOM_DELIVERY_RETRY_SECONDS = 60
    _change(parent, preferred_channel=Channel.SMS)
    _send(world)
    delivery = _copy_for(parent)
    monkeypatch.setattr(MemorySmsBackend, "fail_with", SmsError("Service Unavailable", temporary=True))

    assert deliver(delivery_id=delivery.id, now=NOW) == DeliveryOutcome.RETRYING

    delivery.refresh_from_db()
    assert (delivery.channel, delivery.status, delivery.attempts) == (DeliveryChannel.SMS, DeliveryStatus.QUEUED, 1)
    assert delivery.not_before == NOW + datetime.timedelta(minutes=1)
    monkeypatch.setattr(MemorySmsBackend, "fail_with", None)
    assert deliver(delivery_id=delivery.id, now=NOW + datetime.timedelta(minutes=1)) == DeliveryOutcome.SENT
    assert [text.to for text in texts] == [PARENT_PHONE]


def test_with_no_channel_left_it_fails_but_stays_in_the_familys_portal_inbox(client, world, parent, monkeypatch):
    _change(parent, preferred_channel=Channel.SMS, email="")
    _send(world, subject="Spelling test on Friday")
    delivery = _copy_for(parent)
    monkeypatch.setattr(MemorySmsBackend, "fail_with", SmsError("Unknown destination", temporary=False))

    assert deliver(delivery_id=delivery.id, now=NOW) == DeliveryOutcome.FAILED

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and "Unknown destination" in delivery.error
    client.force_login(world.people["guardian"])
    home = client.get(reverse("portal:home"))
    assert "Spelling test on Friday" in home.text


def test_a_number_that_texts_stop_after_the_message_was_queued_gets_email_instead(
    client, world, parent, texts, mailbox
):
    _change(parent, preferred_channel=Channel.SMS)
    _send(world)
    delivery = _copy_for(parent)
    assert delivery.channel == DeliveryChannel.SMS

    _text_in(client, "STOP")
    assert deliver(delivery_id=delivery.id, now=NOW) == DeliveryOutcome.FELL_BACK

    delivery.refresh_from_db()
    assert (delivery.channel, delivery.fallback_from) == (DeliveryChannel.EMAIL, DeliveryChannel.SMS)
    assert texts == []
    assert deliver(delivery_id=delivery.id, now=NOW) == DeliveryOutcome.SENT
    mailbox.wait_for_message_to(parent.email)
    assert texts == []


# --- What families text back --------------------------------------------------------------------------------------


def test_a_text_not_signed_by_twilio_is_refused(client, world, parent):
    path = reverse("delivery:incoming_text")
    params = {"From": PARENT_PHONE, "Body": "STOP", "MessageSid": "SM" + "2" * 32}

    unsigned = client.post(path, params)
    wrong_token = _twilio_post(client, "incoming_text", params, token="not-our-token")

    assert (unsigned.status_code, wrong_token.status_code) == (403, 403)
    assert not PhoneOptOut.objects.exists()
    assert _twilio_post(client, "incoming_text", params).status_code == 200  # the same text, signed: taken
    assert PhoneOptOut.objects.filter(phone=PARENT_PHONE).exists()


def test_stop_opts_the_number_out_and_confirms_by_text(client, world, parent):
    response = _text_in(client, "STOP")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    assert _message_in(response) == (
        "Maple Elementary: you will get no more texts from Homeroom. Reply START to get them again."
    )
    assert PhoneOptOut.objects.filter(phone=PARENT_PHONE).count() == 1
    assert not Reply.objects.exists()


def test_no_mas_from_a_spanish_speaking_family_is_confirmed_in_spanish(client, world, parent):
    _change(parent, preferred_language="es")

    response = _text_in(client, "No más")

    assert _message_in(response) == (
        "Maple Elementary: ya no recibirá mensajes de texto de Homeroom. Responda START para volver a recibirlos."
    )
    assert PhoneOptOut.objects.filter(phone=PARENT_PHONE).exists()


def test_start_lets_texts_through_again(client, world, parent):
    _text_in(client, "STOP", sid="SM" + "3" * 32)
    assert PhoneOptOut.objects.filter(phone=PARENT_PHONE).exists()

    response = _text_in(client, "START", sid="SM" + "4" * 32)

    assert not PhoneOptOut.objects.filter(phone=PARENT_PHONE).exists()
    assert "you will get texts from Homeroom again" in _message_in(response)
    _change(parent, preferred_channel=Channel.SMS)
    _send(world)
    assert _copy_for(parent).channel == DeliveryChannel.SMS


def test_help_names_the_school_and_its_office_phone(client, world, parent):
    world.school.office_phone = OFFICE_PHONE
    world.school.save(update_fields=["office_phone"])

    answer = _message_in(_text_in(client, "HELP"))

    assert answer.startswith("Maple Elementary")
    assert f"Call the office at {OFFICE_PHONE}" in answer
    assert not Reply.objects.exists() and not PhoneOptOut.objects.exists()


def test_any_other_text_is_a_reply_in_the_familys_latest_conversation(client, world, parent):
    counselor = world.people["counselor"]
    _send(world, now=NOW - datetime.timedelta(days=2))
    send_message(
        sender=counselor,
        guardian_ids=[parent.pk],
        subject="Checking in",
        body="How is Ana settling in?",
        tone=Tone.POSITIVE,
        now=NOW - datetime.timedelta(days=1),
    )

    response = _text_in(client, "She loves it, thank you!")

    assert response.status_code == 200 and "<Message>" not in response.text  # nothing to text back
    reply = Reply.objects.get()
    assert (reply.thread.staff, reply.thread.guardian) == (counselor, parent)
    assert (reply.body, reply.channel) == ("She loves it, thank you!", DeliveryChannel.SMS)
    interaction = reply.interaction
    assert (interaction.direction, interaction.channel, interaction.guardian) == (
        Direction.FROM_FAMILY,
        "text",
        parent,
    )
    assert list(interaction.students.all()) == [world.student]


def test_a_text_twilio_sends_twice_is_one_reply(client, world, parent):
    _send(world)

    _text_in(client, "See you Friday", sid="SM" + "5" * 32)
    _text_in(client, "See you Friday", sid="SM" + "5" * 32)

    assert Reply.objects.count() == 1
    assert Interaction.objects.filter(direction=Direction.FROM_FAMILY).count() == 1


def test_a_text_from_a_number_nobody_has_points_to_homeroom_and_is_not_kept(client, world, parent):
    _send(world)

    answer = _message_in(_text_in(client, "Who is this?", phone="+16175559999"))

    assert answer.startswith("Homeroom: this number cannot take replies.")
    assert settings.HOMEROOM_BASE_URL + reverse("portal:home") in answer
    assert not Reply.objects.exists()


# --- Delivery reports -------------------------------------------------------------------------------------------


def _texted(world, parent) -> Delivery:
    _change(parent, preferred_channel=Channel.SMS)
    _send(world)
    delivery = _copy_for(parent)
    deliver(delivery_id=delivery.id, now=NOW)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.provider_id
    return delivery


def test_a_report_that_the_text_arrived_marks_it_delivered(client, world, parent):
    delivery = _texted(world, parent)
    params = {"MessageSid": delivery.provider_id, "MessageStatus": "delivered"}

    assert client.post(reverse("delivery:text_status"), params).status_code == 403  # unsigned: ignored
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT

    assert _twilio_post(client, "text_status", params).status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


def test_a_report_that_the_text_did_not_arrive_sends_it_by_email(client, world, parent, mailbox):
    delivery = _texted(world, parent)

    _twilio_post(
        client,
        "text_status",
        {"MessageSid": delivery.provider_id, "MessageStatus": "undelivered", "ErrorCode": "30003"},
    )

    delivery.refresh_from_db()
    assert (delivery.channel, delivery.fallback_from, delivery.status) == (
        DeliveryChannel.EMAIL,
        DeliveryChannel.SMS,
        DeliveryStatus.QUEUED,
    )
    assert "30003" in delivery.error
    assert deliver(delivery_id=delivery.id, now=NOW) == DeliveryOutcome.SENT
    mailbox.wait_for_message_to(parent.email)


# --- Quiet hours in the family's own time zone -----------------------------------------------------------------


def test_a_family_in_los_angeles_gets_it_at_eight_their_time(world, parent, mailbox):
    _change(parent, time_zone="America/Los_Angeles")
    ten_in_new_york = at(TODAY, 10)  # 7:00 in Los Angeles

    sent = _send(world, now=ten_in_new_york)

    eight_in_los_angeles = datetime.datetime(2026, 11, 25, 8, 0, tzinfo=LOS_ANGELES)
    delivery = _copy_for(parent)
    assert delivery.not_before == eight_in_los_angeles == at(TODAY, 11)
    assert sent.held_until == eight_in_los_angeles
    assert (sent.held_until.hour, sent.held_until.utcoffset()) == (8, datetime.timedelta(hours=-8))
    assert deliver(delivery_id=delivery.id, now=at(TODAY, 10, 59)) == DeliveryOutcome.NOT_CLAIMED
    assert deliver(delivery_id=delivery.id, now=at(TODAY, 11)) == DeliveryOutcome.SENT
    mailbox.wait_for_message_to(parent.email)


def test_a_family_in_new_york_is_not_held_at_ten(world, parent):
    sent = _send(world, now=at(TODAY, 10))

    assert _copy_for(parent).not_before is None and sent.held_until is None


def test_the_teacher_is_told_when_a_family_in_another_zone_will_get_it(client, world, parent, time_machine):
    _change(parent, time_zone="America/Los_Angeles")
    time_machine.move_to(at(TODAY, 10), tick=False)
    client.force_login(world.people["teacher"])

    response = client.post(
        reverse("communication:new_message"),
        {"audience": f"class-{world.section.pk}", "subject": "Tomorrow", "body": "Bring boots.", "tone": "neutral"},
        follow=True,
    )

    assert "will be delivered at 8:00 on Wednesday 25 November, their time" in response.text


# --- School notices ---------------------------------------------------------------------------------------------


@pytest.fixture
def school_families(world, parent):
    """Ana's parent also has Teo in another class of the school; Ben's family is at the school too; Cy's family is
    at another school."""
    teo = EnrollmentFactory(section__term=world.section.term, student__first_name="Teo").student
    StudentGuardianFactory(student=teo, guardian=parent)
    StudentGuardianFactory(student=world.far_student, guardian=GuardianFactory(email="cy.family@example.org"))
    ben_family = world.other_student.guardian_links.get().guardian
    return parent, ben_family


def test_a_notice_goes_to_each_family_of_the_school_once_and_never_to_a_restricted_one(world, school_families):
    parent, ben_family = school_families

    recipients = {recipient.guardian: len(recipient.students) for recipient in families_of_school(world.school)}

    assert recipients == {parent: 2, ben_family: 1}


def test_a_notice_is_no_contact_about_a_child_and_starts_no_conversation(world, school_families):
    parent, ben_family = school_families
    leader = world.people["leader"]

    sent = send_notice(sender=leader, school=world.school, subject="Book fair", body="On Monday in the hall.")

    assert sent.families == 2
    deliveries = Delivery.objects.filter(message__kind=MessageKind.NOTICE)
    assert {d.guardian for d in deliveries} == {parent, ben_family}
    assert not Interaction.objects.filter(delivery__in=deliveries).exists()
    assert all(d.thread_id is None for d in deliveries)
    assert not Interaction.objects.exists() and not Thread.objects.exists()


@pytest.mark.parametrize(("urgent", "not_before"), [(True, None), (False, at(THURSDAY, 8))])
def test_only_an_urgent_notice_goes_out_at_eleven_at_night(world, school_families, urgent, not_before):
    parent, _ben_family = school_families

    send_notice(
        sender=world.people["leader"],
        school=world.school,
        subject="School closed tomorrow",
        body="Snow.",
        urgent=urgent,
        now=at(TODAY, 23),
    )

    assert _copy_for(parent).not_before == not_before


def test_an_urgent_notice_says_so_in_each_familys_language(world, school_families, mailbox):
    parent, ben_family = school_families
    _change(ben_family, preferred_language="es")
    send_notice(
        sender=world.people["leader"],
        school=world.school,
        subject="School closed tomorrow",
        body="Snow.",
        urgent=True,
        now=at(TODAY, 23),
    )

    outcomes = deliver_batch(delivery_ids=list(Delivery.objects.values_list("id", flat=True)), now=at(TODAY, 23))

    assert set(outcomes.values()) == {DeliveryOutcome.SENT}
    english = mailbox.wait_for_message_to(parent.email)
    spanish = mailbox.wait_for_message_to(ben_family.email)
    assert english["Subject"] == "Urgent: School closed tomorrow"
    assert spanish["Subject"].startswith("Urgente:")
    assert english["List-Unsubscribe"] is None  # nobody opts out of an emergency


def test_a_leader_of_another_school_cannot_send_it_a_notice(world, school_families):
    with pytest.raises(PermissionDenied):
        send_notice(sender=world.people["other_leader"], school=world.school, subject="Hello", body="From Oak.")
    assert not Message.objects.exists()

    send_notice(sender=world.people["leader"], school=world.school, subject="Hello", body="From Maple.")
    assert Message.objects.count() == 1


def test_the_notice_form_refuses_a_school_the_leader_does_not_lead(client, world, school_families):
    client.force_login(world.people["other_leader"])

    response = client.post(
        reverse("communication:new_notice"), {"school": world.school.pk, "subject": "Hello", "body": "From Oak."}
    )

    assert not Message.objects.exists()
    assert response.status_code == 200 and "Select a valid choice" in response.text


def test_a_teacher_has_no_notice_page_and_cannot_post_one(client, world, school_families):
    url = reverse("communication:new_notice")
    notice = {"school": world.school.pk, "subject": "Book fair", "body": "On Monday in the hall."}
    client.force_login(world.people["teacher"])

    assert client.get(url).status_code == 404
    assert client.post(url, notice).status_code == 404
    assert not Message.objects.exists()

    client.force_login(world.people["leader"])
    assert client.post(url, notice).status_code == 302  # the same notice from the school's leader goes
    assert Delivery.objects.filter(subject="Book fair").count() == 2


def test_the_leader_sends_a_notice_from_its_page(client, world, school_families):
    client.force_login(world.people["leader"])
    url = reverse("communication:new_notice")
    page = client.get(url)
    assert page.status_code == 200 and "Maple Elementary" in page.text

    response = client.post(
        url, {"school": world.school.pk, "subject": "Book fair", "body": "On Monday in the hall."}, follow=True
    )

    assert response.redirect_chain[-1][0] == url
    assert "Your message is on its way to 2 families." in response.text
    assert Delivery.objects.filter(subject="Book fair").count() == 2


# --- Office hours -----------------------------------------------------------------------------------------------

WEEKDAYS_8_TO_4 = OfficeHours(
    weekdays="01234", opens_at=datetime.time(8), closes_at=datetime.time(16), time_zone="America/New_York"
)
FRIDAY, MONDAY = TODAY + datetime.timedelta(days=2), TODAY + datetime.timedelta(days=5)


@pytest.mark.parametrize(
    ("moment", "opening"),
    [
        (at(TODAY, 12), None),  # inside: read now
        (at(TODAY, 8), None),  # the hours begin on the minute
        (at(TODAY, 15, 59), None),
        (at(TODAY, 7, 30), at(TODAY, 8)),  # before opening: today's
        (at(TODAY, 16), at(THURSDAY, 8)),  # the hours end on the minute
        (at(TODAY, 22), at(THURSDAY, 8)),
        (at(FRIDAY, 18), at(MONDAY, 8)),  # the weekend is off
        (at(FRIDAY + datetime.timedelta(days=1), 10), at(MONDAY, 8)),
        (at(TODAY, 14, zone="America/Los_Angeles"), at(THURSDAY, 8)),  # 17:00 in the teacher's own zone
    ],
)
def test_office_hours_open_next(moment, opening):
    assert office_hours_opening(WEEKDAYS_8_TO_4, moment) == opening


def test_hours_on_one_day_a_week_open_next_on_that_day_a_week_later():
    wednesdays = OfficeHours(
        weekdays="2", opens_at=datetime.time(8), closes_at=datetime.time(16), time_zone="America/New_York"
    )
    assert office_hours_opening(wednesdays, at(TODAY, 17)) == at(TODAY + datetime.timedelta(days=7), 8)


def test_no_office_hours_means_always_open():
    assert office_hours_opening(None, at(TODAY, 23)) is None


@pytest.fixture
def office_hours(world):
    world.school.office_phone = OFFICE_PHONE
    world.school.save(update_fields=["office_phone"])
    return set_office_hours(
        staff=world.people["teacher"],
        weekdays="01234",
        opens_at=datetime.time(8),
        closes_at=datetime.time(16),
        time_zone="America/New_York",
    )


def _automatic_answers() -> list[Delivery]:
    return list(Delivery.objects.filter(message__kind=MessageKind.AUTO_REPLY).order_by("id"))


def test_a_reply_at_night_waits_for_the_teacher_and_the_family_is_told_when(world, parent, office_hours, time_machine):
    _change(parent, preferred_language="es")
    _send(world)
    thread = Thread.objects.get(guardian=parent)
    time_machine.move_to(at(TODAY, 22), tick=False)

    reply = reply_from_family(user=world.people["guardian"], thread=thread, body="¿A qué hora volvemos?")

    assert reply.notify_at == at(THURSDAY, 8)
    [answer] = _automatic_answers()
    assert not Interaction.objects.filter(delivery=answer).exists() and answer.thread_id == thread.pk
    assert (answer.channel, answer.status, answer.language) == ("app", DeliveryStatus.SENT, "es")
    assert answer.body.startswith("Gracias por su mensaje.")
    assert "8:00" in answer.body and "jueves" in answer.body
    assert f"llame a la oficina de la escuela al {OFFICE_PHONE}" in answer.body
    assert Interaction.objects.count() == 2  # the message and the reply: the automatic answer is no contact


def test_a_family_in_another_zone_is_told_the_time_in_its_own(world, parent, office_hours, time_machine):
    _change(parent, time_zone="America/Los_Angeles")
    _send(world)
    thread = Thread.objects.get(guardian=parent)
    time_machine.move_to(at(TODAY, 22), tick=False)  # 19:00 in Los Angeles

    reply_from_family(user=world.people["guardian"], thread=thread, body="A question.")

    [answer] = _automatic_answers()
    assert "will answer after 5:00 on Thursday 26 November (your time)" in answer.body  # 8:00 in New York


def test_a_second_reply_the_same_evening_gets_no_second_automatic_answer(world, parent, office_hours, time_machine):
    _send(world)
    thread = Thread.objects.get(guardian=parent)
    time_machine.move_to(at(TODAY, 22), tick=False)
    reply_from_family(user=world.people["guardian"], thread=thread, body="One question.")
    assert len(_automatic_answers()) == 1

    time_machine.move_to(at(TODAY, 22, 40), tick=False)
    reply_from_family(user=world.people["guardian"], thread=thread, body="And another one.")

    assert len(_automatic_answers()) == 1 and Reply.objects.count() == 2


def test_a_text_at_night_is_answered_by_text_at_once(client, world, parent, office_hours, texts, time_machine):
    _send(world)
    time_machine.move_to(at(TODAY, 22), tick=False)

    _text_in(client, "Is the trip still on?")

    [answer] = _automatic_answers()
    assert (answer.channel, answer.status) == (DeliveryChannel.SMS, DeliveryStatus.QUEUED)
    assert deliver(delivery_id=answer.id, now=at(TODAY, 22)) == DeliveryOutcome.SENT  # quiet hours or not
    [text] = texts
    assert text.to == PARENT_PHONE and OFFICE_PHONE in text.body


def test_a_family_that_prefers_the_app_but_texts_at_night_is_answered_by_text(
    client, world, parent, office_hours, texts, time_machine
):
    _change(parent, preferred_channel=Channel.APP)
    _send(world)
    time_machine.move_to(at(TODAY, 22), tick=False)
    _text_in(client, "Is the trip still on?")
    [answer] = _automatic_answers()

    outcome = deliver(delivery_id=answer.id, now=at(TODAY, 22))

    answer.refresh_from_db()
    assert "opted out" not in answer.error  # it never did: it has just texted us
    assert outcome == DeliveryOutcome.SENT and [text.to for text in texts] == [PARENT_PHONE]


def test_the_teacher_sees_a_night_reply_as_new_only_when_office_hours_begin(
    client, world, parent, office_hours, time_machine
):
    _send(world)
    thread = Thread.objects.get(guardian=parent)
    time_machine.move_to(at(TODAY, 22), tick=False)
    reply_from_family(user=world.people["guardian"], thread=thread, body="See you Friday.")
    client.force_login(world.people["teacher"])

    assert "new reply" not in client.get(reverse("communication:conversations")).text

    time_machine.move_to(at(THURSDAY, 8), tick=False)
    assert "1 new reply" in client.get(reverse("communication:conversations")).text


def test_a_reply_inside_office_hours_gets_no_automatic_answer(world, parent, office_hours):
    _send(world)
    thread = Thread.objects.get(guardian=parent)

    reply = reply_from_family(user=world.people["guardian"], thread=thread, body="Thank you!")

    assert reply.notify_at == reply.received_at == NOW
    assert _automatic_answers() == []


def test_the_teacher_sets_office_hours_and_sees_them_again(client, world):
    client.force_login(world.people["teacher"])
    url = reverse("communication:office_hours")
    assert not OfficeHours.objects.exists()

    response = client.post(url, {"weekdays": ["0", "2"], "opens_at": "09:00", "closes_at": "15:00"}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("communication:conversations")
    assert "Office hours saved." in response.text
    assert "Your office hours: Monday, Wednesday, 9:00 to 15:00." in response.text
    hours = OfficeHours.objects.get(staff=world.people["teacher"])
    assert (hours.weekdays, hours.opens_at, hours.closes_at, hours.time_zone) == (
        "02",
        datetime.time(9),
        datetime.time(15),
        "America/New_York",
    )
    page = client.get(url).text
    checked = set(re.findall(r'<input type="checkbox" name="weekdays" value="(\d)"[^>]*checked', page))
    assert checked == {"0", "2"}
    assert 'value="09:00"' in page and 'value="15:00"' in page


def test_office_hours_ending_before_they_begin_are_refused(client, world):
    client.force_login(world.people["teacher"])

    response = client.post(
        reverse("communication:office_hours"), {"weekdays": ["0"], "opens_at": "15:00", "closes_at": "09:00"}
    )

    assert response.status_code == 200 and "End after the start." in response.text
    assert not OfficeHours.objects.exists()


def test_removing_office_hours_ends_the_automatic_answer(client, world, office_hours):
    client.force_login(world.people["teacher"])
    assert "Remove my office hours" in client.get(reverse("communication:office_hours")).text

    response = client.post(reverse("communication:office_hours"), {"clear": "1"}, follow=True)

    assert "Office hours removed" in response.text
    assert not OfficeHours.objects.exists()


# --- Unsubscribe --------------------------------------------------------------------------------------------------


def _unsubscribe_url(email: str) -> str:
    return reverse("delivery:unsubscribe", args=[unsubscribe_token(email)])


def test_opening_the_unsubscribe_link_only_asks(client, world, parent):
    response = client.get(_unsubscribe_url(parent.email))

    assert response.status_code == 200
    assert f"Stop email from Homeroom to {parent.email}?" in response.text
    assert not EmailOptOut.objects.exists()


def test_the_mail_programs_one_click_button_unsubscribes_without_a_csrf_token(world, parent):
    one_click = Client(enforce_csrf_checks=True)

    response = one_click.post(_unsubscribe_url(parent.email), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert EmailOptOut.objects.filter(email=parent.email).exists()
    assert "gets no more email from Homeroom" in response.text


def test_the_unsubscribe_link_in_an_email_stops_the_next_ones(world, parent, mailbox):
    _change(parent, phone="")
    _send(world)
    deliver(delivery_id=_copy_for(parent).id, now=NOW)
    email = mailbox.wait_for_message_to(parent.email)
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    [link] = re.findall(r"<([^>]+)>", str(email["List-Unsubscribe"]))
    assert link.startswith(settings.HOMEROOM_BASE_URL)

    response = Client(enforce_csrf_checks=True).post(urlsplit(link).path, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200

    _send(world, subject="Next week")
    assert _copy_for(parent).channel == DeliveryChannel.APP


def test_a_tampered_unsubscribe_link_is_not_found(client, world, parent):
    token = unsubscribe_token(parent.email)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    assert client.post(reverse("delivery:unsubscribe", args=[tampered])).status_code == 404
    assert client.get(reverse("delivery:unsubscribe", args=[tampered])).status_code == 404
    assert not EmailOptOut.objects.exists()
    assert client.get(reverse("delivery:unsubscribe", args=[token])).status_code == 200


def test_a_family_that_unsubscribed_can_get_email_again(client, world, parent):
    url = _unsubscribe_url(parent.email)
    client.post(url)
    assert EmailOptOut.objects.filter(email=parent.email).exists()

    response = client.post(url, {"resubscribe": "1"})

    assert not EmailOptOut.objects.exists()
    assert "You will get email from Homeroom again." in response.text
