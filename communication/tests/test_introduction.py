"""The introduction letter: written once from a warm template, sent to each family of a class personalised and in
its language, logged as a positive contact, delivered exactly once."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.urls import reverse
from django.utils.html import escape

from communication.letters import Letter, default_letter, merge_field_problems
from communication.models import Interaction, Source, Tone
from communication.selectors import introduction_recipients, student_ratio
from communication.services import send_introduction_letter
from communication.tests.conftest import TODAY, at
from delivery.models import Delivery, DeliveryChannel, DeliveryStatus
from delivery.outbox import DeliveryOutcome, deliver
from roster.tests.factories import EnrollmentFactory, GuardianFactory, StudentGuardianFactory

pytestmark = pytest.mark.usefixtures("on_a_wednesday_in_november")

HOW_TO_REACH = "jordan@school.example.org or 617-555-0100"
OFFICE_HOURS = "Tuesdays 3:15 to 4:00 pm"


def _send(world, **overrides):
    letters = overrides.pop("letters", {code: default_letter(code) for code in ("en", "es")})
    return send_introduction_letter(
        sender=world.people["teacher"],
        section=world.section,
        letters=letters,
        how_to_reach=HOW_TO_REACH,
        office_hours=OFFICE_HOURS,
        **overrides,
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Dear {family_name}, {child_name} is lovely.", None),
        ("Braces {{like these}} are fine.", None),
        ("Dear {parent}", "{parent} is not a merge field"),
        ("{child_name.__class__}", "is not a merge field"),
        ("{child_name:>999999}", "is not a merge field"),
        ("{child_name!r}", "is not a merge field"),
        ("Dear {family_name", "A brace { or } is not matched"),
    ],
)
def test_only_bare_known_merge_fields_are_accepted(text, problem):
    problems = merge_field_problems(text)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0]


def test_the_default_letter_uses_only_known_merge_fields_in_every_language():
    for code in ("en", "es"):
        letter = default_letter(code)
        assert merge_field_problems(letter.subject) == merge_field_problems(letter.body) == []
    assert default_letter("es").body != default_letter("en").body


def test_each_family_we_may_contact_gets_one_personalised_letter_and_a_restricted_one_none(world):
    assert Delivery.objects.count() == 0

    count = _send(world)

    ana_family = world.student.guardian_links.get(guardian__user=world.people["guardian"]).guardian
    assert count == 1
    [delivery] = Delivery.objects.all()
    assert delivery.guardian == ana_family
    assert "Ana" in delivery.body and world.people["teacher"].full_name in delivery.body
    assert HOW_TO_REACH in delivery.body and OFFICE_HOURS in delivery.body
    assert not Delivery.objects.filter(guardian__email="restricted@example.org").exists()


def test_a_family_gets_the_letter_in_its_language_where_the_letter_exists_in_it(world):
    spanish = GuardianFactory(preferred_language="es", email="familia@example.org")
    vietnamese = GuardianFactory(preferred_language="vi", email="gia.dinh@example.org")
    for guardian in (spanish, vietnamese):
        StudentGuardianFactory(student=EnrollmentFactory(section=world.section).student, guardian=guardian)

    _send(world)

    assert Delivery.objects.get(guardian=spanish).language == "es"
    assert Delivery.objects.get(guardian=spanish).body.startswith("Estimado")
    assert Delivery.objects.get(guardian=vietnamese).language == "en"
    assert Delivery.objects.get(guardian=vietnamese).body.startswith("Dear")


def test_brothers_and_sisters_in_one_class_share_one_letter_naming_both(world):
    guardian = world.student.guardian_links.get(guardian__user=world.people["guardian"]).guardian
    sibling = EnrollmentFactory(section=world.section, student__first_name="Bea").student
    StudentGuardianFactory(student=sibling, guardian=guardian)

    _send(world)

    [delivery] = Delivery.objects.filter(guardian=guardian)
    assert "Ana and Bea" in delivery.body
    assert set(delivery.interaction.students.all()) == {world.student, sibling}


def test_the_form_letter_is_logged_as_a_notice_that_counts_for_nothing(world):
    _send(world)

    interaction = Interaction.objects.get()
    assert (interaction.tone, interaction.source, interaction.channel) == (Tone.POSITIVE, Source.SENT, "email")
    assert interaction.is_notice
    assert student_ratio(world.student).positives == 0


def test_sending_again_reaches_only_families_who_have_not_had_it(world):
    _send(world)
    newcomer = StudentGuardianFactory(student=EnrollmentFactory(section=world.section).student).guardian
    assert [r.guardian for r in introduction_recipients(section=world.section)] == [newcomer]

    assert _send(world) == 1

    assert Delivery.objects.count() == 2
    assert introduction_recipients(section=world.section) == []


def test_a_family_without_email_finds_the_letter_in_its_portal_inbox(world, client):
    guardian = world.student.guardian_links.get(guardian__user=world.people["guardian"]).guardian
    guardian.email = guardian.phone = ""
    guardian.save(update_fields=["email", "phone"])

    _send(world)

    delivery = Delivery.objects.get()
    assert (delivery.channel, delivery.status) == (DeliveryChannel.APP, DeliveryStatus.SENT)
    client.force_login(world.people["guardian"])
    assert escape(delivery.subject) in client.get(reverse("portal:home")).content.decode()


def test_only_the_class_teacher_sends_it(world):
    for person in ("other_teacher", "leader", "counselor"):
        with pytest.raises(PermissionDenied):
            send_introduction_letter(
                sender=world.people[person],
                section=world.section,
                letters={"en": default_letter("en")},
                how_to_reach=HOW_TO_REACH,
                office_hours=OFFICE_HOURS,
            )
    assert Delivery.objects.count() == 0


def test_an_email_is_delivered_exactly_once(world):
    _send(world)
    delivery = Delivery.objects.get()

    assert deliver(delivery_id=delivery.id) == DeliveryOutcome.SENT
    assert deliver(delivery_id=delivery.id) == DeliveryOutcome.NOT_CLAIMED

    assert len(mail.outbox) == 1
    assert mail.outbox[0].reply_to == [world.people["teacher"].email]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.sent_at is not None


def test_a_server_that_cannot_be_reached_is_tried_again_later_with_the_reason_kept(world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens there
    _send(world)
    delivery = Delivery.objects.get()

    assert deliver(delivery_id=delivery.id) == DeliveryOutcome.RETRYING

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.QUEUED and delivery.error and delivery.not_before is not None


def test_the_letter_reaches_the_family_over_smtp_through_the_task_queue(transactional_db, world, mailbox):
    _send(world)
    assert mailbox.messages == []  # queued, not sent inside the request

    call_command("db_worker", batch=True, no_startup_delay=True, queue_name="*", verbosity=0)

    message = mailbox.wait_for_message_to("guardian@example.org")
    assert message["Reply-To"] == world.people["teacher"].email
    assert "Ana" in message.get_body(preferencelist=("plain",)).get_content()


def test_the_teacher_previews_then_sends_it_from_the_class_page(client, world):
    client.force_login(world.people["teacher"])
    url = reverse("communication:introduction_letter", args=[world.section.id])
    data = {"how_to_reach": HOW_TO_REACH, "office_hours": OFFICE_HOURS}
    data |= {"subject_en": "Hello from {child_name}'s teacher", "body_en": "Dear {family_name}, see you soon."}

    assert url in client.get(reverse("students:section_detail", args=[world.section.id])).content.decode()
    preview = client.post(url, {**data, "preview": "1"})
    assert "Hello from Ana&#x27;s teacher" in preview.content.decode()
    assert Delivery.objects.count() == 0

    response = client.post(url, {**data, "send": "1"}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("students:section_detail", args=[world.section.id])
    assert "on its way to 1 family" in response.content.decode()
    assert Delivery.objects.get().subject == "Hello from Ana's teacher"


def test_a_bad_merge_field_is_explained_and_nothing_is_sent(client, world):
    client.force_login(world.people["teacher"])
    url = reverse("communication:introduction_letter", args=[world.section.id])

    response = client.post(
        url,
        {
            "how_to_reach": HOW_TO_REACH,
            "office_hours": OFFICE_HOURS,
            "subject_en": "Hi",
            "body_en": "Dear {parent_name}",
            "send": "1",
        },
    )

    assert response.status_code == 200
    assert "{parent_name} is not a merge field" in response.content.decode()
    assert "Dear {parent_name}" in response.content.decode()  # what was typed is kept
    assert Delivery.objects.count() == 0


def test_a_letter_sent_at_night_tells_the_teacher_when_the_families_will_get_it(client, world, time_machine):
    time_machine.move_to(at(TODAY, 22))
    client.force_login(world.people["teacher"])
    url = reverse("communication:introduction_letter", args=[world.section.id])
    data = {"how_to_reach": HOW_TO_REACH, "office_hours": OFFICE_HOURS, "send": "1"}
    data |= {"subject_en": "Hello", "body_en": "Dear {family_name}, see you soon."}

    page = client.post(url, data, follow=True).content.decode()

    assert "email and texts will be delivered at 8:00 on Thursday 26 November, their time" in page
    assert Delivery.objects.get().not_before == at(TODAY + datetime.timedelta(days=1), 8)


@pytest.mark.security
def test_a_subject_with_a_line_break_is_refused_and_what_was_typed_is_kept(client, world):
    client.force_login(world.people["teacher"])
    url = reverse("communication:introduction_letter", args=[world.section.id])

    response = client.post(
        url,
        {
            "how_to_reach": HOW_TO_REACH,
            "office_hours": OFFICE_HOURS,
            "subject_en": "Hello\r\nBcc: everyone@example.org",
            "body_en": "Dear {family_name}, see you soon.",
            "send": "1",
        },
    )

    assert response.status_code == 200
    assert "A subject is one line: remove the line breaks." in response.content.decode()
    assert "Dear {family_name}, see you soon." in response.content.decode()
    assert Delivery.objects.count() == 0


def test_a_family_name_with_a_line_break_on_file_still_gives_a_one_line_subject_that_is_sent(world, mailbox):
    guardian = world.student.guardian_links.get(contact_allowed=True).guardian
    guardian.first_name, guardian.last_name = "Rosa\n", "Diaz\r\nX-Header: forged"
    guardian.save(update_fields=["first_name", "last_name"])
    letters = {"en": Letter(subject="Hello, {family_name}", body="Dear {family_name}, see you soon.")}

    _send(world, letters=letters)
    delivery = Delivery.objects.get(guardian=guardian)

    assert "\n" not in delivery.subject and "\r" not in delivery.subject
    assert deliver(delivery_id=delivery.pk) == DeliveryOutcome.SENT
    assert mailbox.wait_for_message_to(guardian.email)["X-Header"] is None
