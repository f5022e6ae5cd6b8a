"""Median server time of Homeroom's pages, measured with Django's test client against a scratch database.

    make bench            # SQLite, then PostgreSQL
    python bench/run.py --database sqlite --runs 50
    python bench/run.py --database sqlite --skip-district                    # a quick run: no district
    python bench/run.py --database sqlite --district-students 5000 --district-interactions 200000

The "bare signed-in page" is the baseline every later figure is stated against: a signed-in request that
renders the base template and reads only the session, the user and their roles.

After the small pages, the district of `manage.py seed_district` is built into the same scratch database and the
Today list of teacher150 (150 students, two terms of the log) is measured, with the bare page measured again
next to it: the district's ratio comes from one run on one database.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homeroom.settings")
os.environ.setdefault("HOMEROOM_TESTING", "true")


def median_ms(pages: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Median time of each page, the pages taken in turn within each run: a shared machine's slow spell then
    weighs on every page alike, and the ratios between them hold."""
    for fn in pages.values():
        for _ in range(5):  # warm caches, templates and connections
            fn()
    samples: dict[str, list[float]] = {name: [] for name in pages}
    for _ in range(runs):
        for name, fn in pages.items():
            start = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(times) for name, times in samples.items()}


MIN_DISTRICT_RUNS = 30


def _today_figures(today: Any) -> tuple[Any, ...]:
    order = [(row.student.pk, row.reason, row.last_contact_on) for row in today.rows[: len(today.rows)]]
    return (today.counts_by_reason, today.good_news_due, order)


def _send_class_notices(teacher: Any) -> int:
    from communication.models import Tone
    from communication.services import send_message
    from roster.models import Section

    families = 0
    for section in Section.objects.filter(teachers=teacher, term__is_current=True):
        sent = send_message(
            sender=teacher,
            section=section,
            subject="Field trip on Friday",
            body="We leave at 9:00. Please send a packed lunch.",
            tone=Tone.POSITIVE,
        )
        families += sent.families
    return families


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--class-size", type=int, default=30)
    parser.add_argument("--district-students", type=int, default=50_000)
    parser.add_argument("--district-interactions", type=int, default=2_000_000)
    parser.add_argument("--skip-district", action="store_true", help="Measure the small pages only.")
    args = parser.parse_args()
    if args.database == "sqlite":
        os.environ.pop("DATABASE_URL", None)
    elif not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("--database postgres needs DATABASE_URL (make bench sets it)")

    import django

    django.setup()
    import logging

    logging.getLogger("django.request").setLevel(logging.ERROR)  # the bare page answers 403: no role
    from django.db import connection
    from django.test.client import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse
    from django.utils import timezone

    from accounts.models import User
    from roster.tests.factories import SectionFactory, StaffRoleFactory, UserFactory, enroll_class
    from seeding.district import TEACHER150_EMAIL, build_district

    setup_test_environment()
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        teacher = StaffRoleFactory(role="teacher").user
        section = SectionFactory(term__school=teacher.staff_roles.get().school)
        section.teachers.add(teacher)
        enroll_class(section=section, size=args.class_size)
        bare_user = UserFactory()

        bare, staff = Client(), Client()
        bare.force_login(bare_user)
        staff.force_login(teacher)
        class_url = reverse("students:section_detail", args=[section.id])

        figures = median_ms(
            {
                "bare signed-in page": lambda: bare.get("/"),
                "teacher's class list": lambda: staff.get(reverse("roster:section_list")),
                f"class page ({args.class_size} students)": lambda: staff.get(class_url),
            },
            args.runs,
        )
        groups = [("", figures)]

        if not args.skip_district:
            started = time.perf_counter()
            report = build_district(
                students=args.district_students,
                interactions=args.district_interactions,
                on_progress=lambda line: print(f"  seeding: {line}", file=sys.stderr, flush=True),
            )
            seeded_in = time.perf_counter() - started
            teacher150 = Client()
            teacher150.force_login(User.objects.get(email=TEACHER150_EMAIL))
            today_url = reverse("students:today")
            response = teacher150.get(today_url)
            # Measure the page we think we measure: a full list, not an error page or an empty one.
            assert response.status_code == 200, response.status_code
            assert response.context["today"].total == report.teacher150.students == 150
            # A class notice to each of the teacher's classes this week: Today must read as it did before them.
            before = _today_figures(response.context["today"])
            sent_to = _send_class_notices(User.objects.get(email=TEACHER150_EMAIL))
            after = _today_figures(teacher150.get(today_url).context["today"])
            assert after == before, (before, after)
            print(f"  class notices to {sent_to} families left Today as it was: {before[0]}", file=sys.stderr)
            runs = max(args.runs, MIN_DISTRICT_RUNS)
            messages_url = reverse("communication:conversations")
            district = median_ms(
                {
                    "bare signed-in page": lambda: bare.get("/"),
                    f"Today ({report.teacher150.students} students)": lambda: teacher150.get(today_url),
                    "Messages (5 class notices)": lambda: teacher150.get(messages_url),
                },
                runs,
            )
            title = (
                f"district: {report.students:,} students, {report.interactions:,} interactions, "
                f"seeded in {seeded_in:.0f} s; median of {runs} runs"
            )
            groups.append((title, district))
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)

    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    print(f"\n{args.database} · {timezone.localdate()} · {machine} · median of {args.runs} runs")
    for title, group in groups:
        if title:
            print(f"  {title}")
        baseline = group["bare signed-in page"]  # each group against the bare page measured beside it
        for name, ms in group.items():
            print(f"  {name:<32} {ms:7.2f} ms   {ms / baseline:4.1f}x bare")


if __name__ == "__main__":
    main()
