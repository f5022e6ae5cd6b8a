"""Today: whom a teacher should reach next and why, in one ranked list: follow-ups due, families not contacted this
term or past the cadence, students with no good news yet, then the rest."""

import datetime
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import partial
from operator import itemgetter
from typing import Any, overload

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from communication.models import ContactSummary, InteractionStudent
from communication.selectors import Ratio
from delivery.selectors import time_zone_named
from roster.access import students_in_care_of
from roster.models import Student, StudentGuardian


def is_due_for_contact(*, last_contact_on: datetime.date | None, today: datetime.date, cadence_days: int) -> bool:
    """A family is due from the cadence day on: contacted 21 days ago with a 21-day cadence means today."""
    return last_contact_on is None or (today - last_contact_on).days >= cadence_days


class Reason(IntEnum):
    """Why a student's family is on the Today list, most urgent first: the list is sorted by it."""

    FOLLOW_UP_DUE = 1
    NOT_CONTACTED_THIS_TERM = 2
    PAST_CADENCE = 3
    NO_POSITIVE_YET = 4
    UP_TO_DATE = 5
    NO_CONTACTABLE_FAMILY = 6

    @property
    def label(self) -> str:
        return str(REASON_LABELS[self])

    @property
    def slug(self) -> str:
        return self.name.lower().replace("_", "-")


REASON_LABELS = {
    Reason.FOLLOW_UP_DUE: _("Follow-up due"),
    Reason.NOT_CONTACTED_THIS_TERM: _("Not contacted this term"),
    Reason.PAST_CADENCE: _("Overdue for a contact"),
    Reason.NO_POSITIVE_YET: _("No good news yet this term"),
    Reason.UP_TO_DATE: _("Up to date"),
    Reason.NO_CONTACTABLE_FAMILY: _("No family member we may contact"),
}


def reason_to_reach(
    *,
    today: datetime.date,
    cadence_days: int,
    has_contactable_family: bool,
    follow_up_due_on: datetime.date | None,
    last_contact_on: datetime.date | None,
    positives_this_term: int,
) -> Reason:
    """`last_contact_on` is the last contact of this term: one from an earlier term does not count."""
    if not has_contactable_family:
        return Reason.NO_CONTACTABLE_FAMILY
    if follow_up_due_on is not None and follow_up_due_on <= today:
        return Reason.FOLLOW_UP_DUE
    if last_contact_on is None:
        return Reason.NOT_CONTACTED_THIS_TERM
    if is_due_for_contact(last_contact_on=last_contact_on, today=today, cadence_days=cadence_days):
        return Reason.PAST_CADENCE
    if positives_this_term == 0:
        return Reason.NO_POSITIVE_YET
    return Reason.UP_TO_DATE


@dataclass
class TodayRow:
    student: Student
    reason: Reason
    today: datetime.date
    ratio: Ratio
    last_contact_on: datetime.date | None = None
    last_contact_tone: str = ""
    failed_attempts: int = 0
    follow_up_on: datetime.date | None = None
    follow_up_note: str = ""
    family_links: list[StudentGuardian] = field(default_factory=list)

    @property
    def days_since_contact(self) -> int | None:
        return None if self.last_contact_on is None else (self.today - self.last_contact_on).days

    def sort_key(self) -> tuple[int, datetime.date, str, str, int]:
        return waiting_order(
            reason=self.reason,
            follow_up_on=self.follow_up_on,
            last_contact_on=self.last_contact_on,
            last_name=self.student.last_name,
            first_name=self.student.first_name,
            student_id=self.student.pk,
        )


def waiting_order(
    *,
    reason: Reason,
    follow_up_on: datetime.date | None,
    last_contact_on: datetime.date | None,
    last_name: str,
    first_name: str,
    student_id: int,
) -> tuple[int, datetime.date, str, str, int]:
    """Oldest follow-up first; then the family that has waited longest; never-contacted families by name."""
    if reason == Reason.FOLLOW_UP_DUE and follow_up_on is not None:
        waited_since = follow_up_on
    elif reason == Reason.NOT_CONTACTED_THIS_TERM:
        waited_since = datetime.date.min
    else:
        waited_since = last_contact_on or datetime.date.min
    return (reason, waited_since, last_name, first_name, student_id)


class TodayRows(Sequence[TodayRow]):
    """A list's rows in order, each built the first time it is read: a page shows 10 rows of up to 150, and
    building one (its student, its ratio) costs more than ranking it."""

    def __init__(self, builders: list[Callable[[], TodayRow]]) -> None:
        self._builders = builders
        self._built: list[TodayRow | None] = [None] * len(builders)

    def __len__(self) -> int:
        return len(self._builders)

    @overload
    def __getitem__(self, index: int) -> TodayRow: ...
    @overload
    def __getitem__(self, index: slice) -> list[TodayRow]: ...
    def __getitem__(self, index: int | slice) -> TodayRow | list[TodayRow]:
        if isinstance(index, slice):
            return [self[position] for position in range(len(self))[index]]
        row = self._built[index]
        if row is None:
            row = self._built[index] = self._builders[index]()
        return row


@dataclass(frozen=True)
class GoodNewsDue:
    """A child whose family has heard no good news for the school's good news period: never, or since a day."""

    student: Student
    last_positive_on: datetime.date | None
    today: datetime.date

    @property
    def days_without(self) -> int | None:
        return None if self.last_positive_on is None else (self.today - self.last_positive_on).days


GOOD_NEWS_QUEUE_SHOWN = 5  # a few calls a day empty the queue in a week or two


@dataclass
class TodayList:
    rows: TodayRows
    counts_by_reason: dict[str, int]  # keyed by Reason name, for the template
    # The good news queue: the first few children waiting longest (never first), and how many wait in all.
    good_news_queue: list[GoodNewsDue] = field(default_factory=list)
    good_news_due: int = 0
    # The school's settings the figures were counted with (the first school's, for staff at two).
    cadence_days: int = settings.HOMEROOM_DEFAULT_CADENCE_DAYS
    good_news_days: int = settings.HOMEROOM_DEFAULT_GOOD_NEWS_DAYS

    @property
    def total(self) -> int:
        return len(self.rows)


# Every concrete field, in order: a model built from positional values skips keyword matching (twice as fast).
TODAY_STUDENT_FIELDS = tuple(field.attname for field in Student._meta.concrete_fields)


LAST_NAME, FIRST_NAME = TODAY_STUDENT_FIELDS.index("last_name"), TODAY_STUDENT_FIELDS.index("first_name")

TODAY_SUMMARY_FIELDS = ("student_id", "positives", "concerns", "contacts", "attempts", "last_contact_at")


def today_for(*, user: User, now: datetime.datetime | None = None) -> TodayList:
    """Every family of the students in a teacher's care, ordered by who to reach first. The family details of the
    rows shown are added by `with_family_links`, for one page of rows only. Read as plain values: a teacher has up
    to 150 students, and model instances for each, with their school, cost more than the rest of the page."""
    now = now or timezone.now()
    contactable = StudentGuardian.objects.filter(student=OuterRef("pk"), contact_allowed=True)
    students = list(
        students_in_care_of(user)
        .annotate(has_contactable_family=Exists(contactable))
        .order_by()
        .values_list(
            *TODAY_STUDENT_FIELDS,
            "school__time_zone",
            "school__contact_cadence_days",
            "school__positive_ratio_target",
            "school__good_news_days",
            "has_contactable_family",
        )
    )
    ids = [values[0] for values in students]
    summaries = {
        values[0]: values
        for values in ContactSummary.objects.filter(student_id__in=ids, term__is_current=True).values_list(
            *TODAY_SUMMARY_FIELDS, "last_contact_tone", "last_positive_at"
        )
    }
    follow_ups = _follow_ups_due(user=user, student_ids=ids, now=now)

    ranked = []
    waiting_for_good_news = []
    counts: dict[str, int] = {}
    local_todays: dict[str, tuple[zoneinfo.ZoneInfo, datetime.date]] = {}
    for values in students:
        *student_values, time_zone, cadence_days, ratio_target, good_news_days, has_contactable_family = values
        student_id = student_values[0]
        if time_zone not in local_todays:
            zone = time_zone_named(time_zone)
            local_todays[time_zone] = (zone, now.astimezone(zone).date())
        zone, today = local_todays[time_zone]
        _id, positives, concerns, contacts, attempts, last_contact_at, tone, last_positive_at = summaries.get(
            student_id, (student_id, 0, 0, 0, 0, None, "", None)
        )
        last_contact_on = last_contact_at.astimezone(zone).date() if last_contact_at else None
        last_positive_on = last_positive_at.astimezone(zone).date() if last_positive_at else None
        if has_contactable_family and is_due_for_contact(
            last_contact_on=last_positive_on, today=today, cadence_days=good_news_days
        ):
            waiting = (
                last_positive_on or datetime.date.min,
                student_values[LAST_NAME],
                student_values[FIRST_NAME],
                student_id,
            )
            waiting_for_good_news.append((waiting, student_values, last_positive_on, today))
        follow_up_on, follow_up_note = follow_ups.get(student_id, (None, ""))
        reason = reason_to_reach(
            today=today,
            cadence_days=cadence_days,
            has_contactable_family=has_contactable_family,
            follow_up_due_on=follow_up_on,
            last_contact_on=last_contact_on,
            positives_this_term=positives,
        )
        counts[reason.name] = counts.get(reason.name, 0) + 1
        order = waiting_order(
            reason=reason,
            follow_up_on=follow_up_on,
            last_contact_on=last_contact_on,
            last_name=student_values[LAST_NAME],
            first_name=student_values[FIRST_NAME],
            student_id=student_id,
        )
        build = partial(
            _today_row,
            student_values,
            reason=reason,
            today=today,
            ratio=(positives, concerns, ratio_target),
            last_contact_on=last_contact_on,
            last_contact_tone=tone,
            failed_attempts=attempts - contacts,
            follow_up_on=follow_up_on,
            follow_up_note=follow_up_note,
        )
        ranked.append((order, build))
    ranked.sort(key=itemgetter(0))
    waiting_for_good_news.sort(key=itemgetter(0))
    return TodayList(
        rows=TodayRows([build for _order, build in ranked]),
        counts_by_reason=counts,
        good_news_queue=[
            GoodNewsDue(Student(*student_values), last_positive_on, today)
            for _waiting, student_values, last_positive_on, today in waiting_for_good_news[:GOOD_NEWS_QUEUE_SHOWN]
        ],
        good_news_due=len(waiting_for_good_news),
        **_settings_counted_with(students),
    )


def _settings_counted_with(students: list[tuple[Any, ...]]) -> dict[str, int]:
    if not students:
        return {}
    *_student, _zone, cadence_days, _ratio_target, good_news_days, _contactable = students[0]
    return {"cadence_days": cadence_days, "good_news_days": good_news_days}


def _today_row(student_values: list[Any], *, ratio: tuple[int, int, int], **fields: Any) -> TodayRow:
    positives, concerns, target = ratio
    return TodayRow(
        student=Student(*student_values), ratio=Ratio(positives=positives, concerns=concerns, target=target), **fields
    )


def _follow_ups_due(
    *, user: User, student_ids: list[int], now: datetime.datetime
) -> dict[int, tuple[datetime.date, str]]:
    """The earliest open follow-up this user set for each student in their care, due by tomorrow anywhere in the
    world. A user's open follow-ups are few: they are read through their own index and sifted here, which is
    cheaper than sending every student id along."""
    in_care = set(student_ids)
    links = (
        InteractionStudent.objects.filter(
            interaction__logged_by=user,
            interaction__follow_up_closed_at__isnull=True,
            interaction__follow_up_on__lte=(now + datetime.timedelta(days=1)).date(),
        )
        .order_by("interaction__follow_up_on", "interaction_id")
        .values_list("student_id", "interaction__follow_up_on", "interaction__summary")
    )
    earliest: dict[int, tuple[datetime.date, str]] = {}
    for student_id, follow_up_on, note in links:
        if student_id in in_care and follow_up_on is not None:  # the filter guarantees a date; this tells mypy
            earliest.setdefault(student_id, (follow_up_on, note))
    return earliest


def with_family_links(*, rows: list[TodayRow]) -> list[TodayRow]:
    """Adds the family members a user may contact to a page of rows, in one query."""
    by_student = {row.student.pk: row for row in rows}
    # These students came from the access policy (`today_for`): their contactable links are this user's to see.
    links = (
        StudentGuardian.objects.filter(student_id__in=list(by_student), contact_allowed=True)
        .select_related("guardian")
        .order_by("-is_primary_contact", "guardian__last_name", "guardian__first_name")
    )
    for link in links:
        by_student[link.student_id].family_links.append(link)
    return rows
