"""Homeroom's plain CSV, for schools without OneRoster: one row per student, their class, up to two guardians.

The whole school's roster in one file, imported into one school's current term: a student the file no longer
lists is deactivated, never deleted. Students are matched by their number, classes by their code, guardians by
email among the district's families (else by name among the child's guardians), teachers by email. A family or a
member of staff of another district is never matched: an email of theirs gives a new guardian record, or a teacher
the import refuses.
"""

import io
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from homeroom import spreadsheets
from roster.imports.files import Row, read_rows
from roster.imports.oneroster import skip_limits
from roster.imports.records import (
    ClassRecord,
    GuardianRecord,
    LinkRecord,
    Mode,
    OrgRecord,
    RosterSet,
    StudentRecord,
    TeacherRecord,
)
from roster.imports.report import Report, RosterFileError
from roster.imports.values import BadValue, parse_date, parse_email, parse_grade, parse_phone
from roster.languages import FAMILY_LANGUAGES
from roster.models import Relationship, School

T = TypeVar("T")
FILE = "roster.csv"
GUARDIAN_COLUMNS = ("first_name", "last_name", "relationship", "email", "phone", "language")
COLUMNS = (
    "student_number",
    "first_name",
    "last_name",
    "preferred_name",
    "grade",
    "date_of_birth",
    "class_code",
    "class_name",
    "teacher_email",
    "teacher_name",
    *(f"guardian{n}_{column}" for n in (1, 2) for column in GUARDIAN_COLUMNS),
)
REQUIRED = ("student_number", "first_name", "last_name")
# People's names: one with a line break or another control character leaves its row out, the rest is imported.
NAMES = frozenset(
    {"first_name", "last_name", "preferred_name", "teacher_name"}
    | {f"guardian{n}_{column}" for n in (1, 2) for column in ("first_name", "last_name")}
)
EXAMPLE_ROWS = (
    (
        "10231",
        "Sofía",
        "García",
        "Sofi",
        "3",
        "2017-04-12",
        "3A",
        "Room 3A",
        "ms.lee@school.example.org",
        "Ana Lee",
        "María",
        "García",
        "mother",
        "maria.garcia@example.org",
        "+16175550123",
        "es",
        "José",
        "García",
        "father",
        "",
        "(617) 555-0188",
        "es",
    ),
    ("10232", "Minh", "Nguyễn", "", "KG", "", "K1", "Kindergarten 1", "", "", "Lan", "Trần", "mother", "", "", "vi"),
)


def template_csv() -> str:
    """The downloadable template: the header and two example rows, with a byte-order mark for spreadsheets."""
    out = io.StringIO()
    writer = spreadsheets.writer(out)
    writer.writerow(COLUMNS)
    for row in EXAMPLE_ROWS:
        writer.writerow(row + ("",) * (len(COLUMNS) - len(row)))
    return "\ufeff" + out.getvalue()


def _languages() -> dict[str, str]:
    """Codes and English names ("es", "spanish") to codes."""
    with translation.override("en"):
        names = {str(name).lower(): code for code, name in FAMILY_LANGUAGES}
    return names | {code: code for code, _name in FAMILY_LANGUAGES}


def _relationships() -> dict[str, str]:
    with translation.override("en"):
        labels = {str(label).lower(): value for value, label in Relationship.choices}
    return labels | {value: value for value in Relationship.values}


class SkipRow(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


class PlainCsvReader:
    """The OneRoster reader's rules where they apply: a row that cannot be imported is skipped (its student stays
    as they are), a bad optional value is dropped with a notice, a number twice in the file skips both rows."""

    def __init__(self, path: Path, school: School, report: Report, file_name: str = "") -> None:
        self.path = path
        self.report = report
        self.file = file_name or FILE
        self.roster = RosterSet(sourced=False, school_pk=school.pk, file_name=self.file)
        self.roster.schools[""] = OrgRecord("", school.name, 0)
        for kind in ("students", "guardians", "family_links", "classes", "enrollments", "teaching"):
            self.roster.modes[kind] = Mode.BULK
        self.languages = _languages()
        self.relationships = _relationships()
        self.numbers: dict[str, int] = {}
        self.duplicated: dict[str, int] = {}
        self.rows = 0

    def problem(self, row: Row, column: str, message: str) -> None:
        raise SkipRow(column, message)

    def parsed(self, row: Row, column: str, parse: Callable[[str], T]) -> T | None:
        """An optional value: a bad one is dropped, with a notice, and the row imported."""
        try:
            return parse(row.get(column))
        except BadValue as error:
            self.report.value_left_out(self.file, row.line, column, str(error))
            return None

    def read(self) -> RosterSet:
        if self.path.stat().st_size > settings.HOMEROOM_IMPORT_MAX_BYTES:
            raise RosterFileError(_("The file is larger than the import allows."))
        columns = {column: column for column in COLUMNS}
        with open(self.path, "rb") as stream:
            for row in read_rows(stream, file=self.file, columns=columns, required=REQUIRED, report=self.report):
                self.rows += 1
                try:
                    if row.refused:
                        raise SkipRow(*row.refused[0])
                    self.read_row(row)
                except SkipRow as error:
                    self.skip(row, error)
        self.forget_duplicates()
        if self.report.ok and not self.rows:
            self.report.add(
                self.file,
                0,
                "",
                _(
                    "The file has no rows: importing it would remove every student from the school. Nothing was "
                    "imported; export the file again."
                ),
            )
        share, floor = skip_limits()
        skipped = self.report.skipped_rows[self.file.lower()]
        if (skipped > floor and skipped > share * self.rows) or (self.rows and not self.roster.students):
            self.report.add(
                self.file,
                0,
                "",
                _(
                    "%(skipped)d of its %(rows)d rows would be skipped, too many to import the rest: the file is "
                    "probably not the one the school meant to send."
                )
                % {"skipped": skipped, "rows": self.rows},
            )
        return self.roster

    def skip(self, row: Row, error: SkipRow, line: int = 0) -> None:
        """A row left out: the student Homeroom has under its number keeps their record, classes and family."""
        self.report.skip(self.file, line or row.line, error.column, error.message, kind="students")
        number = row.get("student_number")
        student = self.roster.students.get(number)
        if student is not None and student.line == row.line:  # what the row had put in already goes out again
            del self.roster.students[number]
            self.roster.enrollments = {pair for pair in self.roster.enrollments if pair[1] != number}
            self.roster.links = {pair: link for pair, link in self.roster.links.items() if pair[0] != number}
            self.forget_unlinked_guardians()
        if number:
            self.roster.skipped.setdefault("students", set()).add(number)
            self.numbers.setdefault(number, row.line)

    def forget_unlinked_guardians(self) -> None:
        linked = {guardian for _student, guardian in self.roster.links}
        for key in [key for key in self.roster.guardians if key not in linked]:
            del self.roster.guardians[key]

    def forget_duplicates(self) -> None:
        """The first of two rows with one student number, read before the second came: left out too."""
        for number, line in self.duplicated.items():
            self.roster.students.pop(number, None)
            self.roster.enrollments = {pair for pair in self.roster.enrollments if pair[1] != number}
            self.roster.links = {pair: link for pair, link in self.roster.links.items() if pair[0] != number}
            self.forget_unlinked_guardians()
            message = _("%(number)s appears again later in the file: neither row was imported.") % {"number": number}
            self.skip(Row(line, {"student_number": number}), SkipRow("student_number", message))

    def relationship(self, text: str) -> str:
        relationship = self.relationships.get(text.lower(), "")
        if text and not relationship:
            raise BadValue(
                _(
                    "“%(value)s” is not a relationship Homeroom knows: use mother, father, parent, stepparent, "
                    "grandparent, foster, guardian or other."
                )
                % {"value": text}
            )
        return relationship

    def language(self, text: str) -> str:
        language = self.languages.get(text.lower(), "")
        if text and not language:
            raise BadValue(_("“%(value)s” is not a language Homeroom offers.") % {"value": text})
        return language

    def read_row(self, row: Row) -> None:
        number = row.get("student_number")
        for column in ("student_number", "first_name", "last_name"):
            if not row.get(column):
                self.problem(row, column, _("This field is empty."))
        if number in self.numbers:
            if number in self.roster.students:
                self.duplicated.setdefault(number, self.numbers[number])
            self.problem(
                row,
                "student_number",
                _("%(number)s is also on line %(line)d: neither row was imported.")
                % {"number": number, "line": self.numbers[number]},
            )
        self.numbers[number] = row.line
        for column, limit in (("student_number", 64), ("first_name", 100), ("last_name", 100), ("preferred_name", 100)):
            if len(row.get(column)) > limit:
                self.problem(row, column, _("This is longer than %(limit)d characters.") % {"limit": limit})
        grade = self.parsed(row, "grade", parse_grade)  # none: the grade of the class, else unknown
        self.roster.students[number] = StudentRecord(
            "",
            number,
            row.get("first_name"),
            row.get("last_name"),
            row.get("preferred_name"),
            grade,
            "",
            row.line,
            self.parsed(row, "date_of_birth", parse_date),
        )
        self.read_class(row, number)
        for n in (1, 2):
            self.read_guardian(row, number, n)
        if grade is None:
            self.report.notice(
                _("%(file)s, line %(line)d: no grade; the student was imported with the grade unknown.")
                % {"file": self.file, "line": row.line}
            )

    def read_class(self, row: Row, number: str) -> None:
        code = row.get("class_code")
        if not code:
            return  # a student with no class yet
        if len(code) > 64:
            self.problem(row, "class_code", _("This is longer than %(limit)d characters.") % {"limit": 64})
        if code not in self.roster.classes:
            name = row.get("class_name") or code
            self.roster.classes[code] = ClassRecord("", name[:200], code, None, "", "", row.line)
        self.roster.enrollments.add((code, number))
        email = self.parsed(row, "teacher_email", parse_email)
        if not email:
            return
        teacher = self.roster.teachers.get(str(email))
        if teacher is None:
            name = row.get("teacher_name")
            first, _space, last = name.partition(" ")
            self.roster.teachers[str(email)] = TeacherRecord("", first, last, str(email), [""], row.line)
        self.roster.teaching.add((code, str(email)))

    def read_guardian(self, row: Row, number: str, n: int) -> None:
        prefix = f"guardian{n}_"
        values = {column: row.get(prefix + column) for column in GUARDIAN_COLUMNS}
        if not any(values.values()):
            return
        for column in ("first_name", "last_name"):
            if not values[column]:
                self.problem(row, prefix + column, _("This field is empty."))
            elif len(values[column]) > 100:
                self.problem(row, prefix + column, _("This is longer than %(limit)d characters.") % {"limit": 100})
        email = str(self.parsed(row, prefix + "email", parse_email) or "")
        phone = str(self.parsed(row, prefix + "phone", parse_phone) or "")
        relationship = str(self.parsed(row, prefix + "relationship", self.relationship) or "")
        language = str(self.parsed(row, prefix + "language", self.language) or "")
        key = email or f"{number}:{n}"
        if key not in self.roster.guardians:
            self.roster.guardians[key] = GuardianRecord(
                "",
                values["first_name"],
                values["last_name"],
                email,
                phone,
                language,
                relationship or Relationship.PARENT,
                row.line,
            )
        self.roster.links[(number, key)] = LinkRecord(relationship=relationship or Relationship.PARENT, primary=None)


def read_plain_csv(path: Path, school: School, report: Report, file_name: str = "") -> RosterSet:
    return PlainCsvReader(path, school, report, file_name).read()
