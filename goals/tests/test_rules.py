"""Who may set and see goals, and what each write keeps: the services and selectors, without the pages."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from goals.models import CheckIn, Goal, GoalTranslation, HomeActivity
from goals.selectors import checkins_due_for, goals_of_student, words_for
from goals.services import (
    acknowledge_goal,
    add_home_activity,
    approve_translation,
    record_checkin,
    record_home_checkin,
    save_goal,
)
from goals.tests.conftest import DAY, goal_fields
from intake.models import Answer
from intake.services import invite_families, save_answers
from roster.access import guardian_of


def _guardian(world, who="guardian"):
    return guardian_of(world.people[who])


def _approve(world, goal, machine_drafted=False):
    words = {
        "statement": "Ana leerá a 60 palabras por minuto.",
        "measure": "Palabras leídas correctamente en un minuto",
        "unit": "palabras por minuto",
        "school_strategies": "Lectura en parejas.",
        "home_strategies": "Lean juntos.",
    }
    return approve_translation(
        user=world.people["teacher"], goal=goal, language="es", words=words, machine_drafted=machine_drafted
    )


# --- Who sets goals -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["teacher", "counselor"])
def test_the_child_s_teacher_and_counselor_set_goals(world, who):
    goal = save_goal(author=world.people[who], student=world.student, fields=goal_fields())

    assert goal.author == world.people[who]
    assert goal.language == "en"


@pytest.mark.parametrize("who", ["other_teacher", "far_teacher", "leader", "district_admin", "guardian", "stranger"])
def test_no_one_else_sets_a_goal_for_the_child(world, who):
    with pytest.raises(PermissionDenied):
        save_goal(author=world.people[who], student=world.student, fields=goal_fields())

    assert not Goal.objects.exists()


def test_a_goal_of_one_child_cannot_be_saved_as_another_s(world, goal):
    from roster.tests.factories import EnrollmentFactory

    classmate = EnrollmentFactory(section=world.section).student

    with pytest.raises(PermissionDenied):
        save_goal(author=world.people["teacher"], student=classmate, fields=goal_fields(), goal=goal)


def test_a_goal_that_breaks_a_field_s_limit_is_refused_and_nothing_is_saved(world):
    with pytest.raises(ValidationError):
        save_goal(author=world.people["teacher"], student=world.student, fields=goal_fields(statement="x" * 501))

    assert not Goal.objects.exists()


def test_a_goal_builds_only_on_what_the_child_s_own_family_said(world):
    invite_families(sender=world.people["teacher"], section=world.section)
    invitation = world.student.intake_invitations.get()
    strengths = invitation.questionnaire.questions.get(key="strengths")
    save_answers(invitation=invitation, answers={strengths.pk: "Dinosaurs"}, language="en", submit=True)
    theirs = Answer.objects.get()
    from roster.tests.factories import EnrollmentFactory, StudentGuardianFactory

    other = EnrollmentFactory(section=world.section).student
    StudentGuardianFactory(student=other)
    invite_families(sender=world.people["teacher"], section=world.section)
    other_invitation = other.intake_invitations.get()
    save_answers(invitation=other_invitation, answers={strengths.pk: "Trains"}, language="en", submit=True)
    not_theirs = Answer.objects.get(text="Trains")

    goal = save_goal(
        author=world.people["teacher"], student=world.student, fields=goal_fields(), builds_on=[theirs, not_theirs]
    )

    assert list(goal.builds_on.all()) == [theirs]


# --- Changing a goal ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "asks_again"),
    [
        ({"target": Decimal(70)}, True),
        ({"statement": "Ana will read a grade-level passage aloud at 70 words correct per minute."}, True),
        ({"home_strategies": "Read at bedtime."}, False),
        ({"checkin_every_days": 7}, False),
    ],
)
def test_changing_what_the_family_agreed_to_asks_them_again(world, goal, change, asks_again):
    acknowledge_goal(user=world.people["guardian"], guardian=_guardian(world), goal=goal)

    save_goal(author=world.people["teacher"], student=world.student, fields=goal_fields(**change), goal=goal)

    goal.refresh_from_db()
    assert (goal.acknowledged_at is None) == asks_again


@pytest.mark.parametrize(
    ("change", "keeps_translation"),
    [({"home_strategies": "Read at bedtime."}, False), ({"target": Decimal(70)}, True)],
)
def test_changing_the_goal_s_words_asks_for_the_translation_to_be_approved_again(
    world, goal, change, keeps_translation
):
    _approve(world, goal)

    save_goal(author=world.people["teacher"], student=world.student, fields=goal_fields(**change), goal=goal)

    assert GoalTranslation.objects.filter(goal=goal).exists() == keeps_translation


# --- Check-ins ----------------------------------------------------------------------------------------------------


def test_a_check_in_is_a_value_a_note_or_both_never_nothing(world, goal):
    today = timezone.localdate()
    record_checkin(user=world.people["teacher"], goal=goal, on=today, value=Decimal(45))
    record_checkin(user=world.people["teacher"], goal=goal, on=today, note="Reads with more expression.")

    with pytest.raises(ValidationError):
        record_checkin(user=world.people["teacher"], goal=goal, on=today, note="   ")

    assert goal.checkins.count() == 2


@pytest.mark.parametrize("who", ["other_teacher", "leader", "guardian"])
def test_only_those_who_set_goals_check_in_for_school(world, goal, who):
    with pytest.raises(PermissionDenied):
        record_checkin(user=world.people[who], goal=goal, on=timezone.localdate(), value=Decimal(45))


def test_a_family_s_number_counts_only_when_the_goal_s_measure_is_one_a_family_can_take(world, goal):
    guardian = _guardian(world)
    record_home_checkin(user=world.people["guardian"], guardian=guardian, goal=goal, value=Decimal(50), note="Good.")
    Goal.objects.filter(pk=goal.pk).update(families_may_measure=True)
    goal.refresh_from_db()
    record_home_checkin(user=world.people["guardian"], guardian=guardian, goal=goal, value=Decimal(52), note="")

    assert list(goal.checkins.values_list("value", "note")) == [(None, "Good."), (Decimal(52), "")]


def test_doing_a_home_activity_is_a_check_in_from_home_naming_it(world, goal):
    activity = add_home_activity(user=world.people["teacher"], goal=goal, key="read_together")

    with translation.override("en"):
        checkin = record_home_checkin(
            user=world.people["guardian"], guardian=_guardian(world), goal=goal, activity=activity
        )

    assert checkin.from_home and checkin.activity == activity
    assert checkin.note.startswith("Done: Read together for 15 minutes.")


def test_an_activity_of_another_goal_is_refused(world, goal):
    other_goal = save_goal(author=world.people["teacher"], student=world.student, fields=goal_fields())
    activity = add_home_activity(user=world.people["teacher"], goal=other_goal, text="Count the stairs.")

    with pytest.raises(PermissionDenied):
        record_home_checkin(user=world.people["guardian"], guardian=_guardian(world), goal=goal, activity=activity)


@pytest.mark.parametrize("who", ["restricted_guardian", "other_family"])
def test_a_family_without_portal_access_to_the_child_cannot_check_in_or_agree(world, goal, who):
    guardian = _guardian(world, who)

    with pytest.raises(PermissionDenied):
        record_home_checkin(user=world.people[who], guardian=guardian, goal=goal, note="Hello")
    with pytest.raises(PermissionDenied):
        acknowledge_goal(user=world.people[who], guardian=guardian, goal=goal)

    assert not CheckIn.objects.exists()


def test_a_goal_not_shared_with_the_family_takes_nothing_from_them(world, goal):
    Goal.objects.filter(pk=goal.pk).update(visible_to_family=False)
    goal.refresh_from_db()

    with pytest.raises(PermissionDenied):
        record_home_checkin(user=world.people["guardian"], guardian=_guardian(world), goal=goal, note="Hello")


def test_the_family_agrees_once_and_the_first_time_is_kept(world, goal):
    first = timezone.now()
    acknowledge_goal(user=world.people["guardian"], guardian=_guardian(world), goal=goal, now=first)
    acknowledge_goal(user=world.people["guardian"], guardian=_guardian(world), goal=goal, now=first + DAY)

    goal.refresh_from_db()
    assert goal.acknowledged_at == first
    assert goal.acknowledged_by == _guardian(world)


# --- Home activities ----------------------------------------------------------------------------------------------


def test_a_home_activity_is_homeroom_s_in_the_reader_s_language_or_the_teacher_s_own_words(world, goal):
    ours = add_home_activity(user=world.people["teacher"], goal=goal, key="read_together")
    theirs = add_home_activity(user=world.people["teacher"], goal=goal, text="  Count the stairs.  ")

    with translation.override("es"):
        assert ours.wording().startswith("Lean juntos")
        assert theirs.wording() == "Count the stairs."


@pytest.mark.parametrize(("key", "text"), [("no_such_activity", ""), ("", "   ")])
def test_a_home_activity_must_be_homeroom_s_or_say_something(world, goal, key, text):
    with pytest.raises(ValidationError):
        add_home_activity(user=world.people["teacher"], goal=goal, key=key, text=text)

    assert not HomeActivity.objects.exists()


# --- The family's language ----------------------------------------------------------------------------------------


def test_the_family_reads_the_teacher_s_words_until_a_translation_is_approved(world, goal):
    before = words_for(goal, "es")
    _approve(world, goal, machine_drafted=True)
    goal = Goal.objects.prefetch_related("translations").get(pk=goal.pk)

    after = words_for(goal, "es")

    assert (before.statement, before.translated) == (goal.statement, False)
    assert (after.statement, after.unit, after.translated, after.machine_drafted) == (
        "Ana leerá a 60 palabras por minuto.",
        "palabras por minuto",
        True,
        True,
    )
    assert words_for(goal, "en").statement == goal.statement


@pytest.mark.parametrize(("language", "statement"), [("en", "Ana will read."), ("xx", "Ana lira."), ("es", "  ")])
def test_a_translation_in_the_goal_s_own_or_an_unknown_language_or_empty_is_refused(world, goal, language, statement):
    with pytest.raises(ValidationError):
        approve_translation(
            user=world.people["teacher"],
            goal=goal,
            language=language,
            words={"statement": statement},
            machine_drafted=False,
        )

    assert not GoalTranslation.objects.exists()


# --- What the family and Today see ----------------------------------------------------------------------------


def test_the_family_s_list_leaves_out_goals_school_keeps_to_itself(world, goal):
    save_goal(author=world.people["teacher"], student=world.student, fields=goal_fields(visible_to_family=False))

    assert [progress.goal for progress in goals_of_student(student_id=world.student.pk, family_only=True)] == [goal]
    assert len(goals_of_student(student_id=world.student.pk)) == 2


def test_a_check_in_is_due_a_cadence_after_school_s_last_one_and_home_check_ins_do_not_move_it(world, goal):
    teacher, today = world.people["teacher"], timezone.localdate()
    assert [progress.goal for progress in checkins_due_for(user=teacher)] == [goal]

    record_home_checkin(user=world.people["guardian"], guardian=_guardian(world), goal=goal, note="Reading daily.")
    assert [progress.goal for progress in checkins_due_for(user=teacher)] == [goal]

    record_checkin(user=teacher, goal=goal, on=today - datetime.timedelta(days=3), value=Decimal(44))
    assert checkins_due_for(user=teacher) == []


def test_a_met_goal_is_no_longer_due(world, goal):
    record_checkin(user=world.people["teacher"], goal=goal, on=timezone.localdate() - 20 * DAY, value=Decimal(61))

    assert checkins_due_for(user=world.people["teacher"]) == []


def test_today_reminds_only_the_staff_who_work_with_the_child(world, goal):
    assert checkins_due_for(user=world.people["other_teacher"]) == []
    assert checkins_due_for(user=world.people["leader"]) == []
