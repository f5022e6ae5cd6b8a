"""The database going away in the middle of a request: a clear page, nothing half-written, and the next request
works once it is back. On PostgreSQL the server really ends the request's connection; SQLite has no server to lose,
so there the driver's own error is raised at the same point."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from communication.models import Interaction, InteractionStudent
from homeroom.testing import count_security_probes

pytestmark = [pytest.mark.security, pytest.mark.django_db(transaction=True)]


def _end_this_connection_from_outside() -> None:
    """What a database restart or a failover does to a request's connection."""
    if connection.vendor == "postgresql":
        pid = connection.connection.info.backend_pid
        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        with psycopg.connect(**params, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    else:
        raise OperationalError("disk I/O error")


@contextmanager
def database_lost(*, after: Callable[[str], bool]) -> Iterator[list[str]]:
    """Runs the request's queries until the first one for which `after(sql)` is true has run; the connection is
    lost before the next one."""
    seen: list[str] = []

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if seen and after(seen[-1]):
            _end_this_connection_from_outside()
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield seen
    connection.close()  # what the server does at the end of a failed request: the next one connects anew


def _log_a_positive_call(client: Client, world: Any) -> Any:
    guardian = world.student.guardian_links.get(contact_allowed=True).guardian
    return client.post(
        reverse("communication:log_contact", args=[world.student.pk]),
        {
            "summary": "Ana read to the whole class.",
            "tone": "positive",
            "outcome": "reached",
            "guardian": guardian.pk,
            "students": [world.student.pk],
            "channel": "call",
            "direction": "to_family",
        },
    )


def test_a_contact_logged_while_the_database_goes_away_is_not_half_written_and_the_page_says_so(world):
    client = Client(raise_request_exception=False)
    client.force_login(world.people["teacher"])
    assert Interaction.objects.count() == 0

    with database_lost(after=lambda sql: 'INSERT INTO "communication_interaction"' in sql) as queries:
        response = _log_a_positive_call(client, world)

    interactions, links = Interaction.objects.count(), InteractionStudent.objects.count()
    count_security_probes(
        "database gone mid-request", probes=1, errors=int(response.status_code == 500), lost=interactions + links
    )
    assert any('INSERT INTO "communication_interaction"' in sql for sql in queries)  # it died mid-write
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert "cannot reach its database" in response.content.decode()
    assert (interactions, links) == (0, 0)

    again = _log_a_positive_call(client, world)
    assert again.status_code == 302
    assert Interaction.objects.count() == 1


def test_a_page_that_loses_its_database_after_its_first_query_gets_the_same_clear_page(world):
    client = Client(raise_request_exception=False)
    client.force_login(world.people["teacher"])

    with database_lost(after=lambda sql: True):
        response = client.get(reverse("students:today"))

    count_security_probes("database gone mid-request", probes=1, errors=int(response.status_code == 500))
    assert response.status_code == 503
    assert "Homeroom is briefly unavailable" in response.content.decode()
    assert client.get(reverse("students:today")).status_code == 200


def test_any_other_error_still_gets_the_plain_error_page(world, monkeypatch):
    client = Client(raise_request_exception=False)
    client.force_login(world.people["teacher"])

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("students.views.today_for", broken)
    response = client.get(reverse("students:today"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
