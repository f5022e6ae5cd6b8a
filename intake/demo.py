"""The demo school's answers: the demo teacher asked the families of their classes at the start of term; most
answered, in their own languages, some part of the way, some by phone, some not yet."""

import datetime
import random

from django.utils import timezone

from accounts.models import User
from intake.models import AnswersFrom, Invitation
from intake.selectors import questions_asked
from intake.services import invite_families, mark_opened, save_answers
from roster.access import sections_taught_by

# Answers to a few of Homeroom's questions, as families write them (one per language and question at most).
DEMO_ANSWERS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "strengths": (
            "Drawing and building with Lego. She can spend hours on it.",
            "Soccer, dinosaurs, and helping his little sister.",
        ),
        "motivation": ("Stickers! And being told she did a good job in front of others.",),
        "challenges": ("Reading out loud makes him nervous.", "Mornings are hard, he is tired."),
        "learning": ("By doing things with her hands.",),
        "hopes": ("That she enjoys reading this year.", "Make friends and feel confident."),
        "reach": ("Text me after 5 pm.", "Email is best, I check it at lunch."),
        "people": ("His grandma picks him up on Tuesdays.",),
    },
    "es": {
        "strengths": (
            "Le encanta dibujar y cantar. Es muy cariñosa con todos.",
            "Es muy bueno con los números y el fútbol.",
        ),
        "motivation": ("Cuando le decimos que estamos orgullosos de él.",),
        "challenges": ("Le cuesta leer en inglés; en casa hablamos español.",),
        "hopes": ("Que aprenda a leer en inglés y que sea feliz en la escuela.",),
        "worries": ("Es un poco tímido con los niños nuevos.",),
        "reach": ("Por mensaje de texto, en la tarde después de las 6.", "Llamar por la mañana antes de las 8."),
        "people": ("Su abuela vive con nosotros y lo cuida.",),
    },
    "vi": {
        "strengths": ("Con rất thích vẽ và chơi với em.",),
        "reach": ("Nhắn tin sau 6 giờ tối.",),
    },
    "zh-hans": {
        "strengths": ("她喜欢看书和弹钢琴。",),
        "reach": ("晚上发短信最好。",),
    },
}


def build_demo_answers(
    *, teacher_email: str = "teacher@example.org", seed: int = 2026, now: datetime.datetime | None = None
) -> int:
    """Asks the families of the demo teacher's classes and answers for most of them. Returns how many
    guardians answered in full."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not a secret
    now = now or timezone.now()
    asked_on = now - datetime.timedelta(days=12)
    teacher = User.objects.get(email=teacher_email)
    answered = 0
    for section in sections_taught_by(teacher).order_by("name"):
        invite_families(sender=teacher, section=section, now=asked_on)
        invitations = Invitation.objects.filter(section=section).select_related("guardian", "questionnaire", "student")
        for invitation in invitations.order_by("pk"):
            if invitation.guardian.email == "padre@example.org":
                continue  # left for the demo: the Spanish-speaking father answers from his portal
            roll = rng.random()
            if roll < 0.3:
                continue  # not answered yet
            language = invitation.guardian.preferred_language
            bank = DEMO_ANSWERS.get(language, DEMO_ANSWERS["en"])
            questions = [q for q in questions_asked(invitation.questionnaire) if q.key in bank]
            if roll < 0.4:
                questions = questions[:2]  # started, not finished
            answers = {question.pk: rng.choice(bank[question.key]) for question in questions}
            by_phone = 0.4 <= roll < 0.5
            if not by_phone:
                mark_opened(invitation, now=asked_on + datetime.timedelta(days=1))
            save_answers(
                invitation=invitation,
                answers=answers,
                language=language if language in DEMO_ANSWERS else "en",
                submit=roll >= 0.4,
                entered_by=teacher if by_phone else None,
                answers_from=AnswersFrom.PHONE if by_phone else AnswersFrom.FAMILY,
                now=asked_on + datetime.timedelta(days=rng.randint(1, 8)),
            )
            answered += roll >= 0.4
    return answered
