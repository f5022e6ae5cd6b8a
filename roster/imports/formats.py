"""Other roster formats that arrive under OneRoster's file names, recognised by their headers, so that the import
says in one message what the set is and what to export instead, not a problem on every row."""

import csv
import io

from django.utils.translation import gettext as _

from roster.imports.files import DAMAGED, CsvFiles

# Microsoft School Data Sync: v1 (School.csv, Section.csv… with "SIS ID" columns) and v2.1 (OneRoster's file names
# with columns of its own).
SDS_COLUMNS = frozenset(
    {"sis id", "school sis id", "section sis id", "activedirectorymatchid", "sessionsourcedids", "isprimary"}
)
SDS_FILES = frozenset({"school.csv", "section.csv", "student.csv", "teacher.csv", "studentenrollment.csv"})
# Clever's CSV: schools.csv, students.csv, teachers.csv, sections.csv, enrollments.csv, with Snake_case ids.
CLEVER_COLUMNS = frozenset({"school_id", "student_id", "section_id", "teacher_id", "student_number", "sis_id"})
CLEVER_FILES = frozenset({"schools.csv", "students.csv", "teachers.csv", "sections.csv"})


def _header(files: CsvFiles, name: str) -> set[str]:
    try:
        with files.open(name) as stream:
            first = stream.readline(64 * 1024).decode("utf-8", errors="replace").removeprefix("\ufeff")
    except DAMAGED:
        return set()  # the reader says the file is damaged, in its own words
    try:
        return {column.strip().lower() for column in next(csv.reader(io.StringIO(first)), [])}
    except csv.Error:
        return set()  # the reader says what is wrong with the line


def other_format(files: CsvFiles) -> str | None:
    """What to tell a school whose set is not OneRoster, or None when it may be."""
    names = set(files.names())
    headers = {name: _header(files, name) for name in names}
    columns = set().union(*headers.values()) if headers else set()
    export = _("Export the roster from your student information system as OneRoster 1.1 or 1.2 CSV instead.")
    if names & SDS_FILES or columns & SDS_COLUMNS:
        return _("This is a Microsoft School Data Sync (SDS) CSV set, not OneRoster. %(export)s") % {"export": export}
    if names & CLEVER_FILES or len(columns & CLEVER_COLUMNS) >= 2:
        return _("This is a Clever CSV set, not OneRoster. %(export)s") % {"export": export}
    return None
