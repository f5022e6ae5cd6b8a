import pytest

from roster.access import can_view_student, guardian_links_visible_to, sections_visible_to, students_visible_to
from roster.tests.factories import StudentGuardianFactory, UserFactory


@pytest.mark.parametrize(
    ("person", "sees"),
    [
        ("teacher", True),
        ("other_teacher", False),
        ("far_teacher", False),
        ("counselor", True),
        ("leader", True),
        ("other_leader", False),
        ("district_admin", True),
        ("guardian", True),
        ("restricted_guardian", False),
        ("other_family", False),
        ("stranger", False),
    ],
)
def test_who_can_view_the_student(world, person, sees):
    assert can_view_student(world.people[person], world.student) is sees


def test_a_teacher_sees_only_the_students_of_their_current_classes(world):
    teacher = world.people["teacher"]
    assert set(students_visible_to(teacher)) == {world.student}
    world.section.term.is_current = False
    world.section.term.save(update_fields=["is_current"])
    assert set(students_visible_to(teacher)) == set()


def test_a_leader_sees_their_whole_school_and_no_other(world):
    assert set(students_visible_to(world.people["leader"])) == {world.student, world.other_student}


def test_a_district_admin_sees_every_school_of_the_district(world):
    assert set(students_visible_to(world.people["district_admin"])) == {
        world.student,
        world.other_student,
        world.far_student,
    }


def test_a_guardian_loses_sight_of_a_child_when_portal_access_is_withdrawn(world):
    guardian = world.people["guardian"]
    link = world.student.guardian_links.get(guardian__user=guardian)
    assert set(students_visible_to(guardian)) == {world.student}
    link.portal_access_allowed = False
    link.save(update_fields=["portal_access_allowed"])
    assert set(students_visible_to(guardian)) == set()


def test_an_inactive_account_sees_nothing(world):
    leader = world.people["leader"]
    leader.is_active = False
    leader.save(update_fields=["is_active"])
    assert not students_visible_to(leader).exists()


def test_teachers_see_their_own_classes_and_leaders_all_of_their_school(world):
    assert set(sections_visible_to(world.people["teacher"])) == {world.section}
    assert sections_visible_to(world.people["leader"]).count() == 2
    assert not sections_visible_to(world.people["guardian"]).exists()


def test_being_listed_on_a_class_without_a_teacher_role_opens_nothing(world):
    helper = UserFactory(email="volunteer@example.org")
    world.section.teachers.add(helper)
    assert not students_visible_to(helper).exists()
    assert not sections_visible_to(helper).exists()


def test_a_teacher_who_is_also_a_parent_sees_only_their_own_link_of_their_own_child(world):
    teacher = world.people["teacher"]
    StudentGuardianFactory(student=world.far_student, guardian__user=teacher, guardian__email=teacher.email)
    other_parent = StudentGuardianFactory(student=world.far_student, guardian__email="ex@example.org")
    assert can_view_student(teacher, world.far_student)
    links = set(guardian_links_visible_to(teacher).filter(student=world.far_student))
    assert other_parent not in links
    assert {link.guardian.user for link in links} == {teacher}
    # Of the students they teach, they see every family link as before.
    assert guardian_links_visible_to(teacher).filter(student=world.student).count() == 2
