"""How anything reaches a family and comes back: what was sent (a message, and each family's copy of it), the
conversation a family's answer returns to, and the numbers and addresses that asked for no more."""

import uuid
from typing import ClassVar
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from roster.models import Guardian


class MessageKind(models.TextChoices):
    INTRODUCTION = "introduction", _("Introduction letter")
    NOTE = "note", _("Message")
    NOTICE = "notice", _("School notice")
    AUTO_REPLY = "auto_reply", _("Automatic reply")
    QUESTIONNAIRE = "questionnaire", _("Questions about your child")
    GOAL = "goal", _("A goal for your child")
    GOOD_NEWS = "good_news", _("Good news")


class Thread(models.Model):
    """A member of staff's conversation with one family: what they sent it and what it answered, in order. A
    family sees its own thread, never who else a class-wide message went to."""

    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="threads", verbose_name=_("member of staff")
    )
    guardian = models.ForeignKey(Guardian, models.PROTECT, related_name="threads", verbose_name=_("family member"))
    last_message_at = models.DateTimeField(_("last message"))
    # The last message written to this family alone, or from it: a message sent to many families at once shows in
    # the family's conversation but does not bring the conversation up the member of staff's list.
    last_personal_at = models.DateTimeField(_("last personal message"), null=True, blank=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["staff", "guardian"], name="thread_once_per_staff_and_guardian"),
        ]
        # Serve a teacher's conversations and a family's, most recent first.
        indexes: ClassVar = [
            models.Index(fields=["staff", "-last_message_at"], name="thread_of_staff"),
            models.Index(fields=["guardian", "-last_message_at"], name="thread_of_guardian"),
            models.Index(fields=["staff", "-last_personal_at"], name="thread_personal_of_staff"),
        ]

    def __str__(self) -> str:
        return f"{self.staff_id} with {self.guardian_id}"


MESSAGE_MAX_LENGTH = 5000  # a page on a phone: longer belongs in a meeting
SUBJECT_MAX_LENGTH = 200


def validate_one_line(subject: str) -> None:
    """A subject is one line: a line break in it could forge mail headers, and the mail library refuses it."""
    if "\r" in subject or "\n" in subject:
        raise ValidationError(_("A subject is one line: remove the line breaks."))


class Message(models.Model):
    """Something a member of staff sent to families through Homeroom: one personalised delivery per family. What
    it meant to the partnership (a contact, its tone) is the business of the app that sent it."""

    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="messages_sent", verbose_name=_("sender")
    )
    section = models.ForeignKey(
        "roster.Section", models.CASCADE, null=True, blank=True, related_name="messages", verbose_name=_("class")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=MessageKind.choices)
    # What the sender wrote, once: each family's copy is its delivery.
    subject = models.CharField(_("subject"), max_length=SUBJECT_MAX_LENGTH, blank=True)
    body = models.TextField(_("message"), max_length=MESSAGE_MAX_LENGTH, blank=True)
    # An urgent school-wide notice goes out in quiet hours too, and says so.
    is_urgent = models.BooleanField(_("urgent"), default=False)
    # Sent to many families at once in the same words (a class message, a form letter, a notice, a questionnaire):
    # the sender's list of messages shows it once, not as one conversation per family.
    to_many = models.BooleanField(_("sent to many families"), default=False)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(kind__in=MessageKind.values), name="message_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.created_at:%Y-%m-%d}"


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")
    APP = "app", _("Homeroom inbox")


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")  # the provider confirmed it reached the phone
    FAILED = "failed", _("Failed")


def new_email_id() -> str:
    """A Message-ID of its own for a family's email, drawn when the delivery is written: an email sent again (by a
    worker lost after the server took it) carries the same one, which mail programs show once. Random, so that it
    tells a family nothing of how much the school sends."""
    domain = urlsplit(settings.HOMEROOM_BASE_URL).hostname or "homeroom.invalid"
    return f"<{uuid.uuid4().hex}@{domain}>"


# Stored as a delivery's error when a restriction stopped it: such a copy is shown to nobody in the family.
NO_LONGER_CONTACTABLE = "The school may no longer contact this family."


class Delivery(models.Model):
    """One family's copy of a message, in its language, and what became of it."""

    # No index of their own: the unique (message, guardian) and the inbox's (guardian, id) serve them, and each
    # index more is written again every time a delivery changes state.
    message = models.ForeignKey(
        Message, models.CASCADE, related_name="deliveries", verbose_name=_("message"), db_index=False
    )
    guardian = models.ForeignKey(
        Guardian, models.PROTECT, related_name="deliveries", verbose_name=_("recipient"), db_index=False
    )
    thread = models.ForeignKey(  # served by the (thread, id) index below
        Thread,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("conversation"),
        db_index=False,
    )
    channel = models.CharField(_("channel"), max_length=8, choices=DeliveryChannel.choices)
    # The channel tried first, when it failed and this one took over.
    fallback_from = models.CharField(_("instead of"), max_length=8, choices=DeliveryChannel.choices, blank=True)
    language = models.CharField(_("language"), max_length=8)
    subject = models.CharField(_("subject"), max_length=SUBJECT_MAX_LENGTH)
    body = models.TextField(_("body"))
    # The family reads a machine translation; the original is the message's own text.
    machine_translated = models.BooleanField(_("machine-translated"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Not sent before this moment: the family's quiet hours, or the back-off after a temporary failure. On a delivery
    # given up after the retry window, when `deliver_pending` tries it again (none: never).
    not_before = models.DateTimeField(_("not before"), null=True, blank=True)
    # When this channel first failed for a reason that may pass (a mail server away): the retry window runs from it.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    # When a worker took it: a claim older than the worker's time limit was lost with its worker.
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    # Which worker's batch holds it: a batch claims its deliveries in one UPDATE, then reads back its own.
    claim = models.UUIDField(_("claim"), null=True, blank=True)
    # The Message-ID of its email (empty on deliveries written before there was one: theirs is made of the id).
    email_id = models.CharField(_("Message-ID"), max_length=255, blank=True, default=new_email_id)
    # The SMS provider's id, which its delivery reports name.
    provider_id = models.CharField(_("provider's id"), max_length=64, blank=True)
    read_at = models.DateTimeField(_("read in Homeroom"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(channel__in=DeliveryChannel.values), name="delivery_channel_valid"),
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="delivery_status_valid"),
            # Never a duplicate: one copy of a message per family.
            models.UniqueConstraint(fields=["message", "guardian"], name="delivery_once_per_guardian"),
        ]
        # Serves a family's inbox in the portal.
        indexes: ClassVar = [
            models.Index(fields=["guardian", "-id"], name="delivery_guardian_inbox"),
            models.Index(fields=["thread", "id"], name="delivery_of_thread"),
            models.Index(fields=["provider_id"], condition=~Q(provider_id=""), name="delivery_provider_id"),
            # Serves `deliver_pending`: the few deliveries still waiting or in a worker's hands.
            models.Index(
                fields=["status", "not_before"],
                condition=Q(status__in=["queued", "sending"]),
                name="delivery_pending",
            ),
            # Serves `deliver_pending` too: what was given up after the retry window but is still tried now and then.
            models.Index(
                fields=["not_before"],
                condition=Q(status="failed", failing_since__isnull=False, not_before__isnull=False),
                name="delivery_tried_again",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.guardian_id}: {self.status}"


class PhoneOptOut(models.Model):
    """A number that texted STOP: nothing is texted to it, whoever's it is, until it texts START."""

    phone = models.CharField(_("mobile phone"), max_length=16, unique=True)
    opted_out_at = models.DateTimeField(_("opted out"))

    class Meta:
        verbose_name = _("text message opt-out")
        verbose_name_plural = _("text message opt-outs")

    def __str__(self) -> str:
        return self.phone


class EmailOptOut(models.Model):
    """An address that unsubscribed: it gets only urgent notices by email; everything else waits in the portal."""

    email = models.EmailField(_("email"), unique=True)
    opted_out_at = models.DateTimeField(_("opted out"))

    class Meta:
        verbose_name = _("email opt-out")
        verbose_name_plural = _("email opt-outs")

    def __str__(self) -> str:
        return self.email
