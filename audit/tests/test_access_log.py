import pytest

from audit.models import AccessEvent, AppendOnlyError, AuditAction
from audit.selectors import access_history
from audit.services import record, record_views
from roster.tests.factories import StudentFactory


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
