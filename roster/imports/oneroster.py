"""OneRoster 1.1 and 1.2 CSV, read into a RosterSet: every row checked, every problem reported, nothing written.

What Homeroom takes from each file (docs/import.md says it for people):

- orgs.csv: the district and its schools (other org types are ignored).
- academicSessions.csv: each class belongs to the school year above its term or semester, which becomes the
  school's term in Homeroom: a teacher's year-long and semester classes are then all "current" together.
- classes.csv: classes, their school and term, their code and lowest grade.
- users.csv (+ roles.csv in 1.2): students, guardians (parent, guardian, relative) and teachers. Passwords are never
  read. Guardians are linked by agentSourcedIds on the student's row, the guardian's row or both.
- enrollments.csv: students in classes, and who teaches each class.
- demographics.csv: students' birth dates.

Homeroom's own export adds two columns to users.csv, which OneRoster allows as `metadata.*`: a family's language
and, on a guardian's row, what Homeroom knows of each link (relationship, primary contact, lives apart, and the
custody restrictions), so that a round trip loses none of it.
"""

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from django.utils.translation import gettext as _

from roster.imports.files import CsvFiles, Row, read_rows
from roster.imports.records import (
    ClassRecord,
    GuardianRecord,
    LinkRecord,
    Mode,
    OrgRecord,
    RosterSet,
    StudentRecord,
    TeacherRecord,
    TermRecord,
)
from roster.imports.report import Report
from roster.imports.values import (
    BadValue,
    parse_bool,
    parse_date,
    parse_email,
    parse_grades,
    parse_list,
    parse_phone,
)
from roster.languages import FAMILY_LANGUAGE_CODES
from roster.models import Relationship

T = TypeVar("T")
LANGUAGE_COLUMN = "metadata.homeroom.language"
LINKS_COLUMN = "metadata.homeroom.links"

COLUMNS: dict[str, tuple[str, ...]] = {
    "manifest.csv": ("propertyName", "value"),
    "orgs.csv": ("sourcedId", "status", "name", "type", "parentSourcedId"),
    "academicsessions.csv": ("sourcedId", "status", "title", "type", "startDate", "endDate", "parentSourcedId"),
    "classes.csv": ("sourcedId", "status", "title", "grades", "classCode", "schoolSourcedId", "termSourcedIds"),
    "users.csv": (
        "sourcedId",
        "status",
        "enabledUser",
        "orgSourcedIds",
        "primaryOrgSourcedId",
        "role",
        "givenName",
        "familyName",
        "preferredFirstName",
        "preferredGivenName",
        "identifier",
        "email",
        "sms",
        "phone",
        "agentSourcedIds",
        "grades",
        LANGUAGE_COLUMN,
        LINKS_COLUMN,
    ),
    "roles.csv": ("sourcedId", "status", "userSourcedId", "roleType", "role", "orgSourcedId"),
    "enrollments.csv": ("sourcedId", "status", "classSourcedId", "userSourcedId", "role", "primary"),
    "demographics.csv": ("sourcedId", "status", "birthDate"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "manifest.csv": ("propertyName", "value"),
    "orgs.csv": ("sourcedId", "name", "type"),
    "academicsessions.csv": ("sourcedId", "title", "startDate", "endDate"),
    "classes.csv": ("sourcedId", "title", "schoolSourcedId", "termSourcedIds"),
    "users.csv": ("sourcedId", "givenName", "familyName"),
    "roles.csv": ("userSourcedId", "role", "orgSourcedId"),
    "enrollments.csv": ("classSourcedId", "userSourcedId", "role"),
    "demographics.csv": ("sourcedId",),
}
# The manifest's name for each file, and the kind of record it carries.
MANIFEST_KEYS = {
    "orgs.csv": "file.orgs",
    "academicsessions.csv": "file.academicSessions",
    "classes.csv": "file.classes",
    "users.csv": "file.users",
    "roles.csv": "file.roles",
    "enrollments.csv": "file.enrollments",
    "demographics.csv": "file.demographics",
}
VERSIONS = ("1.1", "1.2")

STUDENT = "student"
TEACHER = "teacher"
GUARDIAN_ROLES = {"parent": Relationship.PARENT, "guardian": Relationship.GUARDIAN, "relative": Relationship.OTHER}
# Roles OneRoster knows that Homeroom does not import: leaders and support staff are set up in Homeroom.
OTHER_ROLES = frozenset(
    {
        "administrator",
        "aide",
        "proctor",
        "counselor",
        "districtadministrator",
        "principal",
        "siteadministrator",
        "systemadministrator",
    }
)
KNOWN_ROLES = frozenset({STUDENT, TEACHER, *GUARDIAN_ROLES, *OTHER_ROLES})
LINK_FLAGS = frozenset({"primary", "apart", "nocontact", "noportal"})
# People's names: one with a line break or another control character leaves its row out, the rest is imported.
NAMES = {"users.csv": frozenset({"givenName", "familyName", "preferredFirstName", "preferredGivenName"})}
HOMEROOM_SYSTEM_CODE = "homeroom"  # source.systemCode in the manifest of Homeroom's own export


@dataclass
class KnownKeys:
    """sourcedIds already in Homeroom, which a delta file may refer to without repeating."""

    schools: set[str] = field(default_factory=set)
    terms: set[str] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)
    students: set[str] = field(default_factory=set)
    guardians: set[str] = field(default_factory=set)
    teachers: set[str] = field(default_factory=set)


@dataclass
class _User:
    """What users.csv says of a person before their roles sort them into students, guardians and teachers."""

    row: Row
    roles: set[str]
    orgs: list[str]
    enabled: bool
    teaching_orgs: list[str]


class OneRosterReader:
    def __init__(
        self,
        files: CsvFiles,
        report: Report,
        known: KnownKeys | None = None,
        valid_phones: frozenset[str] = frozenset(),
        valid_emails: frozenset[str] = frozenset(),
    ) -> None:
        self.files = files
        self.report = report
        self.known = known or KnownKeys()
        # Numbers and addresses Homeroom holds were checked when stored: a re-import need not parse them again
        # (a phone number costs 0.1 ms, an email address 20 µs).
        self.valid_phones = valid_phones
        self.valid_emails = valid_emails
        self.roster = RosterSet()
        self.file_modes: dict[str, Mode] = {}
        self.manifest_read = False
        self.version = ""
        # Homeroom's own export (its manifest's source.systemCode): cells are read back as they were exported.
        self.written_by_homeroom = False
        self.skipped: set[str] = set()  # users' rows left out: what refers to them is left out too, unreported

    # --- the pieces every file shares -------------------------------------------------------------------------

    def rows(self, name: str) -> Iterator[Row]:
        if name not in self.files:
            return
        columns = {column.lower(): column for column in COLUMNS[name]}
        with self.files.open(name) as stream:
            yield from read_rows(
                stream,
                file=self.files.display_name(name),
                columns=columns,
                required=REQUIRED[name],
                report=self.report,
                written_by_homeroom=self.written_by_homeroom and name != "manifest.csv",
                names=NAMES.get(name, frozenset()),
            )

    def problem(self, file: str, row: Row | int, column: str, message: str) -> None:
        self.report.add(self.files.display_name(file), row if isinstance(row, int) else row.line, column, message)

    def value(self, file: str, row: Row, column: str, parse: Callable[[str], T]) -> T | None:
        try:
            return parse(row.get(column))
        except BadValue as error:
            self.problem(file, row, column, str(error))
            return None

    def live_rows(self, name: str) -> Iterator[Row]:
        """Rows to import: a sourcedId once each; rows marked tobedeleted go to the set's deletions instead."""
        seen: dict[str, int] = {}
        for row in self.rows(name):
            key = row.get("sourcedId")
            if "sourcedId" in REQUIRED[name]:
                if not key:
                    self.problem(name, row, "sourcedId", _("Every row needs a sourcedId."))
                    continue
                if key in seen:
                    self.problem(
                        name,
                        row,
                        "sourcedId",
                        _("%(id)s is already on line %(line)d.") % {"id": key, "line": seen[key]},
                    )
                    continue
                seen[key] = row.line
            status = row.get("status").lower()
            if status == "tobedeleted":
                yield row.deleted()
            elif status in ("", "active"):
                yield row
            else:
                self.problem(
                    name,
                    row,
                    "status",
                    _("“%(value)s” should be active or tobedeleted.") % {"value": row.get("status")},
                )

    def email(self, row: Row) -> str:
        email = row.get("email")
        if email in self.valid_emails:
            return email
        return self.value("users.csv", row, "email", parse_email) or ""

    def text(self, file: str, row: Row, column: str, *, max_length: int, required: bool = True) -> str:
        value = row.get(column)
        if required and not value:
            self.problem(file, row, column, _("This field is empty."))
        elif len(value) > max_length:
            self.problem(file, row, column, _("This is longer than %(limit)d characters.") % {"limit": max_length})
        return value

    def delete(self, kind: str, key: object) -> None:
        self.roster.to_delete.setdefault(kind, set()).add(key)

    # --- the files, in the order their references need -------------------------------------------------------

    def read(self) -> RosterSet:
        if not self.manifest_read:
            self.read_manifest()
        if not self.report.ok:
            return self.roster
        if Mode.DELTA not in self.file_modes.values():
            for name in ("orgs.csv", "users.csv"):
                if name not in self.files:
                    self.problem(name, 0, "", _("A OneRoster set needs this file."))
        sessions = self.read_sessions()
        self.read_orgs()
        self.read_classes(sessions)
        birth_dates = self.read_demographics()
        self.read_users(self.read_roles(), birth_dates)
        self.read_enrollments()
        self.fill_teachers_schools()
        return self.roster

    def read_manifest(self) -> None:
        self.manifest_read = True
        present = [name for name in MANIFEST_KEYS if name in self.files]
        if "manifest.csv" not in self.files:
            self.report.notice(_("No manifest.csv: every file in the set was read as a bulk file."))
            self.file_modes = dict.fromkeys(present, Mode.BULK)
            return
        properties = {row.get("propertyName"): (row.get("value"), row.line) for row in self.rows("manifest.csv")}
        self.version, line = properties.get("oneroster.version", ("", 0))
        self.written_by_homeroom = properties.get("source.systemCode", ("", 0))[0] == HOMEROOM_SYSTEM_CODE
        if self.version not in VERSIONS:
            self.problem(
                "manifest.csv",
                line,
                "value",
                _("oneroster.version is “%(value)s”; Homeroom reads versions 1.1 and 1.2.") % {"value": self.version},
            )
        for name, key in MANIFEST_KEYS.items():
            mode, line = properties.get(key, ("", 0))
            mode = mode.lower()
            if mode in (Mode.BULK, Mode.DELTA):
                if name in self.files:
                    self.file_modes[name] = Mode(mode)
                else:
                    self.problem(
                        name,
                        0,
                        "",
                        _("The manifest lists this file as %(mode)s, but it is not in the set.") % {"mode": mode},
                    )
            elif mode not in ("", "absent"):
                self.problem(
                    "manifest.csv",
                    line,
                    "value",
                    _("%(key)s is “%(value)s”; it should be bulk, delta or absent.") % {"key": key, "value": mode},
                )
            elif name in self.files:
                self.report.notice(
                    _("%(name)s is in the set but the manifest says it is absent: it was not read.") % {"name": name}
                )
        for name in self.files.names():
            if name not in self.file_modes and name in MANIFEST_KEYS:
                self.files.drop(name)  # the standard: a file the manifest calls absent is not read

    def mode_of(self, name: str) -> Mode:
        return self.file_modes.get(name, Mode.BULK)

    def read_orgs(self) -> None:
        file = "orgs.csv"
        if file in self.files:
            self.roster.modes["schools"] = self.mode_of(file)
        for row in self.live_rows(file):
            if row.line < 0:
                self.delete("schools", row.get("sourcedId"))
                continue
            kind = row.get("type").lower()
            name = self.text(file, row, "name", max_length=200)
            record = OrgRecord(row.get("sourcedId"), name, row.line)
            if kind == "district":
                if self.roster.district:
                    self.problem(
                        file,
                        row,
                        "type",
                        _("A second district: one import holds one district (the first is on line %(line)d).")
                        % {"line": self.roster.district.line},
                    )
                self.roster.district = record
            elif kind == "school":
                self.roster.schools[record.sourced_id] = record

    def read_sessions(self) -> dict[str, str]:
        """Each academic session's school year: the session at the top of its parents."""
        file = "academicsessions.csv"
        parents: dict[str, str] = {}
        for row in self.live_rows(file):
            if row.line < 0:
                continue  # a term's end is in its dates; Homeroom keeps past terms
            sourced_id = row.get("sourcedId")
            starts_on = self.value(file, row, "startDate", parse_date)
            ends_on = self.value(file, row, "endDate", parse_date)
            name = self.text(file, row, "title", max_length=100)
            parents[sourced_id] = row.get("parentSourcedId")
            if not (starts_on and ends_on):
                if row.get("startDate") and row.get("endDate"):
                    continue
                self.problem(file, row, "startDate" if not starts_on else "endDate", _("This field is empty."))
                continue
            if ends_on <= starts_on:
                self.problem(file, row, "endDate", _("The session ends before it starts."))
                continue
            self.roster.terms[sourced_id] = TermRecord(sourced_id, name, starts_on, ends_on, row.line)
        if file in self.files:
            self.roster.modes["terms"] = self.mode_of(file)
        school_year: dict[str, str] = {}
        for sourced_id in parents:
            top, seen = sourced_id, {sourced_id}
            while parents.get(top) and parents[top] in parents and parents[top] not in seen:
                top = parents[top]
                seen.add(top)
            school_year[sourced_id] = top
        return school_year

    def read_classes(self, school_year: dict[str, str]) -> None:
        file = "classes.csv"
        if file in self.files:
            self.roster.modes["classes"] = self.mode_of(file)
        for row in self.live_rows(file):
            sourced_id = row.get("sourcedId")
            if row.line < 0:
                self.delete("classes", sourced_id)
                continue
            school = row.get("schoolSourcedId")
            if school not in self.roster.schools and school not in self.known.schools:
                self.problem(
                    file, row, "schoolSourcedId", _("No school in orgs.csv has the sourcedId %(id)s.") % {"id": school}
                )
            terms = parse_list(row.get("termSourcedIds"))
            term = school_year.get(terms[0], terms[0]) if terms else ""
            if not terms:
                self.problem(file, row, "termSourcedIds", _("This field is empty."))
            elif term not in self.roster.terms and term not in self.known.terms:
                self.problem(
                    file,
                    row,
                    "termSourcedIds",
                    _("No session in academicSessions.csv has the sourcedId %(id)s.") % {"id": terms[0]},
                )
            name = self.text(file, row, "title", max_length=200)
            code = row.get("classCode") or sourced_id
            if len(code) > 64:
                self.problem(file, row, "classCode", _("This is longer than %(limit)d characters.") % {"limit": 64})
            grade = self.value(file, row, "grades", parse_grades)
            self.roster.classes[sourced_id] = ClassRecord(sourced_id, name, code, grade, school, term, row.line)

    def read_roles(self) -> dict[str, list[tuple[str, str]]]:
        """1.2's roles.csv: each user's (role, org), primary roles first."""
        file = "roles.csv"
        roles: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for row in self.rows(file):
            if row.get("status").lower() == "tobedeleted":
                continue
            role = row.get("role").lower()
            if role not in KNOWN_ROLES:
                self.problem(file, row, "role", _unknown_role(row.get("role")))
                continue
            entry = (role, row.get("orgSourcedId"))
            if row.get("roleType").lower() == "primary":
                roles[row.get("userSourcedId")].insert(0, entry)
            else:
                roles[row.get("userSourcedId")].append(entry)
        return roles

    def read_demographics(self) -> dict[str, object]:
        file = "demographics.csv"
        self.roster.birth_dates_given = file in self.files
        return {
            row.get("sourcedId"): self.value(file, row, "birthDate", parse_date)
            for row in self.live_rows(file)
            if row.line > 0 and row.get("birthDate")
        }

    def read_users(self, roles_of: dict[str, list[tuple[str, str]]], birth_dates: dict[str, object]) -> None:
        file = "users.csv"
        if file in self.files:
            mode = self.mode_of(file)
            for kind in ("students", "guardians", "teachers", "family_links"):
                self.roster.modes[kind] = mode
        agents: list[tuple[str, str, int]] = []
        kinds: dict[str, set[str]] = {}
        for row in self.live_rows(file):
            sourced_id = row.get("sourcedId")
            if row.line < 0:
                self.delete("users", sourced_id)
                continue
            if row.refused:
                self.skip(file, row)
                continue
            roles = [(role.lower(), org) for role, org in roles_of.get(sourced_id, [])]
            listed_orgs = parse_list(row.get("orgSourcedIds"))  # 1.1; 1.2 puts them in roles.csv
            if row.get("role"):
                roles.insert(0, (row.get("role").lower(), listed_orgs[0] if listed_orgs else ""))
            if not roles:
                self.problem(file, row, "role", _("This user has no role: give one here or in roles.csv."))
                continue
            names = {role for role, _org in roles}
            unknown = names - KNOWN_ROLES
            if unknown:
                self.problem(file, row, "role", _unknown_role(", ".join(sorted(unknown))))
                continue
            orgs = [org for _role, org in roles] + listed_orgs
            # A teacher teaches at the orgs of their teacher role, not at their own child's school.
            teaching_orgs = [org for role, org in roles if role == TEACHER]
            if row.get("role").lower() == TEACHER:
                teaching_orgs += listed_orgs
            primary = row.get("primaryOrgSourcedId")
            if primary:
                orgs.insert(0, primary)
            enabled = self.value(file, row, "enabledUser", parse_enabled)
            person = _User(row, names, orgs, enabled is not False, teaching_orgs)
            kinds[sourced_id] = names
            if STUDENT in names:
                self.read_student(person, birth_dates.get(sourced_id))
            if names & GUARDIAN_ROLES.keys():
                self.read_guardian(person)
            if TEACHER in names:
                self.read_teacher(person)
            agents.extend((sourced_id, agent, row.line) for agent in parse_list(row.get("agentSourcedIds")))
        self.link_agents(agents, kinds)

    def skip(self, file: str, row: Row) -> None:
        """A user left out: the record Homeroom has for them keeps its classes and family links as they are."""
        for column, reason in row.refused:
            self.report.skip(self.files.display_name(file), row.line, column, reason)
        self.skipped.add(row.get("sourcedId"))
        self.roster.skipped.setdefault("users", set()).add(row.get("sourcedId"))

    def names_of(self, file: str, row: Row) -> tuple[str, str]:
        return (
            self.text(file, row, "givenName", max_length=100),
            self.text(file, row, "familyName", max_length=100),
        )

    def school_of(self, person: _User) -> str:
        for org in person.orgs:
            if org in self.roster.schools or org in self.known.schools:
                return org
        return ""

    def read_student(self, person: _User, birth_date: object) -> None:
        file, row = "users.csv", person.row
        first_name, last_name = self.names_of(file, row)
        number = row.get("identifier") or row.get("sourcedId")
        if len(number) > 64:
            self.problem(file, row, "identifier", _("This is longer than %(limit)d characters.") % {"limit": 64})
        school = self.school_of(person)
        if not school:
            self.problem(file, row, "orgSourcedIds", _("This student belongs to no school in orgs.csv."))
        grade = self.value(file, row, "grades", parse_grades)
        if grade is None and not row.get("grades"):
            self.problem(file, row, "grades", _("A student needs a grade (PK, KG, or 01 to 12)."))
        preferred = row.get("preferredFirstName") or row.get("preferredGivenName")
        self.roster.students[row.get("sourcedId")] = StudentRecord(
            row.get("sourcedId"),
            number,
            first_name,
            last_name,
            preferred[:100],
            grade,
            school,
            row.line,
            birth_date,  # type: ignore[arg-type]
        )

    def read_guardian(self, person: _User) -> None:
        file, row = "users.csv", person.row
        first_name, last_name = self.names_of(file, row)
        email = self.email(row)
        phone_column = "sms" if row.get("sms") else "phone"
        phone = row.get(phone_column)
        if (
            phone not in self.valid_phones
        ):  # parsing a number costs 0.1 ms: a re-import reads the stored ones as they are
            phone = self.value(file, row, phone_column, parse_phone) or ""
        language = row.get(LANGUAGE_COLUMN).lower()
        if language and language not in FAMILY_LANGUAGE_CODES:
            self.problem(
                file, row, LANGUAGE_COLUMN, _("“%(value)s” is not a language Homeroom offers.") % {"value": language}
            )
        role = next(role for role in ("parent", "guardian", "relative") if role in person.roles)
        sourced_id = row.get("sourcedId")
        self.roster.guardians[sourced_id] = GuardianRecord(
            sourced_id,
            first_name,
            last_name,
            email,
            phone,
            language,
            GUARDIAN_ROLES[role],
            row.line,
        )
        for student, link in self.read_links(row):
            self.roster.links[(student, sourced_id)] = link

    def read_links(self, row: Row) -> Iterator[tuple[str, LinkRecord]]:
        """Homeroom's own column: `student=relationship+flag+flag`, comma-separated."""
        for item in parse_list(row.get(LINKS_COLUMN)):
            student, _sep, rest = item.partition("=")
            relationship, *flags = rest.split("+")
            if relationship not in Relationship.values or not set(flags) <= LINK_FLAGS:
                self.problem(
                    "users.csv", row, LINKS_COLUMN, _("“%(value)s” is not a link Homeroom wrote.") % {"value": item}
                )
                continue
            yield (
                student.strip(),
                LinkRecord(
                    relationship=relationship,
                    primary="primary" in flags,
                    lives_with="apart" not in flags,
                    no_contact="nocontact" in flags,
                    no_portal="noportal" in flags,
                ),
            )

    def read_teacher(self, person: _User) -> None:
        file, row = "users.csv", person.row
        first_name, last_name = self.names_of(file, row)
        email = self.email(row)
        if not email and not row.get("email"):
            self.problem(file, row, "email", _("A teacher needs an email address to sign in."))
        schools = [
            org
            for org in dict.fromkeys(person.teaching_orgs)
            if org in self.roster.schools or org in self.known.schools
        ]
        self.roster.teachers[row.get("sourcedId")] = TeacherRecord(
            row.get("sourcedId"),
            first_name,
            last_name,
            email or "",
            schools,
            row.line,
            person.enabled,
        )

    def link_agents(self, agents: list[tuple[str, str, int]], kinds: dict[str, set[str]]) -> None:
        """agentSourcedIds from either side become one link per student and guardian."""
        students, guardians = self.roster.students, self.roster.guardians
        for user, agent, line in agents:
            if agent in self.skipped:
                continue
            if user in students and (agent in guardians or agent in self.known.guardians):
                pair = (user, agent)
            elif user in guardians and (agent in students or agent in self.known.students):
                pair = (agent, user)
            elif agent not in kinds and agent not in self.known.guardians and agent not in self.known.students:
                self.problem(
                    "users.csv", line, "agentSourcedIds", _("No user has the sourcedId %(id)s.") % {"id": agent}
                )
                continue
            else:
                self.problem(
                    "users.csv",
                    line,
                    "agentSourcedIds",
                    _("%(id)s is not a student linked to a parent, guardian or relative.") % {"id": agent},
                )
                continue
            self.roster.links.setdefault(pair, LinkRecord())
        for pair in [pair for pair in self.roster.links if pair[0] in self.skipped]:
            del self.roster.links[pair]
        for student, guardian in self.roster.links:
            if student not in students and student not in self.known.students:
                line = guardians[guardian].line
                self.problem(
                    "users.csv", line, LINKS_COLUMN, _("No student has the sourcedId %(id)s.") % {"id": student}
                )

    def read_enrollments(self) -> None:
        file = "enrollments.csv"
        if file in self.files:
            self.roster.modes["enrollments"] = self.mode_of(file)
        classes, students, teachers = self.roster.classes, self.roster.students, self.roster.teachers
        known = self.known
        for row in self.live_rows(file):
            class_id, user_id, role = row.get("classSourcedId"), row.get("userSourcedId"), row.get("role").lower()
            if role not in (STUDENT, TEACHER):
                if role not in KNOWN_ROLES:
                    self.problem(file, abs(row.line), "role", _unknown_role(row.get("role")))
                continue
            if row.line < 0:
                self.delete("enrollments" if role == STUDENT else "teaching", (class_id, user_id))
                continue
            if user_id in self.skipped:
                continue
            klass = classes.get(class_id)
            if klass is not None:
                class_id = klass.sourced_id  # one string per class, not one per row: 300,000 rows
            elif class_id not in known.classes:
                self.problem(
                    file,
                    row,
                    "classSourcedId",
                    _("No class in classes.csv has the sourcedId %(id)s.") % {"id": class_id},
                )
                continue
            self.value(file, row, "primary", parse_primary)
            if role == STUDENT:
                student = students.get(user_id)
                if student is not None:
                    user_id = student.sourced_id
                elif user_id not in known.students:
                    self.problem(
                        file,
                        row,
                        "userSourcedId",
                        _("No student in users.csv has the sourcedId %(id)s.") % {"id": user_id},
                    )
                    continue
                self.roster.enrollments.add((class_id, user_id))
            else:
                if user_id not in teachers and user_id not in known.teachers:
                    self.problem(
                        file,
                        row,
                        "userSourcedId",
                        _("No teacher in users.csv has the sourcedId %(id)s.") % {"id": user_id},
                    )
                    continue
                self.roster.teaching.add((class_id, user_id))
        if file in self.files:
            self.roster.modes["teaching"] = self.mode_of(file)

    def fill_teachers_schools(self) -> None:
        """A teacher listed at the district only teaches at the schools of their classes."""
        for class_id, teacher_id in self.roster.teaching:
            teacher = self.roster.teachers.get(teacher_id)
            school = self.roster.classes[class_id].school if class_id in self.roster.classes else ""
            if teacher and school and school not in teacher.schools:
                teacher.schools.append(school)
        for teacher in self.roster.teachers.values():
            if not teacher.schools:
                self.problem(
                    "users.csv", teacher.line, "orgSourcedIds", _("This teacher belongs to no school in orgs.csv.")
                )


def parse_primary(text: str) -> bool:
    return parse_bool(text, default=False)


def parse_enabled(text: str) -> bool:
    return parse_bool(text, default=True)


def _unknown_role(role: str) -> str:
    return _("“%(value)s” is not a OneRoster role (student, teacher, parent, guardian, relative…).") % {"value": role}
