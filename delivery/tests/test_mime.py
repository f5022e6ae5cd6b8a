"""The short cut in writing headers out changes no byte of what families receive."""

from email import generator
from email.policy import compat32
from io import BytesIO

import pytest

from communication.models import Tone
from communication.services import send_message
from delivery.compose import email_for
from delivery.mime import quick_folding
from delivery.models import Delivery
from delivery.selectors import schools_of_guardians
from roster.tests.factories import EnrollmentFactory, GuardianFactory, StudentGuardianFactory

LIMIT = compat32.max_line_length


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Subject", "School closed tomorrow"),
        ("Subject", "x" * (LIMIT - len("Subject: "))),  # exactly a full line
        ("Subject", "x" * (LIMIT - len("Subject: ") + 1)),  # one character too long: folded
        ("Subject", "Because of the storm, school is closed tomorrow and classes start again on Monday"),
        ("Subject", "Reunión de familias el jueves"),  # not ASCII: encoded
        ("Subject", "tab\there"),  # not printable
        ("List-Unsubscribe", "<https://homeroom.example.org/unsubscribe/" + "a" * 120 + "/>"),
        ("Content-Type", 'text/plain; charset="utf-8"'),
        ("To", "  spaced   out  "),
        ("X-Empty", ""),
    ],
)
@pytest.mark.parametrize("linesep", ["\n", "\r\n"])
def test_a_header_is_written_exactly_as_the_standard_library_writes_it(name, value, linesep):
    assert quick_folding.clone(linesep=linesep).fold_binary(name, value) == compat32.clone(linesep=linesep).fold_binary(
        name, value
    )


def test_a_header_that_would_carry_another_is_refused_as_before():
    with pytest.raises(Exception) as standard:
        compat32.fold_binary("Subject", "Hi\nBcc: someone@example.org")
    with pytest.raises(type(standard.value)):
        quick_folding.fold_binary("Subject", "Hi\nBcc: someone@example.org")


def _flattened(message, policy) -> bytes:
    out = BytesIO()
    generator.BytesGenerator(out, mangle_from_=False, policy=policy.clone(linesep="\r\n")).flatten(message)
    return out.getvalue()


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("en", "Maya's week"),
        ("es", "Una semana estupenda para Maya en la clase de lectura, con muchos libros leídos en casa"),
    ],
)
def test_a_familys_whole_email_is_byte_for_byte_what_the_standard_policy_writes(world, language, subject):
    student = EnrollmentFactory(section=world.section, student__first_name="Maya").student
    guardian = GuardianFactory(preferred_language=language, email="maya.family@example.org")
    StudentGuardianFactory(student=student, guardian=guardian)
    send_message(
        sender=world.people["teacher"],
        guardian_ids=[guardian.pk],
        subject=subject,
        body="She read a book.",
        tone=Tone.POSITIVE,
    )
    delivery = Delivery.objects.select_related("guardian", "message__sender").get(guardian=guardian)
    message = email_for(delivery, schools_of_guardians([guardian.pk])[guardian.pk]).message()

    assert message.policy is quick_folding
    assert _flattened(message, quick_folding) == _flattened(message, compat32)
