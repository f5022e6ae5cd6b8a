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
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from homeroom.testing import count_security_probes, drop_scratch_database, free_port, scratch_database_url

ROOT = Path(__file__).resolve().parents[2]
FAMILIES = 60
KILL_AT = 45  # the worker dies once the mail server has this message, before it answers that it took it
PER_MESSAGE = 0.08  # the mail server's pace: the batch runs well past the claim, which the worker must renew
CLAIM_SECONDS = 2

SEND_NOTICE = f"""
from django.core.management import call_command
call_command("migrate", verbosity=0)  # in the same process: one start-up of Django less

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

# `manage.py deliver_pending` as cron runs it, every tenth of a second here, from before the worker starts: it must
# leave a live worker's batch alone however long it runs, and put back the dead one's as soon as its claim lapses.
# It says when no delivery is held any more, once some have been.
DELIVER_PENDING_LOOP = """
import time
from django.core.management import call_command
from communication.models import Delivery

held_before = False
while True:
    call_command("deliver_pending", verbosity=0, stdout=open("/dev/null", "w"))
    held = Delivery.objects.filter(status="sending").exists()
    if held_before and not held:
        print(time.time(), flush=True)
        break
    held_before = held_before or held
    time.sleep(0.1)
"""


class SlowingMailServer:
    """Takes each message after PER_MESSAGE seconds. The KILL_AT-th it keeps without answering until its client is
    gone: a worker killed at that moment does not know the message went, and sends it again."""

    def __init__(self) -> None:
        self.received: dict[str, list[str]] = {}  # each address's Message-IDs, in order
        self.seen = 0
        self.holding = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # the name aiosmtpd calls
        await asyncio.sleep(PER_MESSAGE)
        self.seen += 1
        message = message_from_bytes(envelope.content)
        for address in envelope.rcpt_tos:
            self.received.setdefault(address, []).append(str(message["Message-ID"]))
        if self.seen == KILL_AT:
            self.holding.set()
            while not server.transport.is_closing():
                await asyncio.sleep(0.02)
            return "451 client gone"
        return "250 OK"


@pytest.fixture
def scratch_env() -> Iterator[dict[str, str]]:
    url = scratch_database_url(f"homeroom_worker_lost_{os.getpid()}", in_memory_folder=True)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "HOMEROOM_TESTING": "true",
        "HOMEROOM_DEBUG": "false",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "HOMEROOM_DELIVERY_CLAIM_SECONDS": str(CLAIM_SECONDS),
        "LOG_LEVEL": "ERROR",
    }
    yield env
    drop_scratch_database(url)


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )


def _start(env: dict[str, str], *args: str, **options: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, text=True, **options
    )


@pytest.mark.security
def test_a_worker_killed_mid_batch_loses_nothing_and_sends_at_most_the_message_in_flight_again(scratch_env):
    server = SlowingMailServer()
    controller = Controller(server, hostname="127.0.0.1", port=free_port())
    controller.start()
    env = {**scratch_env, "EMAIL_PORT": str(controller.port)}
    try:
        _manage(env, "shell", "--command", SEND_NOTICE)

        cron = _start(env, "shell", "--command", DELIVER_PENDING_LOOP, stdout=subprocess.PIPE)
        worker = _start(env, "db_worker", "--no-startup-delay", "--interval", "0.1", "-v", "0")
        assert server.holding.wait(timeout=60), "the worker never reached the message it is to die on"
        os.kill(worker.pid, signal.SIGKILL)
        killed_at = time.time()
        worker.wait(timeout=10)
        sent_by_the_first = sum(len(ids) for ids in server.received.values())

        out, _err = cron.communicate(timeout=60)
        resumed_after = float(out.split()[-1]) - killed_at  # when what the dead worker held was put back
        _manage(env, "db_worker", "--batch", "--no-startup-delay", "--queue-name", "*", "-v", "0")
    finally:
        controller.stop()

    families = {f"family{n}@example.org" for n in range(FAMILIES)}
    doubled = {address: ids for address, ids in server.received.items() if len(ids) > 1}
    count_security_probes(
        "worker killed mid-batch",
        probes=FAMILIES,
        lost=len(families - set(server.received)),
        doubled=sum(len(ids) - 1 for ids in server.received.values()),
    )
    assert sent_by_the_first == KILL_AT  # it did run past its claim, renewing it: nothing was taken from it
    assert set(server.received) == families  # nothing lost
    assert len(doubled) <= 1 and all(len(ids) == 2 for ids in doubled.values())  # at most the one in flight, once
    assert all(len(set(ids)) == 1 for ids in doubled.values())  # with the same Message-ID: mail programs show one
    assert len({ids[0] for ids in server.received.values()}) == FAMILIES  # and each family's is its own
    # The rest of the batch went out within the claim's time, not an hour later.
    assert resumed_after < CLAIM_SECONDS + 5


def test_a_dead_workers_claim_lapses_in_minutes_not_an_hour(settings):
    # What the test above shows with a claim of 2 seconds, at the default: an urgent notice a dead worker held goes
    # out at the next `deliver_pending` after this, which a live worker renews every third of it.
    assert settings.HOMEROOM_DELIVERY_CLAIM_SECONDS <= 5 * 60
