"""Reading the communication log: the rules of cadence, positive-first and ratio, the Today list, timelines."""

import datetime
import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache, partial
from operator import itemgetter
from typing import Any, overload

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from communication.letters import Letter, translated_languages
from communication.models import (
    MESSAGE_MAX_LENGTH,
    NO_LONGER_CONTACTABLE,
    SUBJECT_MAX_LENGTH,
    ContactSummary,
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    EmailOptOut,
    Interaction,
    InteractionStudent,
    MessageKind,
    OfficeHours,
    Outcome,
    PhoneOptOut,
    Reply,
    Source,
    Thread,
    Tone,
    UnroutedReply,
)
from communication.translation import TranslationError, translator
from roster.access import (
    contactable_links_for,
    family_links_sharing_records,
    family_may_read_from,
    schools_led_by,
    staff_students_visible_to,
    students_in_care_of,
)
from roster.languages import FAMILY_LANGUAGE_NAMES
from roster.models import Channel, Guardian, School, Section, Student, StudentGuardian, Term

# --- The rules, as plain functions of their inputs -------------------------------------------------------------


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


def positive_first_applies(*, tone: str, positives_this_term: int) -> bool:
    """A family's first contact of the term should be good news: a concern before any is worth a second thought."""
    return tone == Tone.CONCERN and positives_this_term == 0


@dataclass(frozen=True)
class Ratio:
    """Positive contacts to concerns, against a target such as 4:1 (research on positive-to-negative interaction
    ratios: Gottman's 5:1 for couples, Flora's 4:1 for classrooms). Neutral contacts do not count either way."""

    positives: int
    concerns: int
    target: int

    @property
    def meets_target(self) -> bool:
        return self.positives >= self.target * self.concerns

    @property
    def positives_needed(self) -> int:
        """How many more positive contacts would bring it to the target: how far from it this is."""
        return max(0, self.target * self.concerns - self.positives)

    @property
    def has_contacts(self) -> bool:
        return bool(self.positives or self.concerns)


def ratio_of(summary: "ContactSummary | None", *, target: int) -> Ratio:
    """A student's ratio over a term from its summary: no summary, no contact yet."""
    return Ratio(
        positives=summary.positives if summary else 0, concerns=summary.concerns if summary else 0, target=target
    )


# --- Terms and dates -------------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def local_date(moment: datetime.datetime, school: School) -> datetime.date:
    return moment.astimezone(_zone(school.time_zone)).date()


def term_bounds(term: Term, school: School) -> tuple[datetime.datetime, datetime.datetime]:
    """A term's first and last days, from midnight to midnight at the school."""
    zone = _zone(school.time_zone)
    starts_at = datetime.datetime.combine(term.starts_on, datetime.time.min, tzinfo=zone)
    ends_at = datetime.datetime.combine(term.ends_on + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
    return starts_at, ends_at


def term_on(school: School, moment: datetime.datetime) -> Term | None:
    day = local_date(moment, school)
    return Term.objects.filter(school=school, starts_on__lte=day, ends_on__gte=day).first()


# --- Delivery ------------------------------------------------------------------------------------------------


def send_window_opens(
    *, now: datetime.datetime, zone: zoneinfo.ZoneInfo, from_hour: int, until_hour: int
) -> datetime.datetime:
    """The earliest moment from `now` at which email or a text may reach a family: `now` inside the school's
    hours of the family's day, else the next opening (8:00 tomorrow, say, for a letter written at 22:00)."""
    local = now.astimezone(zone)
    if from_hour <= local.hour < until_hour:
        return now
    day = local.date() if local.hour < from_hour else local.date() + datetime.timedelta(days=1)
    return datetime.datetime.combine(day, datetime.time(from_hour), tzinfo=zone)


def retry_delay(*, attempts: int, base_seconds: int, cap_seconds: int | None = None) -> datetime.timedelta:
    """Exponential back-off after a temporary failure: base, twice the base, four times… after the 1st, 2nd, 3rd try,
    never longer than the cap."""
    delay = base_seconds * 2 ** min(max(attempts - 1, 0), 32)
    return datetime.timedelta(seconds=delay if cap_seconds is None else min(delay, cap_seconds))


def family_window_opens(school: School, moment: datetime.datetime, time_zone: str) -> datetime.datetime:
    """`send_window_opens` with the school's hours of the family's own day (a family may live in another zone)."""
    return send_window_opens(
        now=moment,
        zone=_zone(time_zone),
        from_hour=school.messages_from_hour,
        until_hour=school.messages_until_hour,
    )


def held_until(school: School, time_zone: str, now: datetime.datetime | None = None) -> datetime.datetime | None:
    """When email or a text written now may reach a family: None straight away, else when its quiet hours end."""
    now = now or timezone.now()
    opens = family_window_opens(school, now, time_zone)
    return opens if opens > now else None


def email_held_until(school: School, now: datetime.datetime | None = None) -> datetime.datetime | None:
    """`held_until` for the families living in the school's own time zone."""
    return held_until(school, school.time_zone, now)


def schools_of_guardians(guardian_ids: Iterable[int]) -> dict[int, School]:
    """The school whose day each family's messages keep to: its children's (the first, should they be at two)."""
    links = (
        StudentGuardian.objects.filter(guardian_id__in=list(guardian_ids))
        .select_related("student__school")
        .order_by("-student__school_id")
    )
    return {link.guardian_id: link.student.school for link in links}


@dataclass(frozen=True)
class OptOuts:
    phones: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()


def opt_outs_of(guardians: Iterable[Guardian]) -> OptOuts:
    """Which of these families' numbers texted STOP and which addresses unsubscribed, in two queries."""
    guardians = list(guardians)
    phones = {guardian.phone for guardian in guardians if guardian.phone}
    emails = {guardian.email for guardian in guardians if guardian.email}
    return OptOuts(
        phones=frozenset(PhoneOptOut.objects.filter(phone__in=phones).values_list("phone", flat=True)),
        emails=frozenset(EmailOptOut.objects.filter(email__in=emails).values_list("email", flat=True)),
    )


def channels_for(guardian: Guardian, opt_outs: OptOuts, *, essential: bool) -> list[str]:
    """The ways a message may reach a family member outside Homeroom, the preferred one first; empty when only
    the portal inbox (where every message is anyway) is left. An unsubscribed address still gets what is
    essential; a number that texted STOP gets nothing."""
    usable = []
    if guardian.email and (essential or guardian.email not in opt_outs.emails):
        usable.append(DeliveryChannel.EMAIL)
    if guardian.phone and guardian.phone not in opt_outs.phones:
        usable.append(DeliveryChannel.SMS)
    if guardian.preferred_channel == Channel.APP:
        return []
    if guardian.preferred_channel == Channel.SMS:
        usable.sort(key=lambda channel: channel != DeliveryChannel.SMS)
    return [str(channel) for channel in usable]


def office_hours_opening(hours: OfficeHours | None, moment: datetime.datetime) -> datetime.datetime | None:
    """When a member of staff next reads messages: None while they do (or when they set no hours)."""
    if hours is None:
        return None
    zone = _zone(hours.time_zone)
    local = moment.astimezone(zone)
    for days_ahead in range(8):
        day = local.date() + datetime.timedelta(days=days_ahead)
        if str(day.weekday()) not in hours.weekdays:
            continue
        opens = datetime.datetime.combine(day, hours.opens_at, tzinfo=zone)
        closes = datetime.datetime.combine(day, hours.closes_at, tzinfo=zone)
        if days_ahead == 0 and opens <= local < closes:
            return None
        if local < opens:
            return opens
    return None  # no day at all: the form never saves that


# --- Today -----------------------------------------------------------------------------------------------------


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
            zone = _zone(time_zone)
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
    )


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


# --- A student's contacts --------------------------------------------------------------------------------------


def current_summaries(students: Iterable[Student]) -> dict[int, ContactSummary]:
    ids = [student.pk for student in students]
    return {s.student_id: s for s in ContactSummary.objects.filter(student_id__in=ids, term__is_current=True)}


def students_without_positive_contact(students: Iterable[Student]) -> list[Student]:
    """Of these students, the ones whose families have had no positive contact this term."""
    students = list(students)
    summaries = current_summaries(students)
    return [s for s in students if s.pk not in summaries or summaries[s.pk].positives == 0]


def good_news_first_for_families(*, tone: str, families: Iterable["Recipient"]) -> list[Student]:
    """`good_news_first_for` each family of a message: a parent living apart is a household of its own."""
    return [
        student
        for family in families
        for student in good_news_first_for(tone=tone, guardian=family.guardian, students=family.students)
    ]


def good_news_first_for(*, tone: str, guardian: Guardian, students: Iterable[Student]) -> list[Student]:
    """Of these students, the ones for whom a contact of this tone with this guardian should wait for good news
    (`positive_first_applies`), counting the good news of the guardian's household this term. Guardians who live
    with the student are one household and share their good news; a guardian in a separate household is a family
    of their own (DESIGN: a family's first contact of the term is positive)."""
    students = list(students)
    # Only a tone that would wait even after good news needs the count (a concern); spare the queries otherwise.
    if not students or not positive_first_applies(tone=tone, positives_this_term=0):
        return []
    term = Term.objects.filter(school_id=students[0].school_id, is_current=True).select_related("school").first()
    if term is None:
        return []
    links = list(
        StudentGuardian.objects.filter(student__in=students).values("student_id", "guardian_id", "lives_with_student")
    )
    households: dict[int, set[int]] = {student.pk: {guardian.pk} for student in students}
    for link in links:
        if link["guardian_id"] == guardian.pk and link["lives_with_student"]:
            households[link["student_id"]] |= {
                other["guardian_id"]
                for other in links
                if other["student_id"] == link["student_id"] and other["lives_with_student"]
            }
    starts_at, ends_at = term_bounds(term, term.school)
    heard = Counter(
        InteractionStudent.objects.filter(
            student__in=students,
            interaction__guardian_id__in=set().union(*households.values()),
            interaction__tone=Tone.POSITIVE,
            interaction__outcome=Outcome.REACHED,
            interaction__occurred_at__gte=starts_at,
            interaction__occurred_at__lt=ends_at,
        ).values_list("student_id", "interaction__guardian_id")
    )
    return [
        student
        for student in students
        if positive_first_applies(
            tone=tone, positives_this_term=sum(heard[(student.pk, g)] for g in households[student.pk])
        )
    ]


def student_ratio(student: Student) -> Ratio:
    return ratio_of(current_summaries([student]).get(student.pk), target=student.school.positive_ratio_target)


@dataclass(frozen=True)
class FamilyRatio:
    guardian: Guardian
    ratio: Ratio


def family_ratios(*, user: User, student: Student) -> list[FamilyRatio]:
    """Each family member of a student a user may contact, with the ratio of all their contacts this term: a
    call about a sibling counts for the family too. Two households are two families, each with its own ratio."""
    term = Term.objects.filter(school=student.school, is_current=True).first()
    guardians = [
        link.guardian
        for link in contactable_links_for(user)
        .filter(student=student)
        .select_related("guardian")
        .order_by("-is_primary_contact", "guardian__last_name")
    ]
    if term is None or not guardians:
        return [FamilyRatio(g, Ratio(0, 0, student.school.positive_ratio_target)) for g in guardians]
    starts_at, ends_at = term_bounds(term, student.school)
    counts = {
        row["guardian_id"]: row
        for row in Interaction.objects.filter(guardian__in=guardians)
        .contacts()
        .between(starts_at, ends_at)
        .order_by()
        .values("guardian_id")
        .annotate(
            positives=Count("id", filter=Q(tone=Tone.POSITIVE)),
            concerns=Count("id", filter=Q(tone=Tone.CONCERN)),
        )
    }
    target = student.school.positive_ratio_target
    return [
        FamilyRatio(
            guardian,
            Ratio(
                positives=counts.get(guardian.pk, {}).get("positives", 0),
                concerns=counts.get(guardian.pk, {}).get("concerns", 0),
                target=target,
            ),
        )
        for guardian in guardians
    ]


class TimelineKind:
    CONTACT = "contact"
    MESSAGE = "message"


TIMELINE_LENGTH = 50


def student_timeline(
    *, student: Student, tone: str = "", kind: str = "", before: datetime.datetime | None = None
) -> list[Interaction]:
    """A student's record of contacts, newest first, filtered by tone and kind: logged contacts, or messages sent
    through Homeroom. Goals, behaviour notes and positive moments join it as they are built."""
    interactions = Interaction.objects.filter(student_links__student=student).select_related("guardian", "logged_by")
    if tone in Tone.values:
        interactions = interactions.filter(tone=tone)
    if kind == TimelineKind.CONTACT:
        interactions = interactions.filter(source=Source.LOGGED)
    elif kind == TimelineKind.MESSAGE:
        interactions = interactions.filter(source=Source.SENT)
    if before is not None:
        interactions = interactions.filter(occurred_at__lt=before)
    return list(interactions.order_by("-occurred_at", "-id")[:TIMELINE_LENGTH])


def contactable_guardians(*, user: User, student: Student) -> QuerySet[Guardian]:
    """The family members this user may contact about the child (custody), the primary contact first."""
    links = contactable_links_for(user).filter(student=student)
    return (
        Guardian.objects.filter(pk__in=links.values("guardian_id"))
        .annotate(is_primary=Exists(links.filter(guardian=OuterRef("pk"), is_primary_contact=True)))
        .order_by("-is_primary", "last_name", "first_name", "id")
    )


def interactions_of_student(*, student: Student) -> QuerySet[Interaction]:
    """Every contact and attempt about a student, oldest first: the whole log, as a record (not a page) needs it.
    The caller has already passed the access policy."""
    return (
        Interaction.objects.filter(student_links__student=student)
        .select_related("guardian", "logged_by")
        .order_by("occurred_at", "id")
    )


# --- A class ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudentRatio:
    student: Student
    ratio: Ratio


@dataclass(frozen=True)
class ClassRatio:
    ratio: Ratio
    furthest: list[StudentRatio]
    students_below_target: int


def class_ratio(*, section: Section, students: list[Student], show: int = 5) -> ClassRatio:
    """A class's positive-to-concern ratio this term, counting each contact once even when it was about two
    siblings in the class, and the students furthest from the target."""
    school = section.term.school
    target = school.positive_ratio_target
    starts_at, ends_at = term_bounds(section.term, school)
    totals = (
        Interaction.objects.filter(student_links__student__in=students)
        .contacts()
        .between(starts_at, ends_at)
        .order_by()
        .aggregate(
            positives=Count("id", distinct=True, filter=Q(tone=Tone.POSITIVE)),
            concerns=Count("id", distinct=True, filter=Q(tone=Tone.CONCERN)),
        )
    )
    summaries = current_summaries(students)
    per_student = []
    for student in students:
        per_student.append(StudentRatio(student, ratio_of(summaries.get(student.pk), target=target)))
    below = sorted(
        (sr for sr in per_student if not sr.ratio.meets_target),
        key=lambda sr: (-sr.ratio.positives_needed, sr.student.last_name, sr.student.first_name),
    )
    return ClassRatio(
        ratio=Ratio(positives=totals["positives"], concerns=totals["concerns"], target=target),
        furthest=below[:show],
        students_below_target=len(below),
    )


# --- The introduction letter -----------------------------------------------------------------------------------


@dataclass
class Recipient:
    guardian: Guardian
    students: list[Student]

    @property
    def child_names(self) -> str:
        names = [student.preferred_name or student.first_name for student in self.students]
        return (
            names[0]
            if len(names) == 1
            else _("%(names)s and %(last)s")
            % {
                "names": ", ".join(names[:-1]),
                "last": names[-1],
            }
        )


def introduction_recipients(*, section: Section) -> list[Recipient]:
    """Each family of a class we may contact and have not sent this class's introduction letter yet, with their
    children in the class: brothers and sisters in one class share one letter."""
    already = Delivery.objects.filter(message__section=section, message__kind=MessageKind.INTRODUCTION)
    links = (
        StudentGuardian.objects.filter(student__enrollments__section=section, contact_allowed=True)
        .exclude(guardian__in=already.values("guardian_id"))
        .select_related("guardian", "student")
        .order_by("guardian__last_name", "guardian__first_name", "guardian_id", "student__first_name")
    )
    recipients: dict[int, Recipient] = {}
    for link in links:
        recipients.setdefault(link.guardian_id, Recipient(link.guardian, [])).students.append(link.student)
    return list(recipients.values())


@dataclass(frozen=True)
class IntroductionStatus:
    sent_to: int
    last_sent_at: datetime.datetime | None


def introduction_status(*, section: Section) -> IntroductionStatus:
    deliveries = Delivery.objects.filter(message__section=section, message__kind=MessageKind.INTRODUCTION)
    totals = deliveries.aggregate(sent_to=Count("id"), last_sent_at=Max("message__created_at"))
    return IntroductionStatus(sent_to=totals["sent_to"], last_sent_at=totals["last_sent_at"])


def inbox_of(*, guardian: Guardian, limit: int = 10) -> list[Delivery]:
    """What Homeroom sent a family, newest first: their in-app inbox, while custody lets them read it."""
    return list(
        Delivery.objects.filter(guardian=guardian)
        .filter(family_may_read_from(guardian="guardian", staff="message__sender"))
        .exclude(status=DeliveryStatus.FAILED, error=NO_LONGER_CONTACTABLE)
        .select_related("message__sender")
        .order_by("-id")[:limit]
    )


def merge_values(
    *, recipient: Recipient, sender: User, section: Section, how_to_reach: str, office_hours: str
) -> dict[str, str]:
    return {
        "family_name": recipient.guardian.display_name,
        "child_name": str(recipient.child_names),
        "teacher_name": sender.full_name,
        "class_name": section.name,
        "school_name": section.term.school.name,
        "how_to_reach": how_to_reach,
        "office_hours": office_hours,
    }


@dataclass(frozen=True)
class LetterLanguages:
    languages: list[str]  # English first, then each other language the families read and the letter exists in
    untranslated: dict[str, int]  # families who get the English letter, by the name of the language they read


def letter_languages(recipients: list[Recipient]) -> LetterLanguages:
    translated = translated_languages()
    in_use: set[str] = set()
    untranslated: dict[str, int] = {}
    for recipient in recipients:
        code = recipient.guardian.preferred_language
        if code in translated:
            in_use.add(code)
        else:
            name = recipient.guardian.language_label
            untranslated[name] = untranslated.get(name, 0) + 1
    return LetterLanguages(languages=["en", *sorted(in_use - {"en"})], untranslated=untranslated)


@dataclass(frozen=True)
class LetterPreview:
    language: str
    recipient: Recipient
    letter: Letter


def letter_previews(
    *,
    recipients: list[Recipient],
    letters: dict[str, Letter],
    sender: User,
    section: Section,
    how_to_reach: str,
    office_hours: str,
) -> list[LetterPreview]:
    """The letter as the first family reading each language will get it."""
    previews = []
    for code, letter in letters.items():
        recipient = next((r for r in recipients if r.guardian.preferred_language == code), None)
        if recipient is None and code == "en" and recipients:
            recipient = recipients[0]
        if recipient is not None:
            values = merge_values(
                recipient=recipient,
                sender=sender,
                section=section,
                how_to_reach=how_to_reach,
                office_hours=office_hours,
            )
            previews.append(LetterPreview(code, recipient, letter.personalised(values)))
    return previews


# --- Messages and conversations --------------------------------------------------------------------------------


def families_in_care_of(*, sender: User, section: Section | None = None) -> list[Recipient]:
    """Each family a member of staff may write to, with their children in that person's care (in one class, if
    given), ordered by name: brothers and sisters share one message."""
    links = StudentGuardian.objects.filter(student__in=students_in_care_of(sender), contact_allowed=True)
    if section is not None:
        links = links.filter(student__enrollments__section=section)
    recipients: dict[int, Recipient] = {}
    for link in links.select_related("guardian", "student__school").order_by(
        "guardian__last_name", "guardian__first_name", "guardian_id", "student__first_name", "student_id"
    ):
        recipients.setdefault(link.guardian_id, Recipient(link.guardian, [])).students.append(link.student)
    return list(recipients.values())


def families_of_school(school: School) -> list[Recipient]:
    """Every family the school may contact, once however many children it has there: a school-wide notice's
    audience. Values, not models: a school has thousands of families."""
    links = (
        StudentGuardian.objects.filter(student__school=school, contact_allowed=True)
        .select_related("guardian")
        .order_by("guardian_id", "student_id")
    )
    recipients: dict[int, Recipient] = {}
    for link in links:
        recipient = recipients.setdefault(link.guardian_id, Recipient(link.guardian, []))
        # The school is known: each child stands for it without a query or a join of its own.
        recipient.students.append(Student(pk=link.student_id, school=school))
    return list(recipients.values())


def threads_visible_to(user: User) -> QuerySet[Thread]:
    """A member of staff sees their own conversations; a family member, theirs, while custody lets them."""
    if not user.is_authenticated:
        return Thread.objects.none()
    families = Q(guardian__user=user) & Q(family_may_read_from(guardian="guardian", staff="staff"))
    return Thread.objects.filter(Q(staff=user) | families)


@dataclass
class ThreadSummary:
    thread: Thread
    unread: int
    children: list[Student] = field(default_factory=list)


def threads_of_staff(*, staff: User, limit: int = 50) -> list[ThreadSummary]:
    """A member of staff's conversations, the latest first, with the replies they have not read and the children
    each family has in their care, in three queries whatever their number."""
    threads = (
        Thread.objects.filter(staff=staff)
        .select_related("guardian")
        .annotate(
            unread=Count("replies", filter=Q(replies__read_at__isnull=True, replies__notify_at__lte=timezone.now()))
        )
        .order_by("-last_message_at", "-id")[:limit]
    )
    summaries = {thread.guardian_id: ThreadSummary(thread, thread.unread) for thread in threads}
    links = StudentGuardian.objects.filter(
        guardian_id__in=list(summaries), student__in=students_in_care_of(staff)
    ).select_related("student")
    for link in links.order_by("student__first_name", "student_id"):
        summaries[link.guardian_id].children.append(link.student)
    return list(summaries.values())


UNDELIVERED_SHOWN = 50


def undelivered_from(*, sender: User, now: datetime.datetime | None = None) -> list[Delivery]:
    """The copies of what a member of staff sent lately (a message, a notice, a letter) that did not reach a family
    by email or text, the latest first: they are told, to reach the family another way. A copy a restriction
    stopped is shown to nobody."""
    since = (now or timezone.now()) - datetime.timedelta(days=settings.HOMEROOM_DELIVERY_LATE_RETRY_DAYS)
    return list(
        Delivery.objects.filter(message__sender=sender, message__created_at__gte=since, status=DeliveryStatus.FAILED)
        .exclude(error=NO_LONGER_CONTACTABLE)
        .select_related("guardian", "message")
        .order_by("-id")[:UNDELIVERED_SHOWN]
    )


@dataclass(frozen=True)
class ThreadEntry:
    """One message of a conversation: a delivery the family got, or a reply it sent."""

    at: datetime.datetime
    delivery: Delivery | None = None
    reply: Reply | None = None

    @property
    def from_family(self) -> bool:
        return self.reply is not None


def thread_entries(*, thread: Thread) -> list[ThreadEntry]:
    """A conversation in the order it happened, in two queries."""
    deliveries = thread.deliveries.exclude(status=DeliveryStatus.FAILED, error=NO_LONGER_CONTACTABLE)
    deliveries = deliveries.select_related("message__sender").order_by("id")
    entries = [ThreadEntry(at=delivery.message.created_at, delivery=delivery) for delivery in deliveries]
    entries += [ThreadEntry(at=reply.received_at, reply=reply) for reply in thread.replies.order_by("id")]
    return sorted(entries, key=lambda entry: entry.at)


def thread_students(*, thread: Thread) -> list[Student]:
    """The family's children in the care of the member of staff: what a reply is about."""
    return list(
        students_in_care_of(thread.staff)
        .filter(guardian_links__guardian=thread.guardian, guardian_links__portal_access_allowed=True)
        .order_by("first_name", "id")
    )


# --- Languages, office hours ------------------------------------------------------------------------------------


def translations_of(*, subject: str, body: str, source: str, languages: Iterable[str]) -> dict[str, tuple[str, str]]:
    """What staff wrote, machine-translated once into each family language other than the writer's, by the
    configured translator: none when there is none. A translator that fails stops the sending with its reason."""
    backend = translator()
    translations = {}
    for language in sorted(set(languages) - {source}):
        try:
            translated = backend.translate([subject, body], source=source, target=language)
        except TranslationError as error:
            raise ValidationError(gettext("Nothing was sent: %(error)s") % {"error": error}) from error
        if translated is not None:
            translated_subject = " ".join(translated[0].split())[:SUBJECT_MAX_LENGTH]
            translations[language] = (translated_subject, translated[1][:MESSAGE_MAX_LENGTH])
    return translations


def languages_read_untranslated(*, writer: User, guardians: Iterable[Guardian]) -> list[str]:
    """The languages, named, of these family members who would read the writer's words as written, in a language
    other than the writer's: none when a translator is configured."""
    if translator().name == "none":
        writes_in = writer.language or "en"
        return sorted({guardian.language_label for guardian in guardians if guardian.preferred_language != writes_in})
    return []


@dataclass(frozen=True)
class TranslationPreview:
    language: str
    language_label: str
    families: int
    subject: str
    body: str
    machine_translated: bool


def translation_previews(
    *, subject: str, body: str, source: str, families: Sequence[Recipient]
) -> list[TranslationPreview]:
    """What each language's families will read, before it is sent: the machine translation, or the original
    where there is none (the writer's own language, or no translator set up)."""
    by_language = Counter(family.guardian.preferred_language for family in families)
    translations = translations_of(subject=subject, body=body, source=source, languages=by_language)
    return [
        TranslationPreview(
            language=language,
            language_label=str(FAMILY_LANGUAGE_NAMES.get(language, language)),
            families=count,
            subject=translations.get(language, (subject, body))[0],
            body=translations.get(language, (subject, body))[1],
            machine_translated=language in translations,
        )
        for language, count in by_language.most_common()
    ]


def family_languages(families: Sequence[Recipient]) -> list[tuple[str, int]]:
    """The languages families read, the most read first, with how many families read each."""
    return Counter(family.guardian.language_label for family in families).most_common()


def office_days(hours: OfficeHours | None) -> str:
    return ", ".join(str(WEEKDAYS[int(day)]) for day in sorted(hours.weekdays)) if hours else ""


def staff_time_zone(user: User) -> str:
    """The time zone of the school a member of staff works at (the first, should they work at two)."""
    school = (
        School.objects.filter(terms__sections__teachers=user).order_by("id").first() or schools_led_by(user).first()
    )
    return school.time_zone if school else "America/New_York"


# --- Replies waiting to be placed ("who is this?") ---------------------------------------------------------------


def is_closed_to_family(thread: Thread) -> bool:
    """The conversation is about children in the care of its member of staff, but a custody order or the school
    has closed contact or the portal to this family member for every one of them."""
    in_care = StudentGuardian.objects.filter(
        guardian_id=thread.guardian_id, student__in=students_in_care_of(thread.staff)
    )
    return in_care.exists() and not in_care.filter(contact_allowed=True, portal_access_allowed=True).exists()


def unrouted_replies_visible_to(user: User) -> QuerySet[UnroutedReply]:
    """Replies still waiting that may be about a child this person sees as staff: nobody else sees them."""
    return UnroutedReply.objects.filter(
        handled_at__isnull=True,
        pk__in=UnroutedReply.students.through.objects.filter(student__in=staff_students_visible_to(user))
        .order_by()
        .values("unroutedreply_id"),
    )


@dataclass(frozen=True)
class Placement:
    """A conversation a waiting reply may be put in, with the children it is about that the person sorting sees."""

    thread: Thread
    students: list[Student]


def placements_for(*, staff: User, unrouted: UnroutedReply) -> list[Placement]:
    """The conversations this person may put a waiting reply in: ones it may answer, open to the family member,
    about a child they see as staff. Each names only the children they see."""
    return placements_of_each(staff=staff, waiting=[unrouted])[0]


def placements_of_each(*, staff: User, waiting: Sequence[UnroutedReply]) -> list[list[Placement]]:
    """`placements_for` each waiting reply of a page, in a fixed number of queries: the conversations, the
    children this person sees, those in the care of each conversation's member of staff, and the family links."""
    Candidate = UnroutedReply.candidates.through
    rows = list(
        Candidate.objects.filter(unroutedreply__in=waiting)
        .select_related("thread__staff", "thread__guardian")
        .order_by("thread_id")
    )
    visible = set(staff_students_visible_to(staff).values_list("pk", flat=True))
    in_care = {
        member: set(students_in_care_of(rows_staff).values_list("pk", flat=True))
        for member, rows_staff in {row.thread.staff_id: row.thread.staff for row in rows}.items()
    }
    children: dict[int, list[Student]] = {}
    links = family_links_sharing_records().filter(guardian_id__in={row.thread.guardian_id for row in rows})
    for link in links.select_related("student").order_by("student__first_name", "student_id"):
        children.setdefault(link.guardian_id, []).append(link.student)
    placements: dict[int, list[Placement]] = {unrouted.pk: [] for unrouted in waiting}
    for row in rows:
        thread = row.thread
        students = [
            student
            for student in children.get(thread.guardian_id, [])
            if student.pk in visible and student.pk in in_care[thread.staff_id] and student.is_active
        ]
        if students:
            placements[row.unroutedreply_id].append(Placement(thread, students))
    return [placements[unrouted.pk] for unrouted in waiting]
