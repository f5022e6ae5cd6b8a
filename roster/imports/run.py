"""One import, start to end: read and check every row, then write it all in one transaction or nothing."""

import datetime
from dataclasses import dataclass, field
from pathlib import Path

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit import services as audit
from audit.models import AuditAction
from roster.imports.apply import Progress, RosterWriter, guardians_in_district
from roster.imports.files import CsvFiles
from roster.imports.formats import other_format
from roster.imports.oneroster import KnownKeys, OneRosterReader
from roster.imports.plain import read_plain_csv
from roster.imports.records import RosterSet
from roster.imports.report import Report, RosterFileError, Summary
from roster.models import District, Guardian, School, Section, StaffRole, Student, Term


@dataclass
class ImportResult:
    report: Report
    summary: Summary = field(default_factory=Summary)
    imported: bool = False  # written and committed: never for a check (dry run), a stop, or held deactivations

    @property
    def held(self) -> bool:
        """Deactivations beyond the safety limits, waiting for a person to confirm them: nothing was written."""
        return bool(self.report.held)

    @property
    def exit_code(self) -> int:
        """0: everything imported (or, checking only, would be); 3: imported with rows skipped; 1: nothing."""
        if not self.report.ok or self.held:
            return 1
        return 3 if self.report.skipped_count else 0


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def import_oneroster(
    path: Path,
    *,
    district: District | None = None,
    allowed_schools: set[int] | None = None,
    dry_run: bool = False,
    progress: Progress = _no_progress,
    today: datetime.date | None = None,
    imported_by: User | None = None,
    allow_deactivations: bool = False,
    district_name: str = "",
) -> ImportResult:
    """A OneRoster set (zip or folder). `allowed_schools`: the only schools the file may touch (a leader's).
    `imported_by`: the member of staff whose upload it is, in the access log of every student it changes.
    `allow_deactivations`: a person confirmed the deactivations beyond the safety limits. `district_name`: the
    district to create for a set that names none."""
    report = Report()
    try:
        files = CsvFiles(path)
    except RosterFileError as error:
        report.add(error.problem.file, 0, "", error.problem.message)
        return ImportResult(report)
    try:
        progress("reading", 0, 1)
        other = other_format(files)
        if other:
            report.add("", 0, "", other)
            return ImportResult(report)
        reader = OneRosterReader(files, report, valid_phones=_stored("phone"), valid_emails=_stored("email"))
        reader.read_manifest()
        if report.ok and any(mode == "delta" for mode in reader.file_modes.values()):
            reader.known = _known_keys(district)
        roster = reader.read() if report.ok else RosterSet()
    except RosterFileError as error:
        report.add(error.problem.file, 0, "", error.problem.message)
        return ImportResult(report)
    finally:
        files.close()
    roster.district_name = district_name
    return _write(roster, report, district, allowed_schools, dry_run, progress, today, imported_by, allow_deactivations)


def import_plain_csv(
    path: Path,
    *,
    school: School,
    dry_run: bool = False,
    progress: Progress = _no_progress,
    today: datetime.date | None = None,
    imported_by: User | None = None,
    allow_deactivations: bool = False,
    file_name: str = "",
) -> ImportResult:
    """`file_name`: the file's name as the school uploaded it, for the report."""
    report = Report()
    try:
        progress("reading", 0, 1)
        roster = read_plain_csv(path, school, report, file_name=file_name)
    except RosterFileError as error:
        report.add(error.problem.file, 0, "", error.problem.message)
        return ImportResult(report)
    except OSError:
        report.add("", 0, "", _("The file cannot be opened."))
        return ImportResult(report)
    return _write(
        roster, report, school.district, {school.pk}, dry_run, progress, today, imported_by, allow_deactivations
    )


def _write(
    roster: RosterSet,
    report: Report,
    district: District | None,
    allowed_schools: set[int] | None,
    dry_run: bool,
    progress: Progress,
    today: datetime.date | None,
    imported_by: User | None,
    allow_deactivations: bool = False,
) -> ImportResult:
    result = ImportResult(report)
    if not report.ok:
        return result
    writer = RosterWriter(
        roster,
        report=report,
        district=district,
        allowed_schools=allowed_schools,
        today=today or timezone.localdate(),
        progress=progress,
    )
    try:
        with transaction.atomic():
            result.summary = writer.write()
            if allow_deactivations:
                report.held.clear()
            if dry_run or not report.ok or report.held:
                transaction.set_rollback(True)
            elif imported_by is not None:
                _log_changes(writer.touched, imported_by)
    except IntegrityError as error:
        report.add(
            "", 0, "", _("The roster conflicts with a record already in Homeroom (%(error)s).") % {"error": error}
        )
    except DatabaseError as error:  # a value the database refuses: nothing was written
        report.add("", 0, "", _("The database refused the roster (%(error)s).") % {"error": error})
    result.imported = report.ok and not dry_run and not report.held
    return result


def _log_changes(touched: dict[int, AuditAction], actor: User) -> None:
    """One access event per student the import created or changed, in bulk, in the import's transaction."""
    for action in (AuditAction.CREATED, AuditAction.CHANGED):
        ids = sorted(pk for pk, done in touched.items() if done == action)
        audit.record_many_by_id(actor=actor, student_ids=ids, action=action, what="roster import")


def _known_keys(district: District | None) -> KnownKeys:
    """sourcedIds already in Homeroom, for delta files that refer to records they do not repeat: the district's
    own, so that a delta never links a student to a family (or a class to a teacher) of another district."""

    def sids(queryset: object) -> set[str]:
        return set(queryset.exclude(sourced_id="").values_list("sourced_id", flat=True))  # type: ignore[attr-defined]

    if district is None:  # the one district of the installation (the command line): the writer checks the file's
        return KnownKeys(
            schools=sids(School.objects),
            terms=sids(Term.objects),
            classes=sids(Section.objects),
            students=sids(Student.objects),
            guardians=sids(Guardian.objects),
            teachers=sids(User.objects),
        )
    staff = StaffRole.objects.filter(Q(school__district=district) | Q(district=district)).values("user_id")
    return KnownKeys(
        schools=sids(School.objects.filter(district=district)),
        terms=sids(Term.objects.filter(school__district=district)),
        classes=sids(Section.objects.filter(term__school__district=district)),
        students=sids(Student.objects.filter(school__district=district)),
        guardians=sids(guardians_in_district(district)),
        teachers=sids(User.objects.filter(pk__in=staff)),
    )


def _stored(field: str) -> frozenset[str]:
    """Guardians' phone numbers or emails as Homeroom holds them (and staff emails): already checked."""
    values = Guardian.objects.exclude(**{field: ""}).values_list(field, flat=True).iterator()
    if field == "email":
        return frozenset(values) | frozenset(User.objects.values_list("email", flat=True).iterator())
    return frozenset(values)
