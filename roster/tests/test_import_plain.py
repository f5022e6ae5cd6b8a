"""The plain CSV import (one row per student), rule by rule: tiny files written into tmp_path, imported into one
school with a current term, and the database looked at. A refused file must write nothing at all."""

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from audit.models import AccessEvent
from homeroom.testing import count_security_probes
from roster.imports.plain import COLUMNS, template_csv
from roster.imports.report import KINDS, Problem
from roster.imports.run import ImportResult, import_plain_csv
from roster.models import (
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
    TermFactory,
    UserFactory,
)

FILE = "roster.csv"


@pytest.fixture
def school(db: None) -> School:
    school = SchoolFactory(name="Maple Elementary")
    TermFactory(school=school, name="2026-2027", is_current=True)
    return school


def plain_row(**values: str) -> dict[str, str]:
    row = dict.fromkeys(COLUMNS, "")
    unknown = set(values) - set(row)
    assert not unknown, unknown
    row.update(values)
    return row


def sofia(**values: str) -> dict[str, str]:
    return plain_row(
        student_number="10231", first_name="Sofía", last_name="García", grade="3", class_code="3A",
        class_name="Room 3A", teacher_email="ms.lee@school.example.org", teacher_name="Ana Lee",
        guardian1_first_name="María", guardian1_last_name="García", guardian1_relationship="mother",
        guardian1_email="maria.garcia@example.org", guardian1_language="es",
    ) | values  # fmt: skip


def minh(**values: str) -> dict[str, str]:
    return plain_row(
        student_number="10232", first_name="Minh", last_name="Nguyễn", grade="KG", class_code="K1",
        guardian1_first_name="Lan", guardian1_last_name="Trần", guardian1_relationship="mother",
        guardian1_language="vi",
    ) | values  # fmt: skip


def write_csv(tmp_path: Path, rows: list[dict[str, str]], *, name: str = FILE, drop: tuple[str, ...] = ()) -> Path:
    header = [column for column in COLUMNS if column not in drop]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([row[column] for column in header] for row in rows)
    path = tmp_path / name
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def run(tmp_path: Path, school: School, rows: list[dict[str, str]], name: str = FILE, **options: Any) -> ImportResult:
    return import_plain_csv(
        write_csv(tmp_path, rows, name=name, drop=options.pop("drop", ())), school=school, **options
    )


def imported(tmp_path: Path, school: School, rows: list[dict[str, str]], name: str = FILE) -> ImportResult:
    result = run(tmp_path, school, rows, name)
    assert result.report.problems == [], result.report.problems
    assert result.imported
    return result


COUNTED = (Term, Section, Section.teachers.through, Student, Guardian, StudentGuardian, EndedFamilyLink, Enrollment,
           User, StaffRole)  # fmt: skip


def db_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in COUNTED}


def problem_at(result: ImportResult, line: int, column: str) -> Problem:
    for problem in result.report.problems:
        if (problem.file, problem.line, problem.column) == (FILE, line, column):
            assert problem.message.strip()
            return problem
    pytest.fail(f"No problem at line {line}, {column}; reported: {result.report.problems}")


def skipped_at(result: ImportResult, line: int, column: str) -> Problem:
    for problem in result.report.skipped:
        if (problem.file, problem.line, problem.column) == (FILE, line, column):
            assert problem.message.strip()
            return problem
    pytest.fail(f"Nothing skipped at line {line}, {column}; skipped: {result.report.skipped}")


def noticed(result: ImportResult, words: str) -> str:
    for notice in result.report.notices:
        if words in notice:
            return notice
    pytest.fail(f"No notice says {words!r}; notices: {result.report.notices}")


def numbers_in(school: School) -> set[str]:
    return set(Student.objects.filter(school=school, is_active=True).values_list("student_number", flat=True))


def refused(result: ImportResult, before: dict[str, int]) -> None:
    assert not result.imported
    assert not result.report.ok
    assert db_counts() == before, "a refused import wrote to the database"


def changes(result: ImportResult) -> int:
    counts = result.summary.as_dict()
    return sum(counts[kind][change] for kind in KINDS for change in ("created", "updated", "deactivated"))


def test_the_template_imports_as_it_is(tmp_path: Path, school: School) -> None:
    path = tmp_path / "template.csv"
    path.write_text(template_csv(), encoding="utf-8")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    result = import_plain_csv(path, school=school)

    assert result.report.problems == []
    assert result.imported
    sofia_, minh_ = Student.objects.filter(school=school).order_by("student_number")
    assert (sofia_.first_name, sofia_.last_name, sofia_.preferred_name, sofia_.grade_level) == ("Sofía", "García",
                                                                                                 "Sofi", 3)  # fmt: skip
    assert (minh_.first_name, minh_.last_name, minh_.grade_level) == ("Minh", "Nguyễn", 0)
    assert str(sofia_.date_of_birth) == "2017-04-12"
    term = Term.objects.get(school=school, is_current=True)
    assert sorted(Section.objects.filter(term=term).values_list("code", "name")) == [
        ("3A", "Room 3A"),
        ("K1", "Kindergarten 1"),
    ]
    assert Enrollment.objects.filter(student=sofia_, section__code="3A").exists()
    assert Enrollment.objects.filter(student=minh_, section__code="K1").exists()
    teacher = User.objects.get(email="ms.lee@school.example.org")
    assert teacher.full_name == "Ana Lee"
    assert not teacher.has_usable_password()
    assert StaffRole.objects.filter(user=teacher, role=Role.TEACHER, school=school).exists()
    assert list(Section.objects.get(code="3A").teachers.all()) == [teacher]
    assert sorted(sofia_.guardian_links.values_list("guardian__first_name", "relationship")) == [
        ("José", Relationship.FATHER),
        ("María", Relationship.MOTHER),
    ]
    jose = Guardian.objects.get(first_name="José")
    assert (jose.email, jose.phone, jose.preferred_language) == ("", "+16175550188", "es")
    lan = minh_.guardian_links.get().guardian
    assert (lan.first_name, lan.last_name, lan.preferred_language) == ("Lan", "Trần", "vi")
    assert Guardian.objects.count() == 3


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("guardian1_relationship", "uncle", "not a relationship Homeroom knows"),
        ("guardian1_language", "klingon", "not a language Homeroom offers"),
    ],
)
def test_an_unknown_relationship_or_language_is_dropped_with_a_notice(
    tmp_path: Path, school: School, column: str, value: str, words: str
) -> None:
    result = run(tmp_path, school, [sofia(), minh(**{column: value})])

    assert result.imported and result.exit_code == 0
    assert words in noticed(result, f"roster.csv, line 3, {column}")
    assert numbers_in(school) == {"10231", "10232"}


def test_a_student_number_twice_in_the_file_skips_both_rows(tmp_path: Path, school: School) -> None:
    result = run(tmp_path, school, [sofia(), minh(), minh(student_number="10231", first_name="Other")])

    assert result.imported and result.exit_code == 3
    message = skipped_at(result, 4, "student_number").message
    assert "10231" in message
    assert "line 2" in message
    skipped_at(result, 2, "student_number")
    assert numbers_in(school) == {"10232"}
    assert not Guardian.objects.filter(first_name="María").exists()  # Sofía's family came with her row only


def test_a_missing_required_column_is_reported(tmp_path: Path, school: School) -> None:
    before = db_counts()

    result = run(tmp_path, school, [sofia(), minh()], drop=("last_name",))

    refused(result, before)
    assert "lacks" in problem_at(result, 1, "last_name").message


def test_a_student_without_a_grade_is_imported_with_the_grade_unknown(tmp_path: Path, school: School) -> None:
    result = run(tmp_path, school, [sofia(grade=""), minh()], drop=())

    assert result.imported
    assert Student.objects.get(student_number="10231").grade_level is None
    noticed(result, "grade unknown")


def test_a_bad_optional_value_is_dropped_and_the_row_imported(tmp_path: Path, school: School) -> None:
    result = run(tmp_path, school, [sofia(grade="13"), minh(guardian1_email="lan.at.example.org")])

    assert result.imported and result.exit_code == 0
    assert "grade" in noticed(result, "roster.csv, line 2, grade")
    assert "not an email address" in noticed(result, "roster.csv, line 3, guardian1_email")
    assert numbers_in(school) == {"10231", "10232"}
    assert Guardian.objects.get(first_name="Lan").email == ""


def test_a_guardian_without_email_is_matched_by_name_on_reimport(tmp_path: Path, school: School) -> None:
    imported(tmp_path, school, [sofia(), minh()], name="first.csv")
    lan = Guardian.objects.get(first_name="Lan")

    again = imported(tmp_path, school, [sofia(), minh(guardian1_phone="+16175550199")], name="second.csv")

    assert Guardian.objects.filter(first_name="Lan").count() == 1
    lan.refresh_from_db()
    assert lan.phone == "+16175550199"
    assert Student.objects.get(student_number="10232").guardian_links.get().guardian == lan
    assert again.summary.as_dict()["guardians"]["created"] == 0


def test_reimporting_the_same_file_changes_nothing(tmp_path: Path, school: School) -> None:
    path = write_csv(tmp_path, [sofia(), minh()])
    import_plain_csv(path, school=school)
    before = db_counts()

    again = import_plain_csv(path, school=school)

    assert again.imported
    assert changes(again) == 0, again.summary.as_dict()
    assert db_counts() == before


def test_a_student_missing_from_the_second_import_is_deactivated(tmp_path: Path, school: School) -> None:
    imported(tmp_path, school, [sofia(), minh()], name="first.csv")

    second = imported(tmp_path, school, [sofia()], name="second.csv")

    gone = Student.objects.get(student_number="10232")  # kept, never deleted
    assert not gone.is_active
    assert Student.objects.get(student_number="10231").is_active
    assert second.summary.as_dict()["students"]["deactivated"] == 1


def test_two_rows_sharing_a_guardian_email_give_one_guardian(tmp_path: Path, school: School) -> None:
    shared = {"guardian1_first_name": "Pat", "guardian1_last_name": "Kim", "guardian1_email": "Pat.Kim@Example.org"}

    imported(tmp_path, school, [sofia(**shared), minh(**shared)])

    pat = Guardian.objects.get(email="pat.kim@example.org")
    assert sorted(pat.student_links.values_list("student__student_number", flat=True)) == ["10231", "10232"]
    assert Guardian.objects.count() == 1


def test_a_dry_run_writes_nothing(tmp_path: Path, school: School) -> None:
    before = db_counts()

    result = run(tmp_path, school, [sofia(), minh()], dry_run=True)

    assert result.report.ok
    assert not result.imported
    assert db_counts() == before
    assert result.summary.as_dict()["students"]["created"] == 2


def test_a_school_without_a_current_term_is_refused(tmp_path: Path, school: School) -> None:
    Term.objects.filter(school=school).update(is_current=False)
    before = db_counts()

    result = run(tmp_path, school, [sofia(), minh()])

    refused(result, before)
    assert "no current term" in result.report.problems[0].message


def test_the_command_imports_into_the_named_school(tmp_path: Path, school: School, root) -> None:
    SchoolFactory(name="Oak Middle", district=school.district)
    out = io.StringIO()

    call_command("import_roster_csv", str(write_csv(tmp_path, [sofia(), minh()])), "--school", school.name,
                 "--by", root.email, stdout=out, stderr=io.StringIO())  # fmt: skip

    assert "Imported." in out.getvalue()
    assert Student.objects.filter(school=school).count() == 2


def test_the_command_exits_1_on_a_file_it_cannot_import(tmp_path: Path, school: School, root) -> None:
    err = io.StringIO()
    before = db_counts()

    with pytest.raises(SystemExit) as exit_:
        call_command("import_roster_csv", str(write_csv(tmp_path, [sofia()], drop=("first_name",))), "--by",
                     root.email, stdout=io.StringIO(), stderr=err)  # fmt: skip

    assert exit_.value.code == 1
    assert "roster.csv, line 1, first_name: The header row lacks these columns." in err.getvalue()
    assert db_counts() == before


def test_the_command_exits_3_when_rows_were_skipped(tmp_path: Path, school: School, root) -> None:
    err = io.StringIO()
    rows = [sofia(), minh(), minh(student_number="10233", last_name="")]

    with pytest.raises(SystemExit) as exit_:
        call_command("import_roster_csv", str(write_csv(tmp_path, rows, name="Spring roster.csv")), "--by",
                     root.email, stdout=io.StringIO(), stderr=err)  # fmt: skip

    assert exit_.value.code == 3
    assert "Spring roster.csv, line 4, last_name: This field is empty." in err.getvalue()  # the file's own name
    assert numbers_in(school) == {"10231", "10232"}


def test_a_teacher_email_of_someone_outside_the_school_is_refused(tmp_path: Path, school: School) -> None:
    """A leader's file may not make a parent, or a teacher of another school, a teacher here."""
    parent = User.objects.create_user(email="parent@example.org", full_name="Pat Parent")
    elsewhere = User.objects.create_user(email="far@example.org", full_name="Far Teacher", is_active=False)
    StaffRole.objects.create(user=elsewhere, role="teacher", school=SchoolFactory(name="Oak Middle"))
    roles = set(StaffRole.objects.values_list("user_id", "school_id"))
    for email in (parent.email, elsewhere.email):
        result = run(tmp_path, school, [sofia(teacher_email=email, teacher_name="")])
        assert "outside your school" in skipped_at(result, 2, "teacher_email").message
        assert result.imported  # the student, without that teacher
        assert set(StaffRole.objects.values_list("user_id", "school_id")) == roles
    elsewhere.refresh_from_db()
    assert (elsewhere.is_active, elsewhere.full_name) == (False, "Far Teacher")


def test_a_known_teacher_keeps_their_name_when_the_file_leaves_it_empty(tmp_path: Path, school: School) -> None:
    teacher = User.objects.create_user(email="ms.lee@school.example.org", full_name="Ana Lee")
    StaffRole.objects.create(user=teacher, role="teacher", school=school)
    imported(tmp_path, school, [sofia(teacher_name="")])
    teacher.refresh_from_db()
    assert teacher.full_name == "Ana Lee"
    assert Section.objects.get(code="3A").teachers.get() == teacher


# --- one district's import never reaches another district's families ------------------------------------------------


@pytest.mark.security
def test_a_guardian_of_another_district_is_never_changed_by_their_email(tmp_path: Path, school: School) -> None:
    elsewhere = StudentFactory(school=SchoolFactory(name="Far Away School"))
    parent = GuardianFactory(
        first_name="Real", last_name="Parent", email="real.parent@example.org", phone="+16175550100"
    )
    StudentGuardianFactory(student=elsewhere, guardian=parent)
    before = Guardian.objects.values_list("first_name", "last_name", "email", "phone", "is_active").get(pk=parent.pk)
    row = sofia(guardian2_first_name="Evil", guardian2_last_name="Takeover", guardian2_email="real.parent@example.org",
                guardian2_phone="+16175550199")  # fmt: skip

    imported(tmp_path, school, [row])
    reimported = run(tmp_path, school, [row])  # the second run must not find them either

    after = Guardian.objects.values_list("first_name", "last_name", "email", "phone", "is_active").get(pk=parent.pk)
    links = set(StudentGuardian.objects.filter(guardian=parent).values_list("student_id", flat=True))
    taken = int(after != before) + len(links - {elsewhere.pk})
    count_security_probes("roster import", probes=2, leaks=taken)
    assert reimported.imported
    assert after == before
    assert links == {elsewhere.pk}
    sofia_record = Student.objects.get(school=school, student_number="10231")
    newcomer = Guardian.objects.get(student_links__student=sofia_record, email="real.parent@example.org")
    assert newcomer.pk != parent.pk
    assert (newcomer.first_name, newcomer.phone) == ("Evil", "+16175550199")


@pytest.mark.security
def test_a_teacher_email_of_another_district_is_refused_and_left_alone(tmp_path: Path, school: School) -> None:
    other = UserFactory(email="teacher@far.example.org", full_name="Far Teacher")
    StaffRoleFactory(user=other, school=SchoolFactory(name="Far Away School"))
    before = db_counts()

    result = run(tmp_path, school, [sofia(teacher_email="teacher@far.example.org", teacher_name="New Name")])

    other.refresh_from_db()
    changed = int(other.full_name != "Far Teacher") + StaffRole.objects.filter(user=other, school=school).count()
    count_security_probes("roster import", probes=1, leaks=changed)
    assert result.imported  # Sofía, without that teacher
    assert other.full_name == "Far Teacher"
    skipped_at(result, 2, "teacher_email")
    assert db_counts()["accounts.User"] == before["accounts.User"]


# --- the access log ------------------------------------------------------------------------------------------------


def _events(actor: User) -> list[tuple[str, str]]:
    rows = AccessEvent.objects.filter(actor=actor, what="roster import")
    return sorted(rows.values_list("student__student_number", "action"))


def test_an_import_logs_each_student_it_creates_or_changes_once_and_nothing_else(
    tmp_path: Path, school: School
) -> None:
    leader = UserFactory(email="leader@maple.example.org")
    run(tmp_path, school, [sofia(), minh()], imported_by=leader, dry_run=True)
    assert _events(leader) == []  # a check changes nothing, so logs nothing

    run(tmp_path, school, [sofia(), minh()], imported_by=leader)
    assert _events(leader) == [("10231", "created"), ("10232", "created")]

    run(tmp_path, school, [sofia(), minh()], imported_by=leader)
    assert len(_events(leader)) == 2  # unchanged: nothing logged

    run(tmp_path, school, [sofia(preferred_name="Sofi"), minh()], imported_by=leader)
    run(tmp_path, school, [sofia(preferred_name="Sofi"), minh(guardian1_phone="+16175550142")], imported_by=leader)
    run(tmp_path, school, [sofia(preferred_name="Sofi", class_code="")], imported_by=leader)  # Minh leaves
    assert _events(leader) == [
        ("10231", "changed"),  # a name
        ("10231", "changed"),  # out of a class
        ("10231", "created"),
        ("10232", "changed"),  # a guardian's phone
        ("10232", "changed"),  # deactivated
        ("10232", "created"),
    ]


def _import_queries(tmp_path: Path, school: School, rows: list[dict[str, str]], actor: User | None) -> int:
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        imported(tmp_path, school, rows) if actor is None else run(tmp_path, school, rows, imported_by=actor)
        transaction.set_rollback(True)
    return len(queries)


def test_logging_an_import_costs_one_insert_per_kind_of_change_whatever_the_number_of_students(
    tmp_path: Path, school: School
) -> None:
    leader = UserFactory(email="leader@maple.example.org")
    few = [sofia(student_number=f"A{n}", guardian1_email=f"a{n}@example.org") for n in range(3)]
    many = [sofia(student_number=f"A{n}", guardian1_email=f"a{n}@example.org") for n in range(60)]
    without_log = _import_queries(tmp_path, school, few, None)
    logged_few = _import_queries(tmp_path, school, few, leader)
    logged_many = _import_queries(tmp_path, school, many, leader)
    assert logged_few - without_log <= 2
    assert logged_many == logged_few


# --- names with a line break, a control character or a NUL byte -----------------------------------------------------

BAD_CHARACTERS = {"line feed": "\n", "carriage return": "\r", "NUL": "\x00", "tab": "\t", "escape": "\x1b",
                  "line separator": "\u2028"}  # fmt: skip


def _sofia_as_she_is(school: School) -> tuple[Any, ...]:
    student = Student.objects.get(school=school, student_number="10231")
    return (
        student.first_name,
        student.is_active,
        sorted(student.guardian_links.values_list("guardian__first_name", flat=True)),
        sorted(student.enrollments.values_list("section__code", flat=True)),
    )


@pytest.mark.parametrize(
    ("column", "char"),
    list(
        zip(
            ["first_name", "preferred_name", "guardian1_last_name", "teacher_name"] * 2,
            BAD_CHARACTERS.values(),
            strict=False,
        )
    ),
    ids=BAD_CHARACTERS.keys(),
)
def test_a_name_with_a_control_character_leaves_its_row_out_and_says_why(
    tmp_path: Path, school: School, column: str, char: str
) -> None:
    imported(tmp_path, school, [sofia(), minh()])
    before = _sofia_as_she_is(school)

    result = run(tmp_path, school, [sofia(**{column: f"Ab{char}cd"}), minh(first_name="Minh Anh")])

    assert result.imported, result.report.problems
    assert [(p.file, p.line, p.column) for p in result.report.skipped] == [(FILE, 2, column)]
    assert _sofia_as_she_is(school) == before  # kept as she was: active, her family and her class
    assert Student.objects.get(student_number="10232").first_name == "Minh Anh"  # the rest is imported


def test_a_new_student_whose_guardian_s_name_has_a_nul_byte_is_not_created(tmp_path: Path, school: School) -> None:
    result = run(tmp_path, school, [sofia(guardian1_first_name="Ma\x00ría"), minh()])

    assert result.imported
    assert set(Student.objects.values_list("student_number", flat=True)) == {"10232"}
    assert "NUL" in result.report.skipped[0].message
    assert not any("\x00" in name for name in Guardian.objects.values_list("first_name", flat=True))


def test_a_file_whose_every_row_would_be_skipped_imports_nothing(tmp_path: Path, school: School) -> None:
    before = db_counts()

    result = run(tmp_path, school, [sofia(class_code="3\x00A"), minh(student_number="10\n232")])

    refused(result, before)
    assert "NUL" in skipped_at(result, 2, "class_code").message
    assert "line break" in skipped_at(result, 3, "student_number").message
    assert "2 of its 2 rows" in problem_at(result, 0, "").message
