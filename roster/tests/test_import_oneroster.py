"""The OneRoster import, rule by rule: tiny sets written into tmp_path, imported, and the database looked at.

Every set starts from `oneroster_set()`, a minimal valid OneRoster 1.2 set (a district, one school, a school year,
one class, a teacher, two students, two guardians, their roles and enrollments, a manifest), which each test
changes in the one place its rule is about. A refused set must write nothing at all: `db_counts()` before and after.
"""

import csv
import datetime
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction

from accounts.models import User
from audit.models import AccessEvent
from homeroom.testing import count_security_probes
from roster.imports.report import CHANGES, KINDS, Problem
from roster.imports.run import ImportResult, import_oneroster
from roster.models import (
    District,
    EndedFamilyLink,
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
from roster.tests.factories import (
    GuardianFactory,
    SchoolFactory,
    StaffRoleFactory,
    StudentFactory,
    StudentGuardianFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 1, 15)  # inside the set's school year
Rows = list[dict[str, str]] | list[list[str]] | str | bytes
Files = dict[str, Any]

# --- writing sets ---------------------------------------------------------------------------------------------------


def csv_text(rows: list[dict[str, str]] | list[list[str]], newline: str = "\n") -> str:
    """Dict rows take their header from the first row's keys; list rows are written as they are (header first)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    if rows and isinstance(rows[0], dict):
        header = list(rows[0])
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(column, "") for column in header])  # type: ignore[union-attr]
    else:
        writer.writerows(rows)
    return out.getvalue()


def write_set(
    tmp_path: Path,
    files: Files,
    *,
    as_zip: bool = False,
    folder: str = "",
    newline: str = "\n",
    bom: bool = False,
    name: str = "oneroster",
) -> Path:
    """{filename: rows} as a folder (or a zip) of CSV files; rows may also be the file's text or bytes."""
    contents: dict[str, bytes] = {}
    for filename, rows in files.items():
        if isinstance(rows, bytes):
            data = rows
        else:
            text = rows if isinstance(rows, str) else csv_text(rows, newline)
            data = (("\ufeff" if bom else "") + text).encode()
        contents[f"{folder}/{filename}" if folder else filename] = data
    if as_zip:
        path = tmp_path / f"{name}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for filename, data in contents.items():
                archive.writestr(filename, data)
        return path
    path = tmp_path / name
    for filename, data in contents.items():
        (path / filename).parent.mkdir(parents=True, exist_ok=True)
        (path / filename).write_bytes(data)
    return path


def blank(columns: str, **values: str) -> dict[str, str]:
    row = dict.fromkeys(columns.split(","), "")
    unknown = set(values) - set(row)
    assert not unknown, unknown
    row.update(values)
    return row


MANIFEST = {
    "manifest.version": "1.0",
    "oneroster.version": "1.2",
    "file.academicSessions": "bulk",
    "file.categories": "absent",
    "file.classes": "bulk",
    "file.classResources": "absent",
    "file.courses": "absent",
    "file.courseResources": "absent",
    "file.demographics": "absent",
    "file.enrollments": "bulk",
    "file.lineItems": "absent",
    "file.orgs": "bulk",
    "file.resources": "absent",
    "file.results": "absent",
    "file.roles": "bulk",
    "file.users": "bulk",
}
ORG = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId"
SESSION = "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear"
CLASS = (
    "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,schoolSourcedId,termSourcedIds"
)
USER_12 = (
    "sourcedId,status,dateLastModified,enabledUser,username,givenName,familyName,preferredGivenName,identifier,"
    "email,sms,phone,agentSourcedIds,grades,password,primaryOrgSourcedId"
)
USER_11 = (
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,givenName,familyName,identifier,"
    "email,sms,phone,agentSourcedIds,grades,password"
)
ROLE = "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId"
ENROLLMENT = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary"
DEMOGRAPHICS = "sourcedId,status,dateLastModified,birthDate,sex"

# (sourcedId, role, givenName, familyName, identifier, email, phone, agentSourcedIds, grades, password)
PEOPLE = (
    ("t1", "teacher", "Ana", "Lee", "T100", "ana.lee@maple.example.org", "", "", "", "hunter2"),
    ("st1", "student", "Sofía", "García", "1001", "", "", "g1,g2", "03", ""),
    ("st2", "student", "Minh", "Nguyễn", "1002", "", "", "g2", "03", ""),
    ("g1", "parent", "María", "García", "", "maria@example.org", "+16175550123", "", "", ""),
    ("g2", "guardian", "Lan", "Trần", "", "lan@example.org", "", "", "", ""),
)
USER_LINE = {person[0]: n for n, person in enumerate(PEOPLE, start=2)}  # t1 on line 2, st1 on 3, …


def oneroster_set() -> Files:
    """A minimal valid OneRoster 1.2 set, as {filename: list of row dicts}."""
    users, roles = [], []
    for n, (sid, role, given, family, number, email, phone, agents, grades, password) in enumerate(PEOPLE, 1):
        users.append(
            blank(
                USER_12,
                sourcedId=sid,
                status="active",
                enabledUser="true",
                givenName=given,
                familyName=family,
                identifier=number,
                email=email,
                phone=phone,
                agentSourcedIds=agents,
                grades=grades,
                password=password,
                primaryOrgSourcedId="s1",
            )
        )
        roles.append(
            blank(ROLE, sourcedId=f"r{n}", userSourcedId=sid, roleType="primary", role=role, orgSourcedId="s1")
        )
    return {
        "manifest.csv": [{"propertyName": key, "value": value} for key, value in MANIFEST.items()],
        "orgs.csv": [
            blank(ORG, sourcedId="d1", status="active", name="Riverside District", type="district"),
            blank(ORG, sourcedId="s1", status="active", name="Maple Elementary", type="school", parentSourcedId="d1"),
        ],
        "academicSessions.csv": [
            blank(
                SESSION,
                sourcedId="y1",
                status="active",
                title="2025-2026",
                type="schoolYear",
                startDate="2025-08-25",
                endDate="2026-06-19",
                schoolYear="2026",
            )
        ],
        "classes.csv": [
            blank(
                CLASS,
                sourcedId="c1",
                status="active",
                title="Room 3A",
                grades="03",
                classCode="3A",
                classType="homeroom",
                schoolSourcedId="s1",
                termSourcedIds="y1",
            )
        ],
        "users.csv": users,
        "roles.csv": roles,
        "enrollments.csv": [
            blank(ENROLLMENT, sourcedId="e1", classSourcedId="c1", schoolSourcedId="s1", userSourcedId="t1",
                  role="teacher", primary="true"),
            blank(ENROLLMENT, sourcedId="e2", classSourcedId="c1", schoolSourcedId="s1", userSourcedId="st1",
                  role="student", primary="false"),
            blank(ENROLLMENT, sourcedId="e3", classSourcedId="c1", schoolSourcedId="s1", userSourcedId="st2",
                  role="student", primary="false"),
        ],
    }  # fmt: skip


def oneroster_11_set() -> Files:
    """The same roster as OneRoster 1.1: a role and orgSourcedIds on each user, no roles.csv."""
    files = oneroster_set()
    role_of = {row["userSourcedId"]: row["role"] for row in files.pop("roles.csv")}
    files["users.csv"] = [
        blank(USER_11, **{k: v for k, v in row.items() if k in USER_11.split(",")}, role=role_of[row["sourcedId"]],
              orgSourcedIds="s1")
        for row in files["users.csv"]
    ]  # fmt: skip
    manifest = {row["propertyName"]: row["value"] for row in files["manifest.csv"]}
    manifest["oneroster.version"] = "1.1"
    del manifest["file.roles"]
    files["manifest.csv"] = [{"propertyName": key, "value": value} for key, value in manifest.items()]
    return files


def row_of(files: Files, name: str, sourced_id: str) -> dict[str, str]:
    return next(row for row in files[name] if row["sourcedId"] == sourced_id)


def set_manifest(files: Files, key: str, value: str) -> None:
    for row in files["manifest.csv"]:
        if row["propertyName"] == key:
            row["value"] = value
            return
    files["manifest.csv"].append({"propertyName": key, "value": value})


def without(files: Files, name: str, **match: str) -> None:
    files[name] = [row for row in files[name] if any(row.get(k) != v for k, v in match.items())]


def add_demographics(files: Files, **birth_dates: str) -> None:
    files["demographics.csv"] = [blank(DEMOGRAPHICS, sourcedId=sid, birthDate=d) for sid, d in birth_dates.items()]
    set_manifest(files, "file.demographics", "bulk")


# --- importing and looking ------------------------------------------------------------------------------------------


def run(tmp_path: Path, files: Files, name: str = "oneroster", **options: Any) -> ImportResult:
    options.setdefault("today", TODAY)
    return import_oneroster(write_set(tmp_path, files, name=name), **options)


def imported(tmp_path: Path, files: Files, name: str = "oneroster", **options: Any) -> ImportResult:
    result = run(tmp_path, files, name, **options)
    assert result.report.problems == [], result.report.problems
    assert result.imported
    return result


COUNTED = (District, School, Term, Section, Section.teachers.through, Student, Guardian, StudentGuardian,
           EndedFamilyLink, Enrollment, User, StaffRole)  # fmt: skip


def db_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in COUNTED}


def problem_at(result: ImportResult, file: str, line: int, column: str | None = None) -> Problem:
    """The problem reported at file (any case), line and column; the test fails listing what was reported."""
    for problem in result.report.problems:
        if problem.file.lower() == file.lower() and problem.line == line and column in (None, problem.column):
            assert problem.message.strip()
            assert "Traceback" not in problem.message
            return problem
    pytest.fail(f"No problem at {file}, line {line}, {column}; reported: {result.report.problems}")


def refused(result: ImportResult, before: dict[str, int]) -> None:
    assert not result.imported
    assert not result.report.ok
    assert db_counts() == before, "a refused import wrote to the database"


def skipped_at(result: ImportResult, file: str, line: int, column: str | None = None) -> Problem:
    """The row skipped at file (any case), line and column; the test fails listing what was skipped."""
    for problem in result.report.skipped:
        if problem.file.lower() == file.lower() and problem.line == line and column in (None, problem.column):
            assert problem.message.strip()
            return problem
    pytest.fail(f"Nothing skipped at {file}, line {line}, {column}; skipped: {result.report.skipped}")


def noticed(result: ImportResult, words: str) -> str:
    """The notice that holds these words."""
    for notice in result.report.notices:
        if words in notice:
            return notice
    pytest.fail(f"No notice says {words!r}; notices: {result.report.notices}")


def rows_in() -> dict[str, set[Any]]:
    """What the database holds, by SIS key: to say exactly which rows of a partial import went in."""
    return {
        "schools": set(School.objects.values_list("sourced_id", flat=True)),
        "classes": set(Section.objects.filter(is_active=True).values_list("sourced_id", flat=True)),
        "teachers": set(
            User.objects.filter(is_active=True).exclude(sourced_id="").values_list("sourced_id", flat=True)
        ),
        "students": set(Student.objects.filter(is_active=True).values_list("sourced_id", flat=True)),
        "guardians": set(Guardian.objects.filter(is_active=True).values_list("sourced_id", flat=True)),
        "links": set(StudentGuardian.objects.values_list("student__sourced_id", "guardian__sourced_id")),
        "enrollments": set(Enrollment.objects.values_list("section__sourced_id", "student__sourced_id")),
        "teaching": set(Section.teachers.through.objects.values_list("section__sourced_id", "user__sourced_id")),
    }


# What oneroster_set() puts in the database.
FULL_SET: dict[str, set[Any]] = {
    "schools": {"s1"},
    "classes": {"c1"},
    "teachers": {"t1"},
    "students": {"st1", "st2"},
    "guardians": {"g1", "g2"},
    "links": {("st1", "g1"), ("st1", "g2"), ("st2", "g2")},
    "enrollments": {("c1", "st1"), ("c1", "st2")},
    "teaching": {("c1", "t1")},
}


def without_rows(**left_out: set[Any]) -> dict[str, set[Any]]:
    """FULL_SET less what a partial import left out."""
    return {kind: keys - left_out.get(kind, set()) for kind, keys in FULL_SET.items()}


def changes(result: ImportResult) -> int:
    counts = result.summary.as_dict()
    return sum(counts[kind][change] for kind in KINDS for change in ("created", "updated", "deactivated"))


def student(sourced_id: str) -> Student:
    return Student.objects.get(sourced_id=sourced_id)


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """The roster in the database without its primary keys, to compare two imports by."""
    return {
        "districts": sorted(District.objects.values_list("name", "sourced_id")),
        "schools": sorted(School.objects.values_list("district__name", "name", "sourced_id")),
        "terms": sorted(
            Term.objects.values_list("school__name", "name", "starts_on", "ends_on", "is_current", "sourced_id")
        ),
        "sections": sorted(
            Section.objects.values_list("term__name", "code", "name", "grade_level", "sourced_id", "is_active")
        ),
        "students": sorted(
            Student.objects.values_list(
                "school__name", "student_number", "first_name", "last_name", "preferred_name", "grade_level",
                "sourced_id", "is_active",
            )
        ),
        "guardians": sorted(
            Guardian.objects.values_list(
                "sourced_id", "first_name", "last_name", "email", "phone", "preferred_language", "is_active"
            )
        ),
        "links": sorted(
            StudentGuardian.objects.values_list(
                "student__sourced_id", "guardian__sourced_id", "relationship", "is_primary_contact",
                "lives_with_student", "contact_allowed", "portal_access_allowed",
            )
        ),
        "enrollments": sorted(Enrollment.objects.values_list("section__sourced_id", "student__sourced_id")),
        "teaching": sorted(Section.teachers.through.objects.values_list("section__sourced_id", "user__sourced_id")),
        "users": sorted(User.objects.values_list("email", "full_name", "sourced_id", "is_active")),
        "staff": sorted(StaffRole.objects.values_list("user__sourced_id", "role", "school__name")),
    }  # fmt: skip


# --- the minimal set itself -------------------------------------------------------------------------------------------


def test_the_minimal_set_imports_the_whole_roster(tmp_path: Path) -> None:
    result = imported(tmp_path, oneroster_set())

    assert result.summary.as_dict()["students"]["created"] == 2
    section = Section.objects.get(sourced_id="c1")
    assert (section.code, section.name, section.grade_level, section.term.is_current) == ("3A", "Room 3A", 3, True)
    assert sorted(section.enrollments.values_list("student__sourced_id", flat=True)) == ["st1", "st2"]
    teacher = User.objects.get(sourced_id="t1")
    assert list(section.teachers.all()) == [teacher]
    assert StaffRole.objects.filter(user=teacher, role=Role.TEACHER, school__sourced_id="s1").exists()
    assert sorted(student("st1").guardian_links.values_list("guardian__sourced_id", flat=True)) == ["g1", "g2"]
    assert Guardian.objects.get(sourced_id="g2").student_links.count() == 2
    assert Guardian.objects.get(sourced_id="g1").phone == "+16175550123"


# --- a file with any error imports nothing ----------------------------------------------------------------------------


def test_a_bad_row_is_skipped_with_what_depends_on_it_and_the_rest_is_imported(tmp_path: Path) -> None:
    files = oneroster_set()
    row_of(files, "users.csv", "st2")["grades"] = "14"  # an optional value: dropped, the row imported
    files["classes.csv"].append(dict(row_of(files, "classes.csv", "c1"), sourcedId="c2", classCode="3B",
                                     schoolSourcedId="s9"))  # fmt: skip
    for n, user in enumerate(("t1", "st1", "st2"), start=1):
        files["enrollments.csv"].append(blank(ENROLLMENT, sourcedId=f"x{n}", classSourcedId="c2", userSourcedId=user,
                                              role="teacher" if user == "t1" else "student"))  # fmt: skip

    result = run(tmp_path, files)

    assert result.imported and result.exit_code == 3
    assert "s9" in skipped_at(result, "classes.csv", 3, "schoolSourcedId").message
    summed = skipped_at(result, "enrollments.csv", 0).message
    assert summed == "3 enrollments of the skipped class c2 were not imported."
    assert len(result.report.skipped) == 2  # one line for the class's enrollments, not three
    assert "“14” is not a grade" in noticed(result, f"users.csv, line {USER_LINE['st2']}, grades")
    assert rows_in() == FULL_SET  # exactly the sound rows, nothing of c2
    assert student("st2").grade_level == 3  # the grade of their class
    assert result.summary.as_dict()["classes"]["skipped"] == 1
    assert result.summary.as_dict()["enrollments"]["skipped"] == 3


# --- how SISs and spreadsheets write files ----------------------------------------------------------------------------


def _odd_file_names(files: Files) -> Files:
    names = {"users.csv": "Users.CSV", "orgs.csv": "ORGS.csv", "manifest.csv": "Manifest.csv"}
    return {names.get(name, name): rows for name, rows in files.items()}


def _odd_headers(files: Files) -> Files:
    def odd(column: str) -> str:
        return column.upper() if len(column) % 2 else column.lower()

    return {name: [{odd(k): v for k, v in row.items()} for row in rows] for name, rows in files.items()}


def _lower_case_names(files: Files) -> Files:
    return {name.lower(): rows for name, rows in files.items()}


@pytest.mark.parametrize(
    ("change", "options"),
    [
        pytest.param(None, {"bom": True}, id="byte-order-mark"),
        pytest.param(None, {"newline": "\r\n"}, id="crlf"),
        pytest.param(None, {"as_zip": True, "folder": "export 2025"}, id="zip-with-one-folder"),
        pytest.param(None, {"as_zip": True}, id="zip"),
        pytest.param(None, {"folder": "export"}, id="folder-with-one-folder"),
        pytest.param(_odd_file_names, {}, id="odd-case-file-names"),
        pytest.param(_odd_file_names, {"as_zip": True}, id="odd-case-file-names-in-zip"),
        pytest.param(_odd_headers, {}, id="odd-case-headers"),
        pytest.param(_lower_case_names, {"as_zip": True}, id="lower-case-file-names"),
    ],
)
def test_files_as_sis_and_spreadsheets_write_them_import_the_same(
    tmp_path: Path, change: Any, options: dict[str, Any]
) -> None:
    files = oneroster_set()
    path = write_set(tmp_path, change(files) if change else files, **options)

    result = import_oneroster(path, today=TODAY)

    assert result.report.problems == []
    assert result.imported
    assert sorted(Student.objects.values_list("first_name", "last_name")) == [("Minh", "Nguyễn"), ("Sofía", "García")]
    assert student("st1").guardian_links.count() == 2
    assert Enrollment.objects.count() == 2
    assert User.objects.get(sourced_id="t1").email == "ana.lee@maple.example.org"


def test_a_quoted_list_of_agents_links_each_guardian(tmp_path: Path) -> None:
    path = write_set(tmp_path, oneroster_set())
    assert '"g1,g2"' in (path / "users.csv").read_text()

    result = import_oneroster(path, today=TODAY)

    assert result.imported
    assert sorted(student("st1").guardian_links.values_list("guardian__sourced_id", flat=True)) == ["g1", "g2"]


# --- dates and booleans -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"), [("2019-05-01", datetime.date(2019, 5, 1)), ("2019-5-1", datetime.date(2019, 5, 1))]
)
def test_year_month_day_dates_are_read_with_or_without_leading_zeros(
    tmp_path: Path, text: str, expected: datetime.date
) -> None:
    files = oneroster_set()
    add_demographics(files, st1=text)
    row_of(files, "academicSessions.csv", "y1")["startDate"] = "2025-8-25"

    imported(tmp_path, files)

    assert student("st1").date_of_birth == expected
    assert Term.objects.get(sourced_id="y1").starts_on == datetime.date(2025, 8, 25)


@pytest.mark.parametrize(
    ("text", "words"), [("1/05/2023", "year-month-day"), ("2023-02-30", "not a date that exists")]
)  # fmt: skip
def test_an_ambiguous_or_impossible_birth_date_is_dropped_with_a_notice(tmp_path: Path, text: str, words: str) -> None:
    files = oneroster_set()
    add_demographics(files, st1="2019-05-01", st2=text)

    result = run(tmp_path, files)

    assert result.imported and result.exit_code == 0
    assert words in noticed(result, "demographics.csv, line 3, birthDate")
    assert student("st2").date_of_birth is None
    assert student("st1").date_of_birth == datetime.date(2019, 5, 1)


def test_slash_dates_are_read_when_the_file_settles_their_order(tmp_path: Path) -> None:
    files = oneroster_set()
    add_demographics(files, st1="25/04/2019", st2="1/05/2019")  # 25 is a day: the file writes day/month

    imported(tmp_path, files)

    assert student("st1").date_of_birth == datetime.date(2019, 4, 25)
    assert student("st2").date_of_birth == datetime.date(2019, 5, 1)


@pytest.mark.parametrize("text", ["TRUE", "true", "True"])
def test_true_is_read_in_any_case(tmp_path: Path, text: str) -> None:
    files = oneroster_set()
    row_of(files, "users.csv", "t1")["enabledUser"] = text
    row_of(files, "enrollments.csv", "e1")["primary"] = text

    imported(tmp_path, files)

    assert User.objects.get(sourced_id="t1").is_active


def test_a_boolean_that_is_not_true_or_false_is_dropped_with_a_notice(tmp_path: Path) -> None:
    files = oneroster_set()
    row_of(files, "users.csv", "st1")["enabledUser"] = "maybe"

    result = run(tmp_path, files)

    assert result.imported and result.exit_code == 0
    assert "true or false" in noticed(result, f"users.csv, line {USER_LINE['st1']}, enabledUser")
    assert rows_in() == FULL_SET


def test_yes_no_and_1_0_are_booleans(tmp_path: Path) -> None:
    files = oneroster_set()
    row_of(files, "users.csv", "t1")["enabledUser"] = "No"
    row_of(files, "users.csv", "st1")["enabledUser"] = "1"
    row_of(files, "enrollments.csv", "e1")["primary"] = "yes"

    result = imported(tmp_path, files)

    assert result.report.notices == []
    assert not User.objects.get(sourced_id="t1").is_active


# --- uploads that are not what they claim ----------------------------------------------------------------------------


def test_a_zip_with_too_many_entries_is_refused(tmp_path: Path, settings: Any) -> None:
    settings.HOMEROOM_IMPORT_MAX_ZIP_ENTRIES = 3
    before = db_counts()

    result = import_oneroster(write_set(tmp_path, oneroster_set(), as_zip=True), today=TODAY)

    refused(result, before)
    assert "7 entries" in problem_at(result, "", 0).message


def test_a_zip_declaring_more_than_the_uncompressed_limit_is_refused(tmp_path: Path, settings: Any) -> None:
    settings.HOMEROOM_IMPORT_MAX_UNCOMPRESSED_BYTES = 500
    before = db_counts()

    result = import_oneroster(write_set(tmp_path, oneroster_set(), as_zip=True), today=TODAY)

    refused(result, before)
    assert "unpacks to" in problem_at(result, "", 0).message


def test_a_zip_entry_compressed_like_a_zip_bomb_is_refused(tmp_path: Path) -> None:
    files = oneroster_set()
    files["users.csv"] = b"\0" * 2_000_000  # about 2 KB deflated: a thousand to one
    before = db_counts()

    result = import_oneroster(write_set(tmp_path, files, as_zip=True), today=TODAY)

    refused(result, before)
    assert "zip bomb" in problem_at(result, "users.csv", 0).message


def test_a_file_that_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "roster.zip"
    path.write_text("sourcedId,name\nthis is a spreadsheet, not a zip\n")
    before = db_counts()

    result = import_oneroster(path, today=TODAY)

    refused(result, before)
    assert "neither a zip file nor a folder" in problem_at(result, "", 0).message


def test_a_zip_with_a_damaged_directory_is_refused(tmp_path: Path) -> None:
    path = write_set(tmp_path, oneroster_set(), as_zip=True)
    data = path.read_bytes()
    path.write_bytes(data.replace(b"PK\x01\x02", b"XX\x01\x02", 1))  # the first central directory entry
    before = db_counts()

    result = import_oneroster(path, today=TODAY)

    refused(result, before)
    assert "damaged" in problem_at(result, "", 0).message


def test_a_zip_with_damaged_file_data_is_reported_not_raised(tmp_path: Path) -> None:
    files = oneroster_set()
    files["users.csv"] = csv_text(files["users.csv"]) * 20  # long enough to corrupt in the middle
    path = tmp_path / "roster.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, rows in files.items():
            archive.writestr(name, rows if isinstance(rows, str) else csv_text(rows))
        offset = archive.getinfo("users.csv").header_offset
    data = bytearray(path.read_bytes())
    data[offset + 200 : offset + 210] = b"@@@@@@@@@@"  # inside users.csv's data: its CRC no longer matches
    path.write_bytes(bytes(data))
    before = db_counts()

    result = import_oneroster(path, today=TODAY)

    refused(result, before)
    assert result.report.problems


def test_a_file_that_is_not_utf8_is_reported_on_its_line(tmp_path: Path) -> None:
    files = oneroster_set()
    text = csv_text(files["users.csv"])
    assert text.splitlines()[USER_LINE["st1"] - 1].startswith("st1,")
    files["users.csv"] = text.encode().replace("Sofía".encode(), "Sofía".encode("latin-1"))
    before = db_counts()

    result = run(tmp_path, files)

    refused(result, before)
    assert "UTF-8" in problem_at(result, "users.csv", USER_LINE["st1"]).message


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    """What holds today, whatever the line: the latin-1 file is refused in plain words."""
    files = oneroster_set()
    files["users.csv"] = csv_text(files["users.csv"]).encode().replace("Sofía".encode(), "Sofía".encode("latin-1"))
    before = db_counts()

    result = run(tmp_path, files)

    refused(result, before)
    [problem] = [p for p in result.report.problems if p.file == "users.csv"]
    assert "not UTF-8" in problem.message


# --- names ------------------------------------------------------------------------------------------------------------


def test_names_in_any_script_survive_exactly(tmp_path: Path) -> None:
    names = {
        "st1": ("مريم", "العلي", "مريومة"),
        "st2": ("小明", "王", ""),
        "g1": ("Nguyễn Thị", "Hằng", ""),
        "g2": ("Zoë 🌟", "O\u2019Brien-Łukasz", ""),
        "t1": ("Ngọc", "Phạm 👩‍🏫", ""),
    }
    files = oneroster_set()
    for sid, (given, family, preferred) in names.items():
        row = row_of(files, "users.csv", sid)
        row["givenName"], row["familyName"], row["preferredGivenName"] = given, family, preferred

    imported(tmp_path, files)

    for sid in ("st1", "st2"):
        s = student(sid)
        assert (s.first_name, s.last_name, s.preferred_name) == names[sid]
    for sid in ("g1", "g2"):
        g = Guardian.objects.get(sourced_id=sid)
        assert (g.first_name, g.last_name) == names[sid][:2]
    assert User.objects.get(sourced_id="t1").full_name == "Ngọc Phạm 👩‍🏫"


# --- bulk: the set is the whole roster --------------------------------------------------------------------------------


def _without_st2() -> Files:
    files = oneroster_set()
    without(files, "users.csv", sourcedId="st2")
    without(files, "roles.csv", userSourcedId="st2")
    without(files, "enrollments.csv", userSourcedId="st2")
    return files


def test_a_student_missing_from_a_bulk_import_is_deactivated_never_deleted(tmp_path: Path) -> None:
    imported(tmp_path, oneroster_set(), name="first")
    pk = student("st2").pk

    second = imported(tmp_path, _without_st2(), name="second")

    gone = Student.objects.get(pk=pk)  # kept, with its history
    assert not gone.is_active
    assert second.summary.as_dict()["students"]["deactivated"] == 1
    assert student("st1").is_active


def test_a_class_missing_from_a_bulk_import_is_deactivated_never_deleted(tmp_path: Path) -> None:
    files = oneroster_set()
    files["classes.csv"].append(dict(row_of(files, "classes.csv", "c1"), sourcedId="c2", classCode="3B"))
    imported(tmp_path, files, name="first")

    second = imported(tmp_path, oneroster_set(), name="second")

    assert Section.objects.get(sourced_id="c2").is_active is False
    assert second.summary.as_dict()["classes"]["deactivated"] == 1


def test_a_student_missing_from_a_bulk_import_leaves_its_classes(tmp_path: Path) -> None:
    imported(tmp_path, oneroster_set(), name="first")

    second = imported(tmp_path, _without_st2(), name="second")

    assert not Enrollment.objects.filter(student__sourced_id="st2").exists()
    assert Enrollment.objects.filter(student__sourced_id="st1").exists()
    assert second.summary.as_dict()["enrollments"]["deactivated"] == 1


def test_a_deactivated_student_listed_again_is_reactivated_with_its_class(tmp_path: Path) -> None:
    imported(tmp_path, oneroster_set(), name="first")
    imported(tmp_path, _without_st2(), name="second")
    Student.objects.filter(sourced_id="st2").update(is_active=False)  # what the second import should have done
    pk = student("st2").pk

    imported(tmp_path, oneroster_set(), name="third")

    back = student("st2")
    assert back.pk == pk
    assert back.is_active
    assert Enrollment.objects.filter(student=back, section__sourced_id="c1").exists()


def test_a_family_link_missing_from_a_bulk_import_ends_and_returns_with_its_restriction(tmp_path: Path) -> None:
    imported(tmp_path, oneroster_set(), name="first")
    StudentGuardian.objects.filter(student__sourced_id="st1", guardian__sourced_id="g2").update(contact_allowed=False)
    files = oneroster_set()
    row_of(files, "users.csv", "st1")["agentSourcedIds"] = "g1"

    imported(tmp_path, files, name="second")

    assert not StudentGuardian.objects.filter(student__sourced_id="st1", guardian__sourced_id="g2").exists()
    ended = EndedFamilyLink.objects.get(student__sourced_id="st1", guardian__sourced_id="g2")
    assert ended.contact_allowed is False
    assert Guardian.objects.get(sourced_id="g2").is_active  # still st2's guardian

    imported(tmp_path, oneroster_set(), name="third")

    link = StudentGuardian.objects.get(student__sourced_id="st1", guardian__sourced_id="g2")
    assert link.contact_allowed is False
    assert not EndedFamilyLink.objects.exists()


def test_reimporting_the_same_files_changes_nothing(tmp_path: Path) -> None:
    path = write_set(tmp_path, oneroster_set())
    import_oneroster(path, today=TODAY)
    before = snapshot()

    again = import_oneroster(path, today=TODAY)

    assert again.imported
    assert changes(again) == 0, again.summary.as_dict()
    assert snapshot() == before


# --- delta ------------------------------------------------------------------------------------------------------------


def delta_set(**files: Rows) -> Files:
    """A delta set: the district's row in orgs.csv (a set needs orgs.csv and users.csv), the given files as delta."""
    manifest = dict(MANIFEST, **{key: "absent" for key in MANIFEST if key.startswith("file.")})
    result: Files = {"orgs.csv": [blank(ORG, sourcedId="d1", status="active", name="Riverside District",
                                        type="district")]}  # fmt: skip
    result.update(files)
    stems = {"academicsessions": "academicSessions"}
    for name in result:
        stem = name.removesuffix(".csv")
        manifest[f"file.{stems.get(stem, stem)}"] = "delta"
    result["manifest.csv"] = [{"propertyName": key, "value": value} for key, value in manifest.items()]
    return result


def test_a_delta_user_marked_tobedeleted_is_deactivated(tmp_path: Path) -> None:
    imported(tmp_path, oneroster_set(), name="bulk")
    users = [dict(row_of(oneroster_set(), "users.csv", "st2"), status="tobedeleted")]

    result = imported(tmp_path, delta_set(**{"users.csv": users}), name="delta")

    assert not student("st2").is_active
    assert student("st1").is_active
    assert Guardian.objects.filter(is_active=True).count() == 2
    assert result.summary.as_dict()["students"]["deactivated"] == 1


def test_a_delta_row_may_refer_to_a_class_already_in_homeroom(tmp_path: Path) -> None:
    imported(tmp_path, oneroster_set(), name="bulk")
    files = delta_set(
        **{
            "users.csv": [blank(USER_12, sourcedId="st3", status="active", givenName="Omar", familyName="Haddad",
                                identifier="1003", grades="03", primaryOrgSourcedId="s1")],
            "roles.csv": [blank(ROLE, sourcedId="r9", userSourcedId="st3", roleType="primary", role="student",
                                orgSourcedId="s1")],
            "enrollments.csv": [blank(ENROLLMENT, sourcedId="e9", classSourcedId="c1", schoolSourcedId="s1",
                                      userSourcedId="st3", role="student")],
        }
    )  # fmt: skip

    imported(tmp_path, files, name="delta")

    section = Section.objects.get(sourced_id="c1")
    assert sorted(section.enrollments.values_list("student__sourced_id", flat=True)) == ["st1", "st2", "st3"]


def test_a_delta_row_referring_to_an_unknown_sourced_id_is_skipped(tmp_path: Path) -> None:
    imported(tmp_path, oneroster_set(), name="bulk")
    files = delta_set(
        **{
            "users.csv": [dict(row_of(oneroster_set(), "users.csv", "st1"), givenName="Sofi")],
            "roles.csv": [row_of(oneroster_set(), "roles.csv", "r2")],
            "enrollments.csv": [blank(ENROLLMENT, sourcedId="e9", classSourcedId="c1", userSourcedId="nobody",
                                      role="student")],
        }
    )  # fmt: skip

    result = run(tmp_path, files, name="delta")

    assert result.imported and result.exit_code == 3
    assert "nobody" in skipped_at(result, "enrollments.csv", 2, "userSourcedId").message
    assert student("st1").first_name == "Sofi"
    assert rows_in() == FULL_SET


# --- what is never imported, what is read either way ------------------------------------------------------------------


def test_passwords_in_users_csv_are_never_imported(tmp_path: Path) -> None:
    files = oneroster_set()
    assert row_of(files, "users.csv", "t1")["password"] == "hunter2"

    imported(tmp_path, files)

    teacher = User.objects.get(sourced_id="t1")
    assert not teacher.has_usable_password()
    assert not teacher.check_password("hunter2")


def _import_and_look(tmp_path: Path, files: Files, name: str) -> dict[str, list[tuple[Any, ...]]]:
    with transaction.atomic():
        imported(tmp_path, files, name=name)
        seen = snapshot()
        transaction.set_rollback(True)
    return seen


def test_oneroster_1_1_and_1_2_give_the_same_roster(tmp_path: Path) -> None:
    v11 = oneroster_11_set()
    assert "roles.csv" not in v11
    assert "role" in v11["users.csv"][0]

    from_11 = _import_and_look(tmp_path, v11, "v11")
    from_12 = _import_and_look(tmp_path, oneroster_set(), "v12")

    assert from_11 == from_12
    assert len(from_12["students"]) == 2
    assert len(from_12["links"]) == 3


@pytest.mark.parametrize("side", ["student", "guardian", "both"])
def test_guardian_links_are_read_from_either_side_and_merged(tmp_path: Path, side: str) -> None:
    files = oneroster_set()
    for row in files["users.csv"]:
        row["agentSourcedIds"] = ""
    if side in ("student", "both"):
        row_of(files, "users.csv", "st1")["agentSourcedIds"] = "g1"
    if side in ("guardian", "both"):
        row_of(files, "users.csv", "g1")["agentSourcedIds"] = "st1"

    imported(tmp_path, files)

    link = StudentGuardian.objects.get()
    assert (link.student.sourced_id, link.guardian.sourced_id) == ("st1", "g1")
    assert link.relationship == Relationship.PARENT


def test_a_user_who_is_guardian_and_teacher_becomes_both(tmp_path: Path) -> None:
    files = oneroster_set()
    files["roles.csv"].append(
        blank(ROLE, sourcedId="r9", userSourcedId="t1", roleType="secondary", role="parent", orgSourcedId="s1")
    )
    row_of(files, "users.csv", "st2")["agentSourcedIds"] = "g2,t1"

    imported(tmp_path, files)

    user = User.objects.get(sourced_id="t1")
    assert StaffRole.objects.filter(user=user, role=Role.TEACHER, school__sourced_id="s1").exists()
    assert Section.objects.get(sourced_id="c1").teachers.filter(pk=user.pk).exists()
    guardian = Guardian.objects.get(sourced_id="t1")
    assert (guardian.first_name, guardian.last_name, guardian.email) == ("Ana", "Lee", "ana.lee@maple.example.org")
    assert guardian.student_links.get().student == student("st2")


# --- the roster's shape -----------------------------------------------------------------------------------------------


def test_a_class_with_no_teacher_imports(tmp_path: Path) -> None:
    files = oneroster_set()
    without(files, "enrollments.csv", role="teacher")

    imported(tmp_path, files)

    section = Section.objects.get(sourced_id="c1")
    assert not section.teachers.exists()
    assert section.enrollments.count() == 2


def test_a_student_with_no_class_imports(tmp_path: Path) -> None:
    files = oneroster_set()
    without(files, "enrollments.csv", userSourcedId="st2")

    imported(tmp_path, files)

    assert student("st2").is_active
    assert not Enrollment.objects.filter(student__sourced_id="st2").exists()


def test_a_teacher_enrollment_for_someone_not_a_teacher_is_skipped(tmp_path: Path) -> None:
    files = oneroster_set()
    files["enrollments.csv"].append(
        blank(ENROLLMENT, sourcedId="e9", classSourcedId="c1", schoolSourcedId="s1", userSourcedId="st2",
              role="teacher")
    )  # fmt: skip

    result = run(tmp_path, files)

    assert result.imported
    assert "No teacher" in skipped_at(result, "enrollments.csv", 5, "userSourcedId").message
    assert rows_in() == FULL_SET


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_a_user_with_an_unknown_role_is_skipped(tmp_path: Path, version: str) -> None:
    files = oneroster_11_set() if version == "1.1" else oneroster_set()
    if version == "1.1":
        row_of(files, "users.csv", "g1")["role"] = "wizard"
    else:
        row_of(files, "roles.csv", "r4")["role"] = "wizard"

    result = run(tmp_path, files)

    assert result.imported and result.exit_code == 3
    if version == "1.1":
        assert "not a OneRoster role" in skipped_at(result, "users.csv", USER_LINE["g1"], "role").message
    else:
        assert "not a OneRoster role" in skipped_at(result, "roles.csv", 5, "role").message
        assert "no role" in skipped_at(result, "users.csv", USER_LINE["g1"], "role").message
    assert rows_in() == without_rows(guardians={"g1"}, links={("st1", "g1")})


def test_a_sourced_id_twice_in_a_file_skips_both_rows(tmp_path: Path) -> None:
    files = oneroster_set()
    files["users.csv"].append(dict(row_of(files, "users.csv", "st2"), givenName="Other"))

    result = run(tmp_path, files)

    assert result.imported and result.exit_code == 3
    second = skipped_at(result, "users.csv", len(PEOPLE) + 2, "sourcedId").message
    assert f"line {USER_LINE['st2']}" in second
    assert "st2" in skipped_at(result, "users.csv", USER_LINE["st2"], "sourcedId").message
    assert skipped_at(result, "enrollments.csv", 0).message == "1 enrollment of the skipped user st2 was not imported."
    assert rows_in() == without_rows(students={"st2"}, enrollments={("c1", "st2")}, links={("st2", "g2")})


def test_a_row_with_the_wrong_number_of_fields_is_skipped(tmp_path: Path) -> None:
    files = oneroster_set()
    text = csv_text(files["classes.csv"])
    files["classes.csv"] = text + "c2,active,,Room 3B,03\n"

    result = run(tmp_path, files)

    assert result.imported
    message = skipped_at(result, "classes.csv", 3).message
    assert "5 fields" in message
    assert f"{len(CLASS.split(','))}" in message
    assert rows_in() == FULL_SET


def test_a_missing_required_column_is_reported(tmp_path: Path) -> None:
    files = oneroster_set()
    for row in files["users.csv"]:
        del row["familyName"]
    before = db_counts()

    result = run(tmp_path, files)

    refused(result, before)
    assert "lacks" in problem_at(result, "users.csv", 1, "familyName").message


def test_a_student_of_an_unknown_school_is_skipped(tmp_path: Path) -> None:
    files = oneroster_set()
    row_of(files, "users.csv", "st1")["primaryOrgSourcedId"] = "s9"
    row_of(files, "roles.csv", "r2")["orgSourcedId"] = "s9"

    result = run(tmp_path, files)

    assert result.imported
    assert "no school" in skipped_at(result, "users.csv", USER_LINE["st1"], "orgSourcedIds").message
    assert rows_in() == without_rows(
        students={"st1"}, enrollments={("c1", "st1")}, links={("st1", "g1"), ("st1", "g2")}
    )


def test_a_student_without_grades_takes_the_grade_of_their_classes_else_none(tmp_path: Path) -> None:
    files = oneroster_set()
    row_of(files, "users.csv", "st2")["grades"] = ""
    row_of(files, "users.csv", "st1")["grades"] = ""
    without(files, "enrollments.csv", userSourcedId="st1")

    result = imported(tmp_path, files)

    assert student("st2").grade_level == 3
    assert student("st1").grade_level is None
    assert "grade unknown" in noticed(result, "1 student has no grade")


@pytest.mark.parametrize("who", ["g1", "t1"])
def test_an_invalid_email_is_dropped_with_a_notice(tmp_path: Path, who: str) -> None:
    files = oneroster_set()
    row_of(files, "users.csv", who)["email"] = "maria.at.example.org"

    result = run(tmp_path, files)

    assert result.imported
    assert "not an email address" in noticed(result, f"users.csv, line {USER_LINE[who]}, email")
    assert rows_in() == FULL_SET


def test_an_invalid_phone_is_dropped_with_a_notice(tmp_path: Path) -> None:
    files = oneroster_set()
    row_of(files, "users.csv", "g1")["phone"] = "555"

    result = run(tmp_path, files)

    assert result.imported
    assert "phone number" in noticed(result, f"users.csv, line {USER_LINE['g1']}, phone")
    assert Guardian.objects.get(sourced_id="g1").phone == ""


def test_a_file_the_manifest_lists_but_the_set_lacks_is_reported(tmp_path: Path) -> None:
    files = oneroster_set()
    set_manifest(files, "file.demographics", "bulk")
    before = db_counts()

    result = run(tmp_path, files)

    refused(result, before)
    assert "not in the set" in problem_at(result, "demographics.csv", 0).message


def test_a_manifest_of_oneroster_2_0_is_reported(tmp_path: Path) -> None:
    files = oneroster_set()
    set_manifest(files, "oneroster.version", "2.0")
    before = db_counts()

    result = run(tmp_path, files)

    refused(result, before)
    assert "2.0" in problem_at(result, "manifest.csv", 3, "value").message


# --- checking, and who may import what --------------------------------------------------------------------------------


def test_a_dry_run_writes_nothing_and_says_what_it_would_do(tmp_path: Path) -> None:
    before = db_counts()

    result = run(tmp_path, oneroster_set(), dry_run=True)

    assert result.report.ok
    assert not result.imported
    assert db_counts() == before
    counts = result.summary.as_dict()
    assert counts["students"]["created"] == 2
    assert counts["guardians"]["created"] == 2
    assert counts["teachers"]["created"] == 1
    assert counts["classes"]["created"] == 1
    assert counts["family_links"]["created"] == 3
    assert counts["enrollments"]["created"] == 2


def test_a_leader_may_not_import_another_schools_roster(tmp_path: Path) -> None:
    imported(tmp_path, oneroster_set(), name="first")
    maple = School.objects.get(sourced_id="s1")
    files = oneroster_set()
    files["orgs.csv"].append(blank(ORG, sourcedId="s2", status="active", name="Oak Middle", type="school",
                                   parentSourcedId="d1"))  # fmt: skip
    row_of(files, "users.csv", "st2")["primaryOrgSourcedId"] = "s2"
    row_of(files, "roles.csv", "r3")["orgSourcedId"] = "s2"
    without(files, "enrollments.csv", userSourcedId="st2")
    before = db_counts()

    result = run(tmp_path, files, name="second", allowed_schools={maple.pk})

    refused(result, before)
    assert "Oak Middle is not a school you may import into" in problem_at(result, "orgs.csv", 4, "name").message
    assert student("st2").school == maple


def test_a_set_without_a_manifest_is_read_as_bulk_and_says_so_once(tmp_path: Path) -> None:
    files = oneroster_set()
    del files["manifest.csv"]

    result = imported(tmp_path, files)

    assert Student.objects.count() == 2
    assert len([n for n in result.report.notices if "No manifest.csv" in n]) == 1


# --- the command ------------------------------------------------------------------------------------------------------


def test_the_command_imports_and_prints_the_summary(tmp_path: Path, root) -> None:
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "import_oneroster",
        str(write_set(tmp_path, oneroster_set(), as_zip=True)),
        "--by",
        root.email,
        stdout=out,
        stderr=err,
    )

    assert Student.objects.count() == 2
    printed = out.getvalue()
    assert "Imported." in printed
    assert all(change in printed for change in CHANGES)
    students_line = next(line for line in printed.splitlines() if line.startswith("students"))
    assert students_line.split()[1:] == ["2", "0", "0", "0", "0"]


def test_the_command_exits_1_and_prints_what_stopped_it(tmp_path: Path, root) -> None:
    files = oneroster_set()
    set_manifest(files, "oneroster.version", "1.0")
    out, err = io.StringIO(), io.StringIO()
    before = db_counts()

    with pytest.raises(SystemExit) as exit_:
        call_command("import_oneroster", str(write_set(tmp_path, files)), "--by", root.email, stdout=out, stderr=err)

    assert exit_.value.code == 1
    assert "manifest.csv, line 3, value: oneroster.version is “1.0”" in err.getvalue()
    assert "Nothing was imported: 1 problems." in err.getvalue()
    assert db_counts() == before


@pytest.mark.parametrize("dry_run", [False, True])
def test_the_command_exits_3_when_rows_were_skipped(tmp_path: Path, root, dry_run: bool) -> None:
    files = oneroster_set()
    row_of(files, "enrollments.csv", "e3")["role"] = "wizard"
    out, err = io.StringIO(), io.StringIO()
    options = ["--dry-run"] if dry_run else []

    with pytest.raises(SystemExit) as exit_:
        call_command("import_oneroster", str(write_set(tmp_path, files)), "--by", root.email, *options,
                     stdout=out, stderr=err)  # fmt: skip

    assert exit_.value.code == 3
    assert "enrollments.csv, line 4, role: “wizard” is not a OneRoster role" in err.getvalue()
    assert Student.objects.count() == (0 if dry_run else 2)


def test_the_command_with_dry_run_writes_nothing(tmp_path: Path, root) -> None:
    out = io.StringIO()
    before = db_counts()

    call_command("import_oneroster", str(write_set(tmp_path, oneroster_set())), "--dry-run", "--by", root.email,
                 stdout=out, stderr=io.StringIO())  # fmt: skip

    assert db_counts() == before
    assert "Checked: nothing was changed." in out.getvalue()


# --- one district's import never reaches another district's families ------------------------------------------------


def rename_user(files: Files, old: str, new: str) -> None:
    """The same person under another sourcedId, in every file that names them."""
    for name in ("users.csv", "roles.csv", "enrollments.csv"):
        for row in files[name]:
            for column in ("sourcedId", "userSourcedId"):
                if row.get(column) == old:
                    row[column] = new
    for row in files["users.csv"]:
        row["agentSourcedIds"] = ",".join(new if a == old else a for a in row["agentSourcedIds"].split(",") if a)


def _family_elsewhere(sourced_id: str = "") -> tuple[Guardian, Student]:
    child = StudentFactory(school=SchoolFactory(name="Far Away School"))
    parent = GuardianFactory(first_name="Real", last_name="Parent", email="real.parent@example.org",
                             phone="+16175550100", sourced_id=sourced_id)  # fmt: skip
    StudentGuardianFactory(student=child, guardian=parent)
    return parent, child


def _guardian_state(guardian: Guardian) -> tuple[Any, ...]:
    values = Guardian.objects.values_list("first_name", "last_name", "email", "phone", "sourced_id", "is_active")
    links = sorted(StudentGuardian.objects.filter(guardian=guardian).values_list("student_id", flat=True))
    return (*values.get(pk=guardian.pk), links)


@pytest.mark.security
@pytest.mark.parametrize("by", ["email", "sourced_id", "homeroom_key"])
def test_a_guardian_of_another_district_is_never_changed_by_a_match(tmp_path: Path, by: str) -> None:

    imported(tmp_path, oneroster_set(), name="first")
    riverside = District.objects.get(sourced_id="d1")
    parent, _child = _family_elsewhere("far-g1" if by == "sourced_id" else "")
    before = _guardian_state(parent)
    files = oneroster_set()
    g1 = row_of(files, "users.csv", "g1")
    g1.update(givenName="Evil", familyName="Takeover", email="real.parent@example.org", phone="+16175550199")
    new_key = {"email": "new-g1", "sourced_id": "far-g1", "homeroom_key": f"homeroom-guardian-{parent.pk}"}[by]
    rename_user(files, "g1", new_key)

    result = run(tmp_path, files, name="second", district=riverside)

    after = _guardian_state(parent)
    count_security_probes("roster import", probes=1, leaks=int(after != before))
    assert after == before
    if by == "sourced_id":  # an SIS key is unique: the guardian is skipped, the rest imported
        assert result.imported
        assert "far-g1" in str(result.report.skipped)
        assert not Guardian.objects.filter(first_name="Evil").exists()
    else:
        assert result.imported, result.report.problems
        takeover = Guardian.objects.get(first_name="Evil")
        assert takeover.pk != parent.pk
        assert set(takeover.student_links.values_list("student__school__district", flat=True)) == {riverside.pk}


@pytest.mark.security
def test_a_user_of_another_district_is_never_changed_by_a_teacher_row(tmp_path: Path) -> None:
    imported(tmp_path, oneroster_set(), name="first")
    riverside = District.objects.get(sourced_id="d1")
    other = UserFactory(email="far.teacher@example.org", full_name="Far Teacher")
    StaffRoleFactory(user=other, school=SchoolFactory(name="Far Away School"))
    _parent, _child = _family_elsewhere()
    parent_account = UserFactory(email="real.parent@example.org", full_name="Real Parent")
    Guardian.objects.filter(email="real.parent@example.org").update(user=parent_account)
    probes = leaks = 0
    for email in ("far.teacher@example.org", "real.parent@example.org"):
        files = oneroster_set()
        row_of(files, "users.csv", "t1").update(email=email, givenName="Evil", enabledUser="false")
        rename_user(files, "t1", f"new-t{probes}")
        before = db_counts()
        result = run(tmp_path, files, name=f"take-{probes}", district=riverside)
        user = User.objects.get(email=email)
        probes += 1
        leaks += int(user.full_name == "Evil Lee" or not user.is_active)
        leaks += StaffRole.objects.filter(user=user, school__district=riverside).count()
        assert result.imported  # the teacher row skipped, the rest as it was
        skipped_at(result, "users.csv", USER_LINE["t1"], "email")
        assert db_counts()["accounts.User"] == before["accounts.User"]
    count_security_probes("roster import", probes=probes, leaks=leaks)
    assert leaks == 0


# --- the access log ------------------------------------------------------------------------------------------------


def test_an_import_logs_each_student_it_creates_or_changes(tmp_path: Path) -> None:
    admin = UserFactory(email="admin@riverside.example.org")
    imported(tmp_path, oneroster_set(), name="first", imported_by=admin)
    files = oneroster_set()
    row_of(files, "users.csv", "g2").update(phone="+16175550142")  # Lan is the guardian of both children
    imported(tmp_path, files, name="second", imported_by=admin)
    imported(tmp_path, files, name="third", imported_by=admin)  # unchanged: nothing logged

    events = AccessEvent.objects.filter(actor=admin, what="roster import")
    assert sorted(events.values_list("student__sourced_id", "action")) == [
        ("st1", "changed"),
        ("st1", "created"),
        ("st2", "changed"),
        ("st2", "created"),
    ]


# --- names with a line break, a control character or a NUL byte -----------------------------------------------------


@pytest.mark.parametrize(
    ("who", "column", "char"),
    [
        ("st1", "givenName", "\n"),
        ("g2", "familyName", "\r\n"),
        ("t1", "givenName", "\x00"),
        ("st1", "preferredGivenName", "\t"),
        ("g2", "givenName", "\x7f"),
        ("t1", "familyName", "\u2029"),
    ],
)
def test_a_name_with_a_control_character_leaves_its_row_out_and_says_why(
    tmp_path: Path, who: str, column: str, char: str
) -> None:
    imported(tmp_path, oneroster_set(), name="first")
    before = snapshot()
    files = oneroster_set()
    row_of(files, "users.csv", who)[column] = f"Ab{char}cd"
    row_of(files, "users.csv", "st2")["preferredGivenName"] = "Minh Anh"

    result = run(tmp_path, files, name="second")

    assert result.imported, result.report.problems
    assert (result.report.skipped[0].file, result.report.skipped[0].line) == ("users.csv", USER_LINE[who])
    assert result.report.skipped[0].column == column
    assert all(p.line == 0 for p in result.report.skipped[1:])  # what depends on the row, summed up
    assert student("st2").preferred_name == "Minh Anh"  # the rest is imported
    after = snapshot()
    for table in after:  # the skipped person kept as they were, with their links and classes
        if table != "students":
            assert after[table] == before[table], table


def test_a_new_user_with_a_nul_in_their_name_is_not_created_and_nothing_refers_to_them(tmp_path: Path) -> None:
    files = oneroster_set()
    row_of(files, "users.csv", "g2")["givenName"] = "L\x00an"
    row_of(files, "users.csv", "st1")["givenName"] = "Sof\x00ía"

    result = run(tmp_path, files)

    assert result.imported, result.report.problems
    assert [(p.file, p.line) for p in result.report.skipped] == [
        ("users.csv", USER_LINE["st1"]),
        ("users.csv", USER_LINE["g2"]),
        ("enrollments.csv", 0),  # st1's enrollment, summed up
    ]
    assert set(Student.objects.values_list("sourced_id", flat=True)) == {"st2"}
    assert set(Guardian.objects.values_list("sourced_id", flat=True)) == {"g1"}
    assert not StudentGuardian.objects.filter(student__sourced_id="st2").exists()  # st2's only guardian was g2


def test_a_control_character_in_any_other_field_skips_its_row(tmp_path: Path) -> None:
    files = oneroster_set()
    files["classes.csv"][0]["title"] = "Room\n3A"

    result = run(tmp_path, files)

    assert result.imported
    assert "line break" in skipped_at(result, "classes.csv", 2, "title").message
    assert rows_in() == without_rows(classes={"c1"}, enrollments=FULL_SET["enrollments"], teaching=FULL_SET["teaching"])
