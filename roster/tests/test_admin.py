import pytest
from django.urls import reverse

from audit.models import AccessEvent, AuditAction
from homeroom.testing import count_security_probes
from roster.models import District, StaffRole, StudentGuardian
from roster.tests.factories import DistrictFactory, SchoolFactory, StaffRoleFactory, StudentGuardianFactory


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


def _form_values(form, prefix=""):
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        key = f"{prefix}{name}"
        data[key] = [str(v) for v in value] if isinstance(value, list | tuple) else str(value)
    return data


def _change_form_data(response, *, with_inlines=False, **changes):
    """The change form as it was shown, with `changes`: what a browser would post."""
    data = _form_values(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        forms = formset.initial_forms if with_inlines else []
        data[f"{formset.prefix}-TOTAL_FORMS"] = str(len(forms))
        data[f"{formset.prefix}-INITIAL_FORMS"] = str(len(forms))
        for index, form in enumerate(forms):
            data |= _form_values(form, f"{formset.prefix}-{index}-")
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
    # A name no student in reach has: factories draw names at random, and a shared surname is no leak.
    world.far_student.last_name = "Farawaysworth"
    world.far_student.save(update_fields=["last_name"])
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


def _events(action):
    return set(AccessEvent.objects.filter(action=action).values_list("student_id", "what"))


def test_a_guardian_s_edit_is_logged_for_each_of_their_children(client, world, leader):
    guardian = world.student.guardian_links.get(guardian__user=world.people["guardian"]).guardian
    StudentGuardianFactory(student=world.other_student, guardian=guardian)
    client.force_login(leader)
    url = reverse("admin:roster_guardian_change", args=[guardian.id])
    assert client.post(url, _change_form_data(client.get(url), phone="+16175550199")).status_code == 302
    changed = AccessEvent.objects.filter(actor=leader, action=AuditAction.CHANGED)
    assert set(changed.values_list("student_id", flat=True)) == {world.student.id, world.other_student.id}
    assert all(event.what.startswith("admin guardian:") for event in changed)


def test_opening_a_student_s_record_in_the_admin_is_logged(client, world, leader):
    client.force_login(leader)
    assert client.get(reverse("admin:roster_student_change", args=[world.student.id])).status_code == 200
    event = AccessEvent.objects.get(action=AuditAction.VIEWED)
    assert (event.actor, event.student) == (leader, world.student)


def test_a_list_of_students_in_the_admin_is_logged_for_each_student_shown(client, world, leader):
    client.force_login(leader)
    assert client.get(reverse("admin:roster_student_changelist")).status_code == 200
    viewed = AccessEvent.objects.filter(actor=leader, action=AuditAction.VIEWED)
    assert sorted(viewed.values_list("student_id", flat=True)) == sorted([world.student.id, world.other_student.id])


def test_changing_adding_and_removing_a_family_link_on_the_student_s_page_is_logged(client, world, leader):
    student = world.student
    restricted = student.guardian_links.get(guardian__user=world.people["restricted_guardian"])
    other = world.other_student.guardian_links.get()
    client.force_login(leader)
    url = reverse("admin:roster_student_change", args=[student.id])
    data = _change_form_data(client.get(url), with_inlines=True)
    index = next(i for i in range(2) if data[f"guardian_links-{i}-id"] == str(restricted.id))
    data.pop(f"guardian_links-{index}-contact_allowed", None)
    data[f"guardian_links-{index}-portal_access_allowed"] = "on"  # a custody change
    data[f"guardian_links-{1 - index}-DELETE"] = "on"
    data |= {
        "guardian_links-TOTAL_FORMS": "3",
        "guardian_links-2-guardian": str(other.guardian_id),
        "guardian_links-2-relationship": "grandparent",
        "guardian_links-2-contact_allowed": "on",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    restricted.refresh_from_db()
    assert restricted.portal_access_allowed
    link_events = {
        action: AccessEvent.objects.filter(student=student, action=action, what__startswith="admin student's guardian")
        for action in (AuditAction.CHANGED, AuditAction.CREATED, AuditAction.DELETED)
    }
    assert {action: events.count() for action, events in link_events.items()} == {
        AuditAction.CHANGED: 1,
        AuditAction.CREATED: 1,
        AuditAction.DELETED: 1,
    }


def test_a_bulk_delete_in_the_admin_is_logged_for_each_student(client, world, leader):
    links = [world.student.guardian_links.first(), world.other_student.guardian_links.get()]
    client.force_login(leader)
    response = client.post(
        reverse("admin:roster_studentguardian_changelist"),
        {"action": "delete_selected", "_selected_action": [link.id for link in links], "post": "yes"},
    )
    assert response.status_code == 302
    assert not StudentGuardian.objects.filter(id__in=[link.id for link in links]).exists()
    deleted = AccessEvent.objects.filter(actor=leader, action=AuditAction.DELETED)
    assert sorted(deleted.values_list("student_id", flat=True)) == sorted([world.student.id, world.other_student.id])


def test_a_guardian_deleted_in_the_admin_is_logged_for_their_children(client, world, leader):
    guardian = world.other_student.guardian_links.get().guardian
    client.force_login(leader)
    response = client.post(reverse("admin:roster_guardian_delete", args=[guardian.id]), {"post": "yes"})
    assert response.status_code == 302
    assert not type(guardian).objects.filter(id=guardian.id).exists()
    event = AccessEvent.objects.get(action=AuditAction.DELETED)
    assert (event.actor, event.student) == (leader, world.other_student)


def test_the_admin_sign_in_page_opens_for_a_visitor(client, world):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 200


def test_the_admin_sends_a_visitor_to_sign_in(client, world):
    for url in (reverse("admin:index"), reverse("admin:roster_student_changelist")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.security
def test_a_leader_reads_their_district_but_cannot_rename_or_add_one(client, world, leader):
    district = world.school.district
    client.force_login(leader)
    url = reverse("admin:roster_district_change", args=[district.id])
    page = client.get(url)
    assert page.status_code == 200
    assert "name" not in page.context["adminform"].form.fields  # shown read-only
    refused = [
        client.post(url, {"name": "Renamed"}).status_code,
        client.post(reverse("admin:roster_district_add"), {"name": "A new district"}).status_code,
        client.post(reverse("admin:roster_district_delete", args=[district.id]), {"post": "yes"}).status_code,
    ]
    district.refresh_from_db()
    count_security_probes("admin fields", probes=3, leaks=int(district.name == "Renamed") + refused.count(302))
    assert refused == [403, 403, 403]
    assert district.name != "Renamed"
    assert District.objects.count() == 1


def test_a_district_administrator_renames_their_own_district_only(client, world):
    admin_user = world.people["district_admin"]
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    far_district = DistrictFactory(name="Far District")
    client.force_login(admin_user)
    url = reverse("admin:roster_district_change", args=[world.school.district_id])
    assert client.post(url, {"name": "Renamed District"}).status_code == 302
    assert District.objects.get(id=world.school.district_id).name == "Renamed District"
    far_url = reverse("admin:roster_district_change", args=[far_district.id])
    assert client.post(far_url, {"name": "Taken"}).status_code == 302  # to the index: no such district here
    far_district.refresh_from_db()
    assert far_district.name == "Far District"


@pytest.mark.security
def test_a_leader_gives_roles_only_at_their_school_to_its_own_staff(client, world, leader):
    far_school = SchoolFactory(name="Far High")
    far_user = StaffRoleFactory(user__email="far.district.teacher@example.org", school=far_school).user
    teacher, other_leader = world.people["teacher"], world.people["other_leader"]
    client.force_login(leader)
    url = reverse("admin:roster_staffrole_add")
    attempts = {
        # another district's member of staff, at the leader's own school
        "user": {"user": far_user.id, "role": "counselor", "school": world.school.id},
        # a member of staff of another school of the district
        "user ": {"user": other_leader.id, "role": "teacher", "school": world.school.id},
        # the leader's own teacher, at another school of the district, or of another district
        "school": {"user": teacher.id, "role": "leader", "school": world.other_school.id},
        "school ": {"user": teacher.id, "role": "leader", "school": far_school.id},
        # a district administrator, of the leader's district or of another one
        "role": {"user": teacher.id, "role": "district_admin", "district": world.school.district_id},
        "district": {"user": teacher.id, "role": "district_admin", "district": far_school.district_id},
    }
    before = StaffRole.objects.count()
    accepted = []
    for field, data in attempts.items():
        response = client.post(url, data)
        errors = response.context["adminform"].form.errors.as_data() if response.status_code == 200 else {}
        if "invalid_choice" not in {error.code for error in errors.get(field.strip(), [])}:
            accepted.append((field, data))
    count_security_probes("admin fields", probes=len(attempts), leaks=len(accepted))
    assert accepted == []
    assert StaffRole.objects.count() == before
    # The leader's own teacher, as a counselor at the leader's school: taken.
    assert client.post(url, {"user": teacher.id, "role": "counselor", "school": world.school.id}).status_code == 302
    assert StaffRole.objects.filter(user=teacher, role="counselor", school=world.school).exists()
