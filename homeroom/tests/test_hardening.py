"""Inputs from the address bar: ids and query strings an attacker types never give a 500, and pages with a
child's data are never kept in a shared computer's cache."""

import pytest
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from homeroom.testing import count_security_probes
from roster.tests.factories import UserFactory

pytestmark = [pytest.mark.security, pytest.mark.django_db]

HUGE = str(2**64)


@pytest.mark.parametrize("value", ["²", "١٢", HUGE, "-1", "1e3", " 1", "0x1"])
def test_a_strange_number_in_a_query_string_is_ignored_not_a_500(client, world, value):
    client.force_login(world.people["teacher"])
    student = world.student
    urls = [
        f"{reverse('communication:good_news', args=[student.pk])}?guardian={value}",
        f"{reverse('communication:new_message')}?family={value}",
        f"{reverse('records:record', args=[student.pk])}?for={value}",
    ]
    client.force_login(world.people["leader"])
    statuses = [client.get(url).status_code for url in urls[2:]]
    client.force_login(world.people["teacher"])
    statuses += [client.get(url).status_code for url in urls[:2]]
    count_security_probes("query strings", probes=len(statuses), errors=statuses.count(500))
    assert 500 not in statuses, statuses


@settings(max_examples=30)
@given(student_id=st.one_of(st.integers(min_value=0, max_value=2**80), st.sampled_from([2**63 - 1, 2**63, 2**64])))
def test_any_id_in_a_path_is_a_page_or_a_404_never_a_500(client, world, student_id):
    # A platform administrator reaches every page and the admin: no id is refused for being out of reach.
    client.force_login(UserFactory(email="root@example.org", is_staff=True, is_superuser=True))
    paths = [
        f"/students/{student_id}/",
        f"/classes/{student_id}/",
        f"/messages/{student_id}/",
        f"/admin/roster/student/{student_id}/change/",
    ]
    statuses = [client.get(path).status_code for path in paths]
    count_security_probes("ids and tokens in URLs fuzzed", probes=len(paths), errors=statuses.count(500))
    # The admin answers an id it cannot find by sending its user back to the list (302).
    assert set(statuses) <= {200, 302, 404}, dict(zip(paths, statuses, strict=True))


def test_a_page_with_a_childs_data_is_not_kept_by_a_browser_or_a_proxy(client, world):
    client.force_login(world.people["teacher"])
    response = client.get(reverse("students:student_detail", args=[world.student.pk]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "camera=()" in response["Permissions-Policy"]


TOKEN_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#%"), min_size=1, max_size=80)


@settings(max_examples=30)
@given(token=st.one_of(TOKEN_TEXT, st.from_regex(r"\A[0-9]{1,30}\.[A-Za-z0-9_:\-]{0,60}\Z")))
def test_any_token_in_a_family_link_is_a_page_or_a_refusal_never_a_500(client, world, token):
    paths = [
        reverse("intake:answer", args=[token]),
        reverse("goals:link_goal", args=[token]),
        reverse("delivery:unsubscribe", args=[token]),
    ]
    statuses = [client.get(path).status_code for path in paths]
    count_security_probes("ids and tokens in URLs fuzzed", probes=len(paths), errors=statuses.count(500))
    assert 500 not in statuses, dict(zip(paths, statuses, strict=True))


@settings(max_examples=30)
@given(value=st.text(max_size=40))
def test_any_query_string_value_on_a_staff_page_is_never_a_500(client, world, value):
    client.force_login(world.people["teacher"])
    student = world.student
    urls = [
        (reverse("communication:good_news", args=[student.pk]), {"guardian": value, "next": value}),
        (reverse("communication:new_message"), {"family": value, "class": value}),
        (reverse("students:student_detail", args=[student.pk]), {"tone": value, "kind": value}),
        (reverse("communication:log_contact", args=[student.pk]), {"guardian": value, "tone": value, "next": value}),
    ]
    statuses = [client.get(url, params).status_code for url, params in urls]
    count_security_probes("query strings", probes=len(urls), errors=statuses.count(500))
    assert 500 not in statuses, statuses
