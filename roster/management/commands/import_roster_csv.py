from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from roster.access import people_administering
from roster.imports.console import BY_HELP, ProgressBar, operator, print_result
from roster.imports.run import import_plain_csv
from roster.models import School


class Command(BaseCommand):
    help = (
        "Import a school's roster from Homeroom's plain CSV (one row per student): what is sound, and why not the rest."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", type=Path, help="The CSV file.")
        parser.add_argument("--school", help="The school, by name (needed when there is more than one).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every row and count the changes; write nothing."
        )
        parser.add_argument(
            "--allow-deactivations",
            action="store_true",
            help="Apply a bulk file that deactivates more records than the safety limits allow (10%% of a kind).",
        )
        parser.add_argument("--by", required=True, metavar="EMAIL", help=BY_HELP)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        schools = School.objects.select_related("district")
        if options["school"]:
            schools = schools.filter(name=options["school"])
        if len(found := list(schools[:2])) != 1:
            raise CommandError(
                "Name the school with --school: " + ", ".join(sorted(s.name for s in School.objects.all()))
            )
        school = found[0]
        by = operator(options["by"], may_act=people_administering(district=school.district, school=school))
        result = import_plain_csv(
            path,
            school=school,
            dry_run=options["dry_run"],
            progress=ProgressBar(),
            imported_by=by,
            allow_deactivations=options["allow_deactivations"],
            file_name=path.name,
        )
        status = print_result(result, self.stdout, self.stderr, dry_run=options["dry_run"])
        if status:
            raise SystemExit(status)
