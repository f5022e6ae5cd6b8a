import pytest
from django.db import IntegrityError, transaction

from audit.models import AccessEvent, AppendOnlyError, AuditAction
from audit.selectors import access_history
from audit.services import record, record_by_link, record_views
from roster.tests.factories import GuardianFactory, StudentFactory


def test_a_recorded_event_cannot_be_edited_or_deleted(world):
    event = record(actor=world.people["teacher"], student=world.student, action=AuditAction.VIEWED, what="student page")
    event.what = "nothing to see"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AccessEvent.objects.filter(pk=event.pk).update(what="gone")
    with pytest.raises(AppendOnlyError):
        AccessEvent.objects.all().delete()
    assert AccessEvent.objects.get(pk=event.pk).what == "student page"


def test_a_list_of_any_length_is_logged_in_one_query(world, django_assert_num_queries):
    students = [StudentFactory(school=world.school) for _ in range(25)]
    with django_assert_num_queries(1):
        assert record_views(actor=world.people["leader"], students=students, what="class list") == 25


def test_the_history_shows_the_latest_event_first(world):
    for what in ("first", "second"):
        record(actor=world.people["teacher"], student=world.student, action=AuditAction.VIEWED, what=what)
    assert [event.what for event in access_history(student=world.student)] == ["second", "first"]


def test_a_family_acting_by_its_link_is_named_by_its_guardian_record_with_or_without_an_account(world):
    without_account = GuardianFactory()
    with_account = world.student.guardian_links.get(guardian__user=world.people["guardian"]).guardian

    for guardian in (without_account, with_account):
        record_by_link(guardian=guardian, student=world.student, action=AuditAction.CHANGED, what="answered")

    assert [(event.guardian, event.actor) for event in access_history(student=world.student)] == [
        (with_account, world.people["guardian"]),
        (without_account, None),
    ]


def test_an_event_by_no_one_is_refused_by_the_database(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessEvent.objects.create(student=world.student, action=AuditAction.VIEWED, what="nobody")
