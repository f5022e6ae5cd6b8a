import re

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()  # rate limits live in the cache, which outlives a test's database


def _request_code(client, email: str):
    return client.post(reverse("account_request_login_code"), {"email": email}, follow=True)


def _code_from(message) -> str:
    match = re.search(r"^\s*([A-Z0-9]{4}-?[A-Z0-9]{4})\s*$", message.body, re.MULTILINE)
    assert match, message.body
    return match.group(1)


def test_a_teacher_signs_in_with_email_and_password(client, world):
    response = client.post(reverse("account_login"), {"login": "Teacher@Example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home"))["Location"] == reverse("students:today")


def test_a_wrong_password_re_shows_the_form_with_the_email_typed(client, world):
    response = client.post(reverse("account_login"), {"login": "teacher@example.org", "password": "wrong"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'value="teacher@example.org"' in page
    assert "not correct" in page


def test_a_parent_signs_in_with_a_one_time_code_sent_by_email(client, world):
    assert mail.outbox == []
    response = _request_code(client, "guardian@example.org")
    assert response.status_code == 200
    [message] = mail.outbox
    assert message.to == ["guardian@example.org"]
    response = client.post(reverse("account_confirm_login_code"), {"code": _code_from(message)})
    assert response.status_code == 302
    assert client.get(reverse("home"))["Location"] == reverse("portal:home")


def test_a_wrong_code_is_refused_with_a_clear_message_and_no_sign_in(client, world):
    _request_code(client, "guardian@example.org")
    response = client.post(reverse("account_confirm_login_code"), {"code": "WRONG1"})
    assert response.status_code == 200
    assert "Incorrect code" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302
    assert client.get(reverse("home"))["Location"].startswith(reverse("account_login"))


def test_a_code_for_an_unknown_email_reveals_nothing_on_the_page_and_mails_no_code(client, world):
    known = _request_code(client, "guardian@example.org")
    unknown = _request_code(client.__class__(), "nobody@example.org")
    assert unknown.status_code == known.status_code == 200
    assert unknown.redirect_chain == known.redirect_chain
    [to_family, to_nobody] = mail.outbox
    assert to_nobody.to == ["nobody@example.org"]
    assert "no account" in to_nobody.body
    assert _code_from(to_family) not in to_nobody.body


def test_a_family_gets_its_code_in_its_own_language(client, world):
    guardian = world.people["guardian"]
    guardian.language = "es"
    guardian.save(update_fields=["language"])
    _request_code(client, guardian.email)
    [message] = mail.outbox
    assert "Homeroom" in message.body
    assert "Hello from Homeroom!" not in message.body


def test_staff_with_an_authenticator_app_are_asked_for_its_code_after_the_password(client, world):
    teacher = world.people["teacher"]
    secret = generate_totp_secret()
    TOTP.activate(teacher, secret)
    response = client.post(reverse("account_login"), {"login": teacher.email, "password": PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get(reverse("home")).status_code == 302  # not signed in yet
    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 302
    assert client.get(reverse("home"))["Location"] == reverse("students:today")


def test_repeated_wrong_passwords_are_rate_limited(client, world):
    pages = [
        client.post(reverse("account_login"), {"login": "teacher@example.org", "password": "wrong"}).content.decode()
        for _ in range(6)
    ]
    assert "Too many failed login attempts" not in pages[0]
    assert "Too many failed login attempts" in pages[-1]
    right = client.post(reverse("account_login"), {"login": "teacher@example.org", "password": PASSWORD})
    assert right.status_code == 200  # even the right password waits until the limit passes


def test_sign_up_is_closed_because_accounts_come_from_the_roster(client, db):
    response = client.get(reverse("account_signup"))
    assert "Sign Up Closed" in response.content.decode() or response.status_code in (403, 404)
