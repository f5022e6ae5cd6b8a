"""A school-wide notice to 10,000 families: how long queueing it takes, and how fast two real task workers deliver
it to a local SMTP server, against a bare `smtplib` loop sending the same messages to the same server.

    python bench/delivery.py --database sqlite
    python bench/delivery.py --database postgres          # needs DATABASE_URL to the server (make bench sets it)
    python bench/delivery.py --database sqlite --families 2000

The scratch database is a file (SQLite) or a database of its own (PostgreSQL) because the workers are separate
processes, as in production (`manage.py db_worker`). The SMTP server (aiosmtpd) runs in a process of its own too,
so that neither the workers nor the bare loop share an interpreter with it. The workers' rate is taken from the
first to the last `sent_at`, which leaves out their start-up; the bare loop's from its first to its last send.
The notice is urgent so that it goes at once whatever the hour of the run (quiet hours would hold it otherwise).
"""

import argparse
import os
import platform
import smtplib
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SMTP_SINK = """
import asyncio, sys
from aiosmtpd.controller import Controller

class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
controller.stop()
"""


def build_school(families: int) -> tuple[object, object]:
    """One school, a family per student, 3 in 10 reading Spanish, all by email; a leader to send the notice."""
    from accounts.models import User
    from roster.models import District, Guardian, Role, School, StaffRole, Student, StudentGuardian

    district = District.objects.create(name="Bench district")
    school = School.objects.create(district=district, name="Bench Elementary", time_zone="America/New_York")
    leader = User.objects.create_user(email="leader@bench.example.org", full_name="Pat Leader", password=None)
    StaffRole.objects.create(user=leader, school=school, role=Role.LEADER)
    students = Student.objects.bulk_create(
        [
            Student(school=school, student_number=f"S{n:06d}", first_name=f"Child{n}", last_name="Bench", grade_level=3)
            for n in range(families)
        ],
        batch_size=2000,
    )
    guardians = Guardian.objects.bulk_create(
        [
            Guardian(
                first_name=f"Parent{n}",
                last_name="Bench",
                email=f"parent{n}@families.example.org",
                preferred_language="es" if n % 10 < 3 else "en",
            )
            for n in range(families)
        ],
        batch_size=2000,
    )
    StudentGuardian.objects.bulk_create(
        [
            StudentGuardian(student=student, guardian=guardian, relationship="mother")
            for student, guardian in zip(students, guardians, strict=True)
        ],
        batch_size=2000,
    )
    return school, leader


def start_smtp_sink(port: int) -> subprocess.Popen[str]:
    sink = subprocess.Popen(  # noqa: S603 - our own script with fixed arguments
        [sys.executable, "-c", SMTP_SINK, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
    return sink


def deliver_with_workers(*, workers: int, env: dict[str, str], expected: int, timeout: float) -> float:
    """Starts the workers, waits until every delivery is sent, and returns the rate in messages per second."""
    from django.db.models import Max, Min

    from delivery.models import Delivery, DeliveryStatus

    processes = [
        subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-startup-delay", "-v", "0"],
            cwd=ROOT,
            env=env,
        )
        for _ in range(workers)
    ]
    try:
        deadline = time.monotonic() + timeout
        while Delivery.objects.filter(status=DeliveryStatus.SENT).count() < expected:
            if time.monotonic() > deadline:
                sys.exit("The workers did not deliver everything in time.")
            if any(process.poll() is not None for process in processes):
                sys.exit("A worker stopped.")
            time.sleep(0.5)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
    span = Delivery.objects.aggregate(first=Min("sent_at"), last=Max("sent_at"))
    return (expected - 1) / (span["last"] - span["first"]).total_seconds()


def bare_smtplib_rate(*, port: int) -> float:
    """The same messages, built beforehand, sent over one connection in a plain loop: the ceiling."""
    from delivery.compose import email_for
    from delivery.models import Delivery
    from delivery.selectors import schools_of_guardians

    deliveries = list(Delivery.objects.select_related("guardian", "message__sender").order_by("id"))
    school = next(iter(schools_of_guardians([deliveries[0].guardian_id]).values()))
    messages = [(email_for(d, school).message().as_bytes(linesep="\r\n"), d.guardian.email) for d in deliveries]
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        start = time.perf_counter()
        for raw, address in messages:
            smtp.sendmail("homeroom@bench.example.org", [address], raw)
        elapsed = time.perf_counter() - start
    return (len(messages) - 1) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--families", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from homeroom.testing import free_port, scratch_database_url

    if args.database == "sqlite":
        os.environ.pop("DATABASE_URL", None)
    elif not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("--database postgres needs DATABASE_URL (make bench sets it)")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": scratch_database_url("homeroom_bench_delivery"),
        "HOMEROOM_TESTING": "true",
        "HOMEROOM_DEBUG": "false",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homeroom.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from communication.services import send_notice

    call_command("migrate", verbosity=0)
    school, leader = build_school(args.families)

    start = time.perf_counter()
    sent = send_notice(
        sender=leader,
        school=school,
        subject="School closed tomorrow",
        body="Because of the storm, school is closed tomorrow. Classes start again on Monday.",
        urgent=True,
    )
    queued_in = time.perf_counter() - start
    assert sent.by_email == args.families, sent

    sink = start_smtp_sink(port)
    try:
        workers_rate = deliver_with_workers(workers=args.workers, env=env, expected=args.families, timeout=900)
        bare_rate = bare_smtplib_rate(port=port)
    finally:
        assert sink.stdin is not None
        sink.stdin.close()
        sink.wait(timeout=30)

    print(f"Delivery of a school-wide notice, {args.database}, {platform.node()}, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"  families:                               {args.families}")
    print(f"  queued (messages written, tasks queued): {queued_in:.2f} s   (target < 10 s)")
    print(f"  {args.workers} workers to local SMTP:               {workers_rate:.0f} messages/s")
    print(f"  bare smtplib loop, same messages/server: {bare_rate:.0f} messages/s")
    print(f"  workers / bare:                         {workers_rate / bare_rate:.2f}   (target >= 0.50)")


if __name__ == "__main__":
    main()
