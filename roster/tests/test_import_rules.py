"""Real rosters go in on the first try: one test per rule of docs/import.md's "stop, skip, accept", on small sets
written as vendors write them. A set that stops asserts the database unchanged; a partial import asserts exactly
which rows went in (`rows_in()` against `FULL_SET`, the roster `oneroster_set()` holds)."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import User
from roster.imports.apply import NO_EMAIL_DOMAIN
from roster.models import District, School, Section, Student
from roster.tests.factories import StudentFactory
from roster.tests.test_import_oneroster import (
    CLASS,
    ENROLLMENT,
    FULL_SET,
    ORG,
    USER_12,
    USER_LINE,
    add_demographics,
    blank,
    csv_text,
    db_counts,
    imported,
    noticed,
    oneroster_11_set,
    oneroster_set,
    problem_at,
    refused,
    row_of,
    rows_in,
    run,
    set_manifest,
    skipped_at,
    student,
    without,
    write_set,
)

pytestmark = pytest.mark.django_db


def with_students(files: dict, count: int) -> None:
    """`count` more students in class c1, st10 to st(9+count)."""
    for n in range(10, 10 + count):
        files["users.csv"].append(
            blank(USER_12, sourcedId=f"st{n}", status="active", givenName=f"Kid{n}", familyName="Park",
                  identifier=f"2{n:03d}", grades="03", primaryOrgSourcedId="s1")
        )  # fmt: skip
        files["roles.csv"].append(
            {"sourcedId": f"r{n}", "userSourcedId": f"st{n}", "roleType": "primary", "role": "student",
             "orgSourcedId": "s1"}
        )  # fmt: skip
        files["enrollments.csv"].append(
            blank(ENROLLMENT, sourcedId=f"e{n}", classSourcedId="c1", userSourcedId=f"st{n}", role="student")
        )


# --- stop: one message, nothing written ------------------------------------------------------------------------------


def test_a_file_lacking_a_column_is_one_problem_not_a_cascade(tmp_path: Path) -> None:
    files = oneroster_set()
    for row in files["users.csv"]:
        del row["familyName"]
    before = db_counts()

    result = run(tmp_path, files)

    refused(result, before)
    assert len(result.report.problems) == 1  # not every enrollment of the users it could not read
    assert "lacks" in problem_at(result, "users.csv", 1, "familyName").message


def test_a_microsoft_sds_set_is_recognised_and_refused_in_one_message(tmp_path: Path) -> None:
    files = {
        "orgs.csv": "sourcedId,name,type,parentSourcedId\ns1,Maple Elementary,school,\n",
        "users.csv": "sourcedId,username,givenName,familyName,password,activeDirectoryMatchId,email,phone,sms\n"
        "st1,sofia,Sofía,García,,,sofia@example.org,,\n",
        "classes.csv": "sourcedId,orgSourcedId,title,sessionSourcedIds,code\nc1,s1,Room 3A,y1,3A\n",
        "enrollments.csv": "classSourcedId,userSourcedId,role\nc1,st1,student\n",
    }
    before = db_counts()

    result = run(tmp_path, files)

    refused(result, before)
    assert [p.message for p in result.report.problems] == [
        "This is a Microsoft School Data Sync (SDS) CSV set, not OneRoster. Export the roster from your student "
        "information system as OneRoster 1.1 or 1.2 CSV instead."
    ]


def test_a_clever_set_is_recognised_and_refused_in_one_message(tmp_path: Path) -> None:
    files = {
        "schools.csv": "School_id,School_name\n1,Maple Elementary\n",
        "students.csv": "School_id,Student_id,Student_number,First_name,Last_name,Grade\n1,9,1001,Sofía,García,3\n",
    }
    before = db_counts()

    result = run(tmp_path, files)

    refused(result, before)
    assert "Clever CSV set" in problem_at(result, "", 0).message


def test_an_unknown_oneroster_version_stops(tmp_path: Path) -> None:
    files = oneroster_set()
    set_manifest(files, "oneroster.version", "2.0")
    before = db_counts()

    result = run(tmp_path, files)

    refused(result, before)
    assert [p.file for p in result.report.problems] == ["manifest.csv"]


def test_a_set_without_a_school_stops(tmp_path: Path) -> None:
    files = oneroster_set()
    without(files, "orgs.csv", sourcedId="s1")
    before = db_counts()

    result = run(tmp_path, files)

    refused(result, before)
    assert "holds no school" in problem_at(result, "orgs.csv", 0).message
    assert len(result.report.problems) == 1


@pytest.mark.parametrize("name", ["users.csv", "enrollments.csv"])
def test_an_empty_bulk_file_of_users_or_enrollments_always_stops(tmp_path: Path, name: str) -> None:
    imported(tmp_path, oneroster_set(), name="first")
    files = oneroster_set()
    files[name] = csv_text([list(files[name][0])])  # the header, no rows
    before = db_counts()
    active = rows_in()

    result = run(tmp_path, files, name="second", allow_deactivations=True)  # not even when confirmed

    refused(result, before)
    assert "no rows" in problem_at(result, name, 0).message
    assert rows_in() == active


def test_more_than_5_percent_and_20_rows_skipped_stops(tmp_path: Path) -> None:
    files = oneroster_set()
    with_students(files, 30)
    for n in range(10, 32):  # 22 of 35 users name a school that is not in the set
        row_of(files, "users.csv", f"st{n}")["primaryOrgSourcedId"] = "s9"
        row_of(files, "roles.csv", f"r{n}")["orgSourcedId"] = "s9"
    before = db_counts()

    result = run(tmp_path, files)

    refused(result, before)
    assert "22 of its 35 rows would be skipped" in problem_at(result, "users.csv", 0).message
    assert result.exit_code == 1


def test_a_few_bad_rows_of_a_small_set_do_not_stop_it(tmp_path: Path) -> None:
    files = oneroster_set()
    with_students(files, 3)
    row_of(files, "users.csv", "st10")["primaryOrgSourcedId"] = "s9"  # 1 of 8 rows: more than 5%, not 20 rows
    row_of(files, "roles.csv", "r10")["orgSourcedId"] = "s9"

    result = run(tmp_path, files)

    assert result.imported and result.exit_code == 3
    assert rows_in()["students"] == {"st1", "st2", "st11", "st12"}


# --- safety limits ---------------------------------------------------------------------------------------------------


def test_a_truncated_bulk_file_is_held_until_a_person_confirms(tmp_path: Path) -> None:
    files = oneroster_set()
    with_students(files, 10)
    imported(tmp_path, files, name="full")
    truncated = oneroster_set()  # users.csv and enrollments.csv cut after two students
    before, active = db_counts(), rows_in()

    held = run(tmp_path, truncated, name="cut")

    assert not held.imported and held.held and held.exit_code == 1
    assert db_counts() == before and rows_in() == active
    count, names = held.report.held["students"]
    assert count == 10 and "Kid10 Park" in names
    assert held.report.held["enrollments"][0] == 10
    assert held.summary.as_dict()["students"]["deactivated"] == 10  # what it would do

    applied = run(tmp_path, truncated, name="cut", allow_deactivations=True)

    assert applied.imported and not applied.held
    assert rows_in() == FULL_SET


def test_deactivations_within_the_limits_go_ahead(tmp_path: Path) -> None:
    files = oneroster_set()
    with_students(files, 50)
    imported(tmp_path, files, name="full")
    without(files, "users.csv", sourcedId="st10")  # 1 of 52 students, and under the floor of 5

    result = run(tmp_path, files, name="less")

    assert result.imported and not result.held
    assert not student("st10").is_active


def test_the_limits_are_settings(tmp_path: Path, settings) -> None:
    settings.HOMEROOM_IMPORT_HOLD_DEACTIVATION_FLOOR = 0
    settings.HOMEROOM_IMPORT_HOLD_DEACTIVATION_SHARE = 0.0
    imported(tmp_path, oneroster_set(), name="full")
    files = oneroster_set()
    without(files, "users.csv", sourcedId="st2")

    result = run(tmp_path, files, name="less")

    assert result.held and student("st2").is_active


def test_the_command_holds_and_allow_deactivations_applies(tmp_path: Path, root) -> None:
    files = oneroster_set()
    with_students(files, 10)
    imported(tmp_path, files, name="full")
    path = write_set(tmp_path, oneroster_set(), name="cut")
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(SystemExit) as exit_:
        call_command("import_oneroster", str(path), "--by", root.email, stdout=out, stderr=err)

    assert exit_.value.code == 1
    assert "Held" in err.getvalue() and "students: 10" in err.getvalue()
    assert Student.objects.filter(is_active=True).count() == 12
    call_command("import_oneroster", str(path), "--by", root.email, "--allow-deactivations", stdout=out, stderr=err)
    assert Student.objects.filter(is_active=True).count() == 2


def test_a_row_skipped_from_a_bulk_file_never_deactivates_its_record(tmp_path: Path) -> None:
    imported(tmp_path, oneroster_set(), name="first")
    files = oneroster_set()
    row_of(files, "users.csv", "st2")["familyName"] = ""  # st2's row is skipped
    row_of(files, "classes.csv", "c1")["termSourcedIds"] = "nowhere"  # and c1's

    result = run(tmp_path, files, name="second")

    assert result.imported and result.exit_code == 3
    assert rows_in() == FULL_SET  # st2 and c1 stay as they were, with their enrollments and teacher
    assert result.summary.as_dict()["students"]["deactivated"] == 0


def test_a_student_number_another_student_holds_skips_the_row(tmp_path: Path) -> None:
    imported(tmp_path, oneroster_set(), name="first")
    StudentFactory(school=School.objects.get(sourced_id="s1"), student_number="1099", sourced_id="zz")
    files = oneroster_set()
    row_of(files, "users.csv", "st2").update(identifier="1099", givenName="Changed")

    result = run(tmp_path, files, name="second")

    assert result.imported
    assert "1099" in skipped_at(result, "users.csv", USER_LINE["st2"], "identifier").message
    assert (student("st2").student_number, student("st2").first_name) == ("1002", "Minh")
    assert rows_in()["students"] == {"st1", "st2"}  # zz, not in the bulk file, was deactivated as it should


# --- accept as they are ----------------------------------------------------------------------------------------------


def test_inactive_is_read_as_tobedeleted_and_an_empty_status_as_active(tmp_path: Path) -> None:
    imported(tmp_path, oneroster_set(), name="first")
    files = oneroster_set()
    row_of(files, "users.csv", "st2")["status"] = "inactive"
    for row in files["users.csv"]:
        if row["sourcedId"] != "st2":
            row["status"] = ""

    result = imported(tmp_path, files, name="second")

    assert not student("st2").is_active
    assert result.summary.as_dict()["students"] == {
        "created": 0, "updated": 0, "deactivated": 1, "unchanged": 1, "skipped": 0
    }  # fmt: skip


def test_a_header_ending_in_empty_names_and_rows_of_other_lengths_are_read(tmp_path: Path) -> None:
    files = oneroster_set()
    header = list(files["classes.csv"][0])
    row = list(files["classes.csv"][0].values())
    # The header ends in two empty names; one row stops before them, another goes past them with empty fields.
    files["classes.csv"] = csv_text([[*header, "", ""], row, ["c2", "active", "", "Room 3B", "03", "", "3B", "", "s1",
                                                               "y1", "", "", "", ""]])  # fmt: skip

    result = imported(tmp_path, files)

    assert result.report.skipped == []
    assert set(Section.objects.values_list("sourced_id", flat=True)) == {"c1", "c2"}


def test_the_older_column_names_are_read(tmp_path: Path) -> None:
    files = oneroster_11_set()
    for row in files["users.csv"]:
        row["grade"], row["agents"], row["userId"] = (
            row.pop("grades"),
            row.pop("agentSourcedIds"),
            row.pop("identifier"),
        )
    add_demographics(files, st1="2019-05-01")
    files["demographics.csv"] = [{"userSourcedId": "st1", "status": "", "birthDate": "2019-05-01"}]

    result = imported(tmp_path, files)

    assert rows_in() == FULL_SET
    assert (student("st1").grade_level, student("st1").student_number) == (3, "1001")
    assert str(student("st1").date_of_birth) == "2019-05-01"
    assert result.report.skipped == []


def test_an_unknown_column_is_ignored_with_a_notice_when_it_looks_misspelt(tmp_path: Path) -> None:
    files = oneroster_set()
    for row in files["users.csv"]:
        row["preferedGivenName"] = row.pop("preferredGivenName")
        row["favouriteColour"] = "blue"

    result = imported(tmp_path, files)

    assert "Did you mean “preferredGivenName”?" in noticed(result, "“preferedGivenName” was ignored")
    assert not [n for n in result.report.notices if "favouriteColour" in n]


def test_a_single_school_set_without_a_district_makes_the_district_from_the_school(tmp_path: Path) -> None:
    files = oneroster_set()
    without(files, "orgs.csv", sourcedId="d1")
    row_of(files, "orgs.csv", "s1")["parentSourcedId"] = ""

    result = imported(tmp_path, files)

    assert District.objects.get().name == "Maple Elementary"
    assert School.objects.get().district.name == "Maple Elementary"
    noticed(result, "named after it")


def test_the_command_names_the_district_of_a_set_without_one(tmp_path: Path, root) -> None:
    files = oneroster_set()
    without(files, "orgs.csv", sourcedId="d1")

    call_command("import_oneroster", str(write_set(tmp_path, files)), "--by", root.email, "--district",
                 "Riverside Unified", stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip

    assert School.objects.get().district.name == "Riverside Unified"


def test_orgs_without_a_school_type_are_schools_when_classes_and_users_name_them(tmp_path: Path) -> None:
    files = oneroster_set()
    row_of(files, "orgs.csv", "s1")["type"] = "department"
    files["orgs.csv"].append(blank(ORG, sourcedId="dept9", status="active", name="Athletics", type="department"))

    result = imported(tmp_path, files)

    assert set(School.objects.values_list("sourced_id", flat=True)) == {"s1"}  # not the department nobody names
    assert rows_in() == FULL_SET
    noticed(result, "no org of type school")


def test_enrollments_in_a_class_marked_tobedeleted_are_skipped_quietly(tmp_path: Path) -> None:
    files = oneroster_set()
    files["classes.csv"].append(blank(CLASS, sourcedId="c2", status="tobedeleted", title="Old", classCode="old",
                                      schoolSourcedId="s1", termSourcedIds="y1"))  # fmt: skip
    files["enrollments.csv"].append(blank(ENROLLMENT, sourcedId="e9", classSourcedId="c2", userSourcedId="st1",
                                          role="student"))  # fmt: skip

    result = imported(tmp_path, files)

    assert result.report.skipped == [] and result.exit_code == 0
    assert rows_in() == FULL_SET


# --- what the standard leaves optional --------------------------------------------------------------------------------


def test_a_teacher_without_an_email_is_staff_who_cannot_sign_in_yet(tmp_path: Path) -> None:
    files = oneroster_set()
    row_of(files, "users.csv", "t1")["email"] = ""

    result = imported(tmp_path, files)

    teacher = User.objects.get(sourced_id="t1")
    assert teacher.email.endswith(NO_EMAIL_DOMAIN) and not teacher.has_usable_password()
    assert "Ana Lee" in noticed(result, "cannot sign in yet")
    assert rows_in() == FULL_SET

    teacher.email = "ana.lee@maple.example.org"  # a leader adds it later; the next import keeps it
    teacher.save()
    imported(tmp_path, files, name="again")
    teacher.refresh_from_db()
    assert teacher.email == "ana.lee@maple.example.org"


def test_a_teacher_without_an_email_signs_in_with_a_username_that_is_one(tmp_path: Path) -> None:
    files = oneroster_set()
    row_of(files, "users.csv", "t1").update(email="", username="Ana.Lee@Maple.example.org")

    imported(tmp_path, files)

    assert User.objects.get(sourced_id="t1").email == "ana.lee@maple.example.org"


def test_only_the_columns_read_are_checked(tmp_path: Path) -> None:
    files = oneroster_set()
    for row in files["users.csv"]:
        row["password"] = "\x01 not read"
        row["dateLastModified"] = "yesterday-ish"
    for row in files["classes.csv"]:
        row["classType"] = "nonsense"

    result = imported(tmp_path, files)

    assert result.report.skipped == [] and result.report.notices == []
    assert rows_in() == FULL_SET
