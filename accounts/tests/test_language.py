from django.urls import reverse


def test_a_signed_in_person_s_language_choice_is_kept_on_their_account(client, world):
    guardian = world.people["guardian"]
    client.force_login(guardian)
    assert guardian.language == ""
    response = client.post(reverse("set_language"), {"language": "es", "next": reverse("portal:home")})
    assert response["Location"] == reverse("portal:home")
    guardian.refresh_from_db()
    assert guardian.language == "es"
    page = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="es"' in page


def test_the_account_language_wins_over_the_browser(client, world):
    guardian = world.people["guardian"]
    guardian.language = "es"
    guardian.save(update_fields=["language"])
    client.force_login(guardian)
    assert '<html lang="es"' in client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_a_signed_out_visitor_can_read_the_sign_in_page_in_spanish(client, db):
    client.post(reverse("set_language"), {"language": "es", "next": "/accounts/login/"})
    page = client.get(reverse("account_login")).content.decode()
    assert '<html lang="es"' in page


def test_an_unknown_language_or_a_foreign_next_page_is_ignored(client, world):
    guardian = world.people["guardian"]
    client.force_login(guardian)
    response = client.post(reverse("set_language"), {"language": "xx", "next": "https://evil.example.com/"})
    assert response["Location"] == "/"
    guardian.refresh_from_db()
    assert guardian.language == ""


def test_a_missing_page_answers_404_in_the_person_s_language(client, world):
    guardian = world.people["guardian"]
    guardian.language = "es"
    guardian.save(update_fields=["language"])
    client.force_login(guardian)
    response = client.get("/family/children/not-a-number/")
    assert response.status_code == 404
    assert '<html lang="es"' in response.content.decode()
