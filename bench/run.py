"""Median server time of Homeroom's pages, measured with Django's test client against a scratch database.

    make bench            # SQLite, then PostgreSQL
    python bench/run.py --database sqlite --runs 50

The "bare signed-in page" is the baseline every later figure is stated against: a signed-in request that
renders the base template and reads only the session, the user and their roles.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homeroom.settings")
os.environ.setdefault("HOMEROOM_TESTING", "true")


def median_ms(fn: Callable[[], object], runs: int) -> float:
    for _ in range(5):  # warm caches, templates and connections
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--class-size", type=int, default=30)
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

    from roster.tests.factories import SectionFactory, StaffRoleFactory, UserFactory, enroll_class

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
        class_url = reverse("roster:section_detail", args=[section.id])

        figures = {
            "bare signed-in page": median_ms(lambda: bare.get("/"), args.runs),
            "teacher's class list": median_ms(lambda: staff.get(reverse("roster:section_list")), args.runs),
            f"class page ({args.class_size} students)": median_ms(lambda: staff.get(class_url), args.runs),
        }
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)

    baseline = figures["bare signed-in page"]
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    print(f"\n{args.database} · {timezone.localdate()} · {machine} · median of {args.runs} runs")
    for name, ms in figures.items():
        print(f"  {name:<32} {ms:7.2f} ms   {ms / baseline:4.1f}x bare")


if __name__ == "__main__":
    main()
