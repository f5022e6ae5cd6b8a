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

What it does with a row it cannot take (docs/import.md): a file it cannot read, a file or column it needs missing,
another format under OneRoster's file names, or a safety limit stops the whole import; a row that refers to
nothing, holds a role or status Homeroom does not know, or shares its sourcedId is skipped with what depends on it
(summed up in one line), and the record Homeroom has for it stays as it is; a bad optional value is dropped with a
notice and the row imported.

Homeroom's own export adds two columns to users.csv, which OneRoster allows as `metadata.*`: a family's language
and, on a guardian's row, what Homeroom knows of each link (relationship, primary contact, lives apart, and the
custody restrictions), so that a round trip loses none of it.
"""

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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
    slash_order,
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
        "username",
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
# Older names (OneRoster 1.0) vendors still send, read when the file lacks the current one.
ALIASES: dict[str, dict[str, str]] = {
    "classes.csv": {"grade": "grades"},
    "users.csv": {"grade": "grades", "agents": "agentSourcedIds", "userid": "identifier", "orgs": "orgSourcedIds"},
    "enrollments.csv": {"userid": "userSourcedId"},
    "demographics.csv": {"usersourcedid": "sourcedId", "userid": "sourcedId"},
}
# Columns the standard defines that Homeroom does not read: never a reason for a notice.
STANDARD = frozenset(
    {
        "datelastmodified",
        "identifier",
        "schoolyear",
        "coursesourcedid",
        "classtype",
        "location",
        "subjects",
        "subjectcodes",
        "periods",
        "resources",
        "usermasteridentifier",
        "userids",
        "middlename",
        "preferredmiddlename",
        "preferredfamilyname",
        "pronouns",
        "password",
        "grades",
        "title",
        "type",
        "begindate",
        "enddate",
        "sex",
        "americanindianoralaskanative",
        "asian",
        "blackorafricanamerican",
        "nativehawaiianorotherpacificislander",
        "white",
        "demographicracetwoormoreraces",
        "hispanicorlatinoethnicity",
        "countryofbirthcode",
        "stateofbirthabbreviation",
        "cityofbirth",
        "publicschoolresidencestatus",
        "userprofilesourcedid",
        "schoolsourcedid",
        "classsourcedid",
        "rolescope",
    }
)
# The kind of record each file's rows are, for the summary's "skipped" column.
KIND_OF_FILE = {
    "orgs.csv": "schools",
    "academicsessions.csv": "terms",
    "classes.csv": "classes",
    "enrollments.csv": "enrollments",
    "demographics.csv": "students",
    "roles.csv": "",
    "users.csv": "",
    "manifest.csv": "",
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


def skip_limits() -> tuple[float, int]:
    """More than this share of a file's rows and more than this many rows skipped: the import stops."""
    return (
        settings.HOMEROOM_IMPORT_SKIP_STOP_SHARE,
        settings.HOMEROOM_IMPORT_SKIP_STOP_ROWS,
    )


class SkipRow(Exception):
    """The row in hand cannot be imported: the reader leaves it out, says why, and keeps the record it names."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


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
        self.skipped: set[str] = set()  # users' rows left out: what refers to them is left out too
        self.skipped_classes: set[str] = set()
        self.skipped_schools: set[str] = set()
        self.skipped_terms: set[str] = set()
        self.deleted_classes: set[str] = set()
        # Orgs of another type than district or school: the schools of a set whose orgs have no school type.
        self.other_orgs: dict[str, OrgRecord] = {}
        self.schools_by_reference = False
        self.rows_read: Counter[str] = Counter()
        # What depends on a skipped row, summed up per skipped record: (file, what, parent kind, parent id) -> n.
        self.dependants: Counter[tuple[str, str, str, str]] = Counter()
        self.duplicated: dict[str, dict[str, int]] = defaultdict(dict)
        self.teachers_without_email: list[str] = []

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
                aliases=ALIASES.get(name),
                standard=STANDARD,
                tally=(self.rows_read, name),
            )

    def problem(self, file: str, row: Row | int, column: str, message: str) -> None:
        """A row's problem skips the row (SkipRow, caught by the file's loop); a file's stops the import."""
        if isinstance(row, Row):
            raise SkipRow(column, message)
        self.report.add(self.files.display_name(file), row, column, message)

    def skip_row(self, file: str, row: Row, error: SkipRow, kind: str) -> None:
        self.report.skip(self.files.display_name(file), abs(row.line), error.column, error.message, kind=kind)
        key = row.get("sourcedId")
        if not key:
            return
        if file == "users.csv":
            self.skipped.add(key)
            self.roster.skipped.setdefault("users", set()).add(key)
        elif file == "classes.csv":
            self.skipped_classes.add(key)
            self.roster.skipped.setdefault("classes", set()).add(key)
        elif file == "orgs.csv":
            self.skipped_schools.add(key)
        elif file == "academicsessions.csv":
            self.skipped_terms.add(key)

    def value(self, file: str, row: Row, column: str, parse: Callable[[str], T]) -> T | None:
        """A value the row needs: a bad one skips the row."""
        try:
            return parse(row.get(column))
        except BadValue as error:
            self.problem(file, row, column, str(error))
            return None

    def optional(self, file: str, row: Row, column: str, parse: Callable[[str], T]) -> T | None:
        """A value the row may go without: a bad one is dropped, with a notice, and the row imported."""
        try:
            return parse(row.get(column))
        except BadValue as error:
            self.report.value_left_out(self.files.display_name(file), row.line, column, str(error))
            return None

    def live_rows(self, name: str, kind: str = "") -> Iterator[Row]:
        """Rows to import: a sourcedId once each (one that appears twice skips both rows); rows marked tobedeleted
        (or inactive, the older word) go to the set's deletions instead."""
        seen: dict[str, int] = {}
        duplicated = self.duplicated[name]
        kind = kind or KIND_OF_FILE.get(name, "")
        keyed = "sourcedId" in REQUIRED[name]
        for row in self.rows(name):
            try:
                if row.refused:
                    column, reason = row.refused[0]
                    raise SkipRow(column, reason)
                values = row.values
                key = values.get("sourcedId", "")
                if keyed:
                    if not key:
                        self.problem(name, row, "sourcedId", _("Every row needs a sourcedId."))
                    if key in seen:
                        duplicated.setdefault(key, seen[key])
                        self.problem(
                            name,
                            row,
                            "sourcedId",
                            _("%(id)s is also on line %(line)d: neither row was imported.")
                            % {"id": key, "line": seen[key]},
                        )
                    seen[key] = row.line
                status = values.get("status", "").lower()
                if status in ("tobedeleted", "inactive"):
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
            except SkipRow as error:
                self.skip_row(name, row, error, self.kind_of_user(row) if name == "users.csv" else kind)

    def forget_duplicates(self, name: str, records: dict[str, Any]) -> None:
        """The first of two rows with one sourcedId, read before the second came: left out too."""
        for key, line in self.duplicated[name].items():
            records.pop(key, None)
            row = Row(line, {"sourcedId": key})
            self.skip_row(
                name,
                row,
                SkipRow(
                    "sourcedId", _("%(id)s appears again later in the file: neither row was imported.") % {"id": key}
                ),
                KIND_OF_FILE.get(name, ""),
            )

    def kind_of_user(self, row: Row) -> str:
        role = row.get("role").lower()
        if role == STUDENT:
            return "students"
        if role == TEACHER:
            return "teachers"
        return "guardians" if role in GUARDIAN_ROLES else ""

    def email(self, file: str, row: Row) -> str:
        email = row.get("email")
        if email in self.valid_emails:
            return email
        return self.optional(file, row, "email", parse_email) or ""

    def text(self, file: str, row: Row, column: str, *, max_length: int, required: bool = True) -> str:
        value = row.get(column)
        if required and not value:
            self.problem(file, row, column, _("This field is empty."))
        elif len(value) > max_length:
            self.problem(file, row, column, _("This is longer than %(limit)d characters.") % {"limit": max_length})
        return value

    def delete(self, kind: str, key: object) -> None:
        self.roster.to_delete.setdefault(kind, set()).add(key)

    def depends(self, file: str, what: str, parent: str, parent_id: str) -> None:
        self.dependants[(file, what, parent, parent_id)] += 1

    def is_school(self, org: str) -> bool:
        if org in self.roster.schools or org in self.known.schools:
            return True
        if self.schools_by_reference and org in self.other_orgs:
            self.roster.schools[org] = self.other_orgs.pop(org)  # a set without school orgs: the orgs named
            return True
        return False

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
        steps: list[Callable[[], None]] = [
            self.read_sessions,
            self.read_orgs,
            self.read_classes,
            self.check_schools,
            self.read_demographics,
            self.read_roles,
            self.read_users,
            self.read_enrollments,
            self.fill_teachers_schools,
            self.fill_students_grades,
        ]
        for step in steps:
            if not self.report.ok:  # one message for what stops the import, not the rows that follow from it
                return self.roster
            step()
        self.say_dependants()
        self.check_limits()
        return self.roster

    def read_manifest(self) -> None:
        self.manifest_read = True
        present = [name for name in MANIFEST_KEYS if name in self.files]
        if "manifest.csv" not in self.files:
            self.report.notice(_("No manifest.csv: every file in the set was read as a bulk file."))
            self.file_modes = dict.fromkeys(present, Mode.BULK)
            return
        properties = {row.get("propertyName"): (row.get("value"), row.line) for row in self.rows("manifest.csv")}
        if not self.report.ok:
            return
        self.version, line = properties.get("oneroster.version", ("", 0))
        self.written_by_homeroom = properties.get("source.systemCode", ("", 0))[0] == HOMEROOM_SYSTEM_CODE
        if self.version not in VERSIONS:
            self.problem(
                "manifest.csv",
                line,
                "value",
                _("oneroster.version is “%(value)s”; Homeroom reads versions 1.1 and 1.2.") % {"value": self.version},
            )
            return
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
            try:
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
                            row.line,
                            "type",
                            _("A second district: one import holds one district (the first is on line %(line)d).")
                            % {"line": self.roster.district.line},
                        )
                    self.roster.district = record
                elif kind == "school":
                    self.roster.schools[record.sourced_id] = record
                else:
                    self.other_orgs[record.sourced_id] = record
            except SkipRow as error:
                self.skip_row(file, row, error, "schools")
        self.forget_duplicates(file, self.roster.schools)
        if not self.roster.schools and self.other_orgs and not self.known.schools:
            self.schools_by_reference = True
            self.report.notice(
                _("orgs.csv has no org of type school: the orgs that classes and users name are imported as schools.")
            )

    def read_sessions(self) -> None:
        """Each academic session's school year: the session at the top of its parents."""
        file = "academicsessions.csv"
        parents: dict[str, str] = {}
        rows = list(self.live_rows(file))  # a few dozen: read twice, for the order of slash dates
        order = slash_order(row.get(column) for row in rows for column in ("startDate", "endDate"))
        for row in rows:
            try:
                if row.line < 0:
                    continue  # a term's end is in its dates; Homeroom keeps past terms
                sourced_id = row.get("sourcedId")
                parents[sourced_id] = row.get("parentSourcedId")
                name = self.text(file, row, "title", max_length=100)
                starts_on = self.value(file, row, "startDate", lambda text: parse_date(text, order))
                ends_on = self.value(file, row, "endDate", lambda text: parse_date(text, order))
                if not starts_on:
                    self.problem(file, row, "startDate", _("This field is empty."))
                if not ends_on:
                    self.problem(file, row, "endDate", _("This field is empty."))
                if starts_on and ends_on and ends_on <= starts_on:
                    self.problem(file, row, "endDate", _("The session ends before it starts."))
                if starts_on and ends_on:
                    self.roster.terms[sourced_id] = TermRecord(sourced_id, name, starts_on, ends_on, row.line)
            except SkipRow as error:
                self.skip_row(file, row, error, "terms")
        self.forget_duplicates(file, self.roster.terms)
        if file in self.files:
            self.roster.modes["terms"] = self.mode_of(file)
        school_year: dict[str, str] = {}
        for sourced_id in parents:
            top, seen = sourced_id, {sourced_id}
            while parents.get(top) and parents[top] in parents and parents[top] not in seen:
                top = parents[top]
                seen.add(top)
            school_year[sourced_id] = top
        self.school_year = school_year

    def read_classes(self) -> None:
        file = "classes.csv"
        school_year = self.school_year
        if file in self.files:
            self.roster.modes["classes"] = self.mode_of(file)
        for row in self.live_rows(file):
            sourced_id = row.get("sourcedId")
            if row.line < 0:
                self.delete("classes", sourced_id)
                self.deleted_classes.add(sourced_id)
                continue
            try:
                school = row.get("schoolSourcedId")
                terms = parse_list(row.get("termSourcedIds"))
                term = school_year.get(terms[0], terms[0]) if terms else ""
                if school in self.skipped_schools or (terms and terms[0] in self.skipped_terms):
                    parent = ("school", school) if school in self.skipped_schools else ("session", terms[0])
                    self.depends(file, "classes", *parent)
                    self.skipped_classes.add(sourced_id)
                    self.roster.skipped.setdefault("classes", set()).add(sourced_id)
                    continue
                if not self.is_school(school):
                    self.problem(
                        file,
                        row,
                        "schoolSourcedId",
                        _("No school in orgs.csv has the sourcedId %(id)s.") % {"id": school},
                    )
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
                grade = self.optional(file, row, "grades", parse_grades)
                self.roster.classes[sourced_id] = ClassRecord(sourced_id, name, code, grade, school, term, row.line)
            except SkipRow as error:
                self.skip_row(file, row, error, "classes")
        self.forget_duplicates(file, self.roster.classes)

    def read_roles(self) -> None:
        """1.2's roles.csv: each user's (role, org), primary roles first."""
        file = "roles.csv"
        roles: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for row in self.rows(file):
            if row.get("status").lower() in ("tobedeleted", "inactive"):
                continue
            role = row.get("role").lower()
            if row.refused or role not in KNOWN_ROLES:
                reason = row.refused[0] if row.refused else ("role", _unknown_role(row.get("role")))
                self.report.skip(self.files.display_name(file), row.line, reason[0], reason[1])
                continue
            entry = (role, row.get("orgSourcedId"))
            if row.get("roleType").lower() == "primary":
                roles[row.get("userSourcedId")].insert(0, entry)
            else:
                roles[row.get("userSourcedId")].append(entry)
        self.roles_of = roles

    def read_demographics(self) -> None:
        file = "demographics.csv"
        self.roster.birth_dates_given = file in self.files
        # Slash dates wait for the end of the file, which settles their order; the others are read as they come.
        birth_dates: dict[str, object] = {}
        slashed: list[tuple[str, str, int]] = []
        for row in self.live_rows(file):
            key, text = row.values.get("sourcedId", ""), row.values.get("birthDate", "")
            if not text or row.line < 0:
                continue
            if "/" in text:
                slashed.append((key, text, row.line))
                continue
            birth_dates[key] = self.optional(file, row, "birthDate", parse_date)
        order = slash_order(text for _key, text, _line in slashed)
        for key, text, line in slashed:
            row = Row(line, {"birthDate": text})
            birth_dates[key] = self.optional(file, row, "birthDate", lambda value: parse_date(value, order))
        for key in self.duplicated[file]:
            birth_dates.pop(key, None)
        self.birth_dates = birth_dates

    def read_users(self) -> None:
        file = "users.csv"
        roles_of, birth_dates = self.roles_of, self.birth_dates
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
            kind = ""
            try:
                roles = [(role.lower(), org) for role, org in roles_of.get(sourced_id, [])]
                listed_orgs = parse_list(row.get("orgSourcedIds"))  # 1.1; 1.2 puts them in roles.csv
                if row.get("role"):
                    roles.insert(0, (row.get("role").lower(), listed_orgs[0] if listed_orgs else ""))
                names = {role for role, _org in roles}
                kind = "students" if STUDENT in names else "teachers" if TEACHER in names else "guardians"
                if not roles:
                    self.problem(file, row, "role", _("This user has no role: give one here or in roles.csv."))
                unknown = names - KNOWN_ROLES
                if unknown:
                    self.problem(file, row, "role", _unknown_role(", ".join(sorted(unknown))))
                orgs = [org for _role, org in roles] + listed_orgs
                # A teacher teaches at the orgs of their teacher role, not at their own child's school.
                teaching_orgs = [org for role, org in roles if role == TEACHER]
                if row.get("role").lower() == TEACHER:
                    teaching_orgs += listed_orgs
                primary = row.get("primaryOrgSourcedId")
                if primary:
                    orgs.insert(0, primary)
                enabled_text = row.values.get("enabledUser", "").lower()
                if enabled_text in PLAIN_BOOLEANS:
                    enabled: bool | None = enabled_text != "false"
                else:
                    enabled = self.optional(file, row, "enabledUser", parse_enabled)
                person = _User(row, names, orgs, enabled is not False, teaching_orgs)
                if STUDENT in names:
                    self.read_student(person, birth_dates.get(sourced_id))
                if names & GUARDIAN_ROLES.keys():
                    self.read_guardian(person)
                if TEACHER in names:
                    self.read_teacher(person)
                kinds[sourced_id] = names
                agents.extend((sourced_id, agent, row.line) for agent in parse_list(row.get("agentSourcedIds")))
            except SkipRow as error:
                for records in (self.roster.students, self.roster.guardians, self.roster.teachers):
                    records.pop(sourced_id, None)
                self.skip_row(file, row, error, kind)
        for key in self.duplicated[file]:
            for records in (self.roster.students, self.roster.guardians, self.roster.teachers):
                records.pop(key, None)
        self.forget_duplicates(file, {})
        self.roles_of, self.birth_dates = {}, {}  # 140,000 users' roles: not kept while the roster is written
        self.link_agents(agents, kinds)
        if self.report.skipped_kinds["students"] and not self.roster.students and self.mode_of(file) == Mode.BULK:
            self.problem(
                file,
                0,
                "",
                _("Every student in this file would be skipped: it is probably not the file the school meant to send."),
            )

    def names_of(self, file: str, row: Row) -> tuple[str, str]:
        return (
            self.text(file, row, "givenName", max_length=100),
            self.text(file, row, "familyName", max_length=100),
        )

    def school_of(self, person: _User) -> str:
        for org in person.orgs:
            if self.is_school(org):
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
            skipped = next((org for org in person.orgs if org in self.skipped_schools), "")
            if skipped:
                self.problem(
                    file, row, "orgSourcedIds", _("This student's school %(id)s was skipped.") % {"id": skipped}
                )
            self.problem(file, row, "orgSourcedIds", _("This student belongs to no school in orgs.csv."))
        grade = self.optional(file, row, "grades", parse_grades)
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
        email = self.email(file, row)
        phone_column = "sms" if row.get("sms") else "phone"
        phone = row.get(phone_column)
        if phone not in self.valid_phones:  # parsing a number costs 0.1 ms: a re-import reads stored ones as they are
            phone = self.optional(file, row, phone_column, parse_phone) or ""
        language = row.get(LANGUAGE_COLUMN).lower()
        if language and language not in FAMILY_LANGUAGE_CODES:
            self.optional(file, row, LANGUAGE_COLUMN, _not_a_language)
            language = ""
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
                self.report.skip(
                    self.files.display_name("users.csv"),
                    row.line,
                    LINKS_COLUMN,
                    _("“%(value)s” is not a link Homeroom wrote.") % {"value": item},
                    kind="family_links",
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
        email = self.email(file, row)
        if not email and "@" in row.get("username"):
            email = self.optional(file, row, "username", parse_email) or ""
        schools = [org for org in dict.fromkeys(person.teaching_orgs) if self.is_school(org)]
        self.roster.teachers[row.get("sourcedId")] = TeacherRecord(
            row.get("sourcedId"),
            first_name,
            last_name,
            email,
            schools,
            row.line,
            person.enabled,
        )

    def link_agents(self, agents: list[tuple[str, str, int]], kinds: dict[str, set[str]]) -> None:
        """agentSourcedIds from either side become one link per student and guardian."""
        students, guardians = self.roster.students, self.roster.guardians
        file = self.files.display_name("users.csv")
        for user, agent, line in agents:
            if agent in self.skipped or user in self.skipped:
                continue
            if user in students and (agent in guardians or agent in self.known.guardians):
                pair = (user, agent)
            elif user in guardians and (agent in students or agent in self.known.students):
                pair = (agent, user)
            elif agent not in kinds and agent not in self.known.guardians and agent not in self.known.students:
                self.report.skip(
                    file,
                    line,
                    "agentSourcedIds",
                    _("No user has the sourcedId %(id)s: this link was not imported.") % {"id": agent},
                    kind="family_links",
                )
                continue
            else:
                self.report.skip(
                    file,
                    line,
                    "agentSourcedIds",
                    _("%(id)s is not a student linked to a parent, guardian or relative: this link was not imported.")
                    % {"id": agent},
                    kind="family_links",
                )
                continue
            self.roster.links.setdefault(pair, LinkRecord())
        for pair in [pair for pair in self.roster.links if pair[0] in self.skipped or pair[1] in self.skipped]:
            del self.roster.links[pair]
        for pair in [pair for pair in self.roster.links if pair[0] not in students]:
            student, guardian = pair
            if student not in self.known.students:
                del self.roster.links[pair]
                self.report.skip(
                    file,
                    guardians[guardian].line,
                    LINKS_COLUMN,
                    _("No student has the sourcedId %(id)s: this link was not imported.") % {"id": student},
                    kind="family_links",
                )

    def read_enrollments(self) -> None:
        file = "enrollments.csv"
        if file in self.files:
            self.roster.modes["enrollments"] = self.mode_of(file)
        classes, students, teachers = self.roster.classes, self.roster.students, self.roster.teachers
        known = self.known
        skipped_pairs = self.roster.skipped_pairs
        for row in self.live_rows(file):
            values = row.values
            class_id, user_id = values.get("classSourcedId", ""), values.get("userSourcedId", "")
            role = values.get("role", "").lower()
            try:
                if role not in (STUDENT, TEACHER):
                    if role not in KNOWN_ROLES:
                        self.problem(file, row, "role", _unknown_role(row.get("role")))
                    continue
                if row.line < 0:
                    self.delete("enrollments" if role == STUDENT else "teaching", (class_id, user_id))
                    continue
                if class_id in self.deleted_classes:
                    continue  # a class the SIS deleted: its enrollments go with it, quietly
                if user_id in self.skipped or class_id in self.skipped_classes:
                    skipped_pairs.add((class_id, user_id))
                    if class_id in self.skipped_classes:
                        self.depends(file, "enrollments", "class", class_id)
                    else:
                        self.depends(file, "enrollments", "user", user_id)
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
                if values.get("primary", "").lower() not in PLAIN_BOOLEANS:
                    self.optional(file, row, "primary", parse_primary)
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
                    self.roster.enrollments.add((class_id, user_id))
                else:
                    if user_id not in teachers and user_id not in known.teachers:
                        self.problem(
                            file,
                            row,
                            "userSourcedId",
                            _("No teacher in users.csv has the sourcedId %(id)s.") % {"id": user_id},
                        )
                    self.roster.teaching.add((class_id, user_id))
            except SkipRow as error:
                skipped_pairs.add((class_id, user_id))
                self.skip_row(file, row, error, "enrollments")
        if file in self.files:
            self.roster.modes["teaching"] = self.mode_of(file)

    def fill_teachers_schools(self) -> None:
        """A teacher listed at the district only teaches at the schools of their classes; one at no school is
        skipped, with their classes' teaching."""
        for class_id, teacher_id in self.roster.teaching:
            teacher = self.roster.teachers.get(teacher_id)
            school = self.roster.classes[class_id].school if class_id in self.roster.classes else ""
            if teacher and school and school not in teacher.schools:
                teacher.schools.append(school)
        file = self.files.display_name("users.csv")
        for key, teacher in list(self.roster.teachers.items()):
            if not teacher.schools:
                del self.roster.teachers[key]
                self.skipped.add(key)
                self.roster.skipped.setdefault("users", set()).add(key)
                self.report.skip(
                    file,
                    teacher.line,
                    "orgSourcedIds",
                    _("This teacher belongs to no school in orgs.csv."),
                    kind="teachers",
                )
        for pair in [pair for pair in self.roster.teaching if pair[1] in self.skipped]:
            self.roster.teaching.discard(pair)
            self.roster.skipped_pairs.add(pair)
        for teacher in self.roster.teachers.values():
            if not teacher.email:
                self.teachers_without_email.append(f"{teacher.first_name} {teacher.last_name}".strip())

    def fill_students_grades(self) -> None:
        """A student without grades takes the lowest grade of their classes; with no graded class, it stays
        unknown."""
        ungraded = {key for key, student in self.roster.students.items() if student.grade is None}
        if not ungraded:
            return
        grades: dict[str, Counter[int]] = defaultdict(Counter)
        for class_id, student_id in self.roster.enrollments:
            klass = self.roster.classes.get(class_id)
            if student_id in ungraded and klass is not None and klass.grade is not None:
                grades[student_id][klass.grade] += 1
        unknown = 0
        for key in ungraded:
            if grades[key]:
                self.roster.students[key].grade = grades[key].most_common(1)[0][0]
            else:
                unknown += 1
        if unknown:
            self.report.notice(
                ngettext(
                    "%(count)d student has no grade in the file, nor a class with one: imported with the grade "
                    "unknown.",
                    "%(count)d students have no grade in the file, nor a class with one: imported with the grade "
                    "unknown.",
                    unknown,
                )
                % {"count": unknown}
            )

    def say_dependants(self) -> None:
        """What depends on a skipped row, in one line per skipped record."""
        for (file, what, parent, parent_id), count in sorted(self.dependants.items()):
            if what == "classes":
                message = ngettext(
                    "%(count)d class of the skipped %(parent)s %(id)s was not imported.",
                    "%(count)d classes of the skipped %(parent)s %(id)s were not imported.",
                    count,
                )
            else:
                message = ngettext(
                    "%(count)d enrollment of the skipped %(parent)s %(id)s was not imported.",
                    "%(count)d enrollments of the skipped %(parent)s %(id)s were not imported.",
                    count,
                )
            parents = {"school": _("school"), "session": _("session"), "class": _("class"), "user": _("user")}
            self.report.skip(
                self.files.display_name(file),
                0,
                "",
                message % {"count": count, "parent": parents[parent], "id": parent_id},
                kind=what,
                count=count,
                own=False,
            )

    def check_schools(self) -> None:
        """No school anywhere in the set (and none in Homeroom for a delta): one message, not a row each."""
        if self.schools_by_reference and not self.roster.schools:
            return  # users may still name the orgs that are its schools: check_limits says it at the end
        if not self.roster.schools and not self.known.schools:
            self.problem("orgs.csv", 0, "", _("The set holds no school: add the schools to orgs.csv."))

    def check_limits(self) -> None:
        """What stops an import after every row was read: no school at all, an empty bulk file of users or
        enrollments, or more rows skipped than a file that is what the school meant to send would have."""
        if not self.roster.schools and not self.known.schools:
            self.problem("orgs.csv", 0, "", _("The set holds no school: add the schools to orgs.csv."))
            return
        for name in ("users.csv", "enrollments.csv"):
            if name in self.files and self.mode_of(name) == Mode.BULK and not self.rows_read[name]:
                self.problem(
                    name,
                    0,
                    "",
                    _(
                        "This bulk file has no rows: importing it would remove everyone it lists from Homeroom. "
                        "Nothing was imported; export the file again."
                    ),
                )
        share, floor = skip_limits()
        for name, rows in self.rows_read.items():
            skipped = self.report.skipped_rows[self.files.display_name(name).lower()]
            if skipped > floor and skipped > share * rows:
                self.problem(
                    name,
                    0,
                    "",
                    _(
                        "%(skipped)d of its %(rows)d rows would be skipped, too many to import the rest: the file is "
                        "probably not the one the school meant to send."
                    )
                    % {"skipped": skipped, "rows": rows},
                )


PLAIN_BOOLEANS = frozenset({"", "true", "false"})  # what nearly every row holds: nothing to parse


def parse_primary(text: str) -> bool:
    return parse_bool(text, default=False)


def parse_enabled(text: str) -> bool:
    return parse_bool(text, default=True)


def _not_a_language(text: str) -> str:
    raise BadValue(_("“%(value)s” is not a language Homeroom offers.") % {"value": text.lower()})


def _unknown_role(role: str) -> str:
    return _("“%(value)s” is not a OneRoster role (student, teacher, parent, guardian, relative…).") % {"value": role}
