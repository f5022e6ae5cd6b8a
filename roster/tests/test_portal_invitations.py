import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from roster.models import Guardian
from roster.services import families_to_invite, invite_families_to_portal, send_portal_invitation
from roster.tests.factories import GuardianFactory, StudentGuardianFactory, UserFactory


def _work_the_queue() -> None:
    # A real worker of the database backend, run until the queue is empty. It closes its database connection
    # after each task, as in production, so the tests that use it run on a transactional database.
    call_command("db_worker", batch=True, no_startup_delay=True, queue_name="*", verbosity=0)


@pytest.fixture
def uninvited(world):
    """A family of the school with no account yet, the only one not yet invited."""
    Guardian.objects.update(portal_invited_at=timezone.now())
    return StudentGuardianFactory(student=world.other_student, guardian__email="new.family@example.org").guardian


def test_a_leader_s_invitation_reaches_each_family_through_the_task_queue(transactional_db, world, uninvited):
    count = invite_families_to_portal(invited_by=world.people["leader"], school=world.school)
    assert count == 1
    assert mail.outbox == []  # queued, not sent inside the request
    _work_the_queue()
    [message] = mail.outbox
    assert message.to == ["new.family@example.org"]
    assert "/accounts/login/code/" in message.body
    uninvited.refresh_from_db()
    assert uninvited.user is not None and uninvited.portal_invited_at is not None


def test_an_invitation_is_sent_exactly_once(world, uninvited):
    assert send_portal_invitation(guardian_id=uninvited.id) is True
    assert send_portal_invitation(guardian_id=uninvited.id) is False
    assert len(mail.outbox) == 1


def test_families_under_a_restriction_are_never_invited(world, uninvited):
    invited = set(families_to_invite(school=world.school))
    assert uninvited in invited
    assert not any(guardian.email == "restricted@example.org" for guardian in invited)


def test_a_spanish_speaking_family_is_invited_in_spanish(world, uninvited):
    uninvited.preferred_language = "es"
    uninvited.save(update_fields=["preferred_language"])
    send_portal_invitation(guardian_id=uninvited.id)
    [message] = mail.outbox
    assert message.body.startswith("Hola")


def test_a_failed_send_releases_the_claim_so_a_retry_can_send_it(world, uninvited, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens there
    with pytest.raises(OSError):
        send_portal_invitation(guardian_id=uninvited.id)
    uninvited.refresh_from_db()
    assert uninvited.portal_invited_at is None
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_portal_invitation(guardian_id=uninvited.id) is True


def test_two_guardians_sharing_an_email_share_one_account(world, uninvited):
    first = StudentGuardianFactory(student=world.other_student, guardian__email="shared@example.org").guardian
    StudentGuardianFactory(student=world.other_student, guardian__email="shared@example.org")
    assert invite_families_to_portal(invited_by=world.people["leader"], school=world.school) == 2  # + uninvited
    first.refresh_from_db()
    assert first.user is not None
    assert list(families_to_invite(school=world.school).filter(email="shared@example.org")) == [first]


def test_a_member_of_staff_who_is_also_a_parent_keeps_one_account(world):
    teacher = world.people["teacher"]
    StudentGuardianFactory(student=world.other_student, guardian__email=teacher.email)
    invite_families_to_portal(invited_by=world.people["leader"], school=world.school)
    assert Guardian.objects.get(email=teacher.email).user == teacher


def test_only_a_leader_of_the_school_may_invite_its_families(world, uninvited):
    for person in ("teacher", "other_leader", "guardian"):
        with pytest.raises(PermissionDenied):
            invite_families_to_portal(invited_by=world.people[person], school=world.school)
    assert invite_families_to_portal(invited_by=world.people["leader"], school=world.school) == 1


def test_the_overview_offers_the_invitation_and_the_button_sends_it(transactional_db, client, world, uninvited):
    client.force_login(world.people["leader"])
    [summary] = client.get(reverse("insights:overview")).context["summaries"]
    assert summary.families_to_invite == 1
    response = client.post(reverse("roster:invite_families"), {"school": world.school.id}, follow=True)
    assert "An invitation to 1 parent or guardian is on its way." in response.content.decode()
    _work_the_queue()
    assert [message.to for message in mail.outbox] == [[uninvited.email]]
    assert client.get(reverse("insights:overview")).context["summaries"][0].families_to_invite == 0


def test_a_forged_school_id_is_refused_and_invites_no_one(client, world, uninvited):
    far_family = StudentGuardianFactory(student=world.far_student, guardian__email="far@example.org").guardian
    client.force_login(world.people["leader"])
    response = client.post(reverse("roster:invite_families"), {"school": world.other_school.id})
    assert response.status_code == 400
    far_family.refresh_from_db()
    assert far_family.user is None and far_family.portal_invited_at is None


def test_an_account_that_already_exists_for_no_one_is_linked_rather_than_duplicated(world, uninvited):
    existing = UserFactory(email=uninvited.email)
    invite_families_to_portal(invited_by=world.people["leader"], school=world.school)
    uninvited.refresh_from_db()
    assert uninvited.user == existing


def test_guardians_without_email_are_not_counted_as_invitable(world):
    GuardianFactory(email="")
    StudentGuardianFactory(student=world.other_student, guardian__email="")
    assert not families_to_invite(school=world.school).filter(email="").exists()
