"""Homeroom's roster written out as a OneRoster 1.2 CSV set (a zip) that Homeroom's own import reads back the same.

What goes out: the district and its schools (or some of them), their terms, their active classes, active students
with their birth dates, the active guardians of those students, and the active teachers of those schools or
classes, with the roles and enrollments that tie them together. Passwords never: the column is always empty.

users.csv carries Homeroom's two `metadata.*` columns (see roster/imports/oneroster.py): a guardian's language and
every link with its relationship, primary contact, lives apart and custody restrictions, so that a round trip loses
none of it.

A record Homeroom made itself has no sourcedId; it gets `homeroom-<kind>-<pk>`, the same on every export (with a
`-2`… suffix in the rare case an SIS key of the same kind already reads so). Rows are streamed from the database
into the zip file by file, holding only the schools, terms and teachers in memory, whatever the district's size.
"""

import io
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from django.db import connection, transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from audit import services as audit
from audit.models import AuditAction
from homeroom import spreadsheets
from roster.imports.oneroster import HOMEROOM_SYSTEM_CODE, LANGUAGE_COLUMN, LINKS_COLUMN
from roster.models import (
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

CHUNK = 2000  # rows fetched per round trip to the database

HEADERS: dict[str, tuple[str, ...]] = {
    "orgs.csv": ("sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"),
    "academicSessions.csv": (
        *("sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate"),
        *("parentSourcedId", "schoolYear"),
    ),
    "classes.csv": (
        *("sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode"),
        *("classType", "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods"),
    ),
    "users.csv": (
        *("sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds", "givenName"),
        *("familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades"),
        *("password", "userMasterIdentifier", "resourceSourcedIds", "preferredGivenName", "preferredMiddleName"),
        *("preferredFamilyName", "primaryOrgSourcedId", "pronouns"),
        # OneRoster's place for a system's own fields: after the standard columns, named metadata.*
        *(LANGUAGE_COLUMN, LINKS_COLUMN),
    ),
    "roles.csv": (
        *("sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role", "beginDate"),
        *("endDate", "orgSourcedId", "userProfileSourcedId"),
    ),
    "enrollments.csv": (
        *("sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId"),
        *("role", "primary", "beginDate", "endDate"),
    ),
    "demographics.csv": (
        *("sourcedId", "status", "dateLastModified", "birthDate", "sex", "americanIndianOrAlaskaNative"),
        *("asian", "blackOrAfricanAmerican", "nativeHawaiianOrOtherPacificIslander", "white"),
        *("demographicRaceTwoOrMoreRaces", "hispanicOrLatinoEthnicity", "countryOfBirthCode"),
        *("stateOfBirthAbbreviation", "cityOfBirth", "publicSchoolResidenceStatus"),
    ),
}
# Every file OneRoster 1.2 names, by its manifest key; the ones Homeroom has nothing for are declared absent.
ABSENT = (
    *("categories", "classResources", "courseResources", "courses", "lineItemLearningObjectiveIds", "lineItems"),
    *("lineItemScoreScales", "resources", "resultLearningObjectiveIds", "results", "resultScoreScales"),
    *("scoreScales", "userProfiles", "userResources"),
)

# OneRoster's role for a guardian, from how they stand to the child (CEDS has no finer vocabulary).
PARENT_RELATIONSHIPS = frozenset(
    {Relationship.MOTHER, Relationship.FATHER, Relationship.PARENT, Relationship.STEPPARENT}
)
GUARDIAN_RELATIONSHIPS = frozenset({Relationship.GUARDIAN, Relationship.FOSTER_PARENT})


def grade_code(level: int) -> str:
    """Homeroom's grade (-1 pre-K, 0 kindergarten, 1-12) as OneRoster writes it: PK, KG, 01…12."""
    if level == -1:
        return "PK"
    if level == 0:
        return "KG"
    return f"{level:02d}"


def guardian_role(relationship: str) -> str:
    if relationship in PARENT_RELATIONSHIPS:
        return "parent"
    if relationship in GUARDIAN_RELATIONSHIPS:
        return "guardian"
    return "relative"


def link_item(
    student: str,
    relationship: str,
    *,
    primary: bool,
    lives_with: bool,
    contact_allowed: bool,
    portal_allowed: bool,
) -> str:
    """One link in metadata.homeroom.links: `student=relationship+flag+flag`."""
    flags = [
        flag
        for flag, on in (
            ("primary", primary),
            ("apart", not lives_with),
            ("nocontact", not contact_allowed),
            ("noportal", not portal_allowed),
        )
        if on
    ]
    return "+".join([f"{student}={relationship}", *flags])


def split_full_name(full_name: str) -> tuple[str, str]:
    """A member of staff's one name field as OneRoster's two, which the import joins again with a space. Both are
    required: a one-word name is written as both, so the file still imports (and a member of staff Homeroom has
    under that one word keeps it)."""
    parts = full_name.split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else parts[0]


class SourcedIds:
    """The sourcedId of each record of one kind: the SIS's own, else `homeroom-<kind>-<pk>`."""

    def __init__(self, model: type[Model], kind: str) -> None:
        self.prefix = f"homeroom-{kind}-"
        # An SIS key that reads like one of ours (a set Homeroom exported, imported here): ours steps aside.
        self.taken = set(
            model._default_manager.filter(sourced_id__startswith=self.prefix).values_list("sourced_id", flat=True)
        )

    def __call__(self, pk: int, sourced_id: str) -> str:
        if sourced_id:
            return sourced_id
        key, n = f"{self.prefix}{pk}", 1
        while key in self.taken:
            n += 1
            key = f"{self.prefix}{pk}-{n}"
        return key


def with_members(rows: Iterable[Sequence[Any]], members: Iterable[Sequence[Any]]) -> Iterator[tuple[Any, list[Any]]]:
    """Each row (ordered by its first column, a pk) with its members (ordered by the same key, their first
    column): a merge of two streams, so neither side is held in memory."""
    pending = iter(members)
    member = next(pending, None)
    for row in rows:
        while member is not None and member[0] < row[0]:
            member = next(pending, None)  # a member whose row is not exported
        found = []
        while member is not None and member[0] == row[0]:
            found.append(member)
            member = next(pending, None)
        yield row, found


@contextmanager
def consistent_reads() -> Iterator[None]:
    """On PostgreSQL, every file is read from one snapshot: an import committing meanwhile cannot leave an
    enrollment whose student is not in users.csv. SQLite's transactions here take the write lock (IMMEDIATE), which
    would stop every other write for the length of the export, so there the files are read as they stand."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


class OneRosterExporter:
    def __init__(self, *, district: District, schools: QuerySet[School] | None = None) -> None:
        in_district = School.objects.filter(district=district)
        if schools is not None:
            in_district = in_district.filter(pk__in=schools.values("pk"))
        self.school_ids = list(in_district.order_by("pk").values_list("pk", flat=True))
        self.school_sid = SourcedIds(School, "school")
        # Read again: the caller's instance may predate an import that gave the district its sourcedId.
        self.district_name, district_key = District.objects.values_list("name", "sourced_id").get(pk=district.pk)
        self.district_sid = SourcedIds(District, "district")(district.pk, district_key)
        self.term_sid = SourcedIds(Term, "term")
        self.class_sid = SourcedIds(Section, "class")
        self.student_sid = SourcedIds(Student, "student")
        self.guardian_sid = SourcedIds(Guardian, "guardian")
        self.user_sid = SourcedIds(User, "user")
        self.schools = {
            pk: self.school_sid(pk, sid)
            for pk, sid in School.objects.filter(pk__in=self.school_ids).values_list("pk", "sourced_id")
        }
        self.students = Student.objects.filter(school_id__in=self.school_ids, is_active=True)
        self.sections = Section.objects.filter(term__school_id__in=self.school_ids, is_active=True)
        self.links = StudentGuardian.objects.filter(
            student__school_id__in=self.school_ids, student__is_active=True, guardian__is_active=True
        )
        self.guardians = Guardian.objects.filter(is_active=True, pk__in=self.links.values("guardian_id"))
        self.teachers = self.teacher_schools()
        self.exported_students: list[int] = []  # whose record went out, for the access log

    def teacher_roles(self) -> QuerySet[StaffRole]:
        return StaffRole.objects.filter(role=Role.TEACHER, school_id__in=self.school_ids, user__is_active=True)

    def teaching(self) -> QuerySet[Any]:
        return Section.teachers.through.objects.filter(section__in=self.sections, user__is_active=True)

    def teachers_query(self) -> QuerySet[Any]:
        """Exported teachers' pks, as a subquery: a district's thousands would pass SQLite's parameter limit."""
        return self.teacher_roles().values("user_id").union(self.teaching().values("user_id"))

    def teacher_schools(self) -> dict[int, list[int]]:
        """Each exported teacher's schools, by user pk: where they hold the teacher role, then where they teach."""
        schools: dict[int, list[int]] = defaultdict(list)
        at_school = self.teacher_roles().values_list("user_id", "school_id")
        teaching = self.teaching().values_list("user_id", "section__term__school_id").distinct()
        for user_id, school_id in sorted(at_school) + sorted(teaching):
            if school_id not in schools[user_id]:
                schools[user_id].append(school_id)
        return dict(schools)

    # --- the files -------------------------------------------------------------------------------------------

    def files(self) -> dict[str, Callable[[], Iterator[Sequence[str]]]]:
        return {
            "orgs.csv": self.orgs,
            "academicSessions.csv": self.sessions,
            "classes.csv": self.classes,
            "users.csv": self.users,
            "roles.csv": self.roles,
            "enrollments.csv": self.enrollments,
            "demographics.csv": self.demographics,
        }

    def orgs(self) -> Iterator[Sequence[str]]:
        yield (self.district_sid, "", "", self.district_name, "district", "", "")
        for pk, name in School.objects.filter(pk__in=self.school_ids).order_by("pk").values_list("pk", "name"):
            yield (self.schools[pk], "", "", name, "school", "", self.district_sid)

    def sessions(self) -> Iterator[Sequence[str]]:
        # The import makes one session a term at each school whose classes use it: a key shared by several
        # schools' terms is written once.
        written: set[str] = set()
        terms = Term.objects.filter(school_id__in=self.school_ids).order_by("pk")
        for pk, sid, name, starts_on, ends_on in terms.values_list("pk", "sourced_id", "name", "starts_on", "ends_on"):
            key = self.term_sid(pk, sid)
            if key in written:
                continue
            written.add(key)
            yield (key, "", "", name, "schoolYear", starts_on.isoformat(), ends_on.isoformat(), "", str(ends_on.year))

    def classes(self) -> Iterator[Sequence[str]]:
        rows = self.sections.order_by("pk").values_list(
            "pk", "sourced_id", "name", "code", "grade_level", "term_id", "term__sourced_id", "term__school_id"
        )
        for pk, sid, name, code, grade, term_id, term_sid, school_id in rows.iterator(chunk_size=CHUNK):
            yield (
                *(self.class_sid(pk, sid), "", "", name, grade_code(grade), "", code, "scheduled", ""),
                *(self.schools[school_id], self.term_sid(term_id, term_sid), "", "", ""),
            )

    def users(self) -> Iterator[Sequence[str]]:
        teachers = self.teacher_rows()
        # A person the SIS sent as both a teacher and a parent (one sourcedId, two roles) is one row again.
        teacher_keys = self.teacher_users().exclude(sourced_id="").values("sourced_id")
        both = set(self.guardians.filter(sourced_id__in=teacher_keys).values_list("sourced_id", flat=True))
        yield from self.student_rows()
        yield from self.guardian_rows({sid: teachers[sid] for sid in both})
        for sid, row in teachers.items():
            if sid not in both:
                yield row

    def student_rows(self) -> Iterator[Sequence[str]]:
        students = self.students.order_by("pk").values_list(
            "pk",
            "sourced_id",
            "school_id",
            "student_number",
            "first_name",
            "last_name",
            "preferred_name",
            "grade_level",
        )
        guardians = self.links.order_by("student_id", "guardian_id").values_list(
            "student_id", "guardian_id", "guardian__sourced_id"
        )
        for row, links in with_members(students.iterator(chunk_size=CHUNK), guardians.iterator(chunk_size=CHUNK)):
            pk, sid, school_id, number, first_name, last_name, preferred, grade = row
            self.exported_students.append(pk)
            key = self.student_sid(pk, sid)
            yield self.user_row(
                sourcedId=key,
                username=key,
                givenName=first_name,
                familyName=last_name,
                identifier=number,
                agentSourcedIds=",".join(self.guardian_sid(g, g_sid) for _s, g, g_sid in links),
                grades=grade_code(grade),
                preferredGivenName=preferred,
                primaryOrgSourcedId=self.schools[school_id],
            )

    def guardian_links(self) -> QuerySet[StudentGuardian, tuple[Any, ...]]:
        # A guardian's first link is to the child listed first: the same after a round trip.
        return self.links.order_by("guardian_id", "student_id").values_list(
            "guardian_id",
            "student_id",
            "student__sourced_id",
            "student__school_id",
            "relationship",
            "is_primary_contact",
            "lives_with_student",
            "contact_allowed",
            "portal_access_allowed",
        )

    def guardian_rows(self, teachers: dict[str, tuple[str, ...]]) -> Iterator[Sequence[str]]:
        """`teachers`: the teacher rows of guardians who are also teachers, by sourcedId."""
        columns = HEADERS["users.csv"]
        teacher_email, teacher_org = columns.index("email"), columns.index("primaryOrgSourcedId")
        guardians = self.guardians.order_by("pk").values_list(
            "pk", "sourced_id", "first_name", "last_name", "email", "phone", "preferred_language"
        )
        links = self.guardian_links().iterator(chunk_size=CHUNK)
        for row, children in with_members(guardians.iterator(chunk_size=CHUNK), links):
            pk, sid, first_name, last_name, email, phone, language = row
            key = self.guardian_sid(pk, sid)
            students = [self.student_sid(student, student_sid) for _g, student, student_sid, *_rest in children]
            items = [
                link_item(
                    student,
                    relationship,
                    primary=primary,
                    lives_with=lives_with,
                    contact_allowed=contact,
                    portal_allowed=portal,
                )
                for student, (*_ids, relationship, primary, lives_with, contact, portal) in zip(
                    students, children, strict=True
                )
            ]
            school = self.schools[children[0][3]] if children else ""
            if sid in teachers:  # the sign-in email and school a teacher needs
                email = email or teachers[sid][teacher_email]
                school = teachers[sid][teacher_org]
            yield self.user_row(
                sourcedId=key,
                username=email or key,
                givenName=first_name,
                familyName=last_name,
                email=email,
                sms=phone,
                agentSourcedIds=",".join(students),
                primaryOrgSourcedId=school,
                **{LANGUAGE_COLUMN: language, LINKS_COLUMN: ",".join(items)},
            )

    def teacher_users(self) -> QuerySet[User]:
        return User.objects.filter(pk__in=self.teachers_query()).order_by("pk")

    def teacher_rows(self) -> dict[str, tuple[str, ...]]:
        rows = {}
        for pk, sid, email, full_name in self.teacher_users().values_list("pk", "sourced_id", "email", "full_name"):
            key = self.user_sid(pk, sid)
            given, family = split_full_name(full_name)
            rows[key] = self.user_row(
                sourcedId=key,
                username=email,
                givenName=given,
                familyName=family,
                email=email,
                primaryOrgSourcedId=self.schools[self.teachers[pk][0]],
            )
        return rows

    @staticmethod
    def user_row(**values: str) -> tuple[str, ...]:
        values.setdefault("enabledUser", "true")
        return tuple(values.get(column, "") for column in HEADERS["users.csv"])

    def roles(self) -> Iterator[Sequence[str]]:
        def role(user: str, name: str, org: str) -> tuple[str, ...]:
            return (f"{user}/{name}/{org}", "", "", user, "primary", name, "", "", org, "")

        students = self.students.order_by("pk").values_list("pk", "sourced_id", "school_id")
        for pk, sid, school_id in students.iterator(chunk_size=CHUNK):
            yield role(self.student_sid(pk, sid), "student", self.schools[school_id])
        guardians = self.guardians.order_by("pk").values_list("pk", "sourced_id")
        links = self.guardian_links().iterator(chunk_size=CHUNK)
        for (pk, sid), children in with_members(guardians.iterator(chunk_size=CHUNK), links):
            if not children:
                continue  # unlinked since users.csv was written (SQLite reads no snapshot)
            first = children[0]
            yield role(self.guardian_sid(pk, sid), guardian_role(first[4]), self.schools[first[3]])
        for pk, sid in self.teacher_users().values_list("pk", "sourced_id"):
            for school_id in self.teachers[pk]:
                yield role(self.user_sid(pk, sid), "teacher", self.schools[school_id])

    def enrollments(self) -> Iterator[Sequence[str]]:
        def enrollment(class_key: str, school_id: int, user_key: str, role: str) -> tuple[str, ...]:
            primary = "true" if role == "teacher" else "false"
            school = self.schools[school_id]
            return (f"{class_key}/{user_key}", "", "", class_key, school, user_key, role, primary, "", "")

        students = (
            Enrollment.objects.filter(
                section__in=self.sections, student__is_active=True, student__school_id__in=self.school_ids
            )
            .order_by("pk")
            .values_list(
                "section_id", "section__sourced_id", "section__term__school_id", "student_id", "student__sourced_id"
            )
        )
        for section, section_sid, school_id, student, student_sid in students.iterator(chunk_size=CHUNK):
            key = self.class_sid(section, section_sid)
            yield enrollment(key, school_id, self.student_sid(student, student_sid), "student")
        teaching = (
            self.teaching()
            .order_by("pk")
            .values_list("section_id", "section__sourced_id", "section__term__school_id", "user_id", "user__sourced_id")
        )
        for section, section_sid, school_id, user, user_sid in teaching.iterator(chunk_size=CHUNK):
            yield enrollment(self.class_sid(section, section_sid), school_id, self.user_sid(user, user_sid), "teacher")

    def demographics(self) -> Iterator[Sequence[str]]:
        students = self.students.filter(date_of_birth__isnull=False).order_by("pk")
        for pk, sid, born in students.values_list("pk", "sourced_id", "date_of_birth").iterator(chunk_size=CHUNK):
            yield (self.student_sid(pk, sid), "", "", born.isoformat() if born else "", *[""] * 12)

    def manifest(self) -> Iterator[Sequence[str]]:
        yield ("manifest.version", "1.0")
        yield ("oneroster.version", "1.2")
        declared = {name.removesuffix(".csv"): "bulk" for name in HEADERS} | dict.fromkeys(ABSENT, "absent")
        for name, mode in sorted(declared.items()):
            yield (f"file.{name}", mode)
        yield ("source.systemName", "Homeroom")
        yield ("source.systemCode", HOMEROOM_SYSTEM_CODE)


def _write_csv(
    archive: zipfile.ZipFile, name: str, header: Sequence[str], rows: Iterable[Sequence[str]], *, written_at: datetime
) -> int:
    entry = zipfile.ZipInfo(name, date_time=written_at.timetuple()[:6])
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = 0o600 << 16  # students' records: readable by whoever unzips them only
    count = 0
    with archive.open(entry, "w") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
        # CRLF line ends, as RFC 4180 and OneRoster write them; no cell a spreadsheet would run as a formula.
        writer = spreadsheets.writer(text)
        writer.writerow(header)
        for row in rows:
            if len(row) != len(header):  # the import refuses such a row: never write one
                raise ValueError(f"{name}: a row of {len(row)} fields under a header of {len(header)}")
            writer.writerow(row)
            count += 1
    return count


def export_oneroster(
    out: IO[bytes] | Path,
    *,
    district: District,
    schools: QuerySet[School] | None = None,
    exported_by: User | None = None,
    request: HttpRequest | None = None,
) -> dict[str, int]:
    """The district's roster (or `schools`' only) as a OneRoster 1.2 CSV zip, written to `out`. Returns the
    number of rows per file, headers not counted. A member of staff's export (`exported_by`) is in the access log:
    one event per student whose record went out, written in bulk once the files are read."""
    counts: dict[str, int] = {}
    written_at = timezone.localtime()
    with consistent_reads():
        exporter = OneRosterExporter(district=district, schools=schools)
        with zipfile.ZipFile(out, "w") as archive:
            manifest = ("propertyName", "value")
            _write_csv(archive, "manifest.csv", manifest, exporter.manifest(), written_at=written_at)
            for name, rows in exporter.files().items():
                counts[name] = _write_csv(archive, name, HEADERS[name], rows(), written_at=written_at)
    if exported_by is not None:  # after the read-only snapshot: the log is written in a transaction of its own
        audit.record_many_by_id(
            actor=exported_by,
            student_ids=exporter.exported_students,
            action=AuditAction.EXPORTED,
            what="roster export (OneRoster)",
            request=request,
        )
    return counts
