"""Good news: a teacher tells a family what their child did well, by a call they log or a note Homeroom sends in the
family's language, and the Today page queues the children whose families have heard none lately."""

import datetime
import re
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import User
from audit.models import AccessEvent, AuditAction
from communication.conversations import reply_from_family
from communication.models import (
    ContactChannel,
    ContactSummary,
    Direction,
    Interaction,
    Moment,
    Outcome,
    Reply,
    Source,
    Tone,
)
from communication.selectors import contactable_guardians
from communication.services import (
    GOOD_NEWS_MAX_LENGTH,
    log_good_news_call,
    log_interaction,
    recount_contact_summaries,
    send_good_news,
)
from communication.tests.conftest import NOW, TODAY, at, days_ago, log
from communication.today import today_for
from delivery.models import Delivery, DeliveryStatus, Message, MessageKind, Thread
from delivery.outbox import deliver_batch
from homeroom.testing import FakeLibreTranslate, Mailbox
from roster.models import Guardian, Student
from roster.tests.factories import EnrollmentFactory, GuardianFactory, StudentGuardianFactory

if TYPE_CHECKING:
    from conftest import World

pytestmark = pytest.mark.usefixtures("on_a_wednesday_in_november")

SENTENCE = "Ana read her poem to the whole class."
# The fake LibreTranslate server answers a sentence it does not know as "[<language>] <sentence>".
SENTENCE_MACHINE_ES = f"[es] {SENTENCE}"
TODAY_URL = reverse("students:today")


# --- People and helpers -----------------------------------------------------------------------------------------


@pytest.fixture
def rosa(ana: Student) -> Guardian:
    """Ana's other parent, who reads Spanish and may be contacted; not the primary contact, first by name."""
    guardian: Guardian = GuardianFactory.create(
        first_name="Rosa", last_name="Abad", preferred_language="es", email="rosa@example.org"
    )
    StudentGuardianFactory.create(student=ana, guardian=guardian, is_primary_contact=False)
    return guardian


@pytest.fixture
def signed_in(client: Client, teacher: User) -> Client:
    client.force_login(teacher)
    return client


def pupil(world: "World", first_name: str, last_name: str, *, contactable: bool = True) -> tuple[Student, Guardian]:
    """A student of class 3A with one parent, whom the school may or may not contact."""
    student: Student = EnrollmentFactory.create(
        section=world.section, student__first_name=first_name, student__last_name=last_name
    ).student
    link = StudentGuardianFactory.create(student=student, contact_allowed=contactable)
    return student, link.guardian


def good_news_url(student: Student, **params: str) -> str:
    url = reverse("communication:good_news", args=[student.pk])
    return f"{url}?{'&'.join(f'{k}={v}' for k, v in params.items())}" if params else url


def summary_of(student: Student) -> ContactSummary:
    return ContactSummary.objects.get(student=student, term__is_current=True)


def queue_of(user: User) -> list[Student]:
    return [due.student for due in today_for(user=user).good_news_queue]


def nothing_written() -> bool:
    return not (
        Message.objects.exists()
        or Delivery.objects.exists()
        or Interaction.objects.exists()
        or Thread.objects.exists()
        or ContactSummary.objects.exists()
    )


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def radios(page: str, name: str) -> list[str]:
    return re.findall(rf'<input type="radio" name="{name}" value="([^"]*)"', page)


# --- A good news call -------------------------------------------------------------------------------------------


def test_a_good_news_call_is_logged_as_a_positive_call_with_its_kind_of_moment(
    teacher: User, ana: Student, parent: Guardian
) -> None:
    assert not ContactSummary.objects.filter(student=ana).exists()

    call = log_good_news_call(
        user=teacher, student=ana, guardian=parent, moment=Moment.HELPING, sentence="  Ana helped a new\nclassmate. "
    )

    call.refresh_from_db()
    assert (call.tone, call.channel, call.guardian, call.logged_by) == (Tone.POSITIVE, "call", parent, teacher)
    assert (call.moment, call.moment_label) == ("helping", "Helping someone")
    assert call.summary == "Ana helped a new classmate."  # one sentence, on one line
    assert (call.outcome, call.source, call.occurred_at) == (Outcome.REACHED, Source.LOGGED, NOW)
    assert list(call.students.all()) == [ana]
    summary = summary_of(ana)
    assert (summary.positives, summary.last_positive_at) == (1, NOW)
    assert AccessEvent.objects.filter(actor=teacher, student=ana, action=AuditAction.CHANGED).exists()


@pytest.mark.parametrize(
    ("person", "guardian"), [("teacher", "restricted"), ("other_teacher", "parent"), ("far_teacher", "parent")]
)
def test_a_good_news_call_to_a_family_member_the_user_may_not_contact_is_refused_and_nothing_is_written(
    request: pytest.FixtureRequest, world: "World", ana: Student, person: str, guardian: str
) -> None:
    with pytest.raises(PermissionDenied):
        log_good_news_call(
            user=world.people[person],
            student=ana,
            guardian=request.getfixturevalue(guardian),
            moment=Moment.KINDNESS,
            sentence=SENTENCE,
        )

    assert nothing_written()


def test_a_good_news_call_to_another_child_s_parent_is_refused(world: "World", teacher: User, ana: Student) -> None:
    bens_parent = world.other_student.guardian_links.get().guardian

    with pytest.raises(PermissionDenied):
        log_good_news_call(user=teacher, student=ana, guardian=bens_parent, moment=Moment.KINDNESS, sentence=SENTENCE)

    assert nothing_written()


# --- Good news sent -----------------------------------------------------------------------------------------------


def test_the_family_members_the_teacher_may_contact_are_the_primary_contact_first_and_never_a_restricted_one(
    teacher: User, ana: Student, parent: Guardian, rosa: Guardian, restricted: Guardian
) -> None:
    parent.last_name = "Zapata"  # after Rosa Abad by name: the primary contact still comes first
    parent.save(update_fields=["last_name"])

    assert list(contactable_guardians(user=teacher, student=ana)) == [parent, rosa]


def test_sent_good_news_reaches_each_family_member_the_teacher_may_contact_once_and_never_a_restricted_one(
    teacher: User, ana: Student, parent: Guardian, rosa: Guardian, restricted: Guardian
) -> None:
    sent = send_good_news(user=teacher, student=ana, moment=Moment.HELPING, sentence=SENTENCE)

    message = Message.objects.get()
    assert (message.kind, message.sender) == (MessageKind.GOOD_NEWS, teacher)
    assert set(Interaction.objects.filter(delivery__message=message).values_list("tone", flat=True)) == {Tone.POSITIVE}
    assert sent.families == 2 and sent.message == message
    deliveries = {delivery.guardian: delivery for delivery in Delivery.objects.select_related("thread")}
    assert set(deliveries) == {parent, rosa}
    assert (deliveries[parent].language, deliveries[rosa].language) == ("en", "es")
    assert not Interaction.objects.filter(guardian=restricted).exists()
    assert not Thread.objects.filter(guardian=restricted).exists()


def test_the_english_family_member_reads_the_kind_of_good_news_then_the_teacher_s_sentence(
    teacher: User, ana: Student, parent: Guardian
) -> None:
    send_good_news(user=teacher, student=ana, moment=Moment.HELPING, sentence=SENTENCE)

    delivery = Delivery.objects.get(guardian=parent)
    assert delivery.subject == "Good news about Ana"
    assert delivery.body == f"Ana helped someone.\n\n{SENTENCE}"
    assert delivery.machine_translated is False
    assert delivery.status == DeliveryStatus.QUEUED  # sent by a worker, never inside the request


def test_the_spanish_family_member_reads_homeroom_s_words_in_spanish_and_the_teacher_s_sentence_as_written(
    teacher: User, ana: Student, rosa: Guardian
) -> None:
    send_good_news(user=teacher, student=ana, moment=Moment.HELPING, sentence=SENTENCE)

    delivery = Delivery.objects.get(guardian=rosa)
    assert delivery.language == "es"
    assert delivery.subject == "Buenas noticias sobre Ana"
    assert delivery.body == f"Ana ayudó a alguien.\n\n{SENTENCE}"  # no translator configured: the words as written
    assert delivery.machine_translated is False


def test_each_copy_is_a_positive_contact_with_its_moment_in_the_family_s_conversation_with_the_teacher(
    world: "World", teacher: User, ana: Student, parent: Guardian, rosa: Guardian
) -> None:
    send_good_news(user=teacher, student=ana, moment=Moment.PERSEVERANCE, sentence=SENTENCE)

    interactions = {interaction.guardian: interaction for interaction in Interaction.objects.all()}
    assert set(interactions) == {parent, rosa}
    for guardian, interaction in interactions.items():
        assert (interaction.tone, interaction.moment, interaction.source) == (Tone.POSITIVE, "perseverance", "sent")
        assert (interaction.summary, interaction.logged_by, interaction.occurred_at) == (SENTENCE, teacher, NOW)
        assert list(interaction.students.all()) == [ana]
        delivery = Delivery.objects.get(guardian=guardian)
        assert delivery.interaction == interaction
        assert delivery.thread is not None
        assert (delivery.thread.staff, delivery.thread.guardian) == (teacher, guardian)
    assert Thread.objects.filter(staff=teacher).count() == 2
    summary = summary_of(ana)
    assert (summary.positives, summary.last_positive_at) == (2, NOW)
    assert AccessEvent.objects.filter(actor=teacher, student=ana, action=AuditAction.CHANGED).exists()


def test_a_family_s_answer_to_good_news_reaches_the_teacher(
    world: "World", teacher: User, ana: Student, parent: Guardian
) -> None:
    send_good_news(user=teacher, student=ana, moment=Moment.KINDNESS, sentence=SENTENCE)
    thread = Delivery.objects.get(guardian=parent).thread
    assert thread is not None

    reply = reply_from_family(user=world.people["guardian"], thread=thread, body="Thank you, we are so proud!")

    assert reply.thread.staff == teacher
    assert Interaction.objects.filter(guardian=parent, direction=Direction.FROM_FAMILY).count() == 1
    assert Reply.objects.filter(thread__staff=teacher).count() == 1


def test_good_news_about_a_child_with_no_family_member_the_teacher_may_contact_is_refused(
    world: "World", teacher: User
) -> None:
    lone, _ = pupil(world, "Lou", "Lane", contactable=False)

    with pytest.raises(ValidationError, match="No family member of this child may be contacted by you"):
        send_good_news(user=teacher, student=lone, moment=Moment.KINDNESS, sentence=SENTENCE)

    assert nothing_written()


def test_good_news_about_a_child_the_teacher_does_not_teach_is_refused(world: "World", ana: Student) -> None:
    with pytest.raises(ValidationError):
        send_good_news(user=world.people["other_teacher"], student=ana, moment=Moment.KINDNESS, sentence=SENTENCE)

    assert nothing_written()


# --- Machine translation of the teacher's sentence ----------------------------------------------------------------


def test_with_a_translator_the_spanish_family_reads_the_catalog_sentence_and_the_teacher_s_translated_one(
    teacher: User, ana: Student, parent: Guardian, rosa: Guardian, libretranslate: FakeLibreTranslate
) -> None:
    send_good_news(user=teacher, student=ana, moment=Moment.HELPING, sentence=SENTENCE)

    spanish = Delivery.objects.get(guardian=rosa)
    assert spanish.machine_translated is True
    assert spanish.body.endswith(f"\n\n{SENTENCE_MACHINE_ES}")
    assert spanish.subject == "Buenas noticias sobre Ana"
    assert spanish.body == f"Ana ayudó a alguien.\n\n{SENTENCE_MACHINE_ES}"


def test_with_a_translator_only_the_teacher_s_sentence_is_machine_translated_and_only_for_other_languages(
    teacher: User, ana: Student, parent: Guardian, rosa: Guardian, libretranslate: FakeLibreTranslate
) -> None:
    send_good_news(user=teacher, student=ana, moment=Moment.HELPING, sentence=SENTENCE)

    english = Delivery.objects.get(guardian=parent)
    assert english.machine_translated is False
    assert english.body == f"Ana helped someone.\n\n{SENTENCE}"
    assert [(request["source"], request["target"]) for request in libretranslate.requests] == [("en", "es")]
    sent_for_translation = " ".join(str(request["q"]) for request in libretranslate.requests)
    assert SENTENCE in sent_for_translation
    assert "helped someone" not in sent_for_translation  # Homeroom's own words come from the catalog


# --- By email, over real SMTP -------------------------------------------------------------------------------------


def test_the_spanish_family_member_receives_the_good_news_by_email_in_spanish(
    teacher: User, ana: Student, parent: Guardian, rosa: Guardian, mailbox: Mailbox
) -> None:
    send_good_news(user=teacher, student=ana, moment=Moment.HELPING, sentence=SENTENCE)
    ids = list(Delivery.objects.filter(status=DeliveryStatus.QUEUED).order_by("id").values_list("id", flat=True))

    outcomes = deliver_batch(delivery_ids=ids, now=NOW)

    assert set(outcomes.values()) == {"sent"} and len(outcomes) == 2
    email = mailbox.wait_for_message_to("rosa@example.org")
    assert email["Subject"] == "Buenas noticias sobre Ana"
    assert email["Content-Language"] == "es"
    text = email.get_body(preferencelist=("plain",))
    assert text is not None
    assert f"Ana ayudó a alguien.\n\n{SENTENCE}" in text.get_content().replace("\r\n", "\n")
    english = mailbox.wait_for_message_to(parent.email)
    assert english["Subject"] == "Good news about Ana"
    assert not mailbox_has_mail_to("restricted@example.org", mailbox)


def mailbox_has_mail_to(address: str, mailbox: Mailbox) -> bool:
    return any(address in {to.addr_spec for to in message["To"].addresses} for message in mailbox.messages)


# --- What the services refuse -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "sentence", "field"),
    [
        ("bravery", SENTENCE, "moment"),
        ("", SENTENCE, "moment"),
        (Moment.HELPING, "", "sentence"),
        (Moment.HELPING, "  \n\t ", "sentence"),
        (Moment.HELPING, "x" * (GOOD_NEWS_MAX_LENGTH + 1), "sentence"),
    ],
)
@pytest.mark.parametrize("how", ["call", "send"])
def test_bad_good_news_names_the_field_and_nothing_is_written(
    teacher: User, ana: Student, parent: Guardian, how: str, moment: str, sentence: str, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        if how == "call":
            log_good_news_call(user=teacher, student=ana, guardian=parent, moment=moment, sentence=sentence)
        else:
            send_good_news(user=teacher, student=ana, moment=moment, sentence=sentence)

    assert list(refused.value.message_dict) == [field]
    assert nothing_written()


@pytest.mark.parametrize("how", ["call", "send"])
def test_good_news_of_exactly_the_longest_length_is_accepted(
    teacher: User, ana: Student, parent: Guardian, how: str
) -> None:
    sentence = "x" * GOOD_NEWS_MAX_LENGTH
    if how == "call":
        log_good_news_call(user=teacher, student=ana, guardian=parent, moment=Moment.HELPING, sentence=sentence)
    else:
        send_good_news(user=teacher, student=ana, moment=Moment.HELPING, sentence=sentence)

    assert Interaction.objects.get().summary == sentence


# --- Only good news has a moment ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("tone", "saved"), [(Tone.POSITIVE, True), (Tone.NEUTRAL, False), (Tone.CONCERN, False)])
def test_the_database_keeps_a_moment_for_positive_contacts_only(
    teacher: User, parent: Guardian, tone: str, saved: bool
) -> None:
    interaction = Interaction(
        guardian=parent,
        logged_by=teacher,
        channel=ContactChannel.CALL,
        tone=tone,
        moment=Moment.HELPING,
        summary="Saved past the service, as an import would.",
        occurred_at=NOW,
    )

    if saved:
        interaction.save()
        assert Interaction.objects.filter(moment=Moment.HELPING).count() == 1
    else:
        with pytest.raises(IntegrityError), transaction.atomic():
            interaction.save()
        assert not Interaction.objects.exists()


def test_the_database_refuses_a_moment_that_is_not_one_of_the_ten(teacher: User, parent: Guardian) -> None:
    interaction = Interaction(
        guardian=parent,
        logged_by=teacher,
        channel=ContactChannel.CALL,
        tone=Tone.POSITIVE,
        moment="bravery",
        summary="Saved past the service, as an import would.",
        occurred_at=NOW,
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        interaction.save()
    assert not Interaction.objects.exists()


def test_a_concern_logged_with_a_moment_is_refused_and_nothing_is_written(
    teacher: User, ana: Student, parent: Guardian
) -> None:
    with pytest.raises(ValidationError):
        log_interaction(
            logged_by=teacher,
            students=[ana],
            guardian=parent,
            tone=Tone.CONCERN,
            summary="Ana pushed a classmate.",
            moment=Moment.KINDNESS,
        )

    assert nothing_written()


# --- The last good news, recounted from the log -------------------------------------------------------------------


def test_only_good_news_that_reached_the_family_counts_as_the_last_good_news(
    teacher: User, ana: Student, parent: Guardian
) -> None:
    log(by=teacher, guardian=parent, students=[ana], outcome=Outcome.NO_ANSWER, occurred_at=days_ago(10))
    assert summary_of(ana).last_positive_at is None

    log(by=teacher, guardian=parent, students=[ana], occurred_at=days_ago(5))
    assert summary_of(ana).last_positive_at == days_ago(5)

    log(by=teacher, guardian=parent, students=[ana], tone=Tone.CONCERN, occurred_at=days_ago(1))
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.NEUTRAL, occurred_at=days_ago(1, hour=13))
    summary = summary_of(ana)
    assert summary.last_positive_at == days_ago(5)
    assert summary.last_contact_at == days_ago(1, hour=13)


def test_good_news_logged_late_for_an_earlier_day_does_not_move_the_last_good_news_back(
    teacher: User, ana: Student, parent: Guardian
) -> None:
    log(by=teacher, guardian=parent, students=[ana], occurred_at=days_ago(2))

    log(by=teacher, guardian=parent, students=[ana], occurred_at=days_ago(9))

    assert summary_of(ana).last_positive_at == days_ago(2)


def test_good_news_from_the_summer_before_the_term_is_not_this_term_s(
    teacher: User, ana: Student, parent: Guardian
) -> None:
    log(by=teacher, guardian=parent, students=[ana], occurred_at=at(datetime.date(2026, 8, 1)))

    assert not ContactSummary.objects.filter(student=ana, term__is_current=True, last_positive_at__isnull=False)


def test_the_recount_rebuilds_the_last_good_news_from_the_log(
    world: "World", teacher: User, ana: Student, parent: Guardian
) -> None:
    log(by=teacher, guardian=parent, students=[ana], occurred_at=days_ago(4))
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.CONCERN, occurred_at=days_ago(1))
    term = world.section.term
    ContactSummary.objects.filter(student=ana).update(last_positive_at=None)

    recount_contact_summaries(term=term, students=[ana.pk])

    assert summary_of(ana).last_positive_at == days_ago(4)


# --- The good news queue ------------------------------------------------------------------------------------------


def test_the_queue_puts_children_never_told_good_news_first_then_the_longest_waiting(
    world: "World", teacher: User, ana: Student, parent: Guardian
) -> None:
    assert world.school.good_news_days == 14
    log(by=teacher, guardian=parent, students=[ana], occurred_at=days_ago(1))
    abe, abe_parent = pupil(world, "Abe", "Adams")
    log(by=teacher, guardian=abe_parent, students=[abe], occurred_at=days_ago(20))
    bea, bea_parent = pupil(world, "Bea", "Brown")
    log(by=teacher, guardian=bea_parent, students=[bea], occurred_at=days_ago(30))
    zoe, _ = pupil(world, "Zoe", "Zimmer")
    yul, _ = pupil(world, "Yul", "Young")
    val, val_parent = pupil(world, "Val", "Vance")
    log(by=teacher, guardian=val_parent, students=[val], occurred_at=days_ago(3))

    today = today_for(user=teacher)

    assert [due.student for due in today.good_news_queue] == [yul, zoe, bea, abe]
    assert [due.days_without for due in today.good_news_queue] == [None, None, 30, 20]
    assert today.good_news_queue[2].last_positive_on == TODAY - datetime.timedelta(days=30)
    assert today.good_news_due == 4


@pytest.mark.parametrize(
    ("last_good_news", "queued"),
    [
        (at(TODAY - datetime.timedelta(days=14), 9), True),
        # 23:30 in New York is the next day in UTC: the school's own date counts.
        (at(TODAY - datetime.timedelta(days=14), 23, 30), True),
        (at(TODAY - datetime.timedelta(days=13), 0, 30), False),
        (at(TODAY - datetime.timedelta(days=13), 23, 30), False),
    ],
)
def test_a_child_is_queued_from_the_school_s_good_news_day_on_in_its_own_time(
    teacher: User, ana: Student, parent: Guardian, last_good_news: datetime.datetime, queued: bool
) -> None:
    log(by=teacher, guardian=parent, students=[ana], occurred_at=last_good_news)

    assert (ana in queue_of(teacher)) is queued


def test_a_shorter_good_news_period_queues_a_child_told_good_news_three_days_ago(
    world: "World", teacher: User, ana: Student, parent: Guardian
) -> None:
    log(by=teacher, guardian=parent, students=[ana], occurred_at=days_ago(3))
    assert ana not in queue_of(teacher)

    world.school.good_news_days = 2
    world.school.save(update_fields=["good_news_days"])

    [due] = today_for(user=teacher).good_news_queue
    assert (due.student, due.days_without) == (ana, 3)


def test_a_concern_or_a_call_that_did_not_reach_them_keeps_a_child_in_the_queue(
    teacher: User, ana: Student, parent: Guardian
) -> None:
    log(by=teacher, guardian=parent, students=[ana], occurred_at=days_ago(20))
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.CONCERN, occurred_at=days_ago(2))
    log(by=teacher, guardian=parent, students=[ana], outcome=Outcome.VOICEMAIL, occurred_at=days_ago(1))

    [due] = today_for(user=teacher).good_news_queue

    assert (due.student, due.days_without) == (ana, 20)


@pytest.mark.parametrize("how", ["call", "send"])
def test_good_news_told_today_takes_the_child_out_of_the_queue(
    teacher: User, ana: Student, parent: Guardian, how: str
) -> None:
    assert queue_of(teacher) == [ana]

    if how == "call":
        log_good_news_call(user=teacher, student=ana, guardian=parent, moment=Moment.TEAMWORK, sentence=SENTENCE)
    else:
        send_good_news(user=teacher, student=ana, moment=Moment.TEAMWORK, sentence=SENTENCE)

    assert queue_of(teacher) == []
    assert today_for(user=teacher).good_news_due == 0


def test_good_news_about_one_child_does_not_take_a_sibling_out_of_the_queue(
    world: "World", teacher: User, ana: Student, parent: Guardian
) -> None:
    teo: Student = EnrollmentFactory.create(section=world.section, student__first_name="Teo").student
    StudentGuardianFactory.create(student=teo, guardian=parent)
    assert set(queue_of(teacher)) == {ana, teo}

    send_good_news(user=teacher, student=ana, moment=Moment.KINDNESS, sentence=SENTENCE)

    assert queue_of(teacher) == [teo]
    assert list(Interaction.objects.get().students.all()) == [ana]


@pytest.mark.parametrize(("contactable", "queued"), [(True, True), (False, False)])
def test_a_child_whose_only_family_member_may_not_be_contacted_is_not_queued(
    world: "World", teacher: User, contactable: bool, queued: bool
) -> None:
    lou, _ = pupil(world, "Lou", "Lane", contactable=contactable)

    assert (lou in queue_of(teacher)) is queued


def test_the_queue_shows_five_children_and_counts_every_one_waiting(
    world: "World", teacher: User, ana: Student
) -> None:
    waiting = [pupil(world, name, f"{name}son")[0] for name in ("Abe", "Bea", "Cal", "Dot", "Eve", "Fay", "Gus")]

    today = today_for(user=teacher)

    assert len(today.good_news_queue) == 5
    assert today.good_news_due == len(waiting) + 1  # and Ana
    assert {due.student for due in today.good_news_queue} <= {*waiting, ana}


def test_each_teacher_s_queue_has_only_the_children_in_their_care(world: "World", teacher: User, ana: Student) -> None:
    ben = world.other_student

    assert queue_of(teacher) == [ana]
    assert queue_of(world.people["other_teacher"]) == [ben]
    assert queue_of(world.people["leader"]) == []  # a leader sees the school but has no class of their own


# --- The Today page -----------------------------------------------------------------------------------------------


def good_news_section(page: str) -> str:
    return page.split('class="callout good-news-queue"', 1)[1].split("</section>", 1)[0]


def test_the_today_page_shows_the_queue_with_a_link_to_each_child_s_good_news_page(
    signed_in: Client, world: "World", teacher: User, ana: Student
) -> None:
    abe, abe_parent = pupil(world, "Abe", "Adams")
    log(by=teacher, guardian=abe_parent, students=[abe], occurred_at=days_ago(20))

    page = signed_in.get(TODAY_URL).content.decode()

    assert "Good news queue" in page
    section = good_news_section(page)
    links = re.findall(r'<a href="([^"?]*)\?next=', section)
    assert links == [good_news_url(ana), good_news_url(abe)]
    assert "no good news yet this term" in section
    assert "last good news 20 days ago" in section
    assert "2 children's families have heard no good news from school in the last 14 days." in section


def test_the_today_page_hides_the_queue_when_every_family_has_heard_good_news_lately(
    signed_in: Client, teacher: User, ana: Student, parent: Guardian
) -> None:
    assert "Good news queue" in signed_in.get(TODAY_URL).content.decode()

    log_good_news_call(user=teacher, student=ana, guardian=parent, moment=Moment.KINDNESS, sentence=SENTENCE)

    page = signed_in.get(TODAY_URL).content.decode()
    assert "Good news queue" not in page
    assert "good-news-queue" not in page


# --- The good news page -------------------------------------------------------------------------------------------


def test_the_page_offers_the_ten_kinds_of_good_news_and_the_family_members_the_teacher_may_contact(
    signed_in: Client, ana: Student, parent: Guardian, rosa: Guardian, restricted: Guardian
) -> None:
    response = signed_in.get(good_news_url(ana))

    assert response.status_code == 200
    page = response.content.decode()
    assert radios(page, "moment") == list(Moment.values)
    assert len(Moment.values) == 10
    assert radios(page, "guardian") == [str(parent.pk), str(rosa.pk)]
    assert response.context["form"]["guardian"].value() == parent.pk  # the primary contact, preselected
    assert restricted.display_name not in page


def test_the_page_opened_for_a_family_member_preselects_them_but_never_one_the_teacher_may_not_contact(
    signed_in: Client, ana: Student, parent: Guardian, rosa: Guardian, restricted: Guardian
) -> None:
    assert signed_in.get(good_news_url(ana, guardian=str(rosa.pk))).context["form"]["guardian"].value() == rosa.pk

    forged = signed_in.get(good_news_url(ana, guardian=str(restricted.pk)))

    assert forged.context["form"]["guardian"].value() == parent.pk


def test_a_good_news_call_from_the_page_is_logged_and_goes_back_where_the_teacher_came_from(
    signed_in: Client, ana: Student, parent: Guardian
) -> None:
    response = signed_in.post(
        good_news_url(ana),
        {"moment": "creativity", "sentence": SENTENCE, "guardian": parent.pk, "action": "called", "next": TODAY_URL},
    )

    assert response.status_code == 302 and response["Location"] == TODAY_URL
    call = Interaction.objects.get()
    assert (call.guardian, call.tone, call.channel, call.moment) == (parent, Tone.POSITIVE, "call", "creativity")
    assert "Good news logged. Thank you for the call." in messages_of(response)
    assert not Message.objects.exists()


def test_a_next_address_on_another_site_is_ignored_for_the_child_s_page(
    signed_in: Client, ana: Student, parent: Guardian
) -> None:
    response = signed_in.post(
        good_news_url(ana),
        {
            "moment": "kindness",
            "sentence": SENTENCE,
            "guardian": parent.pk,
            "action": "called",
            "next": "https://evil.example.com/",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("students:student_detail", args=[ana.pk])


@pytest.mark.parametrize(("with_rosa", "told"), [(False, "1 family member."), (True, "2 family members.")])
def test_good_news_sent_from_the_page_says_how_many_family_members_it_is_on_its_way_to(
    request: pytest.FixtureRequest, signed_in: Client, ana: Student, parent: Guardian, with_rosa: bool, told: str
) -> None:
    if with_rosa:
        request.getfixturevalue("rosa")

    response = signed_in.post(
        good_news_url(ana), {"moment": "leadership", "sentence": SENTENCE, "action": "send", "next": TODAY_URL}
    )

    assert response.status_code == 302 and response["Location"] == TODAY_URL
    assert f"Your good news is on its way to {told}" in messages_of(response)
    assert Delivery.objects.count() == (2 if with_rosa else 1)
    assert set(Interaction.objects.values_list("moment", flat=True)) == {"leadership"}


def test_good_news_without_its_kind_is_shown_again_with_the_sentence_typed_and_nothing_is_written(
    signed_in: Client, ana: Student, parent: Guardian
) -> None:
    response = signed_in.post(
        good_news_url(ana), {"sentence": SENTENCE, "guardian": parent.pk, "action": "send", "next": TODAY_URL}
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert "moment" in form.errors
    assert SENTENCE in response.content.decode()
    assert nothing_written()


def test_a_call_without_who_was_called_is_shown_again_and_nothing_is_written(
    signed_in: Client, ana: Student, parent: Guardian, rosa: Guardian
) -> None:
    response = signed_in.post(good_news_url(ana), {"moment": "kindness", "sentence": SENTENCE, "action": "called"})

    assert response.status_code == 200
    assert "Choose who you called." in response.content.decode()
    assert nothing_written()


def test_a_call_logged_against_a_family_member_the_teacher_may_not_contact_is_refused(
    signed_in: Client, ana: Student, restricted: Guardian
) -> None:
    response = signed_in.post(
        good_news_url(ana), {"moment": "kindness", "sentence": SENTENCE, "guardian": restricted.pk, "action": "called"}
    )

    assert response.status_code == 200
    assert "guardian" in response.context["form"].errors
    assert nothing_written()


def test_an_over_long_sentence_is_shown_again_with_an_error_and_nothing_is_written(
    signed_in: Client, ana: Student, parent: Guardian
) -> None:
    too_long = "Ana " + "x" * GOOD_NEWS_MAX_LENGTH

    response = signed_in.post(
        good_news_url(ana), {"moment": "kindness", "sentence": too_long, "guardian": parent.pk, "action": "called"}
    )

    assert response.status_code == 200
    assert "sentence" in response.context["form"].errors
    assert too_long in response.content.decode()
    assert nothing_written()


@pytest.mark.parametrize("person", ["other_teacher", "far_teacher", "other_leader"])
def test_staff_who_cannot_see_the_child_get_not_found_and_nothing_is_written(
    client: Client, world: "World", ana: Student, parent: Guardian, person: str
) -> None:
    client.force_login(world.people[person])

    shown = client.get(good_news_url(ana))
    posted = client.post(
        good_news_url(ana), {"moment": "kindness", "sentence": SENTENCE, "guardian": parent.pk, "action": "send"}
    )

    assert (shown.status_code, posted.status_code) == (404, 404)
    assert nothing_written()


def test_a_family_member_is_refused_the_staff_page(
    client: Client, world: "World", ana: Student, parent: Guardian
) -> None:
    client.force_login(world.people["guardian"])

    assert client.get(good_news_url(ana)).status_code == 403


def test_a_school_leader_may_tell_a_family_good_news_about_any_child_of_the_school(
    client: Client, world: "World", ana: Student, parent: Guardian
) -> None:
    """A leader sees the whole school as staff (roster/access.py) and may log contacts with its families: the good
    news page is theirs too, though no child of it is in their Today queue."""
    leader = world.people["leader"]
    client.force_login(leader)

    assert client.get(good_news_url(ana)).status_code == 200
    response = client.post(
        good_news_url(ana), {"moment": "gratitude", "sentence": SENTENCE, "action": "send", "next": TODAY_URL}
    )

    assert response.status_code == 302
    assert Message.objects.get().sender == leader
    assert Interaction.objects.get().logged_by == leader


def test_a_child_with_no_family_member_the_teacher_may_contact_has_nothing_to_send_or_log(
    signed_in: Client, world: "World", restricted: Guardian
) -> None:
    lou, lou_parent = pupil(world, "Lou", "Lane", contactable=False)

    page = signed_in.get(good_news_url(lou)).content.decode()
    sent = signed_in.post(good_news_url(lou), {"moment": "kindness", "sentence": SENTENCE, "action": "send"})
    called = signed_in.post(
        good_news_url(lou), {"moment": "kindness", "sentence": SENTENCE, "guardian": lou_parent.pk, "action": "called"}
    )

    assert "No family member of this child may be contacted by you." in page
    assert 'name="moment"' not in page
    assert (sent.status_code, called.status_code) == (200, 200)
    assert nothing_written()


def test_without_a_translator_the_page_says_a_spanish_family_gets_the_sentence_as_written(
    signed_in: Client, ana: Student, parent: Guardian, rosa: Guardian
) -> None:
    page = signed_in.get(good_news_url(ana)).content.decode()

    assert "No machine translation is set up" in page
    assert "(Spanish)" in page


def test_the_language_hint_is_left_out_when_a_translator_helps(
    signed_in: Client, ana: Student, parent: Guardian, rosa: Guardian, libretranslate: FakeLibreTranslate
) -> None:
    assert "No machine translation is set up" not in signed_in.get(good_news_url(ana)).content.decode()


def test_the_language_hint_is_left_out_when_every_family_reads_the_teacher_s_language(
    signed_in: Client, ana: Student, parent: Guardian
) -> None:
    assert parent.preferred_language == "en"
    assert "No machine translation is set up" not in signed_in.get(good_news_url(ana)).content.decode()
