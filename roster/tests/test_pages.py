import pytest
from django.urls import reverse

from roster.tests.factories import SectionFactory, StaffRoleFactory, StudentGuardianFactory, enroll_class


def test_a_teacher_sees_their_classes_with_sizes(client, world):
    client.force_login(world.people["teacher"])
    response = client.get(reverse("roster:section_list"))
    assert response.status_code == 200
    assert [section.name for section in response.context["sections"]] == ["3A"]
    assert response.context["sections"][0].student_count == 1


def _class_of(size: int, teacher):
    section = SectionFactory(term__school=teacher.staff_roles.get().school, term__is_current=False)
    section.teachers.add(teacher)
    enroll_class(section=section, size=size)
    return section


@pytest.mark.parametrize("classes", [1, 6])
def test_the_class_list_reads_a_fixed_number_of_queries_whatever_the_number_of_classes(
    client, django_assert_num_queries, world, classes
):
    teacher = world.people["teacher"]
    for n in range(classes - 1):
        extra = SectionFactory(term=world.section.term, name=f"Extra {n}")
        extra.teachers.add(teacher)
        enroll_class(section=extra, size=2)
    client.force_login(teacher)
    # session, user, roles, sections, their teachers
    with django_assert_num_queries(5):
        response = client.get(reverse("roster:section_list"))
    assert len(response.context["sections"]) == classes


def test_the_leader_overview_counts_reach_and_languages(client, world):
    client.force_login(world.people["leader"])
    StudentGuardianFactory(student=world.other_student, guardian__preferred_language="es", is_primary_contact=False)
    response = client.get(reverse("insights:overview"))
    [summary] = response.context["summaries"]
    assert summary.school == world.school
    assert summary.students == 2
    assert summary.families_reachable == 2
    assert summary.contact_restrictions == 1
    assert {language.code: language.students for language in summary.languages} == {"en": 2}
    assert [section.name for section in summary.sections] == ["3A", "3B"]


def test_the_leader_overview_reads_a_fixed_number_of_queries_whatever_the_school_size(
    client, django_assert_num_queries, world
):
    leader = world.people["leader"]
    client.force_login(leader)
    counts = []
    for size in (2, 20):
        enroll_class(section=world.section, size=size)
        with CountQueries(django_assert_num_queries) as counter:
            client.get(reverse("insights:overview"))
        counts.append(counter.count)
    assert counts[0] == counts[1]


def test_teachers_have_no_school_overview(client, world):
    client.force_login(world.people["teacher"])
    assert client.get(reverse("insights:overview")).status_code == 403


def test_a_district_admin_sees_every_school_of_the_district(client, world):
    client.force_login(world.people["district_admin"])
    summaries = client.get(reverse("insights:overview")).context["summaries"]
    assert [summary.school.name for summary in summaries] == ["Maple Elementary", "Oak Middle"]


def test_a_counselor_sees_their_caseload(client, world):
    client.force_login(world.people["counselor"])
    response = client.get(reverse("roster:caseload"))
    assert list(response.context["students"]) == [world.student]


@pytest.mark.parametrize(
    ("person", "lands_on"),
    [
        ("teacher", "students:today"),
        ("counselor", "students:today"),
        ("leader", "insights:overview"),
        ("district_admin", "insights:overview"),
        ("guardian", "portal:home"),
    ],
)
def test_each_person_lands_on_the_page_their_role_starts_from(client, world, person, lands_on):
    client.force_login(world.people[person])
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse(lands_on)


def test_an_account_with_no_role_is_told_so(client, world):
    client.force_login(world.people["stranger"])
    response = client.get(reverse("home"))
    assert response.status_code == 403
    assert "no access yet" in response.content.decode()


def test_a_teacher_who_is_also_a_leader_elsewhere_keeps_both_views(client, world):
    teacher = world.people["teacher"]
    StaffRoleFactory(user=teacher, role="leader", school=world.other_school)
    client.force_login(teacher)
    assert client.get(reverse("students:student_detail", args=[world.far_student.id])).status_code == 200
    assert client.get(reverse("students:student_detail", args=[world.student.id])).status_code == 200


class CountQueries:
    """Counts the queries of a block without asserting a number: for comparing two runs."""

    def __init__(self, _fixture: object) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        self._context = CaptureQueriesContext(connection)

    def __enter__(self) -> "CountQueries":
        self._context.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._context.__exit__(*exc)

    @property
    def count(self) -> int:
        return len(self._context.captured_queries)


@pytest.mark.parametrize(
    ("level", "label"), [(-1, "Pre-K"), (0, "Kindergarten"), (1, "Grade 1"), (12, "Grade 12"), (None, "Grade unknown")]
)
def test_one_label_writes_every_grade(level, label):
    from roster.grades import grade_label
    from roster.templatetags.roster_tags import grade

    assert grade_label(level) == grade(level) == label
