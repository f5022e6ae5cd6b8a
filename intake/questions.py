"""The questions Homeroom asks every family unless a school or a teacher words its own: open, warm and simple,
in every language of the portal."""

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

DEFAULT_QUESTIONS: dict[str, Promise] = {
    "strengths": _("What is your child good at? What do they love to do?"),
    "motivation": _("What makes your child want to try hard? What makes them proud?"),
    "challenges": _("What is hard for your child, at school or at home?"),
    "learning": _("How does your child learn best? (For example: by doing, by watching, by talking it through.)"),
    "hopes": _("What do you hope for your child this year?"),
    "worries": _("Is anything worrying you about this school year?"),
    "health_and_life": _(
        "Is there anything about your child's health or your family's life that would help me to know? "
        "(For example: an allergy, a new baby, a move, a loss.)"
    ),
    "reach": _("What is the best way and the best time to reach you?"),
    "people": _("Who else is important in your child's life?"),
    "anything_else": _("Is there anything else you would like to tell me?"),
}

# The answers shown in one line beside a family wherever the teacher writes to it.
SUMMARY_KEYS: dict[str, Promise] = {
    "strengths": _("Loves"),
    "reach": _("Best way to reach"),
}
