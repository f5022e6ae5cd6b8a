"""The pages as their users meet them: the family's link, the teacher's tracking, the student page."""

import datetime
from urllib.parse import urlsplit

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent, AuditAction
from delivery.models import Delivery
from intake.models import ANSWER_MAX_LENGTH, Answer, Invitation
from intake.selectors import link_of
from intake.services import invite_families, translate_answers
from roster.tests.factories import EnrollmentFactory, GuardianFactory, StudentGuardianFactory


@pytest.fixture
def asked(world) -> Invitation:
    invite_families(sender=world.people["teacher"], section=world.section)
    return Invitation.objects.get(guardian__user=world.people["guardian"])


def _path(invitation: Invitation) -> str:
    return urlsplit(link_of(invitation)).path


def _first_box(invitation: Invitation) -> str:
    return f"question_{invitation.questionnaire.questions.order_by('position').first().pk}"


def test_the_family_opens_its_link_without_signing_in_and_the_teacher_sees_it_opened(client, asked):
    response = client.get(_path(asked))

    assert response.status_code == 200
    assert "Ana" in response.content.decode()
    asked.refresh_from_db()
    assert asked.opened_at is not None


def test_a_family_without_an_account_reading_and_answering_by_its_link_is_in_the_child_s_access_log(client, world):
    guardian = GuardianFactory(user=None)
    StudentGuardianFactory(student=world.student, guardian=guardian)
    invite_families(sender=world.people["teacher"], section=world.section, guardian_ids=[guardian.pk])
    invitation = Invitation.objects.get(guardian=guardian)

    client.get(_path(invitation))
    client.post(_path(invitation), {_first_box(invitation): "She loves drawing.", "submit": "1"})

    events = AccessEvent.objects.filter(guardian=guardian, student=world.student, actor=None)
    assert set(events.values_list("action", "what")) == {
        (AuditAction.VIEWED, "the questions about the child"),
        (AuditAction.CHANGED, "answered the questions about the child"),
    }


def test_a_save_keeps_the_answers_and_an_answer_too_long_is_shown_again_with_a_clear_error(client, asked):
    box = _first_box(asked)
    too_long = "x" * (ANSWER_MAX_LENGTH + 1)

    response = client.post(_path(asked), {box: too_long, "save": "1"})

    assert response.status_code == 400
    assert too_long in response.content.decode()  # nothing typed is lost
    assert "Ensure this value has at most" in response.content.decode()
    assert not Answer.objects.exists()

    response = client.post(_path(asked), {box: "She loves drawing.", "save": "1"})
    assert response.status_code == 302
    assert client.get(_path(asked)).content.decode().count("She loves drawing.") == 1


def test_an_answer_is_plain_text_and_never_runs_as_html(client, world, asked):
    client.post(_path(asked), {_first_box(asked): "<script>alert(1)</script>", "submit": "1"})
    client.force_login(world.people["teacher"])

    page = client.get(reverse("students:student_detail", args=[world.student.pk])).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_teacher_reads_a_spanish_answer_labelled_in_spanish_with_its_machine_translation(
    client, world, asked, libretranslate
):
    asked.guardian.preferred_language = "es"
    asked.guardian.save()
    client.post(_path(asked), {_first_box(asked): "Le encanta dibujar.", "submit": "1"})
    translate_answers(invitation_id=asked.pk)
    client.force_login(world.people["teacher"])

    page = client.get(reverse("students:student_detail", args=[world.student.pk])).content.decode()

    assert "In Spanish · answered on " in page
    assert "Le encanta dibujar." in page
    assert "Machine-translated</span> [en] Le encanta dibujar." in page


def test_a_revoked_or_expired_link_shows_a_clear_page_and_no_question(client, world, asked):
    path = _path(asked)
    asked.expires_at = timezone.now() - datetime.timedelta(minutes=1)
    asked.save()

    response = client.get(path)

    assert response.status_code == 404
    assert "This link no longer works" in response.content.decode()
    assert "textarea" not in response.content.decode()


def test_guessing_answer_links_is_rate_limited_and_the_familys_own_link_still_opens(client, asked):
    # The clock stands still: the limit counts in one-minute windows, and a slow run could cross into the next.
    with time_machine.travel(timezone.now(), tick=False):
        guesses = [client.get(reverse("intake:answer", args=[f"{n}.guess"])).status_code for n in range(32)]
        own = [client.get(_path(asked)).status_code for _ in range(32)]

    assert guesses[0] == 404
    assert guesses[-1] == 429
    assert set(own) == {200}


def test_the_teacher_asks_the_whole_class_in_one_step_and_sees_who_is_still_to_reach(client, world):
    client.force_login(world.people["teacher"])

    response = client.post(reverse("intake:ask_families", args=[world.section.pk]))

    assert response.status_code == 302
    # Ana's guardian is asked; the guardian under a no-contact order is not.
    assert set(Delivery.objects.values_list("guardian__user__email", flat=True)) == {"guardian@example.org"}
    page = client.get(reverse("intake:class_families", args=[world.section.pk])).content.decode()
    assert "1 of 2 parents and guardians asked" in page
    assert "Not to be contacted" in page


def test_a_teacher_types_in_answers_given_by_phone(client, world):
    client.force_login(world.people["teacher"])
    link = world.student.guardian_links.get(guardian__user=world.people["guardian"])
    url = reverse("intake:type_in_answers", args=[world.section.pk, link.pk])
    page = client.get(url)
    assert page.status_code == 200
    invitation_box = _first_box(Invitation.objects.get(guardian=link.guardian))

    response = client.post(url, {"answers_from": "phone", invitation_box: "Dinosaurs, and her cousin Leo."})

    assert response.status_code == 302
    answer = Answer.objects.get()
    assert answer.entered_by == world.people["teacher"]
    assert answer.invitation.answers_from == "phone"
    assert answer.invitation.submitted_at is not None


@pytest.mark.parametrize("person", ["other_teacher", "guardian", "stranger"])
def test_only_the_classs_teacher_asks_its_families(client, world, person):
    client.force_login(world.people[person])

    response = client.post(reverse("intake:ask_families", args=[world.section.pk]))

    assert response.status_code in {403, 404}
    assert not Invitation.objects.exists()


def test_the_class_page_shows_what_each_family_told_us_in_a_line(client, world, asked):
    strengths = asked.questionnaire.questions.get(key="strengths")
    reach = asked.questionnaire.questions.get(key="reach")
    client.post(
        _path(asked), {f"question_{strengths.pk}": "Drawing", f"question_{reach.pk}": "Text after 5 pm", "submit": "1"}
    )
    client.force_login(world.people["teacher"])

    page = client.get(reverse("students:section_detail", args=[world.section.pk])).content.decode()

    assert "Loves: Drawing · Best way to reach: Text after 5 pm" in page


def test_the_new_message_page_shows_what_a_family_told_us_beside_its_name_in_a_fixed_number_of_queries(
    client, world, asked
):
    reach = asked.questionnaire.questions.get(key="reach")
    client.post(_path(asked), {f"question_{reach.pk}": "Text after 5 pm", "submit": "1"})
    client.force_login(world.people["teacher"])
    url = reverse("communication:new_message")
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as small:
        page = client.get(url).content.decode()
    _class_of(world, 6)
    invite_families(sender=world.people["teacher"], section=world.section)
    with CaptureQueriesContext(connection) as large:
        client.get(url)

    name = asked.guardian.display_name
    assert f"{name}, family of Ana · English. They told us: Best way to reach: Text after 5 pm" in page
    assert len(large) == len(small)


def _class_of(world, families: int) -> None:
    for n in range(families):
        student = EnrollmentFactory(section=world.section, student__first_name=f"Kid{n}").student
        StudentGuardianFactory(student=student, guardian=GuardianFactory())


def test_the_tracking_page_reads_a_fixed_number_of_rows_whatever_the_class_size(client, world):
    client.force_login(world.people["teacher"])
    url = reverse("intake:class_families", args=[world.section.pk])
    _class_of(world, 2)
    invite_families(sender=world.people["teacher"], section=world.section)
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    _class_of(world, 8)
    invite_families(sender=world.people["teacher"], section=world.section)
    with CaptureQueriesContext(connection) as large:
        response = client.get(url)

    assert response.status_code == 200
    assert len(large) == len(small)


@pytest.mark.parametrize("person", ["other_teacher", "far_teacher", "guardian", "stranger"])
def test_no_one_else_revokes_a_link_types_in_answers_or_writes_an_observation(client, world, asked, person):
    client.force_login(world.people[person])
    link = world.student.guardian_links.get(guardian=asked.guardian)

    responses = [
        client.post(reverse("intake:revoke", args=[asked.pk])),
        client.post(reverse("intake:type_in_answers", args=[world.section.pk, link.pk]), {"answers_from": "phone"}),
        client.post(reverse("intake:observe", args=[world.student.pk]), {"text": "Seen"}),
        client.post(reverse("intake:customise", args=[world.section.pk])),
    ]

    assert {response.status_code for response in responses} <= {403, 404}
    asked.refresh_from_db()
    assert asked.revoked_at is None
    assert not Answer.objects.exists()
    assert not world.student.observations.exists()


@pytest.mark.parametrize(("person", "status"), [("leader", 200), ("other_leader", 403), ("teacher", 403)])
def test_only_the_schools_leader_changes_the_schools_questions(client, world, person, status):
    from intake.services import school_questionnaire

    client.force_login(world.people[person])

    response = client.get(reverse("intake:questions", args=[school_questionnaire(world.school).pk]))

    assert response.status_code == status
