"""A district-sized world for benchmarks and load tests, built by `manage.py seed_district`.

Harbor City Public Schools: by default 50,000 students in 84 K-8 schools of about 600, their families in six
languages, a teacher per class, a leader per school, a district administrator, and two million logged contacts
over this term and the last. One teacher, teacher150@district.example.org, teaches five classes of 30: the Today
list at its largest.

Written for speed, not through the services: rows are drawn from one seeded generator and nothing is validated
row by row. Schools, staff and families are plain instances written with bulk_create, a school per transaction;
the log, millions of rows, goes by COPY or executemany in chunks (see RowWriter). Every value is valid by
construction (E.164 phones, lowercase emails, choices from the models' own vocabulary). The term summaries are
then recounted from the log by the service that keeps them, so they cannot disagree with it.

The same seed and the same `now` give the same rows: fixed name lists (shared with the demo school), no Faker,
no sets iterated.
"""

import datetime
import math
import random
import time
import unicodedata
import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import accumulate, islice
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import NOT_PROVIDED, Max, Model

from accounts.models import User
from communication.models import (
    ContactChannel,
    ContactSummary,
    Direction,
    Interaction,
    InteractionStudent,
    Moment,
    Outcome,
    Source,
    Tone,
    Topic,
)
from communication.services import recount_contact_summaries
from homeroom.bulk import insert_rows
from roster.demo import BEST_TIMES, LANGUAGE_WEIGHTS, NAMES, NameBank
from roster.models import (
    Channel,
    District,
    Enrollment,
    Guardian,
    Relationship,
    Role,
    School,
    Section,
    StaffRole,
    Student,
    StudentGuardian,
    Term,
)

DISTRICT_NAME = "Harbor City Public Schools"
EMAIL_DOMAIN = "district.example.org"
FAMILY_EMAIL_DOMAIN = "families.example.org"
TEACHER150_EMAIL = f"teacher150@{EMAIL_DOMAIN}"
DISTRICT_PASSWORD = "homeroom-district"  # noqa: S105 - the published password of generated staff, on generated data only
DEFAULT_STUDENTS = 50_000
DEFAULT_INTERACTIONS = 2_000_000
DEFAULT_SEED = 2026

STUDENTS_PER_SCHOOL = 600
CLASS_SIZE = 27.5  # classes of 25-30
TEACHER150_CLASSES = 5
TEACHER150_CLASS_SIZE = 30
MIN_STUDENTS = TEACHER150_CLASSES * TEACHER150_CLASS_SIZE

CURRENT_TERM = ("2026\u201327", datetime.date(2026, 8, 24), datetime.date(2027, 6, 18))
PREVIOUS_TERM = ("2025\u201326", datetime.date(2025, 8, 25), datetime.date(2026, 6, 19))
# Days teachers rarely log anything: Thanksgiving, winter, February and April breaks.
BREAKS = (
    (datetime.date(2025, 11, 26), datetime.date(2025, 11, 28)),
    (datetime.date(2025, 12, 22), datetime.date(2026, 1, 2)),
    (datetime.date(2026, 2, 16), datetime.date(2026, 2, 20)),
    (datetime.date(2026, 4, 20), datetime.date(2026, 4, 24)),
    (datetime.date(2026, 11, 26), datetime.date(2026, 11, 27)),
)

# Rows per INSERT on PostgreSQL; SQLite's backend lowers it to its 999-variable limit by itself.
BATCH_SIZE = 2000
LOG_CHUNK = 20_000  # interactions per transaction: memory stays flat however long the log
RECOUNT_CHUNK = 500  # student ids per recount: SQLite's variable limit


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SCHOOL_NAMES = _words(
    "Adams Beacon Bradley Channing Clarke Douglass Edison Emerson Everett Fairmount Franklin Garfield Grant "
    "Hale Harbor Hawthorne Irving Jefferson Kennedy King Lincoln Longfellow Lowell Madison Mann Mather Mckinley "
    "Monroe Otis Parkman Quincy Revere Roosevelt Russell Sumner Thoreau Tubman Tyler Warren Webster Wheatley "
    "Whittier Winthrop"
)


# --- Vocabulary: weighted draws as tables, so a draw is one rng.choice -----------------------------------------


def _table(weights: Sequence[tuple[str, int]]) -> tuple[str, ...]:
    return tuple(value for value, weight in weights for _ in range(weight))


TONES = _table(((Tone.POSITIVE, 60), (Tone.NEUTRAL, 25), (Tone.CONCERN, 15)))
TOPICS = _table(
    (
        (Topic.ACADEMIC, 34),
        (Topic.BEHAVIOR, 18),
        (Topic.ATTENDANCE, 12),
        (Topic.SOCIAL_EMOTIONAL, 12),
        (Topic.HEALTH, 6),
        (Topic.LOGISTICS, 12),
        ("", 6),
    )
)
# How teachers reach families when they do not simply use the family's preferred channel.
CHANNELS = _table(
    (
        (ContactChannel.CALL, 30),
        (ContactChannel.TEXT, 20),
        (ContactChannel.EMAIL, 18),
        (ContactChannel.APP, 10),
        (ContactChannel.IN_PERSON, 12),
        (ContactChannel.CONFERENCE, 5),
        (ContactChannel.NOTE_HOME, 5),
    )
)
PREFERRED: dict[str, str] = {
    Channel.PHONE: ContactChannel.CALL,
    Channel.SMS: ContactChannel.TEXT,
    Channel.EMAIL: ContactChannel.EMAIL,
    Channel.APP: ContactChannel.APP,
}
USES_PREFERRED_CHANNEL = 0.55
# A call goes unanswered far more often than a note home; ~85% of all attempts reach the family.
OUTCOMES: dict[str, tuple[str, ...]] = {
    ContactChannel.CALL: _table(
        ((Outcome.REACHED, 70), (Outcome.NO_ANSWER, 14), (Outcome.VOICEMAIL, 13), (Outcome.WRONG_NUMBER, 3))
    ),
    ContactChannel.TEXT: _table(((Outcome.REACHED, 90), (Outcome.NO_ANSWER, 8), (Outcome.WRONG_NUMBER, 2))),
    ContactChannel.EMAIL: _table(((Outcome.REACHED, 90), (Outcome.NO_ANSWER, 10))),
    ContactChannel.APP: _table(((Outcome.REACHED, 92), (Outcome.NO_ANSWER, 8))),
    ContactChannel.IN_PERSON: (Outcome.REACHED,),
    ContactChannel.CONFERENCE: (Outcome.REACHED,),
    ContactChannel.NOTE_HOME: _table(((Outcome.REACHED, 95), (Outcome.NO_ANSWER, 5))),
}
TWO_WAY = frozenset({ContactChannel.CALL, ContactChannel.TEXT, ContactChannel.EMAIL, ContactChannel.APP})
SENDABLE = frozenset({ContactChannel.TEXT, ContactChannel.EMAIL, ContactChannel.APP})
FROM_FAMILY_SHARE = 0.2
SENT_SHARE = 0.08  # of contacts by text, email or app: sent through Homeroom rather than logged by hand
FOLLOW_UP_SHARE = 0.03
OLD_FOLLOW_UP_LEFT_OPEN = 0.12  # follow-ups due more than two weeks ago that nobody closed
SIBLING_CONTACT_SHARE = 0.33  # of contacts with a family of siblings: about both children (~5% of all)
TEACHER150_LOGS = 0.6  # of contacts about teacher150's students, the share teacher150 logs; the rest the homeroom's

# The kind of good news a positive summary of each topic tells, where one fits.
MOMENTS_OF_TOPIC: dict[str, tuple[str, ...]] = {
    Topic.ACADEMIC: (Moment.ACADEMIC_GROWTH, Moment.PERSEVERANCE),
    Topic.BEHAVIOR: (Moment.HELPING, Moment.LEADERSHIP, Moment.RESPONSIBILITY),
    Topic.SOCIAL_EMOTIONAL: (Moment.KINDNESS, Moment.PERSEVERANCE),
}

SUMMARIES: dict[tuple[str, str], tuple[str, ...]] = {
    (Tone.POSITIVE, Topic.ACADEMIC): (
        "{name} aced this week's spelling test.",
        "Shared {name}'s great science project.",
        "{name} has really improved in math this month.",
        "{name} read a whole chapter book independently.",
    ),
    (Tone.POSITIVE, Topic.BEHAVIOR): (
        "{name} helped a classmate without being asked.",
        "{name} was a great line leader all week.",
        "{name} stayed focused through the whole lesson today.",
    ),
    (Tone.POSITIVE, Topic.ATTENDANCE): (
        "{name} has had perfect attendance this month.",
        "{name} has been on time every day since our talk.",
    ),
    (Tone.POSITIVE, Topic.SOCIAL_EMOTIONAL): (
        "{name} made a new friend at recess.",
        "{name} handled a frustrating moment calmly.",
    ),
    (Tone.POSITIVE, Topic.HEALTH): ("{name} is feeling much better and back to full energy.",),
    (Tone.POSITIVE, Topic.LOGISTICS): ("Thanked the family for volunteering at the book fair.",),
    (Tone.POSITIVE, ""): ("Just wanted to say {name} had a wonderful day.", "{name} made us all laugh today."),
    (Tone.NEUTRAL, Topic.ACADEMIC): (
        "Shared {name}'s progress report and reading level.",
        "Explained the new math homework routine.",
        "Discussed {name}'s reading goals for the quarter.",
    ),
    (Tone.NEUTRAL, Topic.BEHAVIOR): ("Talked about the class behaviour plan and how {name} is settling in.",),
    (Tone.NEUTRAL, Topic.ATTENDANCE): ("Confirmed {name}'s absence for a family trip.",),
    (Tone.NEUTRAL, Topic.SOCIAL_EMOTIONAL): ("Checked in about how {name} is adjusting to the new class.",),
    (Tone.NEUTRAL, Topic.HEALTH): ("Family let us know about {name}'s allergy medication.",),
    (Tone.NEUTRAL, Topic.LOGISTICS): (
        "Confirmed the conference time.",
        "Reminded the family about picture day.",
        "Sent the field trip permission slip.",
    ),
    (Tone.NEUTRAL, ""): ("Quick check-in about {name}.",),
    (Tone.CONCERN, Topic.ACADEMIC): (
        "{name} has missed several homework assignments.",
        "{name} is struggling with fractions; suggested practice at home.",
        "{name}'s reading has slipped below grade level.",
    ),
    (Tone.CONCERN, Topic.BEHAVIOR): (
        "{name} had a hard time following directions today.",
        "{name} was involved in a conflict at lunch.",
        "{name} was disruptive during the lesson again.",
    ),
    (Tone.CONCERN, Topic.ATTENDANCE): ("{name} has been late four times this month.", "{name} missed three days."),
    (Tone.CONCERN, Topic.SOCIAL_EMOTIONAL): ("{name} seemed withdrawn this week.",),
    (Tone.CONCERN, Topic.HEALTH): ("{name} went to the nurse with a headache.",),
    (Tone.CONCERN, Topic.LOGISTICS): ("{name}'s lunch account is overdrawn.",),
    (Tone.CONCERN, ""): ("Worried about {name}; asked the family to call back.",),
}
NOT_REACHED: dict[str, tuple[str, ...]] = {
    Outcome.NO_ANSWER: ("Tried to reach the family about {name}; no answer.", "No reply yet about {name}."),
    Outcome.VOICEMAIL: ("Left a voicemail about {name}.", "Left a message asking for a call back about {name}."),
    Outcome.WRONG_NUMBER: ("The number on file is not the family's.",),
}


# --- What the run produced --------------------------------------------------------------------------------------


@dataclass
class Teacher150Profile:
    """The spread of the largest Today list: who is never contacted, overdue, or waiting on a follow-up."""

    students: int = 0
    not_contacted_this_term: int = 0
    past_cadence: int = 0
    follow_ups_due: int = 0


@dataclass
class DistrictReport:
    schools: int = 0
    terms: int = 0
    sections: int = 0
    teachers: int = 0
    leaders: int = 0
    district_admins: int = 0
    students: int = 0
    enrollments: int = 0
    families: int = 0
    guardians: int = 0
    guardian_links: int = 0
    restricted_links: int = 0
    interactions: int = 0
    interaction_students: int = 0
    summaries: int = 0
    teacher150: Teacher150Profile = field(default_factory=Teacher150Profile)
    seconds: dict[str, float] = field(default_factory=dict)


class DistrictExistsError(Exception):
    pass


# --- What the log needs to know of each student, kept between the stages ----------------------------------------


@dataclass(slots=True)
class FamilyRecord:
    contactable: list[tuple[int, str]]  # (guardian id, the contact channel they prefer); primary contact first
    children: list["StudentRecord"] = field(default_factory=list)


@dataclass(slots=True)
class StudentRecord:
    id: int
    name: str
    grade: int
    teachers: tuple[int, ...]  # user ids: the homeroom teacher, and teacher150 first for teacher150's students
    family: FamilyRecord
    # The last day of this term the family may hear from school: None for any day, date.min for never. Makes the
    # Today list realistic: some families never contacted this term, some past the cadence.
    reachable_until: datetime.date | None = None


@dataclass
class SchoolWorld:
    number: int
    school: School
    current: Term
    previous: Term
    students: list[StudentRecord] = field(default_factory=list)


@dataclass
class World:
    district: District
    password_hash: str
    schools: list[SchoolWorld] = field(default_factory=list)
    teacher150_id: int = 0


# --- The run ----------------------------------------------------------------------------------------------------


def build_district(
    *,
    students: int = DEFAULT_STUDENTS,
    interactions: int = DEFAULT_INTERACTIONS,
    seed: int = DEFAULT_SEED,
    now: datetime.datetime | None = None,
    on_progress: Callable[[str], None] = lambda line: None,
) -> DistrictReport:
    """Builds the district; raises DistrictExistsError when it is already there. `now` ends the log (default: now)."""
    if students < MIN_STUDENTS:
        raise ValueError(f"teacher150 needs at least {MIN_STUDENTS} students")
    if District.objects.filter(name=DISTRICT_NAME).exists():
        raise DistrictExistsError(f"{DISTRICT_NAME} already exists; seed_district builds it only once.")
    if not connection.features.can_return_rows_from_bulk_insert:
        raise RuntimeError("seed_district reads ids back from bulk inserts: it needs PostgreSQL or SQLite 3.35+")
    now = (now or datetime.datetime.now(tz=datetime.UTC)).astimezone(datetime.UTC)
    rng = random.Random(seed)  # noqa: S311 - generated data, not secrets
    report = DistrictReport()
    clock = _Clock(report, on_progress)
    with _tuned_connection():
        world = build_schools_and_staff(rng=rng, students=students, report=report, on_progress=on_progress)
        clock.lap("schools and staff")
        build_families(rng=rng, world=world, students=students, now=now, report=report, on_progress=on_progress)
        clock.lap("students and families")
        build_log(rng=rng, world=world, interactions=interactions, now=now, report=report, on_progress=on_progress)
        analyze(LOADED_MODELS)
        clock.lap("interactions")
        recount_summaries(world=world, report=report, on_progress=on_progress)
        analyze([ContactSummary])
        clock.lap("contact summaries")
    report.teacher150 = profile_teacher(world=world, now=now)
    return report


LOADED_MODELS: tuple[type[Model], ...] = (
    User,
    StaffRole,
    School,
    Term,
    Section,
    Section.teachers.through,
    Student,
    Enrollment,
    Guardian,
    StudentGuardian,
    Interaction,
    InteractionStudent,
)

# SQLite's default page cache is 2 MB: once the log's indexes outgrow it, every insert into them reads pages back
# from the OS, and a 2M-row run spent half its time in system calls.
SQLITE_CACHE_KIB = 512 * 1024


@contextmanager
def _tuned_connection() -> Iterator[None]:
    """Settings for a bulk load, on this connection only and put back after, so that pages measured on the same
    connection (bench/run.py) see the database as the app configures it."""
    if connection.vendor == "postgresql":
        # The recount's plans cost so much on paper that PostgreSQL JIT-compiles them: 0.36 s of a 4.5 s query.
        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET jit")
        return
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


def analyze(models: Sequence[type[Model]]) -> None:
    """Statistics for PostgreSQL's planner, now rather than when autovacuum gets round to it. Without them it plans
    the recount's subquery as a sequential scan of the whole log per row: one chunk of 500 students ran for minutes.
    Not on SQLite: the app never runs ANALYZE there, and the benchmark should see the planner the app sees."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models))


class _Clock:
    def __init__(self, report: DistrictReport, on_progress: Callable[[str], None]) -> None:
        self.report, self.on_progress = report, on_progress
        self.started = self.last = time.monotonic()

    def lap(self, stage: str) -> None:
        now = time.monotonic()
        self.report.seconds[stage] = now - self.last
        self.on_progress(f"{stage}: done in {now - self.last:.1f} s ({now - self.started:.1f} s in all)")
        self.last = now


# --- Schools, terms, staff and classes --------------------------------------------------------------------------


def build_schools_and_staff(
    *, rng: random.Random, students: int, report: DistrictReport, on_progress: Callable[[str], None]
) -> World:
    # Argon2 takes a fifth of a second per hash, on purpose; generated staff share one password, so one hash.
    world = World(district=District.objects.create(name=DISTRICT_NAME), password_hash=make_password(DISTRICT_PASSWORD))
    school_count = math.ceil(students / STUDENTS_PER_SCHOOL)
    with transaction.atomic():
        schools = School.objects.bulk_create(
            [School(district=world.district, name=_school_name(n)) for n in range(school_count)]
        )
        terms = []
        for school in schools:
            for name, starts_on, ends_on in (CURRENT_TERM, PREVIOUS_TERM):
                current = name == CURRENT_TERM[0]
                terms.append(Term(school=school, name=name, starts_on=starts_on, ends_on=ends_on, is_current=current))
        Term.objects.bulk_create(terms, batch_size=BATCH_SIZE)
        admin = _user(world, "admin", _staff_name(rng), is_staff=True)
        admin.save()
        StaffRole.objects.create(user=admin, role=Role.DISTRICT_ADMIN, district=world.district)
    report.schools, report.terms, report.district_admins = len(schools), len(terms), 1
    for number, school in enumerate(schools, start=1):
        world.schools.append(SchoolWorld(number, school, terms[2 * number - 2], terms[2 * number - 1]))
    on_progress(f"{report.schools} schools, {report.terms} terms")
    return world


def _school_name(n: int) -> str:
    name = f"{SCHOOL_NAMES[n % len(SCHOOL_NAMES)]} K-8 School"
    return name if n < len(SCHOOL_NAMES) else f"{name}, campus {n // len(SCHOOL_NAMES) + 1}"


def _user(world: World, local_part: str, full_name: str, *, is_staff: bool = False) -> User:
    return User(
        email=f"{local_part}@{EMAIL_DOMAIN}", full_name=full_name, password=world.password_hash, is_staff=is_staff
    )


def _staff_name(rng: random.Random) -> str:
    bank = NAMES[rng.choice(("en", "en", "en", "es", "zh-hans", "vi", "ar", "ht"))]
    first = rng.choice(bank.women if rng.random() < 0.75 else bank.men)
    return f"{first} {rng.choice(bank.surnames)}"


@dataclass(frozen=True)
class ClassPlan:
    code: str
    name: str
    grade_level: int
    size: int


def plan_classes(size: int) -> list[ClassPlan]:
    """Classes of 25-30 over grades K-8, the same number of classes per grade give or take one."""
    count = max(1, round(size / CLASS_SIZE))
    plans: list[ClassPlan] = []
    for index in range(count):
        grade = index * 9 // count
        letter = "ABCDEFGH"[sum(1 for plan in plans if plan.grade_level == grade)]
        if grade == 0:
            code, name = f"K-{letter}", f"Kindergarten {letter}"
        elif grade <= 5:
            code, name = f"{grade}-{letter}", f"Grade {grade}{letter}"
        else:
            code, name = f"HR-{grade}{letter}", f"Homeroom {grade}{letter}"
        plans.append(ClassPlan(code, name, grade, size * (index + 1) // count - size * index // count))
    return plans


def _school_sizes(students: int, schools: int) -> list[int]:
    return [students * (n + 1) // schools - students * n // schools for n in range(schools)]


# --- Students, families and classes -----------------------------------------------------------------------------

SIBLING_FAMILY_SHARE = 0.08  # of families: two children at the school, so ~15% of students have a sibling
TWO_HOUSEHOLD_SHARE = 0.10
RESTRICTED_SHARE = 0.2  # of two-household families: a no-contact order on the other household (~2% of families)
TWO_PARENT_SHARE = 0.45
PHONE_AREAS = ("617", "857", "781")


@dataclass
class GuardianPlan:
    guardian: Guardian
    relationship: str
    lives_with_student: bool = True
    restricted: bool = False


def build_families(
    *,
    rng: random.Random,
    world: World,
    students: int,
    now: datetime.datetime,
    report: DistrictReport,
    on_progress: Callable[[str], None],
) -> None:
    sizes = _school_sizes(students, len(world.schools))
    for school_world, size in zip(world.schools, sizes, strict=True):
        with transaction.atomic():
            _build_school(rng=rng, world=world, school_world=school_world, size=size, now=now, report=report)
        if school_world.number % 10 == 0 or school_world.number == len(world.schools):
            on_progress(
                f"schools {school_world.number}/{len(world.schools)}: {report.students:,} students, "
                f"{report.guardians:,} guardians"
            )


def _build_school(
    *,
    rng: random.Random,
    world: World,
    school_world: SchoolWorld,
    size: int,
    now: datetime.datetime,
    report: DistrictReport,
) -> None:
    number, school, term = school_world.number, school_world.school, school_world.current
    plans = plan_classes(size)
    first_school = number == 1
    # teacher150 is the first teacher of the first school; the homeroom teachers follow.
    users = []
    if first_school:
        users.append(_user(world, "teacher150", _staff_name(rng)))
    offset = 2 if first_school else 1
    users += [_user(world, f"teacher-{number}-{n + offset}", _staff_name(rng)) for n in range(len(plans))]
    users.append(_user(world, f"leader-{number}", _staff_name(rng), is_staff=True))
    User.objects.bulk_create(users, batch_size=BATCH_SIZE)
    *teachers, leader = users
    StaffRole.objects.bulk_create(
        [StaffRole(user=user, role=Role.TEACHER, school=school) for user in teachers]
        + [StaffRole(user=leader, role=Role.LEADER, school=school)]
    )
    homeroom_teachers = teachers[1:] if first_school else teachers
    sections = Section.objects.bulk_create(
        [Section(term=term, code=p.code, name=p.name, grade_level=p.grade_level) for p in plans]
    )
    Section.teachers.through.objects.bulk_create(
        [
            Section.teachers.through(section_id=section.pk, user_id=teacher.pk)
            for section, teacher in zip(sections, homeroom_teachers, strict=True)
        ]
    )
    report.teachers += len(teachers)
    report.leaders += 1
    report.sections += len(sections)

    seats = [index for index, plan in enumerate(plans) for _ in range(plan.size)]
    rng.shuffle(seats)
    families, kids_of = _plan_families(rng, seats)
    student_rows: list[Student] = []
    student_seats: list[int] = []
    for family_index, family_seats in enumerate(kids_of):
        language, surname = families[family_index]
        bank = NAMES[language]
        first_names = rng.sample(bank.children, len(family_seats))
        for first_name, seat in zip(first_names, family_seats, strict=True):
            grade = plans[seat].grade_level
            student_rows.append(
                Student(
                    school=school,
                    student_number=f"{number:03d}{len(student_rows) + 1:04d}",
                    first_name=first_name,
                    last_name=surname,
                    grade_level=grade,
                    date_of_birth=_date_of_birth(rng, grade),
                )
            )
            student_seats.append(seat)
    Student.objects.bulk_create(student_rows, batch_size=BATCH_SIZE)
    Enrollment.objects.bulk_create(
        [
            Enrollment(section_id=sections[seat].pk, student_id=student.pk)
            for student, seat in zip(student_rows, student_seats, strict=True)
        ],
        batch_size=BATCH_SIZE,
    )
    report.students += len(student_rows)
    report.enrollments += len(student_rows)

    # Guardians, their links, and what the log needs of each student.
    guardian_plans: list[list[GuardianPlan]] = [
        _plan_guardians(rng, language, surname, report) for language, surname in families
    ]
    Guardian.objects.bulk_create([plan.guardian for plans_ in guardian_plans for plan in plans_], batch_size=BATCH_SIZE)
    links = []
    rows_and_seats = iter(zip(student_rows, student_seats, strict=True))
    for family_seats, family_guardians in zip(kids_of, guardian_plans, strict=True):
        contactable = [p.guardian for p in family_guardians if not p.restricted]
        family = FamilyRecord(contactable=[(g.pk, PREFERRED[g.preferred_channel]) for g in contactable])
        for child, seat in islice(rows_and_seats, len(family_seats)):
            for index, plan in enumerate(family_guardians):
                links.append(
                    StudentGuardian(
                        student_id=child.pk,
                        guardian_id=plan.guardian.pk,
                        relationship=plan.relationship,
                        is_primary_contact=index == 0,
                        lives_with_student=plan.lives_with_student,
                        contact_allowed=not plan.restricted,
                        portal_access_allowed=not plan.restricted,
                    )
                )
                report.restricted_links += int(plan.restricted)
            student = StudentRecord(
                id=child.pk,
                name=child.first_name,
                grade=child.grade_level or 0,  # the seed gives every child a grade
                teachers=(homeroom_teachers[seat].pk,),
                family=family,
                reachable_until=_reachable_until(rng, now),
            )
            family.children.append(student)
            school_world.students.append(student)
    StudentGuardian.objects.bulk_create(links, batch_size=BATCH_SIZE)
    report.families += len(families)
    report.guardian_links += len(links)

    if first_school:
        world.teacher150_id = teachers[0].pk
        report.sections += _build_teacher150_classes(rng=rng, school_world=school_world, teacher=teachers[0])
        report.enrollments += TEACHER150_CLASSES * TEACHER150_CLASS_SIZE


def _plan_families(rng: random.Random, seats: list[int]) -> tuple[list[tuple[str, str]], list[list[int]]]:
    """Families (language, surname) and the seats of their children: siblings sit in different classes."""
    families: list[tuple[str, str]] = []
    kids_of: list[list[int]] = []
    languages = _table(LANGUAGE_WEIGHTS)
    index = 0
    while index < len(seats):
        language = rng.choice(languages)
        families.append((language, rng.choice(NAMES[language].surnames)))
        kids = [seats[index]]
        index += 1
        if index < len(seats) and seats[index] != kids[0] and rng.random() < SIBLING_FAMILY_SHARE:
            kids.append(seats[index])
            index += 1
        kids_of.append(kids)
    return families, kids_of


def _plan_guardians(rng: random.Random, language: str, surname: str, report: DistrictReport) -> list[GuardianPlan]:
    bank = NAMES[language]
    mother_first = rng.random() < 0.7
    roll = rng.random()
    if roll < TWO_HOUSEHOLD_SHARE:
        restricted = rng.random() < RESTRICTED_SHARE
        plans = [
            _parent(rng, bank, language, surname, mother=mother_first),
            _parent(rng, bank, language, rng.choice(bank.surnames), mother=not mother_first),
        ]
        plans[1].lives_with_student = False
        plans[1].restricted = restricted
    elif roll < TWO_HOUSEHOLD_SHARE + TWO_PARENT_SHARE:
        spouse_surname = rng.choice(bank.surnames) if rng.random() < bank.spouse_keeps_surname else surname
        plans = [
            _parent(rng, bank, language, surname, mother=mother_first),
            _parent(rng, bank, language, spouse_surname, mother=not mother_first),
        ]
    else:
        kind = rng.random()
        if kind < 0.08:
            plans = [_person(rng, bank, language, surname, Relationship.GRANDPARENT, woman=rng.random() < 0.7)]
        elif kind < 0.12:
            plans = [_person(rng, bank, language, rng.choice(bank.surnames), Relationship.FOSTER_PARENT)]
        else:
            plans = [_parent(rng, bank, language, surname, mother=mother_first)]
    report.guardians += len(plans)
    return plans


def _parent(rng: random.Random, bank: NameBank, language: str, surname: str, *, mother: bool) -> GuardianPlan:
    return _person(rng, bank, language, surname, Relationship.MOTHER if mother else Relationship.FATHER, woman=mother)


def _person(
    rng: random.Random, bank: NameBank, language: str, surname: str, relationship: str, *, woman: bool | None = None
) -> GuardianPlan:
    if woman is None:
        woman = rng.random() < 0.6
    first_name = rng.choice(bank.women if woman else bank.men)
    email = ""
    if rng.random() < bank.has_email:
        # A number keeps addresses unique without remembering them all; unique is not required, only realistic.
        email = f"{_ascii(first_name)}.{_ascii(surname)}{rng.randrange(10_000)}@{FAMILY_EMAIL_DOMAIN}"
    phone = ""
    if not email or rng.random() < 0.85:
        phone = f"+1{rng.choice(PHONE_AREAS)}555{rng.randrange(10_000):04d}"
    usable = [
        (channel, weight)
        for channel, weight in bank.channels
        if (channel == Channel.EMAIL and email) or (channel in (Channel.SMS, Channel.PHONE) and phone)
    ]
    guardian = Guardian(
        first_name=first_name,
        last_name=surname,
        email=email,
        phone=phone,
        preferred_language=language,
        preferred_channel=rng.choice(_table(usable)),
        best_time_to_reach=rng.choice(BEST_TIMES),
    )
    return GuardianPlan(guardian, relationship)


def _ascii(name: str) -> str:
    """Jean-Baptiste → jeanbaptiste, Hernández → hernandez: the part of an email address a name becomes."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _date_of_birth(rng: random.Random, grade_level: int) -> datetime.date:
    # Five by September 1st for kindergarten, one year older per grade.
    return datetime.date(2020 - grade_level, 9, 2) + datetime.timedelta(days=rng.randrange(365))


NEVER_CONTACTED_SHARE = 0.08
LAPSED_SHARE = 0.15


def _reachable_until(rng: random.Random, now: datetime.datetime) -> datetime.date | None:
    roll = rng.random()
    if roll < NEVER_CONTACTED_SHARE:
        return datetime.date.min
    if roll < NEVER_CONTACTED_SHARE + LAPSED_SHARE:
        return now.date() - datetime.timedelta(days=rng.randint(22, 60))  # past a 21-day cadence
    return None


def _build_teacher150_classes(*, rng: random.Random, school_world: SchoolWorld, teacher: User) -> int:
    """Five science classes of 30, the oldest students of the first school: the middle-school teacher with 150
    students. They keep their homerooms, and their homeroom teachers log contacts about them too."""
    candidates = list(school_world.students)
    rng.shuffle(candidates)
    candidates.sort(key=lambda student: -student.grade)  # stable: shuffled within a grade
    chosen = candidates[: TEACHER150_CLASSES * TEACHER150_CLASS_SIZE]
    classes = [
        chosen[period * TEACHER150_CLASS_SIZE : (period + 1) * TEACHER150_CLASS_SIZE]
        for period in range(TEACHER150_CLASSES)
    ]
    sections = []
    for period, members in enumerate(classes, start=1):
        grade = Counter(student.grade for student in members).most_common(1)[0][0]
        sections.append(
            Section(
                term=school_world.current,
                code=f"SCI-{period}",
                name=f"Science {grade}, period {period}",
                grade_level=grade,
            )
        )
    Section.objects.bulk_create(sections)
    Section.teachers.through.objects.bulk_create(
        [Section.teachers.through(section_id=section.pk, user_id=teacher.pk) for section in sections]
    )
    enrollments = []
    for section, members in zip(sections, classes, strict=True):
        for student in members:
            enrollments.append(Enrollment(section_id=section.pk, student_id=student.id))
            student.teachers = (teacher.pk, *student.teachers)
    Enrollment.objects.bulk_create(enrollments, batch_size=BATCH_SIZE)
    return len(sections)


# --- The communication log --------------------------------------------------------------------------------------

# Teachers log contacts in school hours: 12:00-23:00 UTC is 8 am-7 pm in Boston in summer time, 7 am-6 pm in winter.
LOG_DAY_STARTS = datetime.time(12, tzinfo=datetime.UTC)
LOG_DAY_SECONDS = 11 * 3600
WEEKEND_WEIGHT = 0.06
BREAK_WEIGHT = 0.05
STUDENT_WEIGHT_SIGMA = 0.9  # a lognormal spread: most families hear from school now and then, a few very often
PROGRESS_EVERY = 200_000


@dataclass(frozen=True)
class LogDay:
    day: datetime.date
    is_current_term: bool
    seconds: int  # how much of the school day has passed: all of it, except today
    weight: float


def log_days(now: datetime.datetime) -> list[LogDay]:
    """The days of the previous term and of this term up to `now`, weighted by how busy a school day they are."""
    days = []
    for (_name, starts_on, ends_on), is_current in ((PREVIOUS_TERM, False), (CURRENT_TERM, True)):
        day = starts_on
        while day <= min(ends_on, now.date()):
            seconds = LOG_DAY_SECONDS
            if day == now.date():
                elapsed = (now - datetime.datetime.combine(day, LOG_DAY_STARTS)).total_seconds()
                seconds = int(min(max(elapsed, 0), LOG_DAY_SECONDS))
            if seconds > 0:
                weight = 1.0
                if day.weekday() >= 5:
                    weight = WEEKEND_WEIGHT
                elif any(first <= day <= last for first, last in BREAKS):
                    weight = BREAK_WEIGHT
                days.append(LogDay(day, is_current, seconds, weight * seconds / LOG_DAY_SECONDS))
            day += datetime.timedelta(days=1)
    return days


def spread(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in proportion to `weights`, in whole numbers that add up to exactly `total`."""
    whole = sum(weights)
    counts, running, placed = [], 0.0, 0
    for weight in weights:
        running += weight
        upto = round(total * running / whole)
        counts.append(upto - placed)
        placed = upto
    return counts


class RowWriter:
    """Writes rows of one model straight to its table (homeroom/bulk.py), for the two tables of millions of rows.

    Rows are tuples of database-ready values in the order of `attnames`, ids included, so no id is read back. A
    column added to the model that is required and not listed here stops the run instead of failing row by row.
    """

    def __init__(self, model: type[Model], attnames: Sequence[str]) -> None:
        fields = {f.attname: f for f in model._meta.concrete_fields}
        unknown = [
            f.name for f in fields.values() if f.attname not in attnames and not f.null and f.db_default is NOT_PROVIDED
        ]
        if unknown:
            raise RuntimeError(f"seeding/district.py does not fill {model.__name__}.{', '.join(unknown)}: add it")
        self.model = model
        self.attnames = attnames

    def next_id(self) -> int:
        return (self.model._default_manager.aggregate(last=Max("pk"))["last"] or 0) + 1

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        insert_rows(self.model, self.attnames, rows)

    def reset_sequence(self) -> None:
        """Explicit ids leave PostgreSQL's sequence behind: the next interaction logged would collide."""
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [self.model]):
                cursor.execute(sql)


def _db_datetime() -> Callable[[datetime.datetime], Any]:
    """A moment as the database takes it. Every moment of the log is in UTC, which SQLite stores as Django writes it,
    naive text ('2026-09-01 12:00:00'): a fifth of the log's time went to Django's general conversion."""
    if connection.vendor == "sqlite":
        return lambda moment: str(moment.replace(tzinfo=None))
    return connection.ops.adapt_datetimefield_value


INTERACTION_COLUMNS = (
    "id",
    "guardian_id",
    "logged_by_id",
    "channel",
    "direction",
    "tone",
    "topic",
    "outcome",
    "summary",
    "moment",
    "occurred_at",
    "follow_up_on",
    "follow_up_closed_at",
    "source",
    "personal",
    "created_at",
)
INTERACTION_STUDENT_COLUMNS = ("id", "interaction_id", "student_id")


def build_log(
    *,
    rng: random.Random,
    world: World,
    interactions: int,
    now: datetime.datetime,
    report: DistrictReport,
    on_progress: Callable[[str], None],
) -> None:
    """`interactions` contacts and attempts in the order they happened, a chunk per transaction."""
    students = [student for school_world in world.schools for student in school_world.students]
    cum_weights = list(accumulate(rng.lognormvariate(0, STUDENT_WEIGHT_SIGMA) for _ in students))
    days = log_days(now)
    log = _Log(now=now)
    next_progress = PROGRESS_EVERY
    for log_day, count in zip(days, spread(interactions, [d.weight for d in days]), strict=True):
        if not count:
            continue
        starts_at = datetime.datetime.combine(log_day.day, LOG_DAY_STARTS)
        picks = rng.choices(students, cum_weights=cum_weights, k=count)
        for student, second in zip(picks, sorted(rng.randrange(log_day.seconds) for _ in range(count)), strict=True):
            if log_day.is_current_term:
                while not _reachable(student, log_day.day):
                    student = rng.choices(students, cum_weights=cum_weights)[0]
            log.add(rng, student, starts_at + datetime.timedelta(seconds=second), _about(rng, student, log_day))
        if len(log.interactions) >= LOG_CHUNK:
            log.write(report)
            if report.interactions >= next_progress:
                on_progress(f"interactions: {report.interactions:,} of {interactions:,}")
                next_progress += PROGRESS_EVERY
    log.write(report)
    log.finish()
    on_progress(f"interactions: {report.interactions:,} about {report.interaction_students:,} students")


def _reachable(student: StudentRecord, day: datetime.date) -> bool:
    return student.reachable_until is None or day <= student.reachable_until


def _about(rng: random.Random, student: StudentRecord, log_day: LogDay) -> tuple[StudentRecord, ...]:
    """The students a contact is about: now and then a sibling too, who shares every guardian."""
    children = student.family.children
    if len(children) > 1 and rng.random() < SIBLING_CONTACT_SHARE:
        sibling = children[1] if children[0] is student else children[0]
        if not log_day.is_current_term or _reachable(sibling, log_day.day):
            return (student, sibling)
    return (student,)


class _Log:
    """A chunk of interactions and their students as rows, and their writers."""

    def __init__(self, *, now: datetime.datetime) -> None:
        self.now, self.today = now, now.date()
        self.interaction_writer = RowWriter(Interaction, INTERACTION_COLUMNS)
        self.student_writer = RowWriter(InteractionStudent, INTERACTION_STUDENT_COLUMNS)
        self.next_interaction = self.interaction_writer.next_id()
        self.next_link = self.student_writer.next_id()
        self.interactions: list[tuple[Any, ...]] = []
        self.links: list[tuple[int, int, int]] = []
        self.adapt_datetime = _db_datetime()
        self.adapt_date = connection.ops.adapt_datefield_value

    def add(
        self, rng: random.Random, student: StudentRecord, occurred_at: datetime.datetime, about: Sequence[StudentRecord]
    ) -> None:
        contactable = student.family.contactable
        # The primary contact most of the time; the other parent now and then.
        guardian_id, preferred = contactable[0] if len(contactable) == 1 or rng.random() < 0.75 else contactable[1]
        channel = preferred if rng.random() < USES_PREFERRED_CHANNEL else rng.choice(CHANNELS)
        outcome = rng.choice(OUTCOMES[channel])
        tone = rng.choice(TONES)
        topic = rng.choice(TOPICS)
        direction = Direction.TO_FAMILY
        if outcome == Outcome.REACHED and channel in TWO_WAY and rng.random() < FROM_FAMILY_SHARE:
            direction = Direction.FROM_FAMILY
        source = Source.LOGGED
        if direction == Direction.TO_FAMILY and channel in SENDABLE and rng.random() < SENT_SHARE:
            source = Source.SENT
        teachers = student.teachers
        logged_by = teachers[0] if len(teachers) == 1 or rng.random() < TEACHER150_LOGS else teachers[1]
        texts = SUMMARIES[tone, topic] if outcome == Outcome.REACHED else NOT_REACHED[outcome]
        follow_up_on = follow_up_closed_at = None
        if source == Source.LOGGED and rng.random() < FOLLOW_UP_SHARE:
            follow_up_on = occurred_at.date() + datetime.timedelta(days=rng.randint(1, 14))
            # Old follow-ups were mostly done; the last two weeks' are still open, some of them due.
            if follow_up_on < self.today - datetime.timedelta(days=14) and rng.random() >= OLD_FOLLOW_UP_LEFT_OPEN:
                done_at = datetime.datetime.combine(follow_up_on, datetime.time(16, tzinfo=datetime.UTC))
                follow_up_closed_at = self.adapt_datetime(min(done_at, self.now))
        # Logged within the hour and a half after the contact: never in the future.
        created_at = min(occurred_at + datetime.timedelta(seconds=rng.randrange(5400)), self.now)
        interaction_id = self.next_interaction
        self.next_interaction += 1
        # Chosen by the id, not the random stream: the rest of the seeded district stays as it was.
        moments = MOMENTS_OF_TOPIC.get(topic, ()) if tone == Tone.POSITIVE else ()
        moment = moments[interaction_id % len(moments)] if moments else ""
        self.interactions.append(
            (
                interaction_id,
                guardian_id,
                logged_by,
                channel,
                direction,
                tone,
                topic,
                outcome,
                rng.choice(texts).format(name=student.name),
                moment,
                self.adapt_datetime(occurred_at),
                self.adapt_date(follow_up_on),
                follow_up_closed_at,
                source,
                True,  # each is with one family: the district's history holds no notice
                self.adapt_datetime(created_at),
            )
        )
        for subject in about:
            self.links.append((self.next_link, interaction_id, subject.id))
            self.next_link += 1

    def write(self, report: DistrictReport) -> None:
        if not self.interactions:
            return
        with transaction.atomic():
            self.interaction_writer.write(self.interactions)
            self.student_writer.write(self.links)
        report.interactions += len(self.interactions)
        report.interaction_students += len(self.links)
        self.interactions, self.links = [], []

    def finish(self) -> None:
        self.interaction_writer.reset_sequence()
        self.student_writer.reset_sequence()


# --- Term summaries ---------------------------------------------------------------------------------------------


def recount_summaries(*, world: World, report: DistrictReport, on_progress: Callable[[str], None]) -> None:
    """Every student's summary of both terms, recounted from the log by the service that keeps them."""
    for school_world in world.schools:
        ids = [student.id for student in school_world.students]
        with transaction.atomic():
            for term in (school_world.current, school_world.previous):
                for start in range(0, len(ids), RECOUNT_CHUNK):
                    chunk = ids[start : start + RECOUNT_CHUNK]
                    report.summaries += recount_contact_summaries(term=term, students=chunk)
        if school_world.number % 10 == 0 or school_world.number == len(world.schools):
            on_progress(f"summaries: schools {school_world.number}/{len(world.schools)}, {report.summaries:,} rows")


def profile_teacher(*, world: World, now: datetime.datetime) -> Teacher150Profile:
    """How teacher150's students stand today, read back from the summaries and the log."""
    school_world = world.schools[0]
    school = school_world.school
    ids = list(
        Enrollment.objects.filter(section__teachers=world.teacher150_id, section__term=school_world.current)
        .values_list("student_id", flat=True)
        .distinct()
    )
    zone = zoneinfo.ZoneInfo(school.time_zone)
    today = now.astimezone(zone).date()
    cutoff = today - datetime.timedelta(days=school.contact_cadence_days)
    last_contacts = [
        at
        for at in ContactSummary.objects.filter(term=school_world.current, student_id__in=ids).values_list(
            "last_contact_at", flat=True
        )
        if at is not None
    ]
    follow_ups = (
        InteractionStudent.objects.filter(
            student_id__in=ids,
            interaction__logged_by=world.teacher150_id,
            interaction__follow_up_on__lte=today,
            interaction__follow_up_closed_at__isnull=True,
        )
        .values("student_id")
        .distinct()
        .count()
    )
    return Teacher150Profile(
        students=len(ids),
        not_contacted_this_term=len(ids) - len(last_contacts),
        past_cadence=sum(1 for at in last_contacts if at.astimezone(zone).date() <= cutoff),
        follow_ups_due=follow_ups,
    )
