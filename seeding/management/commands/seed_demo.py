from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from behavior.demo import build_demo_behavior
from communication.demo import build_demo_conversations, build_demo_history
from goals.demo import build_demo_goals
from intake.demo import build_demo_answers
from roster.demo import SCHOOL_NAME, build_demo_school
from roster.models import School


class Command(BaseCommand):
    help = "Loads the Riverside demo school: 300 students, 12 classes, their families, and staff to sign in as."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when the database already has a school."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if School.objects.exists():
            if options["if_empty"]:
                self.stdout.write("The database already has a school; demo not loaded.")
                return
            raise CommandError("The database already has a school; the demo loads only into an empty database.")
        try:
            with transaction.atomic():
                report = build_demo_school()
                history = build_demo_history(school=School.objects.get(name=SCHOOL_NAME))
                conversations = build_demo_conversations()
                answered = build_demo_answers()
                goals = build_demo_goals()
                notes = build_demo_behavior()
        except ValidationError as error:  # e.g. a demo email already taken by an account
            raise CommandError(f"The demo could not be loaded: {error}") from error
        languages = ", ".join(f"{code} {count}" for code, count in sorted(report.languages.items()))
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {SCHOOL_NAME}: {report.students:,} students, {report.classes} classes, "
                f"{report.families} families, {report.guardians} guardians ({report.portal_accounts} with "
                f"portal accounts), {report.staff} staff."
            )
        )
        self.stdout.write(f"Guardians by language: {languages}.")
        self.stdout.write(
            f"A term of contact history: {history.interactions:,} contacts logged; "
            f"{history.students_never_contacted} families not contacted yet; {conversations} conversations."
        )
        self.stdout.write(f"Families asked about their children: {answered} answered in full.")
        self.stdout.write(f"Goals set with families, with their check-ins: {goals}.")
        self.stdout.write(f"Behavior notes: {notes}, two children with a pattern to talk through with the family.")
        self.stdout.write("Run `manage.py demo_signins` for the demo sign-ins.")
