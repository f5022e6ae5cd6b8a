from django.db.models import QuerySet

from audit.models import AccessEvent
from roster.models import Student


def access_history(*, student: Student, limit: int = 50) -> QuerySet[AccessEvent]:
    """The latest reads and changes of one student's record; the caller has already passed the access policy."""
    return AccessEvent.objects.filter(student=student).select_related("actor", "guardian")[:limit]


def access_log(*, student: Student) -> QuerySet[AccessEvent]:
    """Every read and change of one student's record, oldest first: the record of access a family inspecting the
    record is shown (FERPA §99.32), never cut to the latest few. The caller has already passed the access policy."""
    return AccessEvent.objects.filter(student=student).select_related("actor", "guardian").order_by("at", "id")
