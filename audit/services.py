from collections.abc import Iterable

from django.http import HttpRequest

from accounts.models import User
from audit.models import AccessEvent, AuditAction
from roster.models import Guardian, Student

BATCH = 1000  # events per INSERT


def _path_of(request: HttpRequest | None) -> str:
    return request.get_full_path()[:300] if request is not None else ""


def record(
    *, actor: User, student: Student, action: AuditAction, what: str, request: HttpRequest | None = None
) -> AccessEvent:
    return AccessEvent.objects.create(
        actor=actor, student=student, action=action, what=what[:200], path=_path_of(request)
    )


def record_by_link(
    *, guardian: Guardian, student: Student, action: AuditAction, what: str, request: HttpRequest | None = None
) -> AccessEvent:
    """What a family did through a link it was sent, without signing in."""
    return AccessEvent.objects.create(
        actor=guardian.user, guardian=guardian, student=student, action=action, what=what[:200], path=_path_of(request)
    )


def record_views(*, actor: User, students: Iterable[Student], what: str, request: HttpRequest | None = None) -> int:
    """One access event per student shown on a list, written in a single INSERT whatever the list's length."""
    return record_many(actor=actor, students=students, action=AuditAction.VIEWED, what=what, request=request)


def record_many(
    *,
    actor: User,
    students: Iterable[Student],
    action: AuditAction,
    what: str,
    request: HttpRequest | None = None,
) -> int:
    """One access event per student, in batched INSERTs: a class-wide message changes hundreds of records."""
    path = _path_of(request)
    events = [
        AccessEvent(actor=actor, student=student, action=action, what=what[:200], path=path) for student in students
    ]
    return len(AccessEvent.objects.bulk_create(events, batch_size=1000))


def record_many_by_id(
    *,
    actor: User,
    student_ids: Iterable[int],
    action: AuditAction,
    what: str,
    request: HttpRequest | None = None,
) -> int:
    """One access event per student id, in batched INSERTs and without loading a student: an export or an import
    reads or changes a whole district's records (50,000 students: 50 INSERTs, no other query)."""
    path, what = _path_of(request), what[:200]
    events = (AccessEvent(actor=actor, student_id=pk, action=action, what=what, path=path) for pk in student_ids)
    written = 0
    batch: list[AccessEvent] = []
    for event in events:
        batch.append(event)
        if len(batch) == BATCH:
            written += len(AccessEvent.objects.bulk_create(batch))
            batch = []
    if batch:
        written += len(AccessEvent.objects.bulk_create(batch))
    return written
