"""Messages and conversations: a teacher writes to a class or to chosen families, each family reads its own copy in
its own conversation, answers it, and every message is a contact in the log."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AccessEvent
from communication.conversations import reply_from_family
from communication.models import Direction, Interaction, Reply, Source, Tone
from communication.selectors import student_ratio
from communication.services import send_message
from communication.tests.conftest import TODAY, at
from delivery.models import MESSAGE_MAX_LENGTH, Delivery, DeliveryChannel, DeliveryStatus, Message, Thread
from roster.tests.factories import EnrollmentFactory, GuardianFactory, StudentGuardianFactory

pytestmark = pytest.mark.usefixtures("on_a_wednesday_in_november")


def _send(world, *, sender=None, **fields):
    fields.setdefault("subject", "Our trip to the science museum")
    fields.setdefault("body", "We leave at 9:00 on Friday. Please send a packed lunch.")
    fields.setdefault("tone", Tone.NEUTRAL)
    if "guardian_ids" not in fields:
        fields.setdefault("section", world.section)
    return send_message(sender=sender or world.people["teacher"], **fields)


def _family_in_class(world, *, language="en", email=True, phone="", first_name="Lia"):
    student = EnrollmentFactory(section=world.section, student__first_name=first_name).student
    guardian = GuardianFactory(
        preferred_language=language, email=f"{first_name.lower()}.family@example.org" * email, phone=phone
    )
    StudentGuardianFactory(student=student, guardian=guardian)
    return student, guardian


# --- Who gets it ------------------------------------------------------------------------------------------------


def test_a_class_message_reaches_each_family_we_may_contact_once_and_never_a_restricted_one(world, parent):
    sibling = EnrollmentFactory(section=world.section, student__first_name="Teo").student
    StudentGuardianFactory(student=sibling, guardian=parent)  # Ana's brother: one message for both
    _lia, lia_family = _family_in_class(world, language="es")

    sent = _send(world)

    assert sent.families == 2 and sent.by_email == 2
    assert {d.guardian for d in Delivery.objects.all()} == {parent, lia_family}
    assert not Delivery.objects.filter(guardian__email="restricted@example.org").exists()
    spanish = Delivery.objects.get(guardian=lia_family)
    assert spanish.language == "es" and spanish.channel == DeliveryChannel.EMAIL
    assert spanish.status == DeliveryStatus.QUEUED  # sent by a worker, never inside the request


def test_a_class_message_is_logged_as_a_notice_that_counts_for_nothing(world, parent):
    before = student_ratio(world.student)

    _send(world, tone=Tone.POSITIVE, subject="A great week in 3A")

    interaction = Interaction.objects.get(guardian=parent)
    assert (interaction.tone, interaction.source, interaction.direction) == (Tone.POSITIVE, Source.SENT, "to_family")
    assert interaction.summary == "A great week in 3A"
    assert list(interaction.students.all()) == [world.student]
    assert (interaction.personal, interaction.is_contact, interaction.is_notice) == (False, False, True)
    assert student_ratio(world.student) == before
    assert AccessEvent.objects.filter(actor=world.people["teacher"], student=world.student, action="changed").exists()


def test_a_message_to_one_family_is_a_personal_contact_in_its_tone(world, parent):
    before = student_ratio(world.student)

    _send(world, tone=Tone.POSITIVE, subject="A great week for Ana", guardian_ids=[parent.pk])

    interaction = Interaction.objects.get(guardian=parent)
    assert (interaction.personal, interaction.is_contact) == (True, True)
    assert student_ratio(world.student).positives == before.positives + 1
    assert not Message.objects.get().to_many


def test_the_same_words_to_several_chosen_families_are_a_notice(world, parent):
    _lia, other = _family_in_class(world)

    _send(world, tone=Tone.POSITIVE, guardian_ids=[parent.pk, other.pk])

    assert Message.objects.get().to_many
    assert list(Interaction.objects.values_list("personal", flat=True)) == [False, False]
    assert student_ratio(world.student).positives == 0


def test_a_family_without_email_or_phone_has_it_in_its_portal_inbox_at_once(world):
    _lia, app_only = _family_in_class(world, email=False)

    sent = _send(world)

    delivery = Delivery.objects.get(guardian=app_only)
    assert (delivery.channel, delivery.status) == (DeliveryChannel.APP, DeliveryStatus.SENT)
    assert sent.by_email == 1


def test_a_family_without_email_but_with_a_mobile_gets_a_text(world):
    _lia, texted = _family_in_class(world, email=False, phone="+16175550199")

    sent = _send(world)

    delivery = Delivery.objects.get(guardian=texted)
    assert (delivery.channel, delivery.status) == (DeliveryChannel.SMS, DeliveryStatus.QUEUED)
    assert Interaction.objects.get(guardian=texted).channel == "text"
    assert sent.by_text == 1


def test_families_chosen_one_by_one_are_only_those_the_sender_may_contact(world, parent):
    other_family = world.other_student.guardian_links.get().guardian  # another teacher's class

    sent = _send(world, guardian_ids=[parent.pk, other_family.pk])

    assert sent.families == 1
    assert list(Delivery.objects.values_list("guardian", flat=True)) == [parent.pk]


def test_a_message_to_no_family_we_may_contact_is_refused_and_nothing_is_written(world, restricted):
    with pytest.raises(ValidationError, match="None of these families"):
        _send(world, guardian_ids=[restricted.pk])

    assert (Message.objects.count(), Interaction.objects.count(), Thread.objects.count()) == (0, 0, 0)


def test_only_the_teacher_of_a_class_writes_to_all_of_its_families(world):
    with pytest.raises(PermissionDenied):
        _send(world, sender=world.people["other_teacher"])
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"subject": "Trip\r\nBcc: everyone@example.org"}, "one line"),
        ({"subject": "   "}, "Write a subject"),
        ({"body": ""}, "Write a message"),
        ({"body": "x" * (MESSAGE_MAX_LENGTH + 1)}, "under 5000 characters"),
        ({"tone": "furious"}, "tone"),
    ],
)
def test_a_bad_message_gets_a_clear_error_and_nothing_is_sent(world, fields, error):
    with pytest.raises(ValidationError, match=error):
        _send(world, **fields)

    assert not Message.objects.exists() and not Delivery.objects.exists()


# --- Conversations ----------------------------------------------------------------------------------------------


def test_a_second_message_to_a_family_continues_its_conversation(world, parent):
    _send(world)
    _send(world, guardian_ids=[parent.pk], subject="And a reminder")

    thread = Thread.objects.get()
    assert (thread.staff, thread.guardian) == (world.people["teacher"], parent)
    assert thread.deliveries.count() == 2


def test_a_family_reply_is_logged_from_the_family_and_waits_unread_for_the_teacher(world, parent):
    _send(world)
    thread = Thread.objects.get()

    reply = reply_from_family(user=world.people["guardian"], thread=thread, body="  Thank you! She'll be ready.  ")

    assert reply.body == "Thank you! She'll be ready." and reply.read_at is None
    interaction = reply.interaction
    assert (interaction.direction, interaction.source, interaction.logged_by) == (
        Direction.FROM_FAMILY,
        Source.RECEIVED,
        world.people["teacher"],
    )
    assert list(interaction.students.all()) == [world.student]


def test_only_the_family_of_a_conversation_replies_in_it(world):
    _send(world)
    thread = Thread.objects.get()

    with pytest.raises(PermissionDenied):
        reply_from_family(user=world.people["other_family"], thread=thread, body="Hello")
    assert not Reply.objects.exists()


def test_a_family_whose_child_left_the_class_is_told_to_write_to_the_office(world):
    _send(world)
    thread = Thread.objects.get()
    world.student.enrollments.all().delete()

    with pytest.raises(ValidationError, match="no longer teaches"):
        reply_from_family(user=world.people["guardian"], thread=thread, body="Hello")
    assert not Reply.objects.exists() and Interaction.objects.filter(direction=Direction.FROM_FAMILY).count() == 0


# --- Email ------------------------------------------------------------------------------------------------------


def test_the_email_reaches_the_family_over_smtp_in_its_language(transactional_db, world, mailbox):
    _lia, lia_family = _family_in_class(world, language="es")
    _send(world)

    call_command("db_worker", batch=True, no_startup_delay=True, queue_name="*", verbosity=0)

    message = mailbox.wait_for_message_to(lia_family.email)
    assert message["Subject"] == "Our trip to the science museum"
    assert message["Content-Language"] == "es"
    assert message["Reply-To"] == world.people["teacher"].email
    text = message.get_body(preferencelist=("plain",)).get_content()
    thread = Thread.objects.get(guardian=lia_family)
    assert "packed lunch" in text
    assert "Lea y responda este mensaje en Homeroom" in text
    assert reverse("portal:conversation", args=[thread.pk]) in text
    assert Delivery.objects.get(guardian=lia_family).status == DeliveryStatus.SENT


# --- Pages ------------------------------------------------------------------------------------------------------


def test_the_teacher_writes_to_the_class_from_the_new_message_page(client, world):
    client.force_login(world.people["teacher"])
    url = reverse("communication:new_message")
    class_page = client.get(reverse("students:section_detail", args=[world.section.pk]))
    assert f"{url}?class={world.section.pk}" in class_page.text

    page = client.get(url, {"class": world.section.pk})
    assert page.status_code == 200
    assert f'value="class-{world.section.pk}"' in page.text and "checked" in page.text

    response = client.post(
        url,
        {
            "audience": f"class-{world.section.pk}",
            "subject": "Picture day",
            "body": "Picture day is on Monday.",
            "tone": Tone.NEUTRAL,
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("communication:conversations")
    assert "Your message is on its way to 1 family." in response.text
    assert Delivery.objects.get().subject == "Picture day"


def test_a_form_with_errors_keeps_what_was_typed(client, world):
    client.force_login(world.people["teacher"])

    response = client.post(
        reverse("communication:new_message"),
        {"audience": "chosen", "subject": "Picture day", "body": "Picture day is on Monday.", "tone": Tone.NEUTRAL},
    )

    assert response.status_code == 200
    assert "Choose at least one family." in response.text
    assert "Picture day is on Monday." in response.text and 'value="Picture day"' in response.text
    assert not Message.objects.exists()


def test_at_night_the_teacher_is_told_when_the_families_will_get_the_email(client, world, time_machine):
    time_machine.move_to(at(TODAY, 22, 30), tick=False)
    client.force_login(world.people["teacher"])

    response = client.post(
        reverse("communication:new_message"),
        {"audience": f"class-{world.section.pk}", "subject": "Tomorrow", "body": "Bring boots.", "tone": "neutral"},
        follow=True,
    )

    assert "email and texts will be delivered at 8:00 on Thursday 26 November, their time" in response.text
    delivery = Delivery.objects.get()
    assert delivery.not_before == at(TODAY + datetime.timedelta(days=1), 8)

    thread_page = client.get(reverse("communication:conversation", args=[delivery.thread_id]))
    assert "Email will be delivered at 8:00 on Thursday 26 November, the family&#x27;s time." in thread_page.text


def test_a_family_reads_its_own_copy_and_replies_and_the_teacher_sees_the_reply(client, world, parent):
    _lia, lia_family = _family_in_class(world)
    _send(world)
    thread = Thread.objects.get(guardian=parent)
    client.force_login(world.people["guardian"])

    home = client.get(reverse("portal:home"))
    assert reverse("portal:conversation", args=[thread.pk]) in home.text
    page = client.get(reverse("portal:conversation", args=[thread.pk]))
    assert "packed lunch" in page.text
    assert lia_family.display_name not in page.text and lia_family.email not in page.text  # never other recipients
    assert Delivery.objects.get(guardian=parent).read_at is not None

    response = client.post(reverse("portal:conversation", args=[thread.pk]), {"body": "We will pack one."}, follow=True)
    assert "Your reply is sent." in response.text and "We will pack one." in response.text

    client.force_login(world.people["teacher"])
    inbox = client.get(reverse("communication:conversations"))
    assert "1 new reply" in inbox.text and parent.display_name in inbox.text
    conversation = client.get(reverse("communication:conversation", args=[thread.pk]))
    assert "We will pack one." in conversation.text
    assert Reply.objects.get().read_at is not None
    assert "new reply" not in client.get(reverse("communication:conversations")).text


def test_an_empty_reply_is_explained(client, world, parent):
    _send(world)
    thread = Thread.objects.get(guardian=parent)
    client.force_login(world.people["guardian"])

    response = client.post(reverse("portal:conversation", args=[thread.pk]), {"body": "   "})

    assert response.status_code == 200 and "This field is required." in response.text
    assert not Reply.objects.exists()


def test_the_teacher_writes_again_from_the_conversation(client, world, parent):
    _send(world)
    thread = Thread.objects.get(guardian=parent)
    client.force_login(world.people["teacher"])

    client.post(
        reverse("communication:conversation", args=[thread.pk]),
        {"subject": "Thank you", "body": "See you Friday.", "tone": Tone.POSITIVE},
    )

    assert thread.deliveries.order_by("id").last().subject == "Thank you"
    assert Message.objects.count() == 2


@pytest.mark.parametrize("families", [2, 6])
def test_the_conversations_page_reads_a_fixed_number_of_queries(client, world, families):
    for number in range(families):
        _lia, guardian = _family_in_class(world, first_name=f"Kid{number}")
        _send(world, guardian_ids=[guardian.pk])
    _send(world)
    client.force_login(world.people["teacher"])
    client.get(reverse("communication:conversations"))  # warm the session

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("communication:conversations"))

    # Each family written to alone is a conversation; the class message is one entry, whatever its families.
    assert response.status_code == 200 and response.text.count('class="card conversation') == families + 1
    assert response.text.count("sent-to-many") == 1
    assert len(queries) == QUERIES_FOR_CONVERSATIONS


# session, user, roles, the threads with their unread counts, the families' children, the messages sent to many
# families with their reach, the audit INSERT, the teacher's office hours, what did not reach a family
QUERIES_FOR_CONVERSATIONS = 9
