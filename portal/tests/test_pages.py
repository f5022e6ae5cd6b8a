from django.urls import reverse

from audit.models import AccessEvent
from roster.tests.factories import StudentGuardianFactory


def test_a_parent_s_home_lists_their_children_with_classes_and_teachers(client, world):
    client.force_login(world.people["guardian"])
    response = client.get(reverse("portal:home"))
    assert [child.id for child in response.context["children"]] == [world.student.id]
    page = response.content.decode()
    assert world.section.name in page
    assert world.people["teacher"].full_name in page
    assert world.other_student.display_name not in page


def test_the_child_page_shows_the_teachers_and_never_the_other_household(client, world):
    other_household = StudentGuardianFactory(
        student=world.student, guardian__email="other.household@example.org", lives_with_student=False
    ).guardian
    restricted = world.student.guardian_links.get(contact_allowed=False).guardian
    client.force_login(world.people["guardian"])
    page = client.get(reverse("portal:child_detail", args=[world.student.id])).content.decode()
    assert world.people["teacher"].email in page
    for hidden in (other_household, restricted):
        assert hidden.display_name not in page
        assert hidden.email not in page


def test_a_family_s_page_views_are_not_written_to_the_staff_access_log(client, world):
    client.force_login(world.people["guardian"])
    client.get(reverse("portal:child_detail", args=[world.student.id]))
    assert not AccessEvent.objects.exists()


def test_a_teacher_who_is_also_a_parent_opens_only_their_own_child_in_the_portal(client, world):
    teacher = world.people["teacher"]
    StudentGuardianFactory(student=world.far_student, guardian__user=teacher, guardian__email=teacher.email)
    client.force_login(teacher)
    assert client.get(reverse("portal:child_detail", args=[world.far_student.id])).status_code == 200
    # world.student is in the teacher's class: visible on the staff pages, not the teacher's child.
    assert client.get(reverse("portal:child_detail", args=[world.student.id])).status_code == 404
