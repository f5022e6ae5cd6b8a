"""Tasks queued before they moved beside their services are stored under this module's path: it still names them,
so that an upgrade runs what was already waiting."""

from intake.services import translate_answers_task

__all__ = ["translate_answers_task"]
