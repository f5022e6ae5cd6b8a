"""Leaders and district administrators need an authenticator app as well as a password or an emailed code;
teachers do where their school says so; families never do."""

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.urls import reverse

from homeroom.testing import count_security_probes

pytestmark = [pytest.mark.security, pytest.mark.django_db]

PASSWORD = "correct horse battery"
SETUP = reverse("mfa_activate_totp")


@pytest.fixture(autouse=True)
def second_factor_required(settings):
    settings.HOMEROOM_REQUIRE_SECOND_FACTOR = True


def _after_code_sign_in(client, mailbox, email):
    client.post(reverse("account_request_login_code"), {"email": email})
    code = mailbox.login_code_for(email)
    return client.post(reverse("account_confirm_login_code"), {"code": code})


def test_a_leader_with_only_an_emailed_code_must_set_up_an_authenticator_before_any_page(client, world, mailbox):
    leader = world.people["leader"]
    _after_code_sign_in(client, mailbox, leader.email)
    pages = [reverse("students:student_detail", args=[world.student.pk]), reverse("insights:overview"), "/admin/"]
    responses = [client.get(page) for page in pages]
    opened = [page for page, response in zip(pages, responses, strict=True) if response.get("Location") != SETUP]
    count_security_probes("second factor", probes=len(pages), leaks=len(opened))
    assert opened == []
    # Setting it up stays open (allauth first asks to confirm who it is), and so does signing out.
    setup = client.get(SETUP, follow=True)
    assert setup.status_code == 200
    assert setup.request["PATH_INFO"].startswith("/accounts/")
    assert client.post(reverse("account_logout")).status_code == 302


def test_a_leader_with_an_authenticator_is_asked_for_its_code_after_an_emailed_code(client, world, mailbox):
    leader = world.people["leader"]
    secret = generate_totp_secret()
    TOTP.activate(leader, secret)
    response = _after_code_sign_in(client, mailbox, leader.email)
    assert response["Location"] == reverse("mfa_authenticate")
    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    client.post(reverse("mfa_authenticate"), {"code": code})
    assert client.get(reverse("students:student_detail", args=[world.student.pk])).status_code == 200


def test_teachers_need_one_only_where_their_school_says_so(client, world):
    teacher = world.people["teacher"]
    client.force_login(teacher)
    student_page = reverse("students:student_detail", args=[world.student.pk])
    assert client.get(student_page).status_code == 200
    world.school.teachers_need_second_factor = True
    world.school.save(update_fields=["teachers_need_second_factor"])
    assert client.get(student_page)["Location"] == SETUP


def test_families_never_need_one(client, world):
    world.school.teachers_need_second_factor = True
    world.school.save(update_fields=["teachers_need_second_factor"])
    client.force_login(world.people["guardian"])
    assert client.get(reverse("portal:home")).status_code == 200
