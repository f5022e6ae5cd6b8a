"""The goal pages as the teacher and the family use them."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent, AuditAction
from goals.models import CheckIn, Goal, GoalTranslation
from goals.services import add_home_activity, approve_translation, record_checkin, save_goal
from goals.tests.conftest import goal_fields
from intake.models import Answer
from intake.services import invite_families, save_answers
from roster.tests.factories import EnrollmentFactory


def _form_data(**changes):
    data = {key: "" if value is None else value for key, value in goal_fields(**changes).items()}
    data["visible_to_family"] = "on" if data["visible_to_family"] else ""
    data["families_may_measure"] = "on" if data["families_may_measure"] else ""
    return {key: value for key, value in data.items() if value != ""}


def test_the_teacher_sets_a_goal_from_the_student_page_and_it_is_audited(client, world):
    client.force_login(world.people["teacher"])
    student_page = client.get(reverse("students:student_detail", args=[world.student.pk])).content.decode()
    assert reverse("goals:new_goal", args=[world.student.pk]) in student_page

    response = client.post(reverse("goals:new_goal", args=[world.student.pk]), _form_data())

    goal = Goal.objects.get()
    assert response.status_code == 302 and response.url == reverse("goals:goal", args=[goal.pk])
    assert (goal.student, goal.author, goal.target) == (world.student, world.people["teacher"], 60)
    assert AccessEvent.objects.filter(actor=world.people["teacher"], what="set a goal").exists()
    page = client.get(response.url).content.decode()
    assert "Ana will read a grade-level passage aloud" in page
    assert "<svg" in page and "<table" in page


def test_checking_the_goal_shows_the_smart_advice_and_keeps_what_was_typed(client, world):
    client.force_login(world.people["teacher"])

    response = client.post(
        reverse("goals:new_goal", args=[world.student.pk]),
        {**_form_data(statement="Ana will read better.", target=""), "check": "1"},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert not Goal.objects.exists()
    assert "Ana will read better.</textarea>" in page
    assert "does not say how much" in page
    assert "Add a number to reach: from 40 to ___ words per minute." in page


def test_a_goal_with_a_mistake_is_shown_again_with_the_error_and_nothing_is_saved(client, world):
    client.force_login(world.people["teacher"])

    response = client.post(reverse("goals:new_goal", args=[world.student.pk]), _form_data(target="sixty"))

    assert response.status_code == 400
    assert not Goal.objects.exists()
    assert "Enter a number." in response.content.decode()
    assert "Ana will read a grade-level passage aloud" in response.content.decode()


def test_an_example_fills_the_form_with_the_child_s_name(client, world):
    client.force_login(world.people["teacher"])

    page = client.get(
        reverse("goals:new_goal", args=[world.student.pk]) + "?example=reading_fluency_elementary"
    ).content.decode()

    assert "Ana will read a grade-level passage aloud at 110 words correct per minute.</textarea>" in page


def test_the_goal_builds_on_what_the_family_told_us(client, world):
    invite_families(sender=world.people["teacher"], section=world.section)
    invitation = world.student.intake_invitations.get(guardian__user=world.people["guardian"])
    strengths = invitation.questionnaire.questions.get(key="strengths")
    save_answers(invitation=invitation, answers={strengths.pk: "Dinosaurs"}, language="en", submit=True)
    answer = Answer.objects.get()
    client.force_login(world.people["teacher"])

    client.post(reverse("goals:new_goal", args=[world.student.pk]), {**_form_data(), "builds_on": [answer.pk]})

    assert list(Goal.objects.get().builds_on.all()) == [answer]


def test_the_teacher_checks_in_and_the_chart_and_table_show_it(client, world, goal):
    client.force_login(world.people["teacher"])
    today = timezone.localdate()

    response = client.post(
        reverse("goals:add_checkin", args=[goal.pk]), {"on": today.isoformat(), "value": "47", "note": "Steady."}
    )

    assert response.status_code == 302
    page = client.get(reverse("goals:goal", args=[goal.pk])).content.decode()
    assert "Steady." in page
    assert '<circle class="point"' in page


def test_a_check_in_with_nothing_in_it_is_refused_with_a_clear_message(client, world, goal):
    client.force_login(world.people["teacher"])

    response = client.post(reverse("goals:add_checkin", args=[goal.pk]), {"on": timezone.localdate().isoformat()})

    assert response.status_code == 400
    assert "Give a value, a note, or both." in response.content.decode()
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize("person", ["other_teacher", "far_teacher", "restricted_guardian", "other_family", "stranger"])
def test_no_one_else_sees_or_changes_the_goal(client, world, goal, person):
    activity = add_home_activity(user=world.people["teacher"], goal=goal, key="read_together")
    client.force_login(world.people[person])
    today = timezone.localdate().isoformat()
    requests = [
        ("get", reverse("goals:goal", args=[goal.pk]), {}),
        ("get", reverse("goals:edit_goal", args=[goal.pk]), {}),
        ("post", reverse("goals:edit_goal", args=[goal.pk]), _form_data(target="99")),
        ("post", reverse("goals:add_checkin", args=[goal.pk]), {"on": today, "value": "50"}),
        ("post", reverse("goals:add_activity", args=[goal.pk]), {"text": "Count stairs."}),
        ("post", reverse("goals:remove_activity", args=[activity.pk]), {}),
        ("get", reverse("goals:translation", args=[goal.pk, "es"]), {}),
        ("post", reverse("goals:translation", args=[goal.pk, "es"]), {"statement": "Hola"}),
        ("get", reverse("goals:family_goal", args=[goal.pk]), {}),
        ("post", reverse("goals:family_agrees", args=[goal.pk]), {}),
        ("post", reverse("goals:family_checkin", args=[goal.pk]), {"note": "Hello"}),
        ("post", reverse("goals:family_activity_done", args=[goal.pk, activity.pk]), {"note": "Done"}),
    ]

    statuses = {url: getattr(client, method)(url, data).status_code for method, url, data in requests}

    assert set(statuses.values()) <= {403, 404}, statuses
    goal.refresh_from_db()
    assert (goal.target, goal.acknowledged_at) == (60, None)
    assert not CheckIn.objects.exists() and not GoalTranslation.objects.exists()
    assert list(goal.activities.all()) == [activity]


def test_a_leader_reads_the_goal_but_does_not_change_it(client, world, goal):
    client.force_login(world.people["leader"])

    page = client.get(reverse("goals:goal", args=[goal.pk])).content.decode()
    response = client.post(
        reverse("goals:add_checkin", args=[goal.pk]), {"on": timezone.localdate().isoformat(), "value": "50"}
    )

    assert "Ana will read" in page and "Save the check-in" not in page
    assert response.status_code == 403
    assert not CheckIn.objects.exists()


def test_the_family_sees_the_goal_agrees_and_tells_school_what_it_sees_at_home(client, world, goal):
    activity = add_home_activity(user=world.people["teacher"], goal=goal, key="read_together")
    client.force_login(world.people["guardian"])
    child_page = client.get(reverse("portal:child_detail", args=[world.student.pk])).content.decode()
    assert reverse("goals:family_goal", args=[goal.pk]) in child_page

    page = client.get(reverse("goals:family_goal", args=[goal.pk])).content.decode()
    client.post(reverse("goals:family_agrees", args=[goal.pk]))
    client.post(reverse("goals:family_checkin", args=[goal.pk]), {"note": "She reads to her brother."})
    client.post(reverse("goals:family_activity_done", args=[goal.pk, activity.pk]), {"note": "Loved it."})

    assert "Read together for 15 minutes" in page and "<svg" in page
    goal.refresh_from_db()
    assert goal.acknowledged_by.user == world.people["guardian"]
    notes = list(goal.checkins.values_list("note", "activity", "value"))
    assert notes == [("She reads to her brother.", None, None), ("Loved it.", activity.pk, None)]
    assert AccessEvent.objects.filter(actor=world.people["guardian"], action=AuditAction.VIEWED, what="goal").exists()


def test_a_goal_not_shared_with_the_family_is_not_in_their_portal(client, world, goal):
    Goal.objects.filter(pk=goal.pk).update(visible_to_family=False)
    client.force_login(world.people["guardian"])

    child_page = client.get(reverse("portal:child_detail", args=[world.student.pk])).content.decode()

    assert "Ana will read" not in child_page
    assert reverse("goals:family_goal", args=[goal.pk]) not in child_page
    assert client.get(reverse("goals:family_goal", args=[goal.pk])).status_code == 404


def test_the_family_reads_the_goal_in_spanish_once_the_teacher_approved_it(client, world, goal):
    approve_translation(
        user=world.people["teacher"],
        goal=goal,
        language="es",
        words={
            "statement": "Ana leerá en voz alta a 60 palabras por minuto.",
            "measure": "Palabras leídas correctamente en un minuto",
            "unit": "palabras por minuto",
        },
        machine_drafted=True,
    )
    client.force_login(world.people["guardian"])

    english = client.get(reverse("goals:family_goal", args=[goal.pk])).content.decode()
    client.post(reverse("set_language"), {"language": "es"})
    spanish = client.get(reverse("goals:family_goal", args=[goal.pk])).content.decode()

    assert "Ana will read a grade-level passage" in english
    assert "Ana leerá en voz alta a 60 palabras por minuto." in spanish
    assert "Palabras leídas correctamente en un minuto (palabras por minuto)" in spanish
    assert '<th scope="col">palabras por minuto</th>' in spanish
    assert "Traducción automática" in spanish or "Traducido automáticamente" in spanish


def test_the_translation_page_starts_from_a_machine_draft(client, world, goal, libretranslate):
    client.force_login(world.people["teacher"])
    url = reverse("goals:translation", args=[goal.pk, "es"])

    page = client.get(url).content.decode()
    response = client.post(
        url, {"statement": "Ana leerá mejor.", "school_strategies": "", "home_strategies": "", "machine_drafted": "1"}
    )

    assert "[es] Ana will read a grade-level passage" in page
    assert response.status_code == 302
    assert GoalTranslation.objects.get().statement == "Ana leerá mejor."


def test_the_class_overview_lists_each_student_s_goals_in_a_fixed_number_of_queries(client, world, goal):
    client.force_login(world.people["teacher"])
    url = reverse("goals:class_goals", args=[world.section.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        page = client.get(url).content.decode()
    for n in range(5):
        student = EnrollmentFactory(section=world.section, student__first_name=f"Kid{n}").student
        other = save_goal(author=world.people["teacher"], student=student, fields=goal_fields())
        record_checkin(user=world.people["teacher"], goal=other, on=timezone.localdate(), value=45)
    with CaptureQueriesContext(connection) as large:
        client.get(url)

    assert "Ana will read a grade-level" in page
    assert "<strong>1</strong> not measured yet" in page and "1 check-in due" in page
    assert len(large) == len(small)


def test_today_lists_the_goals_whose_check_in_is_due(client, world, goal):
    client.force_login(world.people["teacher"])

    page = client.get(reverse("students:today")).content.decode()

    # Set with a baseline two weeks ago and a check-in every two weeks: due today.
    assert "Goal check-ins due" in page
    assert reverse("goals:goal", args=[goal.pk]) in page
    record_checkin(user=world.people["teacher"], goal=goal, on=timezone.localdate(), value=45)
    assert "Goal check-ins due" not in client.get(reverse("students:today")).content.decode()


def test_a_future_check_in_is_refused(client, world, goal):
    client.force_login(world.people["teacher"])
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    response = client.post(reverse("goals:add_checkin", args=[goal.pk]), {"on": tomorrow.isoformat(), "value": "50"})

    assert response.status_code == 400
    assert not CheckIn.objects.exists()


def test_the_teacher_changes_the_goal_and_the_family_is_asked_to_agree_again(client, world, goal):
    from goals.services import acknowledge_goal
    from roster.access import guardian_of

    parent = world.people["guardian"]
    acknowledge_goal(user=parent, guardian=guardian_of(parent), goal=goal)
    client.force_login(world.people["teacher"])
    url = reverse("goals:edit_goal", args=[goal.pk])

    form_page = client.get(url).content.decode()
    response = client.post(url, _form_data(target="70"))

    assert "Ana will read a grade-level passage" in form_page and "SMART check" in form_page
    assert response.status_code == 302
    goal.refresh_from_db()
    assert (goal.target, goal.acknowledged_at) == (70, None)
    assert AccessEvent.objects.filter(actor=world.people["teacher"], what="changed a goal").exists()


def test_the_teacher_adds_and_removes_a_home_activity(client, world, goal):
    client.force_login(world.people["teacher"])

    client.post(reverse("goals:add_activity", args=[goal.pk]), {"key": "read_together"})
    client.post(reverse("goals:add_activity", args=[goal.pk]), {"text": "Count the stairs together."})
    empty = client.post(reverse("goals:add_activity", args=[goal.pk]), {"key": "", "text": " "})
    first = goal.activities.first()
    client.post(reverse("goals:remove_activity", args=[first.pk]))

    assert empty.status_code == 400 and "Choose an activity or write your own." in empty.content.decode()
    assert [activity.text for activity in goal.activities.all()] == ["Count the stairs together."]


def test_the_goal_form_of_a_student_whose_grade_is_unknown_offers_every_example(client, world):
    type(world.student).objects.filter(pk=world.student.pk).update(grade_level=None)  # the SIS gave no grade
    client.force_login(world.people["teacher"])

    response = client.get(reverse("goals:new_goal", args=[world.student.pk]))

    assert response.status_code == 200
    assert len(response.context["examples"]) > 0
    student_page = client.get(reverse("students:student_detail", args=[world.student.pk])).content.decode()
    assert "Grade unknown" in student_page
    class_page = client.get(reverse("goals:class_goals", args=[world.section.pk]))
    assert class_page.status_code == 200
