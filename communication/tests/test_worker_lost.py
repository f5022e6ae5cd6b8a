"""A real task worker killed in the middle of a school-wide send, and a new one finishing it: every family gets the
notice exactly once. The worker processes share a database of their own (a file, or a database on the PostgreSQL
server), as in production; the mail server is a real SMTP server in this process."""

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from homeroom.testing import drop_scratch_database, free_port, scratch_database_url

ROOT = Path(__file__).resolve().parents[2]
FAMILIES = 60
KILL_AT = 25  # the worker dies while the mail server holds this message, not yet accepted

SEND_NOTICE = f"""
from accounts.models import User
from communication.services import send_notice
from roster.models import District, Guardian, Role, School, StaffRole, Student, StudentGuardian

school = School.objects.create(district=District.objects.create(name="D"), name="Storm Elementary")
leader = User.objects.create_user(email="leader@storm.example.org", full_name="Pat Leader")
StaffRole.objects.create(user=leader, school=school, role=Role.LEADER)
for n in range({FAMILIES}):
    student = Student.objects.create(school=school, student_number=str(n), first_name="C", last_name="S", grade_level=2)
    guardian = Guardian.objects.create(first_name="P", last_name=str(n), email=f"family{{n}}@example.org")
    StudentGuardian.objects.create(student=student, guardian=guardian, relationship="father")
send_notice(sender=leader, school=school, subject="Closed tomorrow", body="The storm closes school.", urgent=True)
"""


class SlowingMailServer:
    """Accepts every message but one: the KILL_AT-th waits, unanswered, until its client is gone, as a message
    whose client died before the end of its DATA is never delivered."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.seen = 0
        self.holding = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # the name aiosmtpd calls
        self.seen += 1
        if self.seen == KILL_AT:
            self.holding.set()
            while not server.transport.is_closing():
                await asyncio.sleep(0.05)
            return "451 client gone"
        self.received.update(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def scratch_env() -> Iterator[dict[str, str]]:
    url = scratch_database_url(f"homeroom_worker_lost_{os.getpid()}")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "HOMEROOM_TESTING": "true",
        "HOMEROOM_DEBUG": "false",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "HOMEROOM_DELIVERY_CLAIM_SECONDS": "1",
        "LOG_LEVEL": "ERROR",
    }
    yield env
    drop_scratch_database(url)


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )


def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(scratch_env):
    server = SlowingMailServer()
    controller = Controller(server, hostname="127.0.0.1", port=free_port())
    controller.start()
    env = {**scratch_env, "EMAIL_PORT": str(controller.port)}
    try:
        _manage(env, "migrate", "--verbosity", "0")
        _manage(env, "shell", "--command", SEND_NOTICE)

        worker = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--interval", "0.1", "-v", "0"],
            cwd=ROOT,
            env=env,
        )
        assert server.holding.wait(timeout=60), "the worker never reached the message it is to die on"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        assert sum(server.received.values()) == KILL_AT - 1  # the rest of the batch is stranded with the worker

        time.sleep(1.1)  # the dead worker's claim goes stale (HOMEROOM_DELIVERY_CLAIM_SECONDS=1)
        assert "deliveries queued" in _manage(env, "deliver_pending").stdout
        _manage(env, "db_worker", "--batch", "--no-startup-delay", "--queue-name", "*", "-v", "0")
    finally:
        controller.stop()

    families = {f"family{n}@example.org" for n in range(FAMILIES)}
    assert set(server.received) == families  # nothing lost
    assert set(server.received.values()) == {1}  # nothing doubled
