from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from roster.access import people_administering
from roster.imports.console import BY_HELP, ProgressBar, operator, print_result
from roster.imports.run import import_oneroster
from roster.models import District


class Command(BaseCommand):
    help = "Import a OneRoster 1.1 or 1.2 CSV set (a zip or a folder): what is sound, and why each row left out was."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", type=Path, help="A zip file or a folder of OneRoster CSV files.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every row and count the changes; write nothing."
        )
        parser.add_argument(
            "--district",
            help="The district to import into, by name, when orgs.csv names none (created when there is none yet).",
        )
        parser.add_argument(
            "--allow-deactivations",
            action="store_true",
            help="Apply a bulk file that deactivates more records than the safety limits allow (10%% of a kind).",
        )
        parser.add_argument("--by", required=True, metavar="EMAIL", help=BY_HELP)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.exists():
            raise CommandError(f"{path} does not exist.")
        district, new_district = None, ""
        if options["district"]:
            district = District.objects.filter(name=options["district"]).first()
            new_district = "" if district else options["district"]  # created for a set that names no district
        # A district's administrators may import into it; a file naming its own district, only a platform admin.
        administrators = people_administering(district=district) if district else User.objects.none()
        by = operator(options["by"], may_act=administrators)
        result = import_oneroster(
            path,
            district=district,
            dry_run=options["dry_run"],
            progress=ProgressBar(),
            imported_by=by,
            allow_deactivations=options["allow_deactivations"],
            district_name=new_district,
        )
        status = print_result(result, self.stdout, self.stderr, dry_run=options["dry_run"])
        if status:
            raise SystemExit(status)
