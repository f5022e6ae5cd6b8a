"""Reading the communication log: the rules of cadence, positive-first and ratio, the Today list, timelines."""

import datetime
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone, translation
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from communication.letters import Letter, default_letter, translated_languages
from communication.models import (
    ContactSummary,
    Interaction,
    InteractionStudent,
    OfficeHours,
    Reply,
    Source,
    Tone,
    UnroutedReply,
    personal_contact,
)
from delivery.models import (
    NO_LONGER_CONTACTABLE,
    Delivery,
    DeliveryStatus,
    Message,
    MessageKind,
    Thread,
)
from delivery.selectors import Recipient, time_zone_named
from roster.access import (
    contactable_links_for,
    family_links_sharing_records,
    schools_led_by,
    staff_students_visible_to,
    students_in_care_of,
)
from roster.models import Guardian, School, Section, Student, StudentGuardian, Term

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise

# --- The rules, as plain functions of their inputs -------------------------------------------------------------


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


def local_date(moment: datetime.datetime, school: School) -> datetime.date:
    return moment.astimezone(time_zone_named(school.time_zone)).date()


def term_bounds(term: Term, school: School) -> tuple[datetime.datetime, datetime.datetime]:
    """A term's first and last days, from midnight to midnight at the school."""
    zone = time_zone_named(school.time_zone)
    starts_at = datetime.datetime.combine(term.starts_on, datetime.time.min, tzinfo=zone)
    ends_at = datetime.datetime.combine(term.ends_on + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
    return starts_at, ends_at


def term_on(school: School, moment: datetime.datetime) -> Term | None:
    day = local_date(moment, school)
    return Term.objects.filter(school=school, starts_on__lte=day, ends_on__gte=day).first()


# --- Office hours --------------------------------------------------------------------------------------------


def office_hours_opening(hours: OfficeHours | None, moment: datetime.datetime) -> datetime.datetime | None:
    """When a member of staff next reads messages: None while they do (or when they set no hours)."""
    if hours is None:
        return None
    zone = time_zone_named(hours.time_zone)
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
            personal_contact("interaction__"),
            student__in=students,
            interaction__guardian_id__in=set().union(*households.values()),
            interaction__tone=Tone.POSITIVE,
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
    # A notice went to each family of the child in a copy of its own: the timeline shows it once.
    shown, notices_seen = [], set()
    for interaction in interactions.select_related("delivery__message").order_by("-occurred_at", "-id")[
        : TIMELINE_LENGTH * 2
    ]:
        if interaction.is_notice and interaction.delivery is not None:
            if interaction.delivery.message_id in notices_seen:
                continue
            notices_seen.add(interaction.delivery.message_id)
        shown.append(interaction)
    return shown[:TIMELINE_LENGTH]


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


def family_letter_draft(*, recipient: Recipient, sender: User, section: Section) -> Letter:
    """Where a teacher starts the letter written for one family: the form letter in the family's language (English
    where Homeroom has none), with its names, the teacher's address and their office hours filled in."""
    language = recipient.guardian.preferred_language
    language = language if language in translated_languages() else "en"
    hours = OfficeHours.objects.filter(staff=sender).first()
    with translation.override(language):
        when = (
            _("%(days)s, %(opens)s to %(closes)s")
            % {"days": office_days(hours), "opens": f"{hours.opens_at:%H:%M}", "closes": f"{hours.closes_at:%H:%M}"}
            if hours is not None
            else ""
        )
    values = merge_values(
        recipient=recipient, sender=sender, section=section, how_to_reach=sender.email, office_hours=when
    )
    return default_letter(language).personalised(values)


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


@dataclass
class ThreadSummary:
    thread: Thread
    unread: int
    children: list[Student] = field(default_factory=list)
    to_many = False

    @property
    def at(self) -> datetime.datetime:
        return self.thread.last_personal_at or self.thread.last_message_at


def threads_of_staff(*, staff: User, limit: int = 50) -> list[ThreadSummary]:
    """A member of staff's personal conversations, the latest first, with the replies they have not read and the
    children each family has in their care, in two queries whatever their number. A conversation that holds only
    messages sent to many families at once is not one yet: it joins the list when either side writes in it."""
    threads = (
        Thread.objects.filter(staff=staff, last_personal_at__isnull=False)
        .select_related("guardian")
        .annotate(
            unread=Count("replies", filter=Q(replies__read_at__isnull=True, replies__notify_at__lte=timezone.now()))
        )
        .order_by("-last_personal_at", "-id")[:limit]
    )
    summaries = {thread.guardian_id: ThreadSummary(thread, thread.unread) for thread in threads}
    links = StudentGuardian.objects.filter(
        guardian_id__in=list(summaries), student__in=students_in_care_of(staff)
    ).select_related("student")
    for link in links.order_by("student__first_name", "student_id"):
        summaries[link.guardian_id].children.append(link.student)
    return list(summaries.values())


@dataclass(frozen=True)
class SentToMany:
    """A message a member of staff sent to many families at once: one entry of their list, with its reach."""

    message: Message
    families: int
    read: int
    failed: int
    to_many = True

    @property
    def at(self) -> datetime.datetime:
        return self.message.created_at

    @property
    def title(self) -> str:
        """What the sender wrote as its subject, or what Homeroom sent for them, in staff's words."""
        return self.message.subject or str(SENT_FOR_STAFF.get(self.message.kind, self.message.get_kind_display()))


# Homeroom's own messages as the staff who sent them call them: the kind's label is the family's.
SENT_FOR_STAFF: "dict[str, StrOrPromise]" = {
    MessageKind.QUESTIONNAIRE: gettext_lazy("Questions to the families about their children"),
    MessageKind.INTRODUCTION: gettext_lazy("Introduction letter"),
}


def messages_of_staff(*, staff: User, limit: int = 50) -> list[ThreadSummary | SentToMany]:
    """A member of staff's list of messages, the latest first: each personal conversation, and each message sent to
    many families at once (a class message, the introduction letter, the questionnaire) as one entry."""
    sent = (
        Message.objects.filter(sender=staff, to_many=True)
        .select_related("section")
        .annotate(
            families=Count("deliveries"),
            read=Count("deliveries", filter=Q(deliveries__read_at__isnull=False)),
            failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        )
        .order_by("-created_at", "-id")[:limit]
    )
    entries: list[ThreadSummary | SentToMany] = [
        *threads_of_staff(staff=staff, limit=limit),
        *(SentToMany(message, message.families, message.read, message.failed) for message in sent),
    ]
    return sorted(entries, key=lambda entry: entry.at, reverse=True)[:limit]


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
