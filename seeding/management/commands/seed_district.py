import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from seeding.district import (
    DEFAULT_INTERACTIONS,
    DEFAULT_SEED,
    DEFAULT_STUDENTS,
    DISTRICT_NAME,
    DISTRICT_PASSWORD,
    MIN_STUDENTS,
    TEACHER150_EMAIL,
    DistrictExistsError,
    build_district,
)


class Command(BaseCommand):
    help = (
        f"Builds {DISTRICT_NAME}, a district-sized world for benchmarks: schools of ~600 students, their families, "
        "staff, and a communication log over this term and the last."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--students", type=int, default=DEFAULT_STUDENTS, help="Students in the district.")
        parser.add_argument(
            "--interactions", type=int, default=DEFAULT_INTERACTIONS, help="Logged contacts and attempts."
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="The same seed builds the same rows.")

    def handle(self, *, students: int, interactions: int, seed: int, **options: Any) -> None:
        if students < MIN_STUDENTS:
            raise CommandError(f"--students must be at least {MIN_STUDENTS}: teacher150 teaches that many.")
        if interactions < 0:
            raise CommandError("--interactions cannot be negative.")
        self.started = time.monotonic()
        try:
            report = build_district(
                students=students, interactions=interactions, seed=seed, on_progress=self.print_progress
            )
        except DistrictExistsError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {DISTRICT_NAME}: {report.schools} schools, {report.students:,} students in "
                f"{report.sections:,} classes ({report.enrollments:,} enrollments), {report.families:,} families, "
                f"{report.guardians:,} guardians ({report.guardian_links:,} links, {report.restricted_links:,} "
                f"restricted), {report.teachers:,} teachers, {report.leaders} leaders, {report.district_admins} "
                f"district administrator."
            )
        )
        self.stdout.write(
            f"Communication log: {report.interactions:,} interactions about {report.interaction_students:,} "
            f"students; {report.summaries:,} term summaries."
        )
        profile = report.teacher150
        self.stdout.write(
            f"Sign in as {TEACHER150_EMAIL} (password {DISTRICT_PASSWORD}): {profile.students} students, "
            f"{profile.not_contacted_this_term} not contacted this term, {profile.past_cadence} past the cadence, "
            f"{profile.follow_ups_due} with a follow-up due."
        )
        stages = ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in report.seconds.items())
        self.stdout.write(f"Took {sum(report.seconds.values()):.1f} s: {stages}.")

    def print_progress(self, line: str) -> None:
        self.stdout.write(f"[{time.monotonic() - self.started:6.1f} s] {line}")
        self.stdout.flush()
