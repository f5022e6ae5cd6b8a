import pytest
from django.urls import reverse

from audit.models import AccessEvent, AuditAction
from homeroom.testing import count_security_probes
from roster.tests.factories import StudentGuardianFactory


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


def _change_form_data(response, **changes):
    """The change form as it was shown, with `changes`: what a browser would post."""
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = [str(v) for v in value] if isinstance(value, list | tuple) else str(value)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data[f"{formset.prefix}-TOTAL_FORMS"] = "0"
        data[f"{formset.prefix}-INITIAL_FORMS"] = "0"
    data.update(changes)
    return data


@pytest.mark.security
def test_a_leader_cannot_set_a_family_s_sign_in_account(client, world, leader):
    """The attack of the review: a guardian shared with another school, its account set to the leader's own."""
    guardian = world.student.guardian_links.get(guardian__user=world.people["guardian"]).guardian
    StudentGuardianFactory(student=world.far_student, guardian=guardian)
    client.force_login(leader)
    url = reverse("admin:roster_guardian_change", args=[guardian.id])
    page = client.get(url)
    assert "user" not in page.context["adminform"].form.fields
    response = client.post(url, _change_form_data(page, user=str(leader.id), first_name="Changed"))
    guardian.refresh_from_db()
    count_security_probes("admin fields", probes=1, leaks=int(guardian.user_id == leader.id))
    assert response.status_code == 302
    assert guardian.first_name == "Changed"  # the rest of the form was taken
    assert guardian.user == world.people["guardian"]


@pytest.mark.security
def test_the_admin_autocomplete_finds_no_record_out_of_reach(client, world, leader):
    client.force_login(leader)
    url = reverse("admin:autocomplete")
    probes = leaks = 0
    for field, term, reach in (
        ("student", "", {world.student.id, world.other_student.id}),
        ("student", world.far_student.last_name, set()),
        (
            "guardian",
            "",
            set(world.student.guardian_links.values_list("guardian_id", flat=True))
            | set(world.other_student.guardian_links.values_list("guardian_id", flat=True)),
        ),
    ):
        query = {"app_label": "roster", "model_name": "studentguardian", "field_name": field, "term": term}
        found = {int(row["id"]) for row in client.get(url, query).json()["results"]}
        probes += 1
        leaks += len(found - reach)
        assert found <= reach
    count_security_probes("admin fields", probes=probes, leaks=leaks)
    assert leaks == 0
