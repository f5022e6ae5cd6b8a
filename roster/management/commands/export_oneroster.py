import os
import tempfile
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from roster.access import people_administering
from roster.imports.console import BY_HELP, operator
from roster.imports.export import export_oneroster
from roster.models import District, School


class Command(BaseCommand):
    help = "Export a district's roster (or some of its schools') as a OneRoster 1.2 CSV zip, which Homeroom imports."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", type=Path, help="The zip file to write.")
        parser.add_argument("--district", help="The district, by name (needed when there is more than one).")
        parser.add_argument(
            "--school", action="append", default=[], help="Only this school, by name; repeat for several."
        )
        parser.add_argument("--by", required=True, metavar="EMAIL", help=BY_HELP)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        district = self.district(options["district"])
        by = operator(options["by"], may_act=people_administering(district=district))
        schools = None
        if options["school"]:
            schools = School.objects.filter(district=district, name__in=options["school"])
            missing = sorted(set(options["school"]) - set(schools.values_list("name", flat=True)))
            if missing:
                raise CommandError(
                    _("%(district)s has no school named %(names)s.")
                    % {"district": district.name, "names": ", ".join(missing)}
                )
        if not path.parent.is_dir():
            raise CommandError(_("The folder %(folder)s does not exist.") % {"folder": path.parent})
        # Written beside the target and renamed at the end: a failed export leaves no half-written zip behind.
        handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as stream:
                counts = export_oneroster(stream, district=district, schools=schools, exported_by=by)
            Path(partial).replace(path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        for name, count in counts.items():
            self.stdout.write(f"{name:22}{count:>12,}")
        message = _("Exported %(district)s to %(path)s.") % {"district": district.name, "path": path}
        self.stdout.write(self.style.SUCCESS(message))

    def district(self, name: str | None) -> District:
        districts = District.objects.all()
        if name:
            districts = districts.filter(name=name)
        found = list(districts[:2])
        if not found:
            raise CommandError(
                _("No district is named %(name)s.") % {"name": name} if name else _("There is no district to export.")
            )
        if len(found) > 1:
            raise CommandError(_("There is more than one district: name the one to export with --district."))
        return found[0]
