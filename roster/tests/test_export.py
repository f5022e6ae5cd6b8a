"""The OneRoster export, read back by Homeroom's own import: a roster goes out and comes back the same.

`families` adds to the shared `world` names in four scripts, siblings with one guardian at two schools, custody
restrictions one at a time, a child in no class and a class with no teacher. A round trip exports it, empties the
roster tables and imports the zip, then compares `snapshot()`s: the roster by natural keys (names, numbers, codes,
emails), never by database ids or sourcedIds.
"""

import csv
import datetime
import io
import re
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import User
from audit.models import AccessEvent, AuditAction
from conftest import World
from homeroom.testing import count_security_probes
from roster.demo import build_demo_school
from roster.imports.export import export_oneroster, grade_code, guardian_role
from roster.imports.run import ImportResult, import_oneroster
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
from roster.tests.factories import (
    EnrollmentFactory,
    GuardianFactory,
    SchoolFactory,
    SectionFactory,
    StaffRoleFactory,
    StudentFactory,
    StudentGuardianFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 9, 15)  # inside the factories' term


# --- helpers -------------------------------------------------------------------------------------------------------


def exported(district: District, **options: Any) -> bytes:
    out = io.BytesIO()
    export_oneroster(out, district=district, **options)
    return out.getvalue()


def read_zip(data: bytes) -> dict[str, list[dict[str, str]]]:
    """Each file of the set as its rows, {column: value}."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"), newline="")))
            for name in archive.namelist()
        }


def zip_texts(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name).decode("utf-8") for name in archive.namelist()}


def imported(tmp_path: Path, data: bytes, name: str = "roster") -> ImportResult:
    path = tmp_path / f"{name}.zip"
    path.write_bytes(data)
    result = import_oneroster(path, today=TODAY)
    assert result.imported, [str(problem) for problem in result.report.problems]
    return result


def empty_the_roster() -> None:
    Enrollment.objects.all().delete()
    StudentGuardian.objects.all().delete()
    Student.objects.all().delete()
    Guardian.objects.all().delete()
    Section.objects.all().delete()
    Term.objects.all().delete()
    StaffRole.objects.all().delete()
    School.objects.all().delete()
    District.objects.all().delete()
    User.objects.filter(is_superuser=False).delete()


def snapshot() -> dict[str, Any]:
    """The roster by natural keys. Lists are sorted (two guardians may share every field), sets where keys are
    unique."""
    return {
        "schools": set(School.objects.values_list("district__name", "name")),
        "terms": set(Term.objects.values_list("school__name", "name", "starts_on", "ends_on")),
        "classes": {
            (
                section.term.school.name,
                section.term.name,
                section.code,
                section.name,
                section.grade_level,
                frozenset(teacher.email for teacher in section.teachers.all()),
            )
            for section in Section.objects.filter(is_active=True).select_related("term__school")
        },
        "teacher_roles": set(
            StaffRole.objects.filter(role=Role.TEACHER, user__is_active=True).values_list("user__email", "school__name")
        ),
        "students": set(
            Student.objects.filter(is_active=True).values_list(
                "school__name",
                "student_number",
                "first_name",
                "last_name",
                "preferred_name",
                "grade_level",
                "date_of_birth",
            )
        ),
        "guardians": sorted(
            Guardian.objects.filter(is_active=True).values_list(
                "first_name", "last_name", "email", "phone", "preferred_language"
            )
        ),
        "links": sorted(
            StudentGuardian.objects.values_list(
                "student__school__name",
                "student__student_number",
                "guardian__email",
                "guardian__first_name",
                "guardian__last_name",
                "relationship",
                "is_primary_contact",
                "lives_with_student",
                "contact_allowed",
                "portal_access_allowed",
            )
        ),
        "enrollments": set(
            Enrollment.objects.values_list("section__term__school__name", "section__code", "student__student_number")
        ),
    }


def user_rows(data: bytes) -> dict[str, dict[str, str]]:
    return {row["sourcedId"]: row for row in read_zip(data)["users.csv"]}


# --- the people ----------------------------------------------------------------------------------------------------


@pytest.fixture
def families(world: World) -> World:
    """The world, with families in several scripts and every kind of link the export must carry."""
    school, oak = world.school, world.other_school
    far_section = Section.objects.get(name="7C")

    # Arabic, with its own script; the father's phone only.
    omar = EnrollmentFactory(
        section=world.section, student__first_name="عمر", student__last_name="الفاروق", student__student_number="AR-1"
    ).student
    father = GuardianFactory(first_name="خالد", last_name="الفاروق", email="", preferred_language="ar")
    StudentGuardianFactory(student=omar, guardian=father, relationship=Relationship.FATHER)

    # Chinese siblings at two schools, one mother for both; she may not be contacted about either.
    xiaoming = EnrollmentFactory(
        section=world.section, student__first_name="小明", student__last_name="王", student__student_number="ZH-1"
    ).student
    xiaohong = EnrollmentFactory(
        section=far_section, student__first_name="小红", student__last_name="王", student__student_number="ZH-2"
    ).student
    mother = GuardianFactory(first_name="芳", last_name="王", preferred_language="zh-hans")
    for child in (xiaoming, xiaohong):
        StudentGuardianFactory(student=child, guardian=mother, relationship=Relationship.MOTHER, contact_allowed=False)
    grandmother = GuardianFactory(first_name="秀英", last_name="李", email="", phone="", preferred_language="zh-hans")
    StudentGuardianFactory(
        student=xiaohong, guardian=grandmother, relationship=Relationship.GRANDPARENT, is_primary_contact=False
    )

    # Vietnamese, with a preferred name and a birth date, in a kindergarten class with no teacher yet; her father
    # lives apart and may not use the portal.
    kindergarten = SectionFactory(term=far_section.term, name="Mẫu giáo", code="KG-1", grade_level=0)
    huong = EnrollmentFactory(
        section=kindergarten,
        student__first_name="Thị Hương",
        student__last_name="Nguyễn",
        student__preferred_name="Hannah",
        student__date_of_birth=datetime.date(2021, 3, 4),
        student__grade_level=0,
        student__student_number="VI-1",
    ).student
    StudentGuardianFactory(
        student=huong,
        guardian=GuardianFactory(first_name="Văn Minh", last_name="Nguyễn", preferred_language="vi"),
        relationship=Relationship.FATHER,
        lives_with_student=False,
        portal_access_allowed=False,
        is_primary_contact=False,
    )
    StudentGuardianFactory(
        student=huong,
        guardian=GuardianFactory(first_name="Lan", last_name="Trần", preferred_language="vi"),
        relationship=Relationship.FOSTER_PARENT,
    )

    # A pre-K child in no class yet, whose name has an emoji.
    zoe = StudentFactory(school=oak, first_name="Zoë 🌟", last_name="Lefèvre", grade_level=-1, student_number="FR-1")
    StudentGuardianFactory(
        student=zoe,
        guardian=GuardianFactory(first_name="Élodie", last_name="Lefèvre", preferred_language="fr"),
        relationship=Relationship.GUARDIAN,
    )
    # A teacher of two schools, who co-teaches the first class.
    StaffRoleFactory(user__email="co.teacher@example.org", user__full_name="Ana María López", school=school)
    co_teacher = StaffRoleFactory(user__email="co.teacher@example.org", school=oak).user
    world.section.teachers.add(co_teacher)
    return world


# --- the round trip ------------------------------------------------------------------------------------------------


def test_a_roster_exported_and_imported_into_an_empty_database_comes_back_the_same(families, tmp_path):
    before = snapshot()
    assert len(before["students"]) == 8 and len(before["links"]) == 10  # the world's and the families'
    data = exported(School.objects.get(name="Maple Elementary").district)

    empty_the_roster()
    assert not Student.objects.exists() and not Guardian.objects.exists() and not Section.objects.exists()
    result = imported(tmp_path, data)

    assert result.summary.counts["students"]["created"] == 8
    assert snapshot() == before


def test_importing_the_export_again_changes_nothing(families, tmp_path):
    data = exported(families.school.district)
    empty_the_roster()
    imported(tmp_path, data, name="first")
    after_first = snapshot()

    again = imported(tmp_path, data, name="second")

    assert again.summary.changed == 0
    assert again.summary.counts["students"]["unchanged"] == 8
    assert again.summary.counts["family_links"]["unchanged"] == 10
    assert snapshot() == after_first


def test_the_export_imported_into_the_database_it_came_from_keeps_the_roster_and_then_changes_nothing(
    families, tmp_path
):
    before = snapshot()

    first = imported(tmp_path, exported(families.school.district), name="first")

    # The first import gives each record the sourcedId the export made up for it, and changes nothing else: the
    # records are reported unchanged, not updated.
    assert first.summary.counts["students"]["updated"] == 0
    assert first.summary.changed == 0, first.summary.as_dict()
    assert snapshot() == before
    again = imported(tmp_path, exported(families.school.district), name="again")
    assert again.summary.changed == 0


def test_the_export_imported_into_the_database_it_came_from_keeps_every_guardian(families, tmp_path):
    guardians = set(Guardian.objects.values_list("pk", flat=True))

    result = imported(tmp_path, exported(families.school.district))

    assert result.summary.counts["guardians"]["created"] == 0
    assert set(Guardian.objects.filter(is_active=True).values_list("pk", flat=True)) == guardians


def test_the_roster_imported_exports_as_the_same_files(families, tmp_path):
    first = exported(families.school.district)
    empty_the_roster()
    imported(tmp_path, first)

    second = exported(District.objects.get())

    # The generated sourcedIds became the records' own: every file, row for row, is the same.
    assert {name: sorted(map(str, rows)) for name, rows in read_zip(second).items()} == {
        name: sorted(map(str, rows)) for name, rows in read_zip(first).items()
    }


# --- what the files say ----------------------------------------------------------------------------------------------


def test_the_manifest_declares_a_oneroster_1_2_bulk_set_from_homeroom(families):
    manifest = {
        row["propertyName"]: row["value"] for row in read_zip(exported(families.school.district))["manifest.csv"]
    }

    assert manifest["oneroster.version"] == "1.2"
    assert manifest["source.systemName"] == "Homeroom"
    bulk = {key.removeprefix("file.") for key, value in manifest.items() if value == "bulk"}
    assert bulk == {"orgs", "academicSessions", "classes", "users", "roles", "enrollments", "demographics"}
    assert manifest["file.courses"] == manifest["file.results"] == "absent"


def test_a_guardian_row_carries_language_and_every_link_with_its_flags(families):
    data = exported(families.school.district)
    users = user_rows(data)
    mother = Guardian.objects.get(first_name="芳")
    row = users[f"homeroom-guardian-{mother.pk}"]
    children = Student.objects.filter(student_number__in=["ZH-1", "ZH-2"]).order_by("pk")

    assert row["metadata.homeroom.language"] == "zh-hans"
    assert row["metadata.homeroom.links"] == ",".join(
        f"homeroom-student-{child.pk}=mother+primary+nocontact" for child in children
    )
    assert row["agentSourcedIds"] == ",".join(f"homeroom-student-{child.pk}" for child in children)
    assert row["sms"] == mother.phone and row["email"] == mother.email
    huong = users[f"homeroom-student-{Student.objects.get(student_number='VI-1').pk}"]
    assert (huong["preferredGivenName"], huong["grades"], huong["identifier"]) == ("Hannah", "KG", "VI-1")


def test_each_user_has_one_primary_role_at_their_school_and_guardians_one_by_relationship(families):
    files = read_zip(exported(families.school.district))
    roles = Counter((row["userSourcedId"], row["orgSourcedId"]) for row in files["roles.csv"])
    by_user = {row["userSourcedId"]: row["role"] for row in files["roles.csv"]}
    school_ids = {row["name"]: row["sourcedId"] for row in files["orgs.csv"]}

    assert set(roles.values()) == {1}
    assert {row["roleType"] for row in files["roles.csv"]} == {"primary"}
    lan = Guardian.objects.get(first_name="Lan")
    grandmother = Guardian.objects.get(first_name="秀英")
    assert by_user[f"homeroom-guardian-{lan.pk}"] == "guardian"  # foster parent
    assert by_user[f"homeroom-guardian-{grandmother.pk}"] == "relative"
    co_teacher = User.objects.get(email="co.teacher@example.org")
    assert {org for user, org in roles if user == f"homeroom-user-{co_teacher.pk}"} == {
        school_ids["Maple Elementary"],
        school_ids["Oak Middle"],
    }


def test_the_export_holds_no_password_and_no_inactive_record(families):
    left = StudentFactory(school=families.school, student_number="GONE-1", first_name="Departed", is_active=False)
    EnrollmentFactory(section=families.section, student=left)
    their_guardian = GuardianFactory(first_name="Onlyof", last_name="Departed")
    StudentGuardianFactory(student=left, guardian=their_guardian)
    closed = SectionFactory(term=families.section.term, code="OLD-1", is_active=False)
    EnrollmentFactory(section=closed, student=families.student)

    data = exported(families.school.district)
    text = "".join(zip_texts(data).values())
    files = read_zip(data)

    assert {row["password"] for row in files["users.csv"]} == {""}
    assert all(password not in text for password in User.objects.values_list("password", flat=True))
    assert "correct horse battery" not in text  # the factories' password
    assert "GONE-1" not in text and "Departed" not in text
    assert f"homeroom-student-{left.pk}" not in text
    assert "OLD-1" not in text and f"homeroom-class-{closed.pk}" not in text
    # The same student, active, is exported: the filter is what kept them out.
    left.is_active = True
    left.save(update_fields=["is_active"])
    assert "GONE-1" in "".join(zip_texts(exported(families.school.district)).values())


def test_records_without_a_sourced_id_get_the_same_generated_one_on_every_export(families):
    first, second = exported(families.school.district), exported(families.school.district)

    assert zip_texts(first) == zip_texts(second)
    assert f"homeroom-student-{families.student.pk}" in user_rows(first)
    families.student.sourced_id = "sis-ana"
    families.student.save(update_fields=["sourced_id"])
    assert "sis-ana" in user_rows(exported(families.school.district))


def test_a_generated_id_steps_aside_for_an_sis_key_that_reads_the_same(families):
    # Ana's generated key is already another student's SIS key: a set Homeroom exported, imported here.
    key = f"homeroom-student-{families.student.pk}"
    other = StudentFactory(school=families.school, first_name="Other", sourced_id=key)

    users = user_rows(exported(families.school.district))

    assert users[key]["givenName"] == "Other" and users[key]["identifier"] == other.student_number
    assert users[f"{key}-2"]["givenName"] == "Ana"


def test_a_session_two_schools_share_is_written_once_and_comes_back_as_each_schools_term(families, tmp_path):
    Term.objects.update(sourced_id="ay-2026", name="2026-27")
    before = snapshot()
    data = exported(families.school.district)
    assert [row["sourcedId"] for row in read_zip(data)["academicSessions.csv"]] == ["ay-2026"]

    empty_the_roster()
    imported(tmp_path, data)

    assert snapshot() == before
    assert set(Term.objects.values_list("school__name", "sourced_id")) == {
        ("Maple Elementary", "ay-2026"),
        ("Oak Middle", "ay-2026"),
    }


def test_a_one_word_staff_name_is_written_as_both_names_so_the_file_still_imports(families, tmp_path):
    teacher = families.people["teacher"]
    assert teacher.full_name == "Teacher"
    row = user_rows(exported(families.school.district))[f"homeroom-user-{teacher.pk}"]
    assert (row["givenName"], row["familyName"]) == ("Teacher", "Teacher")


def test_a_teacher_the_sis_also_sent_as_a_parent_is_one_row_with_both_roles(families, tmp_path):
    teacher = families.people["far_teacher"]
    teacher.sourced_id = "sis-7"
    teacher.save(update_fields=["sourced_id"])
    parent = GuardianFactory(sourced_id="sis-7", email="far.teacher@example.org")
    StudentGuardianFactory(student=families.far_student, guardian=parent)

    files = read_zip(exported(families.school.district))

    assert [row["sourcedId"] for row in files["users.csv"]].count("sis-7") == 1
    assert {row["role"] for row in files["roles.csv"] if row["userSourcedId"] == "sis-7"} == {"teacher", "parent"}


def test_a_teacher_who_is_a_parent_at_another_school_stays_a_teacher_of_their_own_school_only(families, tmp_path):
    teacher = families.people["teacher"]  # teaches at Maple
    teacher.sourced_id = "sis-8"
    teacher.save(update_fields=["sourced_id"])
    parent = GuardianFactory(sourced_id="sis-8", email="teacher@example.org")
    StudentGuardianFactory(student=families.far_student, guardian=parent)  # the child is at Oak
    data = exported(families.school.district)
    empty_the_roster()

    imported(tmp_path, data)

    assert set(StaffRole.objects.filter(user__email="teacher@example.org").values_list("school__name", flat=True)) == {
        "Maple Elementary"
    }


def test_only_the_schools_asked_for_are_exported(families):
    oak = School.objects.filter(name="Oak Middle")

    files = read_zip(exported(families.school.district, schools=oak))

    assert [row["name"] for row in files["orgs.csv"]] == [families.school.district.name, "Oak Middle"]
    numbers = {row["identifier"] for row in files["users.csv"] if row["identifier"]}
    assert numbers == set(Student.objects.filter(school__name="Oak Middle").values_list("student_number", flat=True))
    emails = {row["email"] for row in files["users.csv"]}
    assert "far.teacher@example.org" in emails and "teacher@example.org" not in emails


@pytest.mark.parametrize(("level", "code"), [(-1, "PK"), (0, "KG"), (1, "01"), (9, "09"), (12, "12")])
def test_grades_are_written_as_oneroster_codes(level, code):
    assert grade_code(level) == code


@pytest.mark.parametrize(
    ("relationship", "role"),
    [
        (Relationship.MOTHER, "parent"),
        (Relationship.STEPPARENT, "parent"),
        (Relationship.GUARDIAN, "guardian"),
        (Relationship.FOSTER_PARENT, "guardian"),
        (Relationship.GRANDPARENT, "relative"),
        (Relationship.OTHER, "relative"),
    ],
)
def test_a_guardians_oneroster_role_follows_the_relationship(relationship, role):
    assert guardian_role(relationship) == role


# --- the command ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # as the command runs: outside a transaction (PostgreSQL: its snapshot)
def test_the_command_writes_a_zip_and_prints_the_rows_of_each_file(families, tmp_path, root):
    assert not connection.in_atomic_block
    path = tmp_path / "roster.zip"
    out = io.StringIO()

    call_command("export_oneroster", str(path), "--by", root.email, stdout=out)

    assert zipfile.is_zipfile(path)
    assert "users.csv" in out.getvalue() and "enrollments.csv" in out.getvalue()
    assert len(read_zip(path.read_bytes())["users.csv"]) == 8 + 9 + 4  # students, guardians, teachers
    assert [p.name for p in tmp_path.iterdir()] == ["roster.zip"]  # no partial file left behind


def test_the_command_needs_a_district_named_when_there_are_several(families, tmp_path, root):
    SchoolFactory(name="Elsewhere")  # in a district of its own
    with pytest.raises(CommandError, match="more than one district"):
        call_command("export_oneroster", str(tmp_path / "roster.zip"), "--by", root.email, stdout=io.StringIO())
    with pytest.raises(CommandError, match="has no school named Nowhere"):
        call_command(
            "export_oneroster",
            str(tmp_path / "roster.zip"),
            "--district",
            families.school.district.name,
            "--school",
            "Nowhere",
            "--by",
            root.email,
            stdout=io.StringIO(),
        )
    assert not (tmp_path / "roster.zip").exists()

    call_command(
        "export_oneroster",
        str(tmp_path / "roster.zip"),
        "--district",
        families.school.district.name,
        "--school",
        "Oak Middle",
        "--by",
        root.email,
        stdout=io.StringIO(),
    )
    assert len(read_zip((tmp_path / "roster.zip").read_bytes())["orgs.csv"]) == 2


# --- the worked example: the demo school ---------------------------------------------------------------------------


def test_the_demo_school_exported_and_imported_into_an_empty_database_has_the_same_roster(tmp_path):
    build_demo_school()
    counts = {
        "students": Student.objects.count(),
        "guardians": Guardian.objects.count(),
        "classes": Section.objects.count(),
        "enrollments": Enrollment.objects.count(),
        "links": StudentGuardian.objects.count(),
        "teaching": Section.teachers.through.objects.count(),
    }
    assert (counts["students"], counts["classes"], counts["enrollments"]) == (300, 12, 300)
    before = snapshot()
    data = exported(District.objects.get())

    empty_the_roster()
    imported(tmp_path, data)

    assert {
        "students": Student.objects.count(),
        "guardians": Guardian.objects.count(),
        "classes": Section.objects.count(),
        "enrollments": Enrollment.objects.count(),
        "links": StudentGuardian.objects.count(),
        "teaching": Section.teachers.through.objects.count(),
    } == counts
    assert snapshot() == before


def test_a_leader_downloads_the_roster_of_their_school_only(client, world):
    client.force_login(world.people["leader"])
    response = client.get(reverse("roster:export_roster"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="homeroom-oneroster-')
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        users = archive.read("users.csv").decode()
    assert world.student.student_number in users
    assert world.far_student.student_number not in users  # another school of the district


@pytest.mark.parametrize("person", ["teacher", "guardian", "stranger"])
def test_only_leaders_download_the_roster(client, world, person):
    client.force_login(world.people[person])
    assert client.get(reverse("roster:export_roster")).status_code == 404


# --- the access log ------------------------------------------------------------------------------------------------


def test_a_leaders_download_logs_one_export_event_per_student_whose_record_went_out(client, world):
    leader = world.people["leader"]
    client.force_login(leader)
    response = client.get(reverse("roster:export_roster"))
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        users = list(csv.DictReader(io.StringIO(archive.read("users.csv").decode(), newline="")))
    numbers = {row["identifier"] for row in users if row["identifier"]}
    events = AccessEvent.objects.filter(actor=leader, action=AuditAction.EXPORTED)
    assert sorted(events.values_list("student__student_number", flat=True)) == sorted(numbers)
    assert world.far_student.pk not in set(events.values_list("student_id", flat=True))
    assert {event.path for event in events} == {reverse("roster:export_roster")}


def _export_queries(district: District, actor: User | None) -> int:
    with CaptureQueriesContext(connection) as queries:
        export_oneroster(io.BytesIO(), district=district, exported_by=actor)
    return len(queries)


def test_logging_an_export_costs_one_insert_whatever_the_number_of_students(families):
    district = families.school.district
    leader = families.people["leader"]
    without_log = _export_queries(district, None)
    few = _export_queries(district, leader)
    logged = AccessEvent.objects.count()
    for n in range(40):
        StudentFactory(school=families.school, student_number=f"X{n:03d}")
    many = _export_queries(district, leader)
    assert logged == Student.objects.filter(school__district=district, is_active=True).count() - 40
    assert AccessEvent.objects.count() == 2 * logged + 40
    assert few - without_log <= 2  # the INSERT (and its transaction on some databases), never one per student
    assert many == few


# --- no cell runs as a formula, and names come back exactly -----------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cells(data: bytes) -> list[str]:
    cells = []
    for text in zip_texts(data).values():
        for row in csv.reader(io.StringIO(text, newline="")):
            cells.extend(row)
    return cells


@pytest.fixture
def one_family(db: None) -> dict[str, Any]:
    section = SectionFactory()
    child = EnrollmentFactory(section=section).student
    parent = GuardianFactory(phone="+16175550123")
    StudentGuardianFactory(student=child, guardian=parent)
    return {"district": section.term.school.district, "student": child, "guardian": parent}


@pytest.mark.security
def test_names_a_spreadsheet_would_run_are_exported_as_text(one_family):
    payloads = ['=HYPERLINK("http://evil.example")', "+cmd|' /C calc'!A0", "-1+1", "@SUM(A1)", "'quoted"]
    Student.objects.filter(pk=one_family["student"].pk).update(
        first_name=payloads[0], last_name=payloads[1], preferred_name=payloads[2]
    )
    Guardian.objects.filter(pk=one_family["guardian"].pk).update(first_name=payloads[3], last_name=payloads[4])

    cells = _cells(exported(one_family["district"]))

    dangerous = [c for c in cells if c.startswith(FORMULA_STARTS) and not re.fullmatch(r"[+-][0-9]+", c)]
    count_security_probes("CSV export formula cells", probes=len(payloads), leaks=len(dangerous))
    assert dangerous == []
    assert {f"'{payload}" for payload in payloads} <= set(cells)
    assert "+16175550123" in cells  # a phone stays a number a spreadsheet reads as one


NAME = (
    st.tuples(
        st.sampled_from(["", "=", "+", "-", "@", "'", "''", "-1", "+1"]),
        st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=40),
    )
    .map(lambda parts: "".join(parts).strip()[:100])
    .filter(bool)
)


@given(student_first=NAME, student_last=NAME, preferred=NAME, guardian_first=NAME, guardian_last=NAME)
@hypothesis_settings(max_examples=25)
def test_names_exported_and_imported_again_come_back_identical(
    one_family, tmp_path, student_first, student_last, preferred, guardian_first, guardian_last
):
    district, student_pk, guardian_pk = one_family["district"], one_family["student"].pk, one_family["guardian"].pk
    with transaction.atomic():
        Student.objects.filter(pk=student_pk).update(
            first_name=student_first, last_name=student_last, preferred_name=preferred
        )
        Guardian.objects.filter(pk=guardian_pk).update(first_name=guardian_first, last_name=guardian_last)
        path = tmp_path / "round-trip.zip"
        path.write_bytes(exported(district))

        result = import_oneroster(path, district=district, today=TODAY)

        assert result.imported, result.report.problems
        names = Student.objects.values_list("first_name", "last_name", "preferred_name").get(pk=student_pk)
        assert names == (student_first, student_last, preferred)
        guardian = Guardian.objects.values_list("first_name", "last_name").get(pk=guardian_pk)
        assert guardian == (guardian_first, guardian_last)
        transaction.set_rollback(True)


@pytest.mark.security
def test_the_command_runs_only_for_an_administrator_of_the_district_and_logs_them(families, tmp_path, root):
    teacher = UserFactory(email="just.a.teacher@example.org")
    refusals = 0
    for email in ("nobody@example.org", teacher.email):
        with pytest.raises(CommandError):
            call_command("export_oneroster", str(tmp_path / "roster.zip"), "--by", email, stdout=io.StringIO())
        refusals += 1
    assert not (tmp_path / "roster.zip").exists()

    call_command("export_oneroster", str(tmp_path / "roster.zip"), "--by", root.email, stdout=io.StringIO())
    logged = AccessEvent.objects.filter(actor=root, action=AuditAction.EXPORTED).count()
    count_security_probes("roster import", probes=refusals + 1, leaks=int(logged == 0))
    assert logged == Student.objects.filter(school__district=families.school.district, is_active=True).count()
