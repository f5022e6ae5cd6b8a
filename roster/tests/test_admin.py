import pytest
from django.urls import reverse

from audit.models import AccessEvent, AuditAction


@pytest.fixture
def leader(world):
    leader = world.people["leader"]
    leader.is_staff = True
    leader.save(update_fields=["is_staff"])
    return leader


def test_a_leader_administers_only_their_own_school_s_students(client, world, leader):
    client.force_login(leader)
    response = client.get(reverse("admin:roster_student_changelist"))
    assert response.status_code == 200
    assert set(response.context["cl"].queryset) == {world.student, world.other_student}
    assert client.get(reverse("admin:roster_student_change", args=[world.far_student.id])).status_code == 302


def test_a_leader_cannot_appoint_a_district_administrator(client, world, leader):
    client.force_login(leader)
    response = client.get(reverse("admin:roster_staffrole_add"))
    roles = [value for value, _label in response.context["adminform"].form.fields["role"].choices]
    assert "district_admin" not in roles
    assert "teacher" in roles


def test_a_change_made_in_the_admin_is_written_to_the_access_log(client, world, leader):
    client.force_login(leader)
    student = world.student
    url = reverse("admin:roster_student_change", args=[student.id])
    form = client.get(url).context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data.update(
        {
            "school": student.school_id,
            "first_name": "Anita",
            "guardian_links-TOTAL_FORMS": "0",
            "guardian_links-INITIAL_FORMS": "0",
        }
    )
    data.pop("sections", None)
    assert client.post(url, data).status_code == 302
    student.refresh_from_db()
    assert student.first_name == "Anita"
    event = AccessEvent.objects.get(actor=leader, action=AuditAction.CHANGED)
    assert event.student == student


def test_a_teacher_has_no_admin(client, world):
    teacher = world.people["teacher"]
    teacher.is_staff = True
    teacher.save(update_fields=["is_staff"])
    client.force_login(teacher)
    response = client.get(reverse("admin:roster_student_changelist"))
    assert response.status_code == 403


def test_a_leader_picks_students_and_classes_only_from_their_own_school(client, world, leader):
    client.force_login(leader)
    form = client.get(reverse("admin:roster_enrollment_add")).context["adminform"].form
    assert set(form.fields["student"].queryset) == {world.student, world.other_student}
    assert world.far_student.sections.get() not in set(form.fields["section"].queryset)
    assert world.section in set(form.fields["section"].queryset)
