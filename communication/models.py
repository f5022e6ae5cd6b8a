"""The communication log: every contact with a family, logged by hand or sent through Homeroom."""

from typing import ClassVar, Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from delivery.models import MESSAGE_MAX_LENGTH, SUBJECT_MAX_LENGTH, Delivery, DeliveryChannel, Thread
from roster.models import Guardian, Student, Term


class ContactChannel(models.TextChoices):
    CALL = "call", _("Phone call")
    TEXT = "text", _("Text message")
    EMAIL = "email", _("Email")
    APP = "app", _("Homeroom message")
    IN_PERSON = "in_person", _("In person")
    CONFERENCE = "conference", _("Conference or meeting")
    NOTE_HOME = "note_home", _("Note home")


class Direction(models.TextChoices):
    TO_FAMILY = "to_family", _("To the family")
    FROM_FAMILY = "from_family", _("From the family")


class Tone(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    CONCERN = "concern", _("Concern")


class Topic(models.TextChoices):
    ACADEMIC = "academic", _("Academic")
    BEHAVIOR = "behavior", _("Behavior")
    ATTENDANCE = "attendance", _("Attendance")
    SOCIAL_EMOTIONAL = "social_emotional", _("Social-emotional")
    HEALTH = "health", _("Health")
    LOGISTICS = "logistics", _("Logistics")


class Moment(models.TextChoices):
    """What kind of good news a positive contact was: the family reads it in its own language."""

    KINDNESS = "kindness", _("Kindness")
    HELPING = "helping", _("Helping someone")
    STANDING_UP = "standing_up", _("Standing up for others")
    PERSEVERANCE = "perseverance", _("Perseverance")
    RESPONSIBILITY = "responsibility", _("Responsibility")
    LEADERSHIP = "leadership", _("Leadership")
    GRATITUDE = "gratitude", _("Gratitude")
    CREATIVITY = "creativity", _("Creativity")
    TEAMWORK = "teamwork", _("Teamwork")
    ACADEMIC_GROWTH = "academic_growth", _("Academic growth")

    def sentence(self, child: str) -> str:
        """The good news told to the family, in the active language: catalog strings, so no machine translation."""
        return str(MOMENT_SENTENCES[self]) % {"child": child}


MOMENT_SENTENCES = {
    Moment.KINDNESS: _("%(child)s was kind to someone."),
    Moment.HELPING: _("%(child)s helped someone."),
    Moment.STANDING_UP: _("%(child)s stood up for someone."),
    Moment.PERSEVERANCE: _("%(child)s kept going when something was hard."),
    Moment.RESPONSIBILITY: _("%(child)s showed real responsibility."),
    Moment.LEADERSHIP: _("%(child)s showed leadership."),
    Moment.GRATITUDE: _("%(child)s showed gratitude to someone."),
    Moment.CREATIVITY: _("%(child)s did something creative."),
    Moment.TEAMWORK: _("%(child)s worked well with others."),
    Moment.ACADEMIC_GROWTH: _("%(child)s made real progress in their learning."),
}


class Outcome(models.TextChoices):
    """A failed attempt is kept, not counted as a contact: teachers need the record for IEP meetings and disputes."""

    REACHED = "reached", _("Reached the family")
    NO_ANSWER = "no_answer", _("No answer")
    VOICEMAIL = "voicemail", _("Left a voicemail")
    WRONG_NUMBER = "wrong_number", _("Wrong number")


class Source(models.TextChoices):
    LOGGED = "logged", _("Logged by hand")
    SENT = "sent", _("Sent through Homeroom")
    RECEIVED = "received", _("Received through Homeroom")


# What counts as a contact with a family, for every figure Homeroom shows (Today's reasons and order, the cadence,
# follow-ups, the good news queue, the positive-to-concern ratio, the term summaries, the leader's overview):
# a *personal* contact that reached the family. Personal: about one child (or one family's children) and written to
# or with that family — a call, a meeting, a message to that family alone, a family's reply (to anything, a class
# notice included), good news, a conversation from the behaviour guide, an introduction letter the teacher
# rewrote for that family. A *notice* goes to many families at once in the same words — a class message, the
# introduction letter as a form letter, a school notice, a reminder, a questionnaire: it is kept in the log and
# shown once on a child's timeline ("to the whole class"), but it counts for nothing, and closes no follow-up.
# The research the product rests on (Kraft & Rogers 2015) is about personal messages; a field-trip notice reaches
# nobody in that sense.
def personal_contact(through: str = "") -> Q:
    """The rule above as a filter of interactions, or of rows that reach them `through` a relation
    ("interaction__")."""
    return Q(**{f"{through}outcome": Outcome.REACHED, f"{through}personal": True})


def personal_attempt(through: str = "") -> Q:
    """A try at a personal contact, reached or not: a notice is not an attempt either."""
    return Q(**{f"{through}personal": True})


class InteractionQuerySet(models.QuerySet["Interaction"]):
    def contacts(self) -> Self:
        """Personal contacts that reached the family: what every figure counts (`personal_contact`)."""
        return self.filter(personal_contact())

    def between(self, starts_at: object, ends_at: object) -> Self:
        return self.filter(occurred_at__gte=starts_at, occurred_at__lt=ends_at)


class Interaction(models.Model):
    guardian = models.ForeignKey(
        Guardian, models.PROTECT, related_name="interactions", verbose_name=_("parent or guardian")
    )
    students: "models.ManyToManyField[Student, InteractionStudent]" = models.ManyToManyField(
        Student, through="InteractionStudent", related_name="interactions", verbose_name=_("students")
    )
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="interactions_logged", verbose_name=_("logged by")
    )
    channel = models.CharField(_("how"), max_length=12, choices=ContactChannel.choices)
    direction = models.CharField(_("direction"), max_length=12, choices=Direction.choices, default=Direction.TO_FAMILY)
    tone = models.CharField(_("tone"), max_length=8, choices=Tone.choices)
    topic = models.CharField(_("topic"), max_length=16, choices=Topic.choices, blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, default=Outcome.REACHED)
    summary = models.TextField(_("what was said"), max_length=2000)
    # Good news only: the positive moment it was about.
    moment = models.CharField(_("positive moment"), max_length=16, choices=Moment.choices, blank=True)
    occurred_at = models.DateTimeField(_("when"))
    follow_up_on = models.DateField(_("follow up on"), null=True, blank=True)
    follow_up_closed_at = models.DateTimeField(_("follow-up done"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.LOGGED)
    # False for a notice: a copy of something sent to many families at once (`personal_contact` says what counts).
    personal = models.BooleanField(_("personal contact"), default=True)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    # The family's copy, when Homeroom sent it; none for what staff logged by hand.
    delivery = models.OneToOneField(
        Delivery, models.SET_NULL, null=True, blank=True, related_name="interaction", verbose_name=_("sent as")
    )

    objects = InteractionQuerySet.as_manager()

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering: ClassVar = ["-occurred_at", "-id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(channel__in=ContactChannel.values), name="interaction_channel_valid"),
            models.CheckConstraint(condition=Q(direction__in=Direction.values), name="interaction_direction_valid"),
            models.CheckConstraint(condition=Q(tone__in=Tone.values), name="interaction_tone_valid"),
            models.CheckConstraint(condition=Q(topic__in=[*Topic.values, ""]), name="interaction_topic_valid"),
            models.CheckConstraint(condition=Q(outcome__in=Outcome.values), name="interaction_outcome_valid"),
            models.CheckConstraint(
                condition=Q(moment="") | Q(moment__in=Moment.values, tone=Tone.POSITIVE),
                name="interaction_moment_is_good_news",
            ),
            models.CheckConstraint(condition=Q(source__in=Source.values), name="interaction_source_valid"),
        ]
        indexes: ClassVar = [
            # Serves the Today list's "my follow-ups due" (communication/selectors.py).
            models.Index(
                fields=["logged_by", "follow_up_on"],
                condition=Q(follow_up_on__isnull=False, follow_up_closed_at__isnull=True),
                name="interaction_open_follow_ups",
            ),
            # Serves a family's ratio over a term on the student page.
            models.Index(fields=["guardian", "occurred_at"], name="interaction_guardian_recent"),
        ]

    def __str__(self) -> str:  # own fields only: a relation here costs one query per admin row
        return f"{self.tone} {self.channel} on {self.occurred_at:%Y-%m-%d}"

    # get_FOO_display() translates every choice on each call; a timeline shows dozens of interactions.
    @property
    def channel_label(self) -> str:
        return str(ContactChannel(self.channel).label)

    @property
    def tone_label(self) -> str:
        return str(Tone(self.tone).label)

    @property
    def topic_label(self) -> str:
        return str(Topic(self.topic).label) if self.topic else ""

    @property
    def moment_label(self) -> str:
        return str(Moment(self.moment).label) if self.moment else ""

    @property
    def outcome_label(self) -> str:
        return str(Outcome(self.outcome).label)

    @property
    def direction_label(self) -> str:
        return str(Direction(self.direction).label)

    @property
    def is_contact(self) -> bool:
        """A personal contact that reached the family (`personal_contact`)."""
        return self.personal and self.outcome == Outcome.REACHED

    @property
    def is_notice(self) -> bool:
        return not self.personal


class InteractionStudent(models.Model):
    """A student an interaction was about: a call about two siblings counts for both."""

    interaction = models.ForeignKey(Interaction, models.CASCADE, related_name="student_links")
    student = models.ForeignKey(Student, models.CASCADE, related_name="interaction_links")

    class Meta:
        verbose_name = _("student of an interaction")
        verbose_name_plural = _("students of interactions")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["interaction", "student"], name="interaction_student_unique"),
        ]
        # Serves a student's timeline and the recount of a student's term summary.
        indexes: ClassVar = [models.Index(fields=["student", "interaction"], name="interaction_of_student")]

    def __str__(self) -> str:
        return f"{self.interaction_id} about {self.student_id}"


class ContactSummary(models.Model):
    """A student's contacts over one term, recounted from the log whenever the log changes.

    The Today list and the class page read one of these per student instead of aggregating the log: at district
    size a student has dozens of interactions a term and a teacher 150 students.
    """

    student = models.ForeignKey(Student, models.CASCADE, related_name="contact_summaries")
    term = models.ForeignKey(Term, models.CASCADE, related_name="contact_summaries")
    attempts = models.PositiveIntegerField(default=0)
    contacts = models.PositiveIntegerField(default=0)
    positives = models.PositiveIntegerField(default=0)
    neutrals = models.PositiveIntegerField(default=0)
    concerns = models.PositiveIntegerField(default=0)
    last_contact_at = models.DateTimeField(null=True)
    last_contact_tone = models.CharField(max_length=8, choices=Tone.choices, blank=True)
    last_attempt_at = models.DateTimeField(null=True)
    last_positive_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("contact summary")
        verbose_name_plural = _("contact summaries")
        constraints: ClassVar = [
            # Its index serves the Today list and the class page: this term's summary of each of my students.
            models.UniqueConstraint(fields=["student", "term"], name="contact_summary_unique"),
            models.CheckConstraint(
                condition=Q(last_contact_tone__in=[*Tone.values, ""]), name="contact_summary_tone_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} in {self.term_id}"


class Reply(models.Model):
    """A family's answer in a conversation, written in the portal or sent back by email."""

    thread = models.ForeignKey(Thread, models.PROTECT, related_name="replies", verbose_name=_("conversation"))
    interaction = models.OneToOneField(Interaction, models.PROTECT, related_name="reply", verbose_name=_("logged as"))
    body = models.TextField(_("message"), max_length=MESSAGE_MAX_LENGTH)
    channel = models.CharField(_("channel"), max_length=8, choices=DeliveryChannel.choices)
    received_at = models.DateTimeField(_("received"))
    # The member of staff hears of it from this moment: a reply outside their office hours waits for them to open.
    notify_at = models.DateTimeField(_("shown to staff from"))
    read_at = models.DateTimeField(_("read by staff"), null=True, blank=True)
    # The email's Message-ID or the text's provider id: a provider sending it twice gives one reply.
    external_id = models.CharField(_("received as"), max_length=200, blank=True)
    # Files sent with it, which Homeroom does not keep: [{"name": "photo.jpg", "size": 2400000, "type": "image/jpeg"}]
    attachments = models.JSONField(_("attachments not kept"), default=list, blank=True)

    class Meta:
        verbose_name = _("reply")
        verbose_name_plural = _("replies")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(channel__in=DeliveryChannel.values), name="reply_channel_valid"),
            models.UniqueConstraint(fields=["external_id"], condition=~Q(external_id=""), name="reply_received_once"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["thread", "received_at"], name="reply_thread"),
            # Serves a teacher's count of unread replies.
            models.Index(fields=["thread"], condition=Q(read_at__isnull=True), name="reply_unread"),
        ]

    def __str__(self) -> str:
        return f"reply in {self.thread_id} on {self.received_at:%Y-%m-%d}"


class OfficeHours(models.Model):
    """When a member of staff reads families' messages. A message outside them is answered automatically and
    waits for the next opening."""

    staff = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="office_hours", verbose_name=_("member of staff")
    )
    # Monday is 0, as in Python: "01234" is Monday to Friday.
    weekdays = models.CharField(_("days"), max_length=7, default="01234")
    opens_at = models.TimeField(_("from"))
    closes_at = models.TimeField(_("until"))
    time_zone = models.CharField(_("time zone"), max_length=64, default="America/New_York")

    class Meta:
        verbose_name = _("office hours")
        verbose_name_plural = _("office hours")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(opens_at__lt=models.F("closes_at")), name="office_hours_in_order"),
            models.CheckConstraint(condition=~Q(weekdays=""), name="office_hours_some_day"),
        ]

    def __str__(self) -> str:
        return f"{self.staff_id}: {self.weekdays} {self.opens_at}-{self.closes_at}"


class UnroutedReason(models.TextChoices):
    SHARED_NUMBER = "shared_number", _("Several families share this number, and it could answer more than one")
    OTHER_SENDER = "other_sender", _("Sent from an address that is not the family's")
    CLOSED = "closed", _("The conversation it answers is closed to this family member")


class UnroutedReply(models.Model):
    """A family's text or email Homeroom could not place in a conversation on its own, waiting for staff ("who is
    this?"): a member of staff who sees one of the children it may be about puts it in the right conversation, where
    it is then logged as that conversation's reply."""

    channel = models.CharField(_("channel"), max_length=8, choices=DeliveryChannel.choices)
    sender = models.CharField(_("from"), max_length=254)  # the phone number or the email address
    subject = models.CharField(_("subject"), max_length=SUBJECT_MAX_LENGTH, blank=True)
    body = models.TextField(_("message"), max_length=MESSAGE_MAX_LENGTH)
    attachments = models.JSONField(_("attachments not kept"), default=list, blank=True)
    reason = models.CharField(_("why it waits"), max_length=16, choices=UnroutedReason.choices)
    received_at = models.DateTimeField(_("received"))
    # The email's Message-ID or the text's provider id: a provider sending it twice queues it once.
    external_id = models.CharField(_("received as"), max_length=200, blank=True)
    # The conversations it may answer, and the children they are about: staff who see one of those sort it.
    candidates = models.ManyToManyField(Thread, related_name="unrouted_replies", verbose_name=_("may answer"))
    students = models.ManyToManyField(Student, related_name="unrouted_replies", verbose_name=_("may be about"))
    handled_at = models.DateTimeField(_("sorted"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="unrouted_replies_handled",
        verbose_name=_("sorted by"),
    )
    # The reply it became in the conversation chosen; none when it was set aside as nobody's.
    reply = models.OneToOneField(
        Reply, models.PROTECT, null=True, blank=True, related_name="unrouted", verbose_name=_("became")
    )

    class Meta:
        verbose_name = _("reply waiting to be placed")
        verbose_name_plural = _("replies waiting to be placed")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(channel__in=DeliveryChannel.values), name="unrouted_channel_valid"),
            models.CheckConstraint(condition=Q(reason__in=UnroutedReason.values), name="unrouted_reason_valid"),
            models.UniqueConstraint(
                fields=["external_id"], condition=~Q(external_id=""), name="unrouted_received_once"
            ),
        ]
        # Serves the staff page of replies still waiting, oldest first.
        indexes: ClassVar = [
            models.Index(fields=["received_at"], condition=Q(handled_at__isnull=True), name="unrouted_waiting")
        ]

    def __str__(self) -> str:
        return f"{self.channel} from {self.sender} on {self.received_at:%Y-%m-%d}"
