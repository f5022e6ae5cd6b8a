"""A Spanish-speaking father answers on a phone, with no password; his teacher reads it on the student page."""

from urllib.parse import urlsplit

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from homeroom.tests.test_browser import WCAG_22_AA
from intake.models import Answer, Invitation
from intake.selectors import link_of
from intake.services import invite_families
from roster.tests.factories import GuardianFactory, StudentGuardianFactory


def test_a_spanish_speaking_father_answers_on_a_phone_and_the_teacher_reads_it(
    phone_page, page, world, sign_in_as, screenshot
):
    father = GuardianFactory(first_name="José", preferred_language="es", email="jose@example.org")
    StudentGuardianFactory(student=world.student, guardian=father)
    invite_families(sender=world.people["teacher"], section=world.section, guardian_ids=[father.pk])
    invitation = Invitation.objects.get(guardian=father)

    phone_page.goto(urlsplit(link_of(invitation)).path)
    expect(phone_page.locator("html")).to_have_attribute("lang", "es")
    expect(phone_page.get_by_role("heading", level=1)).to_contain_text("Ana")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375
    results = Axe().run(
        phone_page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA}, "resultTypes": ["violations"]}
    )
    assert results.violations_count == 0, results.generate_report()
    screenshot(phone_page, "family-answers-es")

    boxes = phone_page.locator("main textarea")
    boxes.nth(0).fill("Le encanta dibujar y el fútbol.")
    phone_page.locator("main button[name=save]").click()
    expect(phone_page.locator(".messages")).to_be_visible()
    expect(boxes.nth(0)).to_have_value("Le encanta dibujar y el fútbol.")  # saved, and there when he comes back

    boxes.nth(7).fill("Por mensaje, después de las 7.")
    phone_page.locator("main button[name=submit]").click()
    invitation.refresh_from_db()
    assert invitation.submitted_at is not None
    assert set(Answer.objects.filter(invitation=invitation).values_list("language", flat=True)) == {"es"}

    sign_in_as(page, world.people["teacher"])
    page.goto(f"/students/{world.student.id}/")
    told_us = page.locator("section", has=page.get_by_role("heading", name="What the family told us"))
    expect(told_us).to_contain_text("Le encanta dibujar y el fútbol.")
    expect(told_us).to_contain_text(father.display_name)
    screenshot(page, "told-us")
