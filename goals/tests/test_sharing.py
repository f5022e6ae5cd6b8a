"""Telling the family about a goal: the message in their language, their own link (no account needed), and their
answers counted as check-ins from home."""

import datetime
import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent, AuditAction
from communication.conversations import receive_reply
from communication.models import Interaction
from communication.today import Reason, today_for
from delivery.models import Delivery, MessageKind, Thread
from delivery.outbox import deliver
from goals.models import CheckIn, Goal
from goals.selectors import family_link
from goals.services import add_home_activity, approve_translation, count_reply, tell_family
from roster.models import Guardian, StudentGuardian
from roster.tests.factories import GuardianFactory, StudentGuardianFactory

LINK = re.compile(r"http://\S+/goal/(\S+)/")


def _parent(world) -> Guardian:
    return world.people["guardian"].guardian


def _link_path(url: str) -> str:
    return urlsplit(url).path


def _spanish(world, goal) -> Guardian:
    parent = _parent(world)
    parent.preferred_language = "es"
    parent.save(update_fields=["preferred_language"])
    approve_translation(
        user=world.people["teacher"],
        goal=goal,
        language="es",
        words={
            "statement": "Ana leerá en voz alta a 60 palabras por minuto.",
            "unit": "palabras por minuto",
            "home_strategies": "Lean juntos 15 minutos.",
        },
        machine_drafted=False,
    )
    return parent


def _no_account_parent(world) -> Guardian:
    """A second parent of Ana's the school knows only by email: no sign-in account."""
    parent = GuardianFactory(first_name="Rosa", email="rosa@example.org")
    StudentGuardianFactory(student=world.student, guardian=parent, is_primary_contact=False)
    return parent


# --- Sending the goal ----------------------------------------------------------------------------------------------


def test_each_family_member_who_may_see_the_child_gets_the_goal_in_their_language_with_their_own_link(world, goal):
    parent = _spanish(world, goal)
    add_home_activity(user=world.people["teacher"], goal=goal, key="read_together")
    rosa = _no_account_parent(world)

    sent = tell_family(user=world.people["teacher"], goal=goal)

    deliveries = {delivery.guardian: delivery for delivery in Delivery.objects.select_related("message")}
    # The other parent, under a no-contact order, is not sent the child's record.
    assert set(deliveries) == {parent, rosa} and sent.families == 2
    spanish = deliveries[parent]
    assert spanish.message.kind == MessageKind.GOAL
    assert spanish.subject == "Una meta para Ana"
    assert "Ana leerá en voz alta a 60 palabras por minuto." in spanish.body
    assert "De 40 a 60 palabras por minuto" in spanish.body
    assert "Lean juntos 15 minutos." in spanish.body
    english = deliveries[rosa]
    assert english.subject == "A goal for Ana"
    assert "Ana will read a grade-level passage aloud at 60 words correct per minute." in english.body
    assert "Read together for 15 minutes" in english.body  # the activity, from Homeroom's translated library
    # Each has a link of their own, in the first lines so that a text message keeps it.
    links = {delivery.guardian: LINK.search(delivery.body[:300]).group(0) for delivery in deliveries.values()}
    assert links[parent] != links[rosa]
    # In each family's conversation with the teacher, so that an answer reaches the teacher there.
    assert {delivery.thread.guardian for delivery in deliveries.values()} == {parent, rosa}
    assert all(delivery.thread.staff == world.people["teacher"] for delivery in deliveries.values())
    goal.refresh_from_db()
    assert goal.family_told_at is not None
    assert AccessEvent.objects.filter(actor=world.people["teacher"], what="sent the family a goal").exists()


def test_a_family_with_no_approved_translation_reads_homeroom_in_its_language_and_the_teacher_s_own_words(world, goal):
    parent = _parent(world)
    parent.preferred_language = "es"
    parent.save(update_fields=["preferred_language"])

    tell_family(user=world.people["teacher"], goal=goal)

    body = Delivery.objects.get().body
    assert "(no se necesita contraseña)" in body
    assert "Ana will read a grade-level passage aloud" in body


def test_a_goal_the_family_does_not_see_or_a_child_no_one_may_be_sent_is_refused_and_nothing_is_sent(world, goal):
    Goal.objects.filter(pk=goal.pk).update(visible_to_family=False)
    goal.refresh_from_db()
    with pytest.raises(ValidationError, match="share it with them first"):
        tell_family(user=world.people["teacher"], goal=goal)

    Goal.objects.filter(pk=goal.pk).update(visible_to_family=True)
    goal.refresh_from_db()
    StudentGuardian.objects.filter(student=world.student).update(portal_access_allowed=False)
    with pytest.raises(ValidationError, match="nothing was sent"):
        tell_family(user=world.people["teacher"], goal=goal)

    assert not Delivery.objects.exists()
    goal.refresh_from_db()
    assert goal.family_told_at is None


@pytest.mark.parametrize("person", ["other_teacher", "leader", "guardian"])
def test_only_the_staff_who_set_goals_for_the_child_send_one(world, goal, person):
    with pytest.raises(PermissionDenied):
        tell_family(user=world.people[person], goal=goal)
    assert not Delivery.objects.exists()


def test_the_teacher_sends_it_from_the_goal_page_which_warns_of_languages_without_a_translation(client, world, goal):
    parent = _parent(world)
    parent.preferred_language = "es"
    parent.save(update_fields=["preferred_language"])
    client.force_login(world.people["teacher"])

    page = client.get(reverse("goals:goal", args=[goal.pk])).content.decode()
    response = client.post(reverse("goals:tell_family", args=[goal.pk]), follow=True)

    assert "No translation is approved in Spanish" in page
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "Tell the family" not in title and "Ana" in title
    assert parent.display_name in page
    assert world.people["restricted_guardian"].guardian.display_name not in page
    assert "The goal is on its way to 1 family member" in response.content.decode()
    assert "Send the goal again" in response.content.decode()
    assert Delivery.objects.count() == 1


def test_the_message_reaches_the_family_by_email_and_its_link_opens_the_goal(client, world, goal, mailbox):
    parent = _parent(world)
    tell_family(user=world.people["teacher"], goal=goal, now=timezone.now() - datetime.timedelta(days=1))
    delivery = Delivery.objects.get()

    deliver(delivery_id=delivery.pk, now=delivery.not_before or timezone.now())

    email = mailbox.wait_for_message_to(parent.email)
    assert email["Subject"] == "A goal for Ana"
    text = email.get_body(preferencelist=("plain",)).get_content()
    url = LINK.search(text).group(0)
    page = client.get(_link_path(url))
    assert page.status_code == 200
    assert "Ana will read a grade-level passage aloud" in page.content.decode()


# --- The family's link ---------------------------------------------------------------------------------------------


def test_a_family_member_with_no_account_reads_the_goal_in_their_language_through_their_link(client, world, goal):
    rosa = _no_account_parent(world)
    rosa.preferred_language = "es"
    rosa.save(update_fields=["preferred_language"])
    _spanish(world, goal)

    response = client.get(_link_path(family_link(goal, rosa)))

    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="es"' in page
    assert "Ana leerá en voz alta a 60 palabras por minuto." in page
    assert "Estamos de acuerdo y vamos a ayudar" in page
    assert reverse("portal:child_detail", args=[world.student.pk]) not in page  # no portal behind the link
    event = AccessEvent.objects.get(guardian=rosa)
    assert (event.actor, event.action, event.what) == (None, AuditAction.VIEWED, "goal")


def test_through_the_link_the_family_agrees_tells_what_it_sees_and_marks_an_activity_done(client, world, goal):
    rosa = _no_account_parent(world)
    activity = add_home_activity(user=world.people["teacher"], goal=goal, key="read_together")
    link = _link_path(family_link(goal, rosa))
    token = link.split("/")[2]

    agreed = client.post(reverse("goals:link_agrees", args=[token]))
    told = client.post(reverse("goals:link_checkin", args=[token]), {"note": "She reads to her brother."})
    done = client.post(reverse("goals:link_activity_done", args=[token, activity.pk]), {"note": "Loved it."})

    assert agreed.status_code == told.status_code == done.status_code == 302
    assert agreed.url == link
    goal.refresh_from_db()
    assert goal.acknowledged_by == rosa
    assert list(goal.checkins.values_list("note", "by_guardian", "activity")) == [
        ("She reads to her brother.", rosa.pk, None),
        ("Loved it.", rosa.pk, activity.pk),
    ]
    changes = AccessEvent.objects.filter(guardian=rosa, action=AuditAction.CHANGED).values_list("what", flat=True)
    told = "told school what they see at home"
    assert sorted(changes) == ["agreed to a goal", told, told]


def test_an_empty_note_through_the_link_is_shown_again_with_the_error_and_nothing_is_saved(client, world, goal):
    token = family_link(goal, _no_account_parent(world)).split("/")[-2]

    response = client.post(reverse("goals:link_checkin", args=[token]), {"note": "   "})

    assert response.status_code == 400
    assert "Write what you see, or give a number." in response.content.decode()
    assert not CheckIn.objects.exists()


def _closed(client, url: str) -> bool:
    response = client.get(url)
    return response.status_code == 404 and "This link no longer works" in response.content.decode()


def test_a_link_stops_working_when_changed_expired_unshared_or_closed_by_custody(client, world, goal, settings):
    rosa = _no_account_parent(world)
    link = _link_path(family_link(goal, rosa))
    assert client.get(link).status_code == 200

    assert _closed(client, link.replace("/goal/", "/goal/x"))
    assert _closed(client, link[:-3] + "AA/")
    with time_machine.travel(timezone.now() + datetime.timedelta(days=settings.HOMEROOM_GOAL_LINK_DAYS + 1)):
        assert _closed(client, link)

    Goal.objects.filter(pk=goal.pk).update(visible_to_family=False)
    assert _closed(client, link)
    Goal.objects.filter(pk=goal.pk).update(visible_to_family=True)

    StudentGuardian.objects.filter(guardian=rosa).update(portal_access_allowed=False)
    assert _closed(client, link)
    token = link.split("/")[2]
    assert client.post(reverse("goals:link_agrees", args=[token])).status_code == 404
    goal.refresh_from_db()
    assert goal.acknowledged_at is None


def test_a_link_to_one_goal_does_not_reach_another_goal_s_activity(client, world, goal):
    rosa = _no_account_parent(world)
    other = Goal.objects.create(
        student=world.other_student, area="math", statement="Ben will add fractions.", author=world.people["teacher"]
    )
    foreign = add_home_activity(user=world.people["other_teacher"], goal=other, text="Bake and measure.")
    token = family_link(goal, rosa).split("/")[-2]

    response = client.post(reverse("goals:link_activity_done", args=[token, foreign.pk]), {"note": "Done"})

    assert response.status_code == 404
    assert not CheckIn.objects.exists()


# --- Answers counted as check-ins from home ------------------------------------------------------------------------


@pytest.fixture
def answered(world, goal):
    """Ana's parent answers the goal's message in their conversation with the teacher."""
    tell_family(user=world.people["teacher"], goal=goal)
    thread = Thread.objects.get(guardian=_parent(world))
    return receive_reply(thread=thread, body="She read me 52 words tonight!", channel="email")


def test_the_teacher_counts_a_reply_as_a_check_in_from_home_and_it_counts_once(client, world, goal, answered):
    Goal.objects.filter(pk=goal.pk).update(families_may_measure=True)
    client.force_login(world.people["teacher"])
    page = client.get(reverse("goals:goal", args=[goal.pk])).content.decode()
    assert "She read me 52 words tonight!" in page and "Count as a check-in from home" in page

    response = client.post(
        reverse("goals:count_reply", args=[goal.pk, answered.pk]), {f"reply-{answered.pk}-value": "52"}
    )

    assert response.status_code == 302
    checkin = CheckIn.objects.get()
    assert (checkin.value, checkin.note, checkin.reply, checkin.by_guardian, checkin.by_staff) == (
        Decimal(52),
        "She read me 52 words tonight!",
        answered,
        _parent(world),
        world.people["teacher"],
    )
    assert checkin.from_home and checkin.on == timezone.localdate(answered.received_at)
    page = client.get(reverse("goals:goal", args=[goal.pk])).content.decode()
    assert "Count as a check-in from home" not in page  # counted: no longer offered
    goal.refresh_from_db()
    with pytest.raises(ValidationError, match="already counts"):
        count_reply(user=world.people["teacher"], goal=goal, reply=answered)


def test_a_value_counts_only_where_the_family_can_measure_the_goal(world, goal, answered):
    checkin = count_reply(user=world.people["teacher"], goal=goal, reply=answered, value=Decimal(52))

    assert checkin.value is None and checkin.note == "She read me 52 words tonight!"


def test_a_mistyped_value_is_shown_again_with_the_error_and_nothing_is_counted(client, world, goal, answered):
    Goal.objects.filter(pk=goal.pk).update(families_may_measure=True)
    client.force_login(world.people["teacher"])

    response = client.post(
        reverse("goals:count_reply", args=[goal.pk, answered.pk]), {f"reply-{answered.pk}-value": "fifty"}
    )

    assert response.status_code == 400
    assert "Enter a number." in response.content.decode()
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize("person", ["other_teacher", "leader", "guardian", "stranger"])
def test_no_one_else_counts_a_family_s_reply(client, world, goal, answered, person):
    client.force_login(world.people[person])

    response = client.post(reverse("goals:count_reply", args=[goal.pk, answered.pk]))

    assert response.status_code in {403, 404}
    assert not CheckIn.objects.exists()


def test_a_reply_to_another_member_of_staff_or_about_another_child_is_not_counted(world, goal, answered):
    counselor = world.people["counselor"]
    with pytest.raises(PermissionDenied):  # the counselor sets Ana's goals, but the reply was to the teacher
        count_reply(user=counselor, goal=goal, reply=answered)
    other = Goal.objects.create(student=world.other_student, area="math", statement="Ben will add fractions.")
    with pytest.raises(PermissionDenied):
        count_reply(user=world.people["other_teacher"], goal=other, reply=answered)
    assert not CheckIn.objects.exists()


def test_telling_the_family_the_goal_is_a_personal_contact_about_learning(world, goal):
    tell_family(user=world.people["teacher"], goal=goal)

    [logged] = Interaction.objects.filter(delivery__message__kind="goal")
    assert (logged.is_contact, logged.topic, logged.tone) == (True, "academic", "neutral")
    assert list(logged.students.all()) == [goal.student]
    [row] = [row for row in today_for(user=world.people["teacher"]).rows if row.student == goal.student]
    assert row.reason is not Reason.NOT_CONTACTED_THIS_TERM
