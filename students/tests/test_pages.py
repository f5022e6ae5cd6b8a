"""The student page and the class page: each family, how to reach them, and every view in the access log."""

import pytest
from django.urls import reverse

from audit.models import AccessEvent, AuditAction
from roster.tests.factories import StudentGuardianFactory, enroll_class


def test_the_class_page_shows_each_family_and_how_to_reach_them(client, world):
    client.force_login(world.people["teacher"])
    guardian = world.student.guardian_links.get(guardian__user=world.people["guardian"]).guardian
    response = client.get(reverse("students:section_detail", args=[world.section.id]))
    page = response.content.decode()
    assert world.student.display_name in page
    assert guardian.display_name in page
    assert f"tel:{guardian.phone}" in page


def test_a_restricted_guardian_is_shown_to_staff_as_do_not_contact_without_their_details(client, world):
    restricted = world.student.guardian_links.get(contact_allowed=False).guardian
    client.force_login(world.people["teacher"])
    page = client.get(reverse("students:student_detail", args=[world.student.id])).content.decode()
    assert restricted.display_name in page
    assert "Do not contact." in page
    assert restricted.email not in page
    assert restricted.phone not in page


def test_opening_a_student_page_is_written_to_the_access_log(client, world):
    teacher = world.people["teacher"]
    client.force_login(teacher)
    assert not AccessEvent.objects.filter(actor=teacher).exists()
    client.get(reverse("students:student_detail", args=[world.student.id]))
    event = AccessEvent.objects.get(actor=teacher)
    assert (event.student, event.action, event.what) == (world.student, AuditAction.VIEWED, "student page")
    assert event.path == reverse("students:student_detail", args=[world.student.id])


def test_a_refused_student_page_writes_nothing_to_the_access_log(client, world):
    client.force_login(world.people["other_teacher"])
    assert client.get(reverse("students:student_detail", args=[world.student.id])).status_code == 404
    assert not AccessEvent.objects.exists()


def test_a_class_page_logs_one_view_per_student_shown(client, world):
    teacher = world.people["teacher"]
    enroll_class(section=world.section, size=4)
    client.force_login(teacher)
    client.get(reverse("students:section_detail", args=[world.section.id]))
    assert AccessEvent.objects.filter(actor=teacher, action=AuditAction.VIEWED).count() == 5


@pytest.mark.parametrize("size", [3, 30])
def test_the_class_page_reads_a_fixed_number_of_queries_whatever_its_size(
    client, django_assert_num_queries, world, size
):
    teacher = world.people["teacher"]
    section = world.section
    enroll_class(section=section, size=size - 1)
    for student in section.students.all()[:2]:
        StudentGuardianFactory(student=student, is_primary_contact=False, lives_with_student=False)
    client.force_login(teacher)
    # session, user, roles, section, students, family links, audit insert
    # session, user, roles, class, students, family links, class ratio, contact summaries, one audit INSERT,
    # whether this teacher may send the class's introduction letter, what the families told us (one line each)
    with django_assert_num_queries(11):
        response = client.get(reverse("students:section_detail", args=[section.id]))
    assert len(response.context["students"]) == size
