"""A custody change closes at once what the family could already see or do, and a member of staff who is also a
parent meets their own child in the portal, never on the staff pages."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from communication.conversations import reply_from_family
from communication.models import Interaction, Moment
from communication.services import send_good_news
from homeroom.testing import count_security_probes
from intake.services import invitation_of_link, invite_families
from roster.models import Role, StudentGuardian
from roster.tests.factories import GuardianFactory, StaffRoleFactory, StudentGuardianFactory

pytestmark = [pytest.mark.security, pytest.mark.django_db]

# Monday afternoon in the school's time zone: inside every family's sending window.
NOON = datetime.datetime(2026, 11, 16, 19, 0, tzinfo=datetime.UTC)


@pytest.fixture
def teacher_who_is_a_parent(world):
    """Teaches 3A (Ana's class); is the guardian of Ben, who is in 3B, taught by someone else."""
    teacher = world.people["teacher"]
    guardian = GuardianFactory(email=teacher.email, user=teacher)
    StudentGuardianFactory(student=world.other_student, guardian=guardian, is_primary_contact=False)
    other_parent = GuardianFactory(first_name="Rosa", last_name="Privada")
    StudentGuardianFactory(student=world.other_student, guardian=other_parent, contact_allowed=False)
    return teacher


def test_a_teacher_who_is_a_parent_reads_their_childs_staff_pages_only_if_they_teach_them(
    client, world, teacher_who_is_a_parent
):
    client.force_login(teacher_who_is_a_parent)
    own_child = world.other_student
    staff_pages = [
        reverse("students:student_detail", args=[own_child.pk]),
        reverse("communication:log_contact", args=[own_child.pk]),
        reverse("communication:good_news", args=[own_child.pk]),
        reverse("goals:new_goal", args=[own_child.pk]),
        reverse("behavior:new_note", args=[own_child.pk]),
        reverse("records:record", args=[own_child.pk]),
    ]
    statuses = [client.get(url).status_code for url in staff_pages]
    class_page = client.get(reverse("students:section_detail", args=[world.section.pk])).content.decode()
    leaks = sum(status != 404 for status in statuses) + class_page.count("Privada")
    count_security_probes("staff who are parents", probes=len(staff_pages) + 1, leaks=leaks)
    assert statuses == [404] * len(staff_pages)
    assert "Privada" not in class_page
    # As a parent, the portal shows the child, and never the other household's details.
    portal = client.get(reverse("portal:child_detail", args=[own_child.pk]))
    assert portal.status_code == 200
    assert "Privada" not in portal.content.decode()


def test_a_teacher_who_teaches_their_own_child_sees_the_staff_page(client, world, teacher_who_is_a_parent):
    world.other_student.enrollments.create(section=world.section)
    client.force_login(teacher_who_is_a_parent)
    assert client.get(reverse("students:student_detail", args=[world.other_student.pk])).status_code == 200


def _restrict(world, email):
    link = StudentGuardian.objects.get(student=world.student, guardian__email=email)
    link.contact_allowed = link.portal_access_allowed = False
    link.save(update_fields=["contact_allowed", "portal_access_allowed"])


def test_a_custody_change_closes_reading_and_writing_at_once(client, world, mailbox, time_machine):
    time_machine.move_to(NOON, tick=False)
    teacher, parent = world.people["teacher"], world.people["guardian"]
    sent = send_good_news(user=teacher, student=world.student, moment=Moment.HELPING, sentence="Ana helped.")
    thread = sent.message.deliveries.get(guardian__user=parent).thread
    invite_families(sender=teacher, section=world.section)
    invitation = world.student.intake_invitations.get(guardian__user=parent)
    token = f"{invitation.pk}.{invitation.secret}"
    client.force_login(parent)
    assert client.get(reverse("portal:conversation", args=[thread.pk])).status_code == 200

    _restrict(world, parent.email)

    probes = {
        "earlier conversation": client.get(reverse("portal:conversation", args=[thread.pk])).status_code != 404,
        "inbox": "Good news" in client.get(reverse("portal:home")).content.decode(),
        "intake link": invitation_of_link(token) is not None,
        "intake page": client.get(reverse("intake:answer", args=[token])).status_code == 200,
        "posted reply": client.post(reverse("portal:conversation", args=[thread.pk]), {"body": "Hi"}).status_code
        != 404,
    }
    try:
        send_good_news(user=teacher, student=world.student, moment=Moment.HELPING, sentence="Again.")
        probes["new good news"] = sent.message.deliveries.model.objects.filter(
            guardian__user=parent, message__body__contains="Again."
        ).exists()
    except ValidationError:
        probes["new good news"] = False
    try:
        reply_from_family(user=parent, thread=thread, body="Written after the order.")
        probes["reply logged"] = True
    except ValidationError:
        probes["reply logged"] = False
    probes["reply logged"] |= Interaction.objects.filter(summary__contains="after the order").exists()
    count_security_probes("custody change", probes=len(probes), leaks=sum(probes.values()))
    assert not any(probes.values()), probes


def test_a_leader_who_is_a_parent_at_another_school_sees_that_child_only_in_the_portal(client, world):
    leader = world.people["leader"]
    guardian = GuardianFactory(email=leader.email, user=leader)
    StudentGuardianFactory(student=world.far_student, guardian=guardian)
    StaffRoleFactory(user=leader, role=Role.TEACHER, school=world.school)
    client.force_login(leader)
    assert client.get(reverse("students:student_detail", args=[world.far_student.pk])).status_code == 404
    assert client.get(reverse("portal:child_detail", args=[world.far_student.pk])).status_code == 200
