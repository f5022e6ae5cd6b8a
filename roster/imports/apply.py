"""Applying a checked RosterSet to the database: a diff against what is there, written in bulk.

The caller holds one transaction: a problem found here (a student number another student already has, a
school the uploader does not lead) is reported and the whole import rolls back. Existing rows are read once as
plain tuples and compared field by field, so a re-import of unchanged files writes nothing at all.

Which fields are the SIS's and which Homeroom's: names, numbers, grades, classes, emails and phones come from the
SIS and follow it. A family's language, way to reach them, primary contact and custody restrictions are kept in
Homeroom: a file sets them on a new record, and afterwards only Homeroom's own export (whose metadata columns
state them) changes them, and even then a file may close contact or portal access but never reopen it.

An import reaches its own district only: guardians are matched among the families linked to the district's
students (a family of another district sharing an email address becomes a record of its own here), and a user who
signs in elsewhere (staff of another district, another district's family, a superuser) is refused as a teacher.
"""

import datetime
import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from audit.models import AuditAction
from homeroom.bulk import insert_rows
from roster.imports.records import GuardianRecord, LinkRecord, Mode, RosterSet, TeacherRecord
from roster.imports.report import Report, Summary
from roster.models import (
    District,
    EndedFamilyLink,
    Enrollment,
    Guardian,
    Role,
    School,
    Section,
    StaffRole,
    Student,
    StudentGuardian,
    Term,
)

Progress = Callable[[str, int, int], None]
OWN_KEY_PREFIX = "homeroom-"  # the sourcedIds Homeroom's export makes up for records without one


def key_only(stored: str, given: str) -> bool:
    """A record Homeroom's own export named, read back: it takes the key, and nothing else of it changed."""
    return not stored and given.startswith(OWN_KEY_PREFIX)


NO_EMAIL_DOMAIN = "@no-email.invalid"  # a reserved domain: no mail is ever delivered, no one signs in with it


def no_email_address(key: str) -> str:
    """The stand-in address of a teacher the file gives no email: unique, and never anyone's."""
    return f"teacher-{hashlib.sha256(key.encode()).hexdigest()[:16]}{NO_EMAIL_DOMAIN}"


def deactivation_limits() -> tuple[float, int]:
    """A bulk file may deactivate up to this share of a kind's active records (and never fewer than the floor)
    before a person must confirm."""
    return (
        settings.HOMEROOM_IMPORT_HOLD_DEACTIVATION_SHARE,
        settings.HOMEROOM_IMPORT_HOLD_DEACTIVATION_FLOOR,
    )


BATCH = 2000
CHUNK = 500  # ids per IN (…): SQLite's variable limit


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def guardians_in_district(district: District | None) -> QuerySet[Guardian]:
    """The guardians an import into `district` may match and change: those linked to a student of one of its
    schools, now or before (a link the SIS ended is remembered, for when the child comes back)."""
    if district is None:
        return Guardian.objects.none()
    linked = StudentGuardian.objects.filter(student__school__district=district).values("guardian_id")
    ended = EndedFamilyLink.objects.filter(student__school__district=district).values("guardian_id")
    return Guardian.objects.filter(Q(pk__in=linked) | Q(pk__in=ended))


def users_outside(district: District | None, user_ids: Iterable[int]) -> set[int]:
    """Of these users, those an import into `district` may not change: superusers, anyone with a staff role in
    another district, and the sign-in account of a family of another district."""
    ids = sorted(set(user_ids))
    if not ids:
        return set()
    outside = set(User.objects.filter(pk__in=ids, is_superuser=True).values_list("pk", flat=True))
    for chunk in _chunks(ids):
        roles = StaffRole.objects.filter(user_id__in=chunk).values_list("user_id", "school__district_id", "district_id")
        for user_id, school_district, own_district in roles:
            if district is None or (school_district or own_district) != district.pk:
                outside.add(user_id)
        families = Guardian.objects.filter(user_id__in=chunk).exclude(pk__in=guardians_in_district(district))
        outside.update(families.values_list("user_id", flat=True))
    return outside


class RosterWriter:
    def __init__(
        self,
        roster: RosterSet,
        *,
        report: Report,
        district: District | None,
        allowed_schools: set[int] | None,
        today: datetime.date,
        progress: Progress,
    ) -> None:
        self.roster = roster
        self.report = report
        self.district = district
        self.allowed_schools = allowed_schools
        self.today = today
        self.progress = progress
        self.summary = Summary()
        self.school_ids: dict[str, int] = {}
        self.term_ids: dict[tuple[int, str], int] = {}
        self.section_ids: dict[str, int] = {}
        self.teacher_ids: dict[str, int] = {}
        self.student_ids: dict[str, int] = {}
        self.guardian_ids: dict[str, int] = {}
        self.covered: set[int] = set()  # schools whose roster a bulk file states in full
        # Students whose record the import created or changed (their own row, family, classes), for the access log.
        self.touched: dict[int, AuditAction] = {}
        self.changed_guardians: set[int] = set()
        # Records whose row the reader left out (a name with a line break): kept as they are, links and classes too.
        self.kept_students: set[int] = set()
        self.kept_guardians: set[int] = set()
        self.kept_teachers: set[int] = set()
        self.kept_sections: set[int] = set()
        self.without_email: list[str] = []
        # Active records of each kind in the schools the file covers, before it is applied: the safety limits.
        self.active_before: dict[str, int] = {}
        self.gone: dict[str, list[int]] = defaultdict(list)
        self.skipped = roster.skipped.get("users" if roster.sourced else "students", set())

    def touch(self, student_ids: Iterable[int], action: AuditAction = AuditAction.CHANGED) -> None:
        for pk in student_ids:
            if action == AuditAction.CREATED:
                self.touched[pk] = action
            else:
                self.touched.setdefault(pk, action)

    def problem(self, file: str, line: int, column: str, message: str) -> None:
        """What stops the whole import."""
        self.report.add(file, line, column, message)

    def skip(self, file: str, line: int, column: str, message: str, kind: str) -> None:
        """A record left out (a number or an email another record holds): the rest goes in."""
        if not self.roster.sourced:
            file = self.roster.file_name or file
        self.report.skip(file, line, column, message, kind=kind)

    def teacher_refused(self, record: TeacherRecord, message: str) -> None:
        """A teacher row this roster may not apply, on the email it names (`message` takes `%(email)s`): skipped,
        and the user Homeroom has stays as they are."""
        self.skip(
            "users.csv" if self.roster.sourced else "roster.csv",
            record.line,
            "email" if self.roster.sourced else "teacher_email",
            message % {"email": record.email},
            "teachers",
        )

    def bulk(self, kind: str) -> bool:
        return self.roster.modes.get(kind) == Mode.BULK

    def deleted(self, kind: str) -> set[Any]:
        return self.roster.to_delete.get(kind, set())

    def write(self) -> Summary:
        steps: list[tuple[str, Callable[[], None]]] = [
            ("schools", self.write_schools),
            ("terms", self.write_terms),
            ("classes", self.write_classes),
            ("teachers", self.write_teachers),
            ("students", self.write_students),
            ("guardians", self.write_guardians),
            ("family_links", self.write_links),
            ("enrollments", self.write_enrollments),
        ]
        for done, (name, step) in enumerate(steps):
            self.progress(name, done, len(steps))
            step()
            if not self.report.ok:
                break
            if name == "schools":
                self.count_active()
        self.progress("done", len(steps), len(steps))
        for kind, count in self.report.skipped_kinds.items():
            if kind in self.summary.counts:
                self.summary.add(kind, "skipped", count)
        if self.report.ok:
            self.hold_deactivations()
        return self.summary

    # --- safety limits ---------------------------------------------------------------------------------------

    def count_active(self) -> None:
        """Active students, teachers, classes and enrollments of the schools a bulk file covers, before it is
        applied: what the share of deactivations is weighed against."""
        covered = sorted(self.covered)
        if not covered:
            return
        teachers = StaffRole.objects.filter(school_id__in=covered, role=Role.TEACHER).values("user_id")
        self.active_before = {
            "students": Student.objects.filter(school_id__in=covered, is_active=True).count(),
            "teachers": User.objects.filter(pk__in=teachers, is_active=True).count(),
            "classes": Section.objects.filter(term__school_id__in=covered, is_active=True).count(),
            "enrollments": Enrollment.objects.filter(section__term__school_id__in=covered).count(),
        }

    def hold_deactivations(self) -> None:
        """A bulk file that would deactivate more than the limit's share of a kind (with its floor) is held: the
        report says what, and nothing is written unless a person confirmed."""
        share, floor = deactivation_limits()
        for kind, before in self.active_before.items():
            count = self.summary.counts[kind]["deactivated"]
            if not self.bulk(kind) or count <= max(floor, share * before):
                continue
            self.report.held[kind] = (count, self.names_of(kind, self.gone.get(kind, [])))

    def names_of(self, kind: str, ids: list[int], limit: int = 20) -> list[str]:
        some = sorted(set(ids))[:limit]
        if kind == "students":
            return [f"{s.first_name} {s.last_name}" for s in Student.objects.filter(pk__in=some)]
        if kind == "teachers":
            return [u.full_name or u.email for u in User.objects.filter(pk__in=some)]
        if kind == "classes":
            return [f"{c.name} ({c.code})" for c in Section.objects.filter(pk__in=some)]
        return []

    # --- district and schools --------------------------------------------------------------------------------

    def write_schools(self) -> None:
        if self.roster.school_pk:
            self.school_ids = dict.fromkeys(self.roster.schools, self.roster.school_pk)
            self.covered = {self.roster.school_pk}
            self.summary.add("schools", "unchanged")
            return
        record = self.roster.district
        district = self.district
        if record:
            found = District.objects.filter(Q(sourced_id=record.sourced_id) | Q(sourced_id="", name=record.name))
            match = sorted(found, key=lambda d: d.sourced_id != record.sourced_id)
            if district is None:
                district = (
                    match[0] if match else District.objects.create(name=record.name, sourced_id=record.sourced_id)
                )
            elif match and match[0].pk != district.pk:
                self.problem("orgs.csv", record.line, "sourcedId", _("This file is for another district."))
                return
            if district.sourced_id != record.sourced_id and not district.sourced_id:
                district.sourced_id = record.sourced_id
                district.save(update_fields=["sourced_id"])
        if district is None and not record:
            only = list(District.objects.all()[:2])
            district = only[0] if len(only) == 1 else None  # a delta needs not repeat the district
        if district is None and not record and self.roster.district_name:
            district = District.objects.create(name=self.roster.district_name)
        if district is None and not record and len(self.roster.schools) == 1 and self.allowed_schools is None:
            # A single school's set with no district: the district is the school's, named after it.
            only_school = next(iter(self.roster.schools.values()))
            district = District.objects.filter(name=only_school.name).first() or District.objects.create(
                name=only_school.name
            )
            self.report.notice(
                _("The file names no district: the school was imported into a district named after it, %(name)s.")
                % {"name": district.name}
            )
        if district is None:
            self.problem(
                "orgs.csv",
                0,
                "",
                _("The file names no district: add the district to orgs.csv, or name it (--district)."),
            )
            return
        self.district = district
        existing = list(School.objects.filter(district=district))
        by_sid = {s.sourced_id: s for s in existing if s.sourced_id}
        by_name = {s.name: s for s in existing if not s.sourced_id}
        for sourced_id, org in self.roster.schools.items():
            key = sourced_id if self.roster.sourced else ""
            school = by_sid.get(sourced_id) if key else None
            school = school or by_name.get(org.name)
            if school is None and self.allowed_schools is None:
                school = School.objects.create(district=district, name=org.name, sourced_id=key)
                self.summary.add("schools", "created")
            elif school is None or (self.allowed_schools is not None and school.pk not in self.allowed_schools):
                self.problem(
                    "orgs.csv",
                    org.line,
                    "name",
                    _("%(name)s is not a school you may import into.") % {"name": org.name},
                )
                continue
            elif (school.name, school.sourced_id) != (org.name, key or school.sourced_id):
                quiet = school.name == org.name and key_only(school.sourced_id, key)
                school.name, school.sourced_id = org.name, key or school.sourced_id
                school.save(update_fields=["name", "sourced_id"])
                self.summary.add("schools", "unchanged" if quiet else "updated")
            else:
                self.summary.add("schools", "unchanged")
            self.school_ids[sourced_id] = school.pk
        # A delta may refer to schools it does not list.
        for school in existing:
            if school.sourced_id:
                self.school_ids.setdefault(school.sourced_id, school.pk)
        if self.bulk("schools") or not self.roster.sourced:
            self.covered = {self.school_ids[sid] for sid in self.roster.schools if sid in self.school_ids}

    # --- terms and classes -----------------------------------------------------------------------------------

    def write_terms(self) -> None:
        wanted = {
            (self.school_ids[c.school], c.term) for c in self.roster.classes.values() if c.school in self.school_ids
        }
        schools = {school for school, _term in wanted}
        existing = list(Term.objects.filter(school_id__in=schools))
        by_sid = {(t.school_id, t.sourced_id): t for t in existing if t.sourced_id}
        by_name = {(t.school_id, t.name): t for t in existing if not t.sourced_id}
        elsewhere = {
            t.sourced_id: t for t in Term.objects.filter(school__district=self.district).exclude(sourced_id="")
        }
        for school_id, term_key in sorted(wanted):
            record = self.roster.terms.get(term_key)
            if not self.roster.sourced:
                current = next((t for t in existing if t.school_id == school_id and t.is_current), None)
                if current is None:
                    self.problem("", 0, "", _("The school has no current term: add one before importing classes."))
                    return
                self.term_ids[(school_id, term_key)] = current.pk
                continue
            source = record or elsewhere.get(term_key)
            if source is None:
                continue  # reported by the reader
            name, starts_on, ends_on = source.name, source.starts_on, source.ends_on
            sid = term_key if self.roster.sourced else ""
            term = by_sid.get((school_id, term_key)) if sid else None
            term = term or by_name.get((school_id, name))
            if term is None:
                clash = next((t for t in existing if t.school_id == school_id and t.name == name), None)
                if clash:
                    self.skip(
                        "academicSessions.csv",
                        record.line if record else 0,
                        "title",
                        _("The school already has another term named %(name)s.") % {"name": name},
                        "terms",
                    )
                    continue
                term = Term.objects.create(
                    school_id=school_id, name=name, starts_on=starts_on, ends_on=ends_on, sourced_id=sid
                )
                existing.append(term)
                self.summary.add("terms", "created")
            elif (term.name, term.starts_on, term.ends_on, term.sourced_id) != (
                name,
                starts_on,
                ends_on,
                sid or term.sourced_id,
            ):
                quiet = (term.name, term.starts_on, term.ends_on) == (name, starts_on, ends_on)
                quiet = quiet and key_only(term.sourced_id, sid)
                term.name, term.starts_on, term.ends_on, term.sourced_id = (
                    name,
                    starts_on,
                    ends_on,
                    sid or term.sourced_id,
                )
                term.save(update_fields=["name", "starts_on", "ends_on", "sourced_id"])
                self.summary.add("terms", "unchanged" if quiet else "updated")
            else:
                self.summary.add("terms", "unchanged")
            self.term_ids[(school_id, term_key)] = term.pk
        self.make_current(schools)

    def make_current(self, schools: set[int]) -> None:
        """Each school's current term is the one today falls in; a school with none keeps or gets the latest."""
        for school_id in schools:
            terms = list(Term.objects.filter(school_id=school_id).order_by("-starts_on"))
            current = next((t for t in terms if t.is_current), None)
            today = [t for t in terms if t.starts_on <= self.today <= t.ends_on]
            if current and current in today:
                continue
            chosen = today[0] if today else (current or terms[0] if terms else None)
            if chosen and chosen is not current:
                Term.objects.filter(school_id=school_id, is_current=True).update(is_current=False)
                Term.objects.filter(pk=chosen.pk).update(is_current=True)

    def write_classes(self) -> None:
        classes = self.roster.classes
        existing = {
            row[0]: row
            for row in Section.objects.filter(term__school__district=self.district).values_list(
                "id", "sourced_id", "term_id", "code", "name", "grade_level", "is_active", "term__school_id"
            )
        }
        by_sid = {row[1]: row for row in existing.values() if row[1]}
        by_code = {(row[2], row[3]): row for row in existing.values() if not row[1]}
        codes_in_term = Counter(
            (self.term_ids.get((self.school_ids.get(c.school, 0), c.term)), c.code) for c in classes.values()
        )
        student_grades = self.student_grades_by_class()
        create: list[Section] = []
        create_keys: list[str] = []
        update: list[Section] = []
        taken = {(row[2], row[3]): row[0] for row in existing.values()}
        quiet = 0  # updates that only give a record the key Homeroom's export made up for it
        for key, record in classes.items():
            term_id = self.term_ids.get((self.school_ids.get(record.school, 0), record.term))
            if term_id is None:
                continue
            code = record.code
            if codes_in_term[(term_id, code)] > 1:
                code = f"{code} ({key})"[:64]  # the same course code on several sections, as SISs write
            grade = record.grade
            if grade is None:  # a class's grade is never unknown: its students', else kindergarten's
                grade = student_grades[key].most_common(1)[0][0] if student_grades[key] else 0
            sid = key if self.roster.sourced else ""
            row = by_sid.get(key) if sid else None
            row = row or by_code.get((term_id, code))
            holder = taken.get((term_id, code))
            if holder is not None and (row is None or holder != row[0]):
                self.skip(
                    "classes.csv",
                    record.line,
                    "classCode",
                    _("Another class of this term already has the code %(code)s.") % {"code": code},
                    "classes",
                )
                if row is not None:
                    self.kept_sections.add(row[0])
                continue
            values = (term_id, code, record.name, grade, True)
            if row is None:
                create.append(Section(term_id=term_id, code=code, name=record.name, grade_level=grade, sourced_id=sid))
                create_keys.append(key)
                taken[(term_id, code)] = -1
            else:
                if (row[2], row[3], row[4], row[5], row[6]) != values or (sid and row[1] != sid):
                    quiet += (row[2], row[3], row[4], row[5], row[6]) == values and key_only(row[1], sid)
                    update.append(
                        Section(
                            pk=row[0],
                            term_id=term_id,
                            code=code,
                            name=record.name,
                            grade_level=grade,
                            sourced_id=sid or row[1],
                        )
                    )
                else:
                    self.summary.add("classes", "unchanged")
                self.section_ids[key] = row[0]
        Section.objects.bulk_create(create, batch_size=BATCH)
        Section.objects.bulk_update(
            update, ["term", "code", "name", "grade_level", "sourced_id", "is_active"], batch_size=BATCH
        )
        self.summary.add("classes", "created", len(create))
        self.summary.add("classes", "updated", len(update) - quiet)
        self.summary.add("classes", "unchanged", quiet)
        self.section_ids.update(zip(create_keys, (section.pk for section in create), strict=True))
        for row in existing.values():  # classes whose row was skipped stay as they are, with their members
            if row[1] and row[1] in self.roster.skipped.get("classes", ()):
                self.kept_sections.add(row[0])
        if self.bulk("classes") or not self.roster.sourced:
            kept = set(self.section_ids.values()) | self.kept_sections
            gone = [row[0] for row in existing.values() if row[6] and row[7] in self.covered and row[0] not in kept]
        else:
            gone = [row[0] for row in existing.values() if row[1] in self.deleted("classes")]
        self.deactivate(Section, gone, "classes")
        for row in existing.values():  # a delta may refer to classes it does not list
            if row[1]:
                self.section_ids.setdefault(row[1], row[0])

    def student_grades_by_class(self) -> dict[str, Counter[int]]:
        """For classes the file gives no grade: their students' grades."""
        grades: dict[str, Counter[int]] = defaultdict(Counter)
        ungraded = {key for key, record in self.roster.classes.items() if record.grade is None}
        if not ungraded:
            return grades
        students = self.roster.students
        for class_key, student_key in self.roster.enrollments:
            student = students.get(student_key)
            if class_key in ungraded and student and student.grade is not None:
                grades[class_key][student.grade] += 1
        return grades

    def deactivate(self, model: type[Model], ids: list[int], kind: str) -> None:
        self.gone[kind].extend(ids)
        n = 0
        for chunk in _chunks(ids):
            n += model._default_manager.filter(pk__in=chunk, is_active=True).update(is_active=False)
        self.summary.add(kind, "deactivated", n)

    # --- people ----------------------------------------------------------------------------------------------

    def write_teachers(self) -> None:
        teachers = self.roster.teachers
        emails = [t.email for t in teachers.values() if t.email]
        sids = list(teachers)
        existing: dict[int, User] = {}
        for chunk in _chunks(emails):
            existing.update((u.pk, u) for u in User.objects.filter(email__in=chunk))
        for chunk in _chunks(sids):
            existing.update((u.pk, u) for u in User.objects.filter(sourced_id__in=chunk))
        by_sid = {u.sourced_id: u for u in existing.values() if u.sourced_id}
        by_email = {u.email: u for u in existing.values()}
        roles = set(
            StaffRole.objects.filter(role=Role.TEACHER, user__in=list(existing)).values_list("user_id", "school_id")
        )
        elsewhere = users_outside(self.district, existing)
        if self.skipped and self.roster.sourced:
            for chunk in _chunks(sorted(self.skipped)):
                self.kept_teachers.update(User.objects.filter(sourced_id__in=chunk).values_list("pk", flat=True))
        new_roles: list[StaffRole] = []
        for key, record in teachers.items():
            sid = key if self.roster.sourced else ""
            user = by_sid.get(key) if sid else None
            holder = by_email.get(record.email)
            if user is None and holder is not None:
                if holder.sourced_id and sid and holder.sourced_id != sid:
                    self.skip(
                        "users.csv",
                        record.line,
                        "email",
                        _("%(email)s belongs to another user of the SIS (%(id)s).")
                        % {"email": record.email, "id": holder.sourced_id},
                        "teachers",
                    )
                    continue
                user = holder
            elif user is not None and holder is not None and holder.pk != user.pk:
                self.skip(
                    "users.csv",
                    record.line,
                    "email",
                    _("%(email)s already belongs to another user.") % {"email": record.email},
                    "teachers",
                )
                self.kept_teachers.add(user.pk)
                continue
            if user is not None and self.allowed_schools is not None and not self.teaches_here(user, roles):
                self.teacher_refused(
                    record,
                    _(
                        "%(email)s signs in to Homeroom outside your school: a district administrator can make them a "
                        "teacher here."
                    ),
                )
                continue
            if user is not None and user.pk in elsewhere:
                self.teacher_refused(
                    record,
                    _(
                        "%(email)s signs in to Homeroom outside this district: its roster cannot change them. Give "
                        "this teacher another email address, or ask Homeroom's administrator."
                    ),
                )
                continue
            # A plain CSV may leave the name of a teacher Homeroom knows empty: the name stays.
            full_name = f"{record.first_name} {record.last_name}".strip()[:150] or (user.full_name if user else "")
            if user is not None and record.first_name == record.last_name == user.full_name:
                full_name = user.full_name  # a one-word name, which Homeroom's export writes in both columns
            if not record.email:  # a teacher without an email: staff who cannot sign in until a leader adds it
                record.email = user.email if user is not None else no_email_address(sid or full_name)
                if record.email.endswith(NO_EMAIL_DOMAIN):
                    self.without_email.append(full_name or sid)
            if user is None:
                user = User.objects.create(
                    email=record.email,
                    full_name=full_name,
                    sourced_id=sid,
                    is_active=record.enabled,
                    password=make_password(None),  # never a password from a file: staff set their own
                )
                self.summary.add("teachers", "created")
            elif (user.email, user.full_name, user.is_active, user.sourced_id) != (
                record.email,
                full_name,
                record.enabled,
                sid or user.sourced_id,
            ):
                quiet = (user.email, user.full_name, user.is_active) == (record.email, full_name, record.enabled)
                quiet = quiet and key_only(user.sourced_id, sid)
                user.email, user.full_name, user.is_active = record.email, full_name, record.enabled
                user.sourced_id = sid or user.sourced_id
                user.save(update_fields=["email", "full_name", "is_active", "sourced_id"])
                self.summary.add("teachers", "unchanged" if quiet else "updated")
            else:
                self.summary.add("teachers", "unchanged")
            self.teacher_ids[key] = user.pk
            for school in record.schools:
                school_id = self.school_ids.get(school)
                if school_id and (user.pk, school_id) not in roles:
                    new_roles.append(StaffRole(user=user, role=Role.TEACHER, school_id=school_id))
                    roles.add((user.pk, school_id))
        StaffRole.objects.bulk_create(new_roles)
        if self.without_email:
            self.report.notice(
                ngettext(
                    "%(count)d teacher has no email address and cannot sign in yet: %(names)s. A leader can add "
                    "the address in Homeroom.",
                    "%(count)d teachers have no email address and cannot sign in yet: %(names)s. A leader can add "
                    "their addresses in Homeroom.",
                    len(self.without_email),
                )
                % {"count": len(self.without_email), "names": ", ".join(sorted(self.without_email)[:50])}
            )
        self.deactivate_teachers()

    def teaches_here(self, user: User, roles: set[tuple[int, int]]) -> bool:
        """A leader's import may name only teachers of their own school: never a parent, nor staff elsewhere."""
        allowed = self.allowed_schools or set()
        return not user.is_superuser and any((user.pk, school) in roles for school in allowed)

    def deactivate_teachers(self) -> None:
        if self.bulk("teachers") and self.covered:
            here = StaffRole.objects.filter(school_id__in=self.covered).values("user_id")
            elsewhere = StaffRole.objects.exclude(school_id__in=self.covered).values("user_id")
            gone = User.objects.filter(pk__in=here, is_superuser=False, is_active=True).exclude(sourced_id="")
            gone = gone.exclude(pk__in=elsewhere).exclude(pk__in=[*self.teacher_ids.values(), *self.kept_teachers])
        else:
            gone = User.objects.filter(
                sourced_id__in=list(self.deleted("users")), is_active=True, staff_roles__role=Role.TEACHER
            )
        ids = list(gone.values_list("pk", flat=True))
        self.gone["teachers"].extend(ids)
        self.summary.add("teachers", "deactivated", User.objects.filter(pk__in=ids).update(is_active=False))

    def write_students(self) -> None:
        students = self.roster.students
        fields = (
            "id",
            "sourced_id",
            "school_id",
            "student_number",
            "first_name",
            "last_name",
            "preferred_name",
            "grade_level",
            "date_of_birth",
            "is_active",
        )
        existing = list(Student.objects.filter(school__district=self.district).values_list(*fields))
        by_sid = {row[1]: row for row in existing if row[1]}
        by_number = {(row[2], row[3]): row for row in existing}
        if self.skipped:
            key_column = 1 if self.roster.sourced else 3
            self.kept_students = {
                row[0]
                for row in existing
                if row[key_column] in self.skipped and (self.roster.sourced or row[2] == self.roster.school_pk)
            }
        create: list[Student] = []
        create_keys: list[str] = []
        update: list[Student] = []
        quiet = 0  # updates that only give a record the key Homeroom's export made up for it
        total = len(students)
        for n, (key, record) in enumerate(students.items()):
            if n % 10_000 == 0:
                self.progress("students", n, total)
            school_id = self.school_ids.get(record.school)
            if school_id is None:
                continue
            sid = key if self.roster.sourced else ""
            row = by_sid.get(key) if sid else None
            holder = by_number.get((school_id, record.number))
            if row is None and holder is not None and not (sid and holder[1]):
                row = holder
            elif holder is not None and (row is None or holder[0] != row[0]):
                self.skip(
                    "users.csv" if self.roster.sourced else "roster.csv",
                    record.line,
                    "identifier" if self.roster.sourced else "student_number",
                    _("Another student of this school already has the number %(number)s.") % {"number": record.number},
                    "students",
                )
                if row is not None:
                    self.kept_students.add(row[0])
                continue
            if not self.roster.birth_dates_given and row is not None:
                record.date_of_birth = row[8]  # no demographics.csv: the birth dates Homeroom has stay
            values = (
                school_id,
                record.number,
                record.first_name,
                record.last_name,
                record.preferred_name,
                record.grade,
                record.date_of_birth,
                True,
            )
            if row is not None:
                self.student_ids[key] = row[0]
                if row[2:] == values and (not sid or row[1] == sid):
                    self.summary.add("students", "unchanged")
                    continue
                quiet += row[2:] == values and key_only(row[1], sid)
            # Instances only for rows to write: building 50,000 unchanged ones took a third of a re-import.
            student = Student(
                school_id=school_id,
                student_number=record.number,
                first_name=record.first_name,
                last_name=record.last_name,
                preferred_name=record.preferred_name,
                grade_level=record.grade,  # None: the grade is unknown
                date_of_birth=record.date_of_birth,
                sourced_id=sid,
            )
            if row is None:
                create.append(student)
                create_keys.append(key)
                by_number[(school_id, record.number)] = (-1, sid, school_id, record.number)
            else:
                student.pk, student.sourced_id = row[0], sid or row[1]
                update.append(student)
        if not self.report.ok:
            return
        Student.objects.bulk_create(create, batch_size=BATCH)
        fields_updated = [
            "school",
            "student_number",
            "first_name",
            "last_name",
            "preferred_name",
            "grade_level",
            "date_of_birth",
            "sourced_id",
            "is_active",
        ]
        Student.objects.bulk_update(update, fields_updated, batch_size=BATCH)
        self.summary.add("students", "created", len(create))
        self.summary.add("students", "updated", len(update) - quiet)
        self.summary.add("students", "unchanged", quiet)
        self.student_ids.update(zip(create_keys, (student.pk for student in create), strict=True))
        self.touch((student.pk for student in create), AuditAction.CREATED)
        self.touch(student.pk for student in update)
        if self.bulk("students"):
            kept = set(self.student_ids.values())
            kept |= self.kept_students
            gone = [row[0] for row in existing if row[9] and row[2] in self.covered and row[0] not in kept]
        else:
            gone = [row[0] for row in existing if row[1] in self.deleted("users")]
        self.deactivate(Student, gone, "students")
        self.touch(gone)
        # A student who left leaves their classes; their family links stay, for when they come back.
        for chunk in _chunks(gone):
            ended, _by_model = Enrollment.objects.filter(student_id__in=chunk).delete()
            self.summary.add("enrollments", "deactivated", ended)
        for row in existing:  # a delta may refer to students it does not list
            if row[1]:
                self.student_ids.setdefault(row[1], row[0])

    def write_guardians(self) -> None:
        guardians = self.roster.guardians
        fields = ("id", "sourced_id", "first_name", "last_name", "email", "phone", "preferred_language", "is_active")
        # Only the district's own families are matched (by SIS key, email, Homeroom's key or name): a family of
        # another district who shares an email address is another guardian record here, never updated.
        existing = list(guardians_in_district(self.district).values_list(*fields))
        if self.skipped and self.roster.sourced:
            self.kept_guardians = {row[0] for row in existing if row[1] in self.skipped}
        self.refuse_keys_held_elsewhere(guardians, {row[1] for row in existing if row[1]})
        if not self.report.ok:
            return
        by_sid = {row[1]: row for row in existing if row[1]}
        by_email: dict[str, tuple[Any, ...]] = {}
        for row in existing:
            if row[4] and not row[1]:
                by_email.setdefault(row[4], row)
        by_id = {row[0]: row for row in existing}
        # Homeroom's own export names a guardian without an SIS key by id: a round trip finds the same guardian.
        by_own_key = {f"homeroom-guardian-{row[0]}": row for row in existing if not row[1]}
        by_name = self.guardians_by_name() if not self.roster.sourced else {}
        create: list[Guardian] = []
        create_keys: list[str] = []
        update: list[Guardian] = []
        quiet = 0
        for key, record in guardians.items():
            sid = key if self.roster.sourced else ""
            row = by_sid.get(key) if sid else None
            row = row or (by_email.get(record.email) if record.email else None)
            row = row or by_own_key.get(key)
            row = row or by_id.get(by_name.get(key, 0))
            # A family's language is Homeroom's once it has one: only Homeroom's own export states it again.
            language = record.language if record.language and (row is None or self.roster.sourced) else ""
            language = language or (row[6] if row else "en")
            if row is not None:
                by_email.pop(record.email, None)  # one guardian of the file per guardian of Homeroom
                self.guardian_ids[key] = row[0]
                values = (record.first_name, record.last_name, record.email, record.phone, language, True)
                if row[2:] == values and (not sid or row[1] == sid):
                    self.summary.add("guardians", "unchanged")
                    continue
                quiet += row[2:] == values and key_only(row[1], sid)
            guardian = Guardian(
                first_name=record.first_name,
                last_name=record.last_name,
                email=record.email,
                phone=record.phone,
                preferred_language=language,
                sourced_id=sid,
            )
            if row is None:
                create.append(guardian)
                create_keys.append(key)
            else:
                guardian.pk, guardian.sourced_id = row[0], sid or row[1]
                update.append(guardian)
        Guardian.objects.bulk_create(create, batch_size=BATCH)
        Guardian.objects.bulk_update(
            update,
            ["first_name", "last_name", "email", "phone", "preferred_language", "sourced_id", "is_active"],
            batch_size=BATCH,
        )
        self.summary.add("guardians", "created", len(create))
        self.summary.add("guardians", "updated", len(update) - quiet)
        self.summary.add("guardians", "unchanged", quiet)
        self.changed_guardians.update(guardian.pk for guardian in update)
        self.guardian_ids.update(zip(create_keys, (guardian.pk for guardian in create), strict=True))
        for row in existing:
            if row[1]:
                self.guardian_ids.setdefault(row[1], row[0])

    def refuse_keys_held_elsewhere(self, guardians: dict[str, GuardianRecord], here: set[str]) -> None:
        """An SIS key is unique in Homeroom: a guardian whose key a family of another district holds is skipped.
        `here`: the keys of the district's own guardians, which need no look-up (a re-import: all of them)."""
        if not self.roster.sourced:
            return
        for chunk in _chunks([key for key in guardians if key not in here]):
            held = Guardian.objects.filter(sourced_id__in=chunk).values_list("pk", "sourced_id")
            for _pk, key in held:
                if key not in here:
                    self.skip(
                        "users.csv",
                        guardians.pop(key).line,
                        "sourcedId",
                        _(
                            "%(id)s is the SIS identifier of a family outside this district: give this guardian "
                            "another sourcedId."
                        )
                        % {"id": key},
                        "guardians",
                    )

    def guardians_by_name(self) -> dict[str, int]:
        """A plain CSV's guardians without an email: the guardian of the same name already linked to the child."""
        names: dict[tuple[int, str, str], int] = {}
        ids = sorted(set(self.student_ids.values()))
        for chunk in _chunks(ids):
            for student_id, guardian_id, first, last in StudentGuardian.objects.filter(
                student_id__in=chunk
            ).values_list("student_id", "guardian_id", "guardian__first_name", "guardian__last_name"):
                names[(student_id, first.lower(), last.lower())] = guardian_id
        found: dict[str, int] = {}
        for (student_key, guardian_key), _link in self.roster.links.items():
            record = self.roster.guardians[guardian_key]
            student_id = self.student_ids.get(student_key, 0)
            match = names.get((student_id, record.first_name.lower(), record.last_name.lower()))
            if match:
                found[guardian_key] = match
        return found

    def write_links(self) -> None:
        wanted: dict[tuple[int, int], LinkRecord] = {}
        default_relationship = {key: g.relationship for key, g in self.roster.guardians.items()}
        for (student_key, guardian_key), link in self.roster.links.items():
            student_id, guardian_id = self.student_ids.get(student_key), self.guardian_ids.get(guardian_key)
            if student_id and guardian_id:
                link.relationship = link.relationship or default_relationship.get(guardian_key, "")
                wanted[(student_id, guardian_id)] = link
        students_in_file = {self.student_ids[k] for k in self.roster.students if k in self.student_ids}
        fields = (
            "id",
            "student_id",
            "guardian_id",
            "relationship",
            "is_primary_contact",
            "lives_with_student",
            "contact_allowed",
            "portal_access_allowed",
        )
        # The district's links in one query: faster than a hundred IN (…) lists of the file's students.
        in_district = Q(student__school__district=self.district)
        existing = {
            (row[1], row[2]): row
            for row in StudentGuardian.objects.filter(in_district).values_list(*fields).iterator(chunk_size=5000)
        }
        memory = {(m.student_id, m.guardian_id): m for m in EndedFamilyLink.objects.filter(in_district)}
        has_primary = {pair[0] for pair, row in existing.items() if row[4]}
        new_rows: list[tuple[Any, ...]] = []
        update: list[StudentGuardian] = []
        for pair, link in sorted(wanted.items()):
            row = existing.get(pair)
            if row is None:
                remembered = memory.get(pair)
                primary = link.primary if link.primary is not None else pair[0] not in has_primary
                has_primary.add(pair[0])
                new_rows.append(
                    (
                        pair[0],
                        pair[1],
                        remembered.relationship
                        if remembered and not link.relationship
                        else link.relationship or "parent",
                        remembered.is_primary_contact if remembered else primary,
                        remembered.lives_with_student if remembered else link.lives_with is not False,
                        (remembered.contact_allowed if remembered else True) and not link.no_contact,
                        (remembered.portal_access_allowed if remembered else True) and not link.no_portal,
                    )
                )
                continue
            stated = link.primary is not None  # Homeroom's own export states every link in full
            values = (
                link.relationship if stated else row[3],
                row[4] if link.primary is None else link.primary,
                row[5] if link.lives_with is None else link.lives_with,
                row[6] and not link.no_contact,
                row[7] and not link.no_portal,
            )
            if values != row[3:]:
                update.append(
                    StudentGuardian(
                        pk=row[0],
                        relationship=values[0],
                        is_primary_contact=values[1],
                        lives_with_student=values[2],
                        contact_allowed=values[3],
                        portal_access_allowed=values[4],
                    )
                )
            else:
                self.summary.add("family_links", "unchanged")
        columns = (
            "student_id",
            "guardian_id",
            "relationship",
            "is_primary_contact",
            "lives_with_student",
            "contact_allowed",
            "portal_access_allowed",
        )
        insert_rows(StudentGuardian, columns, new_rows)
        self.touch(row[0] for row in new_rows)
        updated = {link.pk for link in update}
        self.touch(link_row[1] for link_row in existing.values() if link_row[0] in updated)
        if self.changed_guardians:  # a family's new name, email or phone is a change to each of its children
            self.touch(pair[0] for pair in (*existing, *wanted) if pair[1] in self.changed_guardians)
        StudentGuardian.objects.bulk_update(
            update,
            ["relationship", "is_primary_contact", "lives_with_student", "contact_allowed", "portal_access_allowed"],
            batch_size=BATCH,
        )
        if memory:
            EndedFamilyLink.objects.filter(pk__in=[memory[p].pk for p in wanted if p in memory]).delete()
        self.summary.add("family_links", "created", len(new_rows))
        self.summary.add("family_links", "updated", len(update))
        if self.bulk("family_links"):
            gone = [
                row
                for pair, row in existing.items()
                if pair not in wanted and row[1] in students_in_file and row[2] not in self.kept_guardians
            ]
        else:
            # A guardian the SIS deleted leaves their children; a deleted student keeps their family for a return.
            deleted = {self.guardian_ids.get(k) for k in self.deleted("users")}
            gone = [row for row in existing.values() if row[2] in deleted]
        self.end_links(gone)
        self.touch(row[1] for row in gone)
        self.deactivate_guardians({row[2] for row in gone})

    def end_links(self, rows: list[tuple[Any, ...]]) -> None:
        EndedFamilyLink.objects.bulk_create(
            [
                EndedFamilyLink(
                    student_id=row[1],
                    guardian_id=row[2],
                    relationship=row[3],
                    is_primary_contact=row[4],
                    lives_with_student=row[5],
                    contact_allowed=row[6],
                    portal_access_allowed=row[7],
                )
                for row in rows
            ],
            batch_size=BATCH,
            ignore_conflicts=True,
        )
        for chunk in _chunks([row[0] for row in rows]):
            StudentGuardian.objects.filter(pk__in=chunk).delete()
        self.summary.add("family_links", "deactivated", len(rows))

    def deactivate_guardians(self, unlinked: set[int]) -> None:
        """A guardian whose last child the import unlinked, and whom the file no longer lists, is kept inactive."""
        in_file = {self.guardian_ids[k] for k in self.roster.guardians if k in self.guardian_ids}
        deleted = {self.guardian_ids[k] for k in self.deleted("users") if k in self.guardian_ids}
        candidates = sorted((unlinked - in_file) | deleted)
        linked: set[int] = set()
        for chunk in _chunks(candidates):
            linked.update(StudentGuardian.objects.filter(guardian_id__in=chunk).values_list("guardian_id", flat=True))
        self.deactivate(Guardian, [g for g in candidates if g not in linked], "guardians")

    # --- classes' members ------------------------------------------------------------------------------------

    def write_enrollments(self) -> None:
        self.write_memberships(
            "enrollments",
            Enrollment,
            ("section_id", "student_id"),
            self.roster.enrollments,
            self.student_ids,
            self.deleted("enrollments"),
        )
        through = Section.teachers.through
        self.write_memberships(
            "teaching",
            through,
            ("section_id", "user_id"),
            self.roster.teaching,
            self.teacher_ids,
            self.deleted("teaching"),
        )

    def write_memberships(
        self,
        kind: str,
        model: type[Model],
        columns: tuple[str, str],
        pairs: set[tuple[str, str]],
        member_ids: dict[str, int],
        deleted: set[Any],
    ) -> None:
        sections = self.section_ids
        wanted = {(sections[c], member_ids[m]) for c, m in pairs if c in sections and m in member_ids}
        if self.roster.modes.get(kind) == Mode.BULK:
            in_scope = sorted({sections[c] for c in self.roster.classes if c in sections})
            if self.covered:
                in_scope = sorted(
                    set(in_scope)
                    | set(Section.objects.filter(term__school_id__in=self.covered).values_list("id", flat=True))
                )
        else:
            in_scope = sorted({pair[0] for pair in wanted})
        existing: dict[tuple[int, int], int] = {}
        for chunk in _chunks(in_scope):
            for pk, section_id, member_id in model._default_manager.filter(section_id__in=chunk).values_list(
                "pk", *columns
            ):
                existing[(section_id, member_id)] = pk
        new = sorted(wanted - existing.keys())
        insert_rows(model, columns, new)
        kept = self.kept_students if kind == "enrollments" else self.kept_teachers
        # Skipped rows never end what Homeroom has: their class's members, their member's classes, their pair.
        kept_pairs = {(sections.get(c), member_ids.get(m)) for c, m in self.roster.skipped_pairs}
        if self.roster.modes.get(kind) == Mode.BULK:
            ended = [
                pair
                for pair in existing
                if pair not in wanted
                and pair[1] not in kept
                and pair[0] not in self.kept_sections
                and pair not in kept_pairs
            ]
        else:
            ends = {(sections.get(c), member_ids.get(m)) for c, m in deleted}
            ended = [pair for pair in existing if pair in ends]
        gone = [existing[pair] for pair in ended]
        for chunk in _chunks(gone):
            model._default_manager.filter(pk__in=chunk).delete()
        if kind == "enrollments":
            self.touch(pair[1] for pair in (*new, *ended))
            self.summary.add(kind, "created", len(new))
            self.summary.add(kind, "deactivated", len(gone))
            self.summary.add(kind, "unchanged", len(wanted) - len(new))
