"""Rate limits stop guessing without letting one attacker lock out someone else: failures are counted per account
and address together and per address, behind a proxy the client's own address is the one the proxy names (only
when the proxy is configured as trusted), and a family's link that works is never refused."""

import pytest
from django.test import Client
from django.urls import reverse

from homeroom.testing import count_security_probes
from intake.services import invite_families

pytestmark = [pytest.mark.security, pytest.mark.django_db]

PASSWORD = "correct horse battery"
PROXY = "10.0.0.1"  # every request reaches Homeroom from the reverse proxy


def _from(address: str) -> Client:
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=address)


def _signs_in(client: Client, email: str, password: str) -> bool:
    response = client.post(reverse("account_login"), {"login": email, "password": password})
    return response.status_code == 302


@pytest.fixture
def behind_a_proxy(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1


def test_an_attacker_guessing_a_teachers_password_does_not_lock_the_teacher_out(world, behind_a_proxy):
    teacher = world.people["teacher"]
    attacker = _from("203.0.113.9")
    guesses = [_signs_in(attacker, teacher.email, f"guess {n}") for n in range(12)]
    colleagues = [
        _signs_in(_from(f"198.51.100.{n}"), person.email, PASSWORD)
        for n, person in enumerate([teacher, world.people["other_teacher"], world.people["leader"]])
    ]
    count_security_probes("sign-in lockout", probes=len(guesses) + len(colleagues), leaks=colleagues.count(False))
    assert not any(guesses)
    assert all(colleagues)
    # The attacker's own address is stopped, even with the right password.
    assert not _signs_in(attacker, teacher.email, PASSWORD)


def test_an_untrusted_forwarded_address_is_ignored(world, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    teacher = world.people["teacher"]
    # Without a trusted proxy, a forged header does not give an attacker a fresh address for each guess.
    for n in range(6):
        _signs_in(_from(f"192.0.2.{n}"), teacher.email, "wrong")
    assert not _signs_in(_from("192.0.2.99"), teacher.email, PASSWORD)


def test_bad_link_opens_never_refuse_a_familys_working_link(world, behind_a_proxy, mailbox):
    invite_families(sender=world.people["teacher"], section=world.section)
    invitation = world.student.intake_invitations.first()
    working = reverse("intake:answer", args=[f"{invitation.pk}.{invitation.secret}"])
    attacker, family = _from("203.0.113.9"), _from("198.51.100.7")
    guesses = [attacker.get(reverse("intake:answer", args=[f"{n}.guess"])).status_code for n in range(35)]
    shared_address = _from("203.0.113.9").get(working).status_code  # a family behind the attacker's address
    own_address = family.get(working).status_code
    count_security_probes(
        "family link lockout", probes=len(guesses) + 2, leaks=int(shared_address != 200) + int(own_address != 200)
    )
    assert guesses[0] == 404 and guesses[-1] == 429
    assert (shared_address, own_address) == (200, 200)
