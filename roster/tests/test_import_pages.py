"""Roster imports on the web: the upload page, the background task, and the page that shows how it went."""

import io
import json
import logging
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from audit.models import AccessEvent
from roster.imports import progress
from roster.imports.report import Report
from roster.imports.run import ImportResult
from roster.models import ImportFormat, ImportStatus, RosterImport, Student
from roster.services import run_roster_import, start_roster_import
from roster.tests.factories import StudentFactory

HEADER = "student_number,first_name,last_name,grade,class_code,class_name,guardian1_first_name,guardian1_last_name\n"
GOOD_CSV = HEADER + "20001,Dana,Lopez,3,3A,Room 3A,Eva,Lopez\n20002,Eli,Kim,3,3A,Room 3A,,\n"
# Line 2: an unknown grade (dropped, with a notice); line 3: no first name (skipped).
BAD_CSV = HEADER + "20001,Dana,Lopez,ZZ,3A,Room 3A,,\n20002,,Kim,3,3A,Room 3A,,\n"
# No last_name column: nothing can be imported.
BROKEN_CSV = "student_number,first_name,grade\n20001,Dana,3\n"


@pytest.fixture(autouse=True)
def import_dir(settings, tmp_path):
    settings.HOMEROOM_IMPORT_DIR = tmp_path / "imports"
    return settings.HOMEROOM_IMPORT_DIR


def _csv(text: str = GOOD_CSV, name: str = "roster.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def _upload(client, school, *, file=None, format=ImportFormat.PLAIN_CSV, dry_run=False):
    data = {"format": format, "school": str(school.pk), "file": file or _csv()}
    if dry_run:
        data["dry_run"] = "on"
    return client.post(reverse("roster:import_roster"), data)


def _upload_and_run(client, world, **options) -> RosterImport:
    response = _upload(client, world.school, **options)
    roster_import = RosterImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("roster:import_detail", args=[roster_import.id])
    # The test database keeps the request's transaction open, so the queued task is run here, as a worker would.
    run_roster_import(import_id=roster_import.id)
    roster_import.refresh_from_db()
    return roster_import


def _active_numbers(school) -> set[str]:
    return set(Student.objects.filter(school=school, is_active=True).values_list("student_number", flat=True))


# --- Uploading and importing ---------------------------------------------------------------------------------------


def test_a_leader_uploads_a_plain_csv_and_the_page_shows_what_changed(client, world, import_dir):
    client.force_login(world.people["leader"])
    before = _active_numbers(world.school)
    assert "20001" not in before

    roster_import = _upload_and_run(client, world)

    assert roster_import.status == ImportStatus.IMPORTED
    assert (roster_import.uploaded_by, roster_import.school, roster_import.district) == (
        world.people["leader"],
        world.school,
        world.school.district,
    )
    assert _active_numbers(world.school) == {"20001", "20002"}  # the others were deactivated, not deleted
    assert Student.objects.filter(pk=world.student.pk, is_active=False).exists()
    assert roster_import.summary["students"] == {
        "created": 2,
        "updated": 0,
        "deactivated": 2,
        "unchanged": 0,
        "skipped": 0,
    }
    page = client.get(reverse("roster:import_detail", args=[roster_import.id])).content.decode()
    assert "The roster was imported." in page
    assert '<tr><th scope="row">Students</th><td>2</td><td>0</td><td>2</td><td>0</td><td>0</td></tr>' in page
    assert "reload-while-running.js" not in page
    assert list(import_dir.iterdir()) == []  # the upload and its progress file are gone
    logged = AccessEvent.objects.filter(actor=world.people["leader"], what="roster import")
    assert sorted(logged.values_list("student__student_number", "action")) == sorted(
        [("20001", "created"), ("20002", "created")] + [(number, "changed") for number in before]  # deactivated
    )


def test_the_upload_waits_for_the_worker_in_the_import_folder(client, world, import_dir):
    client.force_login(world.people["leader"])
    _upload(client, world.school)
    roster_import = RosterImport.objects.get()
    assert roster_import.status == ImportStatus.QUEUED
    assert [path.name for path in import_dir.iterdir()] == [roster_import.stored_path.rsplit("/", 1)[1]]
    assert roster_import.stored_path.endswith(".csv") and roster_import.file_name == "roster.csv"
    assert (import_dir / roster_import.stored_path.rsplit("/", 1)[1]).read_text() == GOOD_CSV


def test_a_file_with_a_bad_row_imports_the_rest_and_lists_the_row_where_it_is(client, world):
    client.force_login(world.people["leader"])

    roster_import = _upload_and_run(client, world, file=_csv(BAD_CSV, name="Spring 2026.csv"))

    assert roster_import.status == ImportStatus.IMPORTED
    assert _active_numbers(world.school) == {"20001"}
    assert [(p["file"], p["line"], p["column"]) for p in roster_import.skipped] == [
        ("Spring 2026.csv", 3, "first_name")
    ]
    assert roster_import.summary["students"]["skipped"] == 1
    assert "Spring 2026.csv, line 2, grade: “ZZ”" in roster_import.notices[0]
    page = client.get(reverse("roster:import_detail", args=[roster_import.id])).content.decode()
    assert "The roster was imported, except the rows listed under “Skipped”." in page
    assert "<td>Spring 2026.csv</td><td>3</td><td>first_name</td><td>This field is empty.</td>" in page
    # counts first, then what stopped it, what was skipped, and the notices
    assert page.index("What the import changed") < page.index('<h3 id="skipped-heading">') < page.index("Good to know")


def test_a_file_that_cannot_be_imported_imports_nothing_and_says_why_once(client, world):
    client.force_login(world.people["leader"])
    before = _active_numbers(world.school)

    roster_import = _upload_and_run(client, world, file=_csv(BROKEN_CSV))

    assert roster_import.status == ImportStatus.REJECTED
    assert _active_numbers(world.school) == before
    assert [(p["file"], p["line"], p["column"]) for p in roster_import.problems] == [("roster.csv", 1, "last_name")]
    page = client.get(reverse("roster:import_detail", args=[roster_import.id])).content.decode()
    assert "Nothing was imported: 1 problem stopped the import." in page
    assert "What the import changed" not in page


def test_problems_beyond_those_kept_are_counted_as_and_n_more(client, world):
    client.force_login(world.people["leader"])
    roster_import = _upload_and_run(client, world, file=_csv(BROKEN_CSV))
    roster_import.problem_count = 1_234
    roster_import.save(update_fields=["problem_count"])
    page = client.get(reverse("roster:import_detail", args=[roster_import.id])).content.decode()
    assert "…and 1233 more problems, not listed here." in page


def test_a_check_only_upload_changes_nothing_and_says_how_to_import(client, world):
    client.force_login(world.people["leader"])
    before = _active_numbers(world.school)

    roster_import = _upload_and_run(client, world, dry_run=True)

    assert roster_import.status == ImportStatus.CHECKED
    assert _active_numbers(world.school) == before
    assert roster_import.summary["students"]["created"] == 2  # what it would have done
    page = client.get(reverse("roster:import_detail", args=[roster_import.id])).content.decode()
    assert "Nothing was changed. Upload the file again without “Check only” to import it." in page
    assert "What the import would change" in page


def test_an_unexpected_error_fails_the_import_logs_it_and_removes_the_upload(
    client, world, monkeypatch, caplog, import_dir
):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("roster.services.import_plain_csv", broken)
    client.force_login(world.people["leader"])
    with caplog.at_level(logging.ERROR, logger="roster.services"):
        roster_import = _upload_and_run(client, world)
    assert roster_import.status == ImportStatus.FAILED
    assert roster_import.finished_at is not None
    assert "disk on fire" in caplog.text
    assert list(import_dir.iterdir()) == []
    page = client.get(reverse("roster:import_detail", args=[roster_import.id])).content.decode()
    assert "an error in Homeroom, not in your file" in page
    assert "disk on fire" not in page


def test_an_import_goes_on_when_its_progress_cannot_be_written(client, world, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("roster.services.write_progress", disk_full)
    client.force_login(world.people["leader"])
    assert _upload_and_run(client, world).status == ImportStatus.IMPORTED


def test_an_import_whose_upload_is_gone_fails_without_reading_anything_else(client, world):
    client.force_login(world.people["leader"])
    _upload(client, world.school)
    roster_import = RosterImport.objects.get()
    RosterImport.objects.filter(pk=roster_import.pk).update(stored_path="")
    assert run_roster_import(import_id=roster_import.id) == ImportStatus.FAILED


def test_problems_are_written_in_the_uploader_s_language(client, world, monkeypatch):
    languages = []

    def fake_import(*args, **kwargs):
        languages.append(translation.get_language())
        return ImportResult(Report(), imported=True)

    monkeypatch.setattr("roster.services.import_plain_csv", fake_import)
    leader = world.people["leader"]
    leader.language = "es"
    leader.save(update_fields=["language"])
    client.force_login(leader)
    _upload_and_run(client, world)
    assert languages == ["es"]


def test_an_import_runs_once_however_many_workers_pick_it_up(client, world):
    client.force_login(world.people["leader"])
    roster_import = _upload_and_run(client, world)
    assert roster_import.status == ImportStatus.IMPORTED
    assert run_roster_import(import_id=roster_import.id) == ""


def test_an_upload_is_imported_by_the_task_worker(transactional_db, client, world):
    client.force_login(world.people["leader"])
    _upload(client, world.school)
    roster_import = RosterImport.objects.get()
    assert roster_import.status == ImportStatus.QUEUED
    call_command("db_worker", batch=True, no_startup_delay=True, queue_name="*", verbosity=0)
    roster_import.refresh_from_db()
    assert roster_import.status == ImportStatus.IMPORTED
    assert _active_numbers(world.school) == {"20001", "20002"}


def _oneroster_zip(district_name: str) -> SimpleUploadedFile:
    orgs = f"d1,active,{district_name},district,\ns1,active,Maple Elementary,school,d1\n"
    return SimpleUploadedFile("oneroster.zip", _zip_with_orgs(orgs), content_type="application/zip")


def test_a_district_administrator_imports_oneroster_for_the_whole_district(client, world):
    district = world.school.district
    client.force_login(world.people["district_admin"])
    response = client.post(
        reverse("roster:import_roster"),
        {"format": ImportFormat.ONEROSTER, "school": f"district-{district.pk}", "file": _oneroster_zip(district.name)},
    )
    roster_import = RosterImport.objects.get()
    assert response.status_code == 302
    assert (roster_import.school, roster_import.district) == (None, district)
    assert run_roster_import(import_id=roster_import.id) == ImportStatus.IMPORTED
    page = client.get(reverse("roster:import_detail", args=[roster_import.id])).content.decode()
    assert f"Every school of {district.name}" in page


def test_a_leader_s_oneroster_file_may_touch_only_their_school(client, world):
    client.force_login(world.people["leader"])
    roster_import = _upload_and_run(
        client, world, format=ImportFormat.ONEROSTER, file=_oneroster_zip(world.school.district.name)
    )
    assert roster_import.status == ImportStatus.IMPORTED  # orgs.csv lists only Maple

    RosterImport.objects.all().delete()
    district = world.school.district.name
    other = SimpleUploadedFile(
        "oneroster.zip", _zip_with_orgs(f"d1,active,{district},district,\ns2,active,Oak Middle,school,d1\n")
    )
    roster_import = _upload_and_run(client, world, format=ImportFormat.ONEROSTER, file=other)
    assert roster_import.status == ImportStatus.REJECTED
    assert roster_import.problems[0]["message"] == "Oak Middle is not a school you may import into."


def _zip_with_orgs(rows: str) -> bytes:
    """A OneRoster set of schools and no one in them."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("orgs.csv", "sourcedId,status,name,type,parentSourcedId\n" + rows)
        archive.writestr(
            "users.csv", 'sourcedId,givenName,familyName,role,orgSourcedIds\nst-9,Ana,Diaz,student,"s1,s2"\n'
        )
    return out.getvalue()


def test_a_plain_csv_needs_a_school_not_the_whole_district(client, world):
    district = world.school.district
    client.force_login(world.people["district_admin"])
    response = client.post(
        reverse("roster:import_roster"),
        {"format": ImportFormat.PLAIN_CSV, "school": f"district-{district.pk}", "file": _csv()},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["school"] == ["A plain CSV file is one school's roster: choose the school."]
    response = _upload(client, world.other_school)  # a school of the district: fine
    assert response.status_code == 302


# --- The upload form ------------------------------------------------------------------------------------------------


def test_a_leader_of_one_school_is_not_asked_which_school(client, world):
    client.force_login(world.people["leader"])
    page = client.get(reverse("roster:import_roster")).content.decode()
    assert f'<input type="hidden" name="school" value="{world.school.pk}"' in page
    assert "<strong>School:</strong> Maple Elementary" in page


def test_a_district_administrator_chooses_among_the_district_and_its_schools(client, world):
    client.force_login(world.people["district_admin"])
    form = client.get(reverse("roster:import_roster")).context["form"]
    assert [label for _value, label in form.fields["school"].choices] == [
        f"Every school of {world.school.district.name} (OneRoster only)",
        "Maple Elementary",
        "Oak Middle",
    ]


def test_a_leader_cannot_upload_into_another_school(client, world):
    client.force_login(world.people["leader"])
    response = _upload(client, world.other_school)
    assert response.status_code == 200
    assert "school" in response.context["form"].errors
    assert not RosterImport.objects.exists()
    assert _upload(client, world.school).status_code == 302


def test_a_file_over_the_size_limit_is_refused_and_the_choices_are_kept(client, world, settings, import_dir):
    settings.HOMEROOM_IMPORT_MAX_BYTES = 100
    client.force_login(world.people["leader"])
    response = _upload(client, world.school, file=_csv(GOOD_CSV * 2), dry_run=True)
    assert response.status_code == 200
    [error] = response.context["form"].errors["file"]
    assert error.startswith("This file is ")
    assert error.endswith("Homeroom takes files of up to 100\xa0bytes.")
    page = response.content.decode()
    assert '<input type="radio" name="format" value="plain_csv" id="id_format_1" required checked>' in page
    assert 'id="id_dry_run" checked>' in page
    assert not RosterImport.objects.exists()
    assert not import_dir.exists() or list(import_dir.iterdir()) == []
    assert _upload(client, world.school, file=_csv(GOOD_CSV[:100])).status_code == 302  # at the limit: taken


@pytest.mark.parametrize(
    ("name", "format", "error"),
    [
        (
            "roster.xlsx",
            ImportFormat.PLAIN_CSV,
            "Upload a .zip file (OneRoster) or a .csv file (Homeroom's plain CSV).",
        ),
        ("roster.zip", ImportFormat.PLAIN_CSV, "Homeroom's plain CSV is a .csv file"),
        ("roster.csv", ImportFormat.ONEROSTER, "A OneRoster roster is a .zip file"),
    ],
)
def test_a_file_of_the_wrong_kind_is_refused_with_what_to_upload(client, world, name, format, error):
    client.force_login(world.people["leader"])
    response = _upload(client, world.school, file=_csv(name=name), format=format)
    assert response.status_code == 200
    assert response.context["form"].errors["file"][0].startswith(error)
    assert not RosterImport.objects.exists()


def test_the_upload_page_lists_the_user_s_own_recent_imports(client, world):
    leader = world.people["leader"]
    _import_row(world.people["district_admin"], world.school, "theirs.csv")
    for n in range(12):
        _import_row(leader, world.school, f"mine-{n}.csv")
    client.force_login(leader)
    recent = list(client.get(reverse("roster:import_roster")).context["recent_imports"])
    assert [r.file_name for r in recent] == [f"mine-{n}.csv" for n in range(11, 1, -1)]


def _import_row(user, school, name="roster.csv", **fields) -> RosterImport:
    values = {"district": school.district, "format": ImportFormat.PLAIN_CSV, "status": ImportStatus.IMPORTED}
    return RosterImport.objects.create(uploaded_by=user, school=school, file_name=name, **(values | fields))


def test_the_plain_csv_template_downloads_as_a_csv_file(client, world):
    client.force_login(world.people["leader"])
    response = client.get(reverse("roster:import_template"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="homeroom-roster.csv"'
    assert response.content.decode("utf-8").startswith("\ufeffstudent_number,first_name,last_name,")


# --- Who may import -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("person", ["teacher", "counselor", "guardian", "stranger"])
def test_only_leaders_and_district_administrators_import_rosters(client, world, person):
    roster_import = _import_row(world.people["leader"], world.school)
    client.force_login(world.people[person])
    assert client.get(reverse("roster:import_roster")).status_code == 404
    assert _upload(client, world.school).status_code == 404
    assert client.get(reverse("roster:import_template")).status_code == 404
    assert client.get(reverse("roster:import_detail", args=[roster_import.id])).status_code == 404
    assert not RosterImport.objects.exclude(pk=roster_import.pk).exists()
    client.force_login(world.people["leader"])
    assert client.get(reverse("roster:import_roster")).status_code == 200
    assert client.get(reverse("roster:import_template")).status_code == 200
    assert client.get(reverse("roster:import_detail", args=[roster_import.id])).status_code == 200


def test_another_school_s_leader_does_not_see_the_import(client, world):
    roster_import = _import_row(world.people["leader"], world.school)
    client.force_login(world.people["other_leader"])
    assert client.get(reverse("roster:import_detail", args=[roster_import.id])).status_code == 404
    client.force_login(world.people["district_admin"])
    assert client.get(reverse("roster:import_detail", args=[roster_import.id])).status_code == 200


def test_a_district_wide_import_is_seen_by_its_uploader_and_district_administrators_only(client, world):
    roster_import = _import_row(world.people["district_admin"], world.school, format=ImportFormat.ONEROSTER)
    RosterImport.objects.filter(pk=roster_import.pk).update(school=None)
    client.force_login(world.people["leader"])
    assert client.get(reverse("roster:import_detail", args=[roster_import.id])).status_code == 404
    client.force_login(world.people["district_admin"])
    assert client.get(reverse("roster:import_detail", args=[roster_import.id])).status_code == 200


def test_the_service_refuses_a_school_the_uploader_does_not_lead(world):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        start_roster_import(
            uploaded_by=world.people["leader"],
            upload=_csv(),
            format=ImportFormat.PLAIN_CSV,
            school=world.other_school,
            dry_run=False,
        )
    assert not RosterImport.objects.exists()


# --- Progress -------------------------------------------------------------------------------------------------------


def test_progress_is_read_back_as_it_was_written(import_dir):
    assert progress.read_progress(7) is None
    assert progress.write_progress(7, "students", 20_000, 40_000) is True
    assert progress.read_progress(7) == {"stage": "students", "done": 20_000, "total": 40_000, "percent": 60}
    assert [path.name for path in import_dir.iterdir()] == ["7.progress.json"]  # no temporary file left over
    progress.clear_progress(7)
    assert progress.read_progress(7) is None


def test_progress_within_a_stage_is_written_at_most_twice_a_second_but_a_new_stage_at_once(import_dir, monkeypatch):
    clock = iter([100.0, 100.2, 100.3, 100.6])
    monkeypatch.setattr(progress, "time", SimpleNamespace(monotonic=lambda: next(clock)))
    assert progress.write_progress(8, "students", 0, 100) is True
    assert progress.write_progress(8, "students", 10, 100) is False  # 0.2 s later
    assert progress.write_progress(8, "guardians", 5, 8) is True  # a new stage
    assert progress.write_progress(8, "guardians", 6, 8) is False  # 0.3 s after it
    assert progress.read_progress(8)["stage"] == "guardians"
    progress.clear_progress(8)


def test_a_damaged_progress_file_reads_as_no_progress(import_dir):
    import_dir.mkdir(parents=True)
    (import_dir / "9.progress.json").write_text('{"stage": "stud')
    assert progress.read_progress(9) is None
    (import_dir / "9.progress.json").write_text(json.dumps({"stage": "students"}))
    assert progress.read_progress(9) is None


@pytest.mark.parametrize(
    ("stage", "done", "total", "percent"),
    [
        ("reading", 0, 1, 0),
        ("schools", 0, 8, 10),  # the call that opens the first stage
        ("students", 4, 8, 55),  # the call that opens the fifth
        ("students", 0, 30_000, 55),
        ("students", 30_000, 30_000, 66),
        ("enrollments", 7, 8, 88),
        ("done", 8, 8, 100),
        ("something new", 3, 4, 0),
    ],
)
def test_the_whole_import_s_percent_counts_reading_then_each_kind_of_record(stage, done, total, percent):
    assert progress.overall_percent(stage, done, total) == percent


def test_a_running_import_shows_its_progress_and_refreshes_itself(client, world):
    roster_import = _import_row(world.people["leader"], world.school, status=ImportStatus.RUNNING)
    client.force_login(world.people["leader"])
    page = client.get(reverse("roster:import_detail", args=[roster_import.id])).content.decode()
    assert "reload-while-running.js" in page
    assert "Waiting for its turn to start" in page
    progress.write_progress(roster_import.id, "family_links", 6, 8)
    page = client.get(reverse("roster:import_detail", args=[roster_import.id])).content.decode()
    assert '<progress id="import-progress" max="100" value="77">77%</progress>' in page
    assert "Family links: 77% done" in page
    progress.clear_progress(roster_import.id)


def test_the_reader_can_stop_the_page_updating_itself(client, world):
    roster_import = _import_row(world.people["leader"], world.school, status=ImportStatus.QUEUED)
    client.force_login(world.people["leader"])
    url = reverse("roster:import_detail", args=[roster_import.id])
    assert '<a href="?refresh=off">Stop updating this page</a>' in client.get(url).content.decode()
    page = client.get(url, {"refresh": "off"}).content.decode()
    assert "reload-while-running.js" not in page
    assert '<a href="?">Update by itself again</a>' in page


# --- Queries --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("imports", [1, 10])
def test_the_upload_page_reads_a_fixed_number_of_queries(client, django_assert_num_queries, world, imports):
    leader = world.people["leader"]
    for n in range(imports):
        _import_row(leader, world.school, f"roster-{n}.csv")
    client.force_login(leader)
    # session, user, roles, districts administered, schools led, recent imports
    with django_assert_num_queries(6):
        response = client.get(reverse("roster:import_roster"))
    assert len(response.context["recent_imports"]) == imports


@pytest.mark.parametrize("problems", [1, 500])
def test_the_result_page_reads_a_fixed_number_of_queries(client, django_assert_num_queries, world, problems):
    leader = world.people["leader"]
    rows = [{"file": "roster.csv", "line": n + 2, "column": "grade", "message": "Bad."} for n in range(problems)]
    roster_import = _import_row(
        leader, world.school, status=ImportStatus.REJECTED, problems=rows, problem_count=problems
    )
    client.force_login(leader)
    # session, user, roles, the import with its school and district (the schools led are a subquery of it)
    with django_assert_num_queries(4):
        response = client.get(reverse("roster:import_detail", args=[roster_import.id]))
    assert response.content.decode().count("<td>grade</td>") == problems


# --- Safety limits: held deactivations ------------------------------------------------------------------------------


def _many_students(school, n: int = 10) -> None:
    for number in range(n):
        StudentFactory(school=school, student_number=f"9{number:04d}")


def test_a_held_deactivation_is_shown_confirmed_then_applied(client, world, import_dir):
    _many_students(world.school)  # the file lists 2 of the school's 12 students
    client.force_login(world.people["leader"])
    before = _active_numbers(world.school)

    roster_import = _upload_and_run(client, world)

    assert roster_import.status == ImportStatus.HELD
    assert _active_numbers(world.school) == before  # nothing written
    assert roster_import.held["students"][0] == 12
    assert Path(roster_import.stored_path).exists()  # kept for the confirmation
    page = client.get(reverse("roster:import_detail", args=[roster_import.id])).content.decode()
    assert "Deactivations held" in page
    assert "Students: 12 would be deactivated" in page
    assert 'name="confirm"' in page

    unticked = client.post(reverse("roster:import_confirm", args=[roster_import.id]), {})
    assert unticked.status_code == 302
    roster_import.refresh_from_db()
    assert roster_import.status == ImportStatus.HELD  # the box must be ticked

    client.post(reverse("roster:import_confirm", args=[roster_import.id]), {"confirm": "yes"})
    roster_import.refresh_from_db()
    assert (roster_import.status, roster_import.allow_deactivations) == (ImportStatus.QUEUED, True)
    assert run_roster_import(import_id=roster_import.id) == ImportStatus.IMPORTED
    assert _active_numbers(world.school) == {"20001", "20002"}
    roster_import.refresh_from_db()
    assert roster_import.summary["students"]["deactivated"] == 12
    assert list(import_dir.iterdir()) == []  # the upload is gone once applied


def test_only_the_uploader_confirms_a_held_import(client, world):
    _many_students(world.school)
    client.force_login(world.people["leader"])
    roster_import = _upload_and_run(client, world)
    assert roster_import.status == ImportStatus.HELD

    client.force_login(world.people["district_admin"])  # sees the import, did not upload it
    page = client.get(reverse("roster:import_detail", args=[roster_import.id])).content.decode()
    assert 'name="confirm"' not in page
    client.post(reverse("roster:import_confirm", args=[roster_import.id]), {"confirm": "yes"})
    client.force_login(world.people["teacher"])
    response = client.post(reverse("roster:import_confirm", args=[roster_import.id]), {"confirm": "yes"})
    assert response.status_code == 404
    roster_import.refresh_from_db()
    assert roster_import.status == ImportStatus.HELD
