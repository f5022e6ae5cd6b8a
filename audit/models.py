from typing import Any, ClassVar, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    VIEWED = "viewed", _("Viewed")
    CHANGED = "changed", _("Changed")
    CREATED = "created", _("Created")
    DELETED = "deleted", _("Deleted")
    EXPORTED = "exported", _("Exported")


class AppendOnlyError(Exception):
    """The access log is evidence (FERPA §99.32): rows are added, never edited or removed."""


class AccessEventQuerySet(models.QuerySet["AccessEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("access events cannot be changed")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("access events cannot be deleted")


class AccessEvent(models.Model):
    """Who viewed or changed which student's record, and when."""

    at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="access_events",
        verbose_name=_("who"),
    )
    # A family answering by its emailed link is known by its guardian record, signed in or not.
    guardian = models.ForeignKey(
        "roster.Guardian",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="access_events",
        verbose_name=_("family member by link"),
    )
    # PROTECT: a student's record is not deleted while its access history must be kept.
    student = models.ForeignKey(
        "roster.Student", models.PROTECT, related_name="access_events", verbose_name=_("student")
    )
    action = models.CharField(_("action"), max_length=8, choices=AuditAction.choices)
    what = models.CharField(_("what"), max_length=200)
    path = models.CharField(_("page"), max_length=300, blank=True)

    objects = AccessEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("access event")
        verbose_name_plural = _("access events")
        ordering: ClassVar = ["-at", "-id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(action__in=AuditAction.values), name="access_event_action_valid"),
            models.CheckConstraint(
                condition=Q(actor__isnull=False) | Q(guardian__isnull=False), name="access_event_has_someone"
            ),
        ]
        indexes: ClassVar = [
            # Serves "who has seen my child's record" (FERPA: parents may inspect it).
            models.Index(fields=["student", "-at"], name="access_event_student_recent"),
            # Serves a leader's review of one member of staff's activity.
            models.Index(fields=["actor", "-at"], name="access_event_actor_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.what} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("access events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("access events cannot be deleted")
