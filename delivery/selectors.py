"""What delivery reads: when a family may be reached and by which channel, who opted out, what a family got and what
did not reach one, and what each language's families will read."""

import datetime
import zoneinfo
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from delivery.models import (
    MESSAGE_MAX_LENGTH,
    NO_LONGER_CONTACTABLE,
    SUBJECT_MAX_LENGTH,
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    EmailOptOut,
    PhoneOptOut,
    Thread,
)
from delivery.translation import TranslationError, translator
from roster.access import family_may_read_from
from roster.languages import FAMILY_LANGUAGE_NAMES
from roster.models import Channel, Guardian, School, Student, StudentGuardian


@lru_cache(maxsize=64)
def time_zone_named(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def send_window_opens(
    *, now: datetime.datetime, zone: zoneinfo.ZoneInfo, from_hour: int, until_hour: int
) -> datetime.datetime:
    """The earliest moment from `now` at which email or a text may reach a family: `now` inside the school's
    hours of the family's day, else the next opening (8:00 tomorrow, say, for a letter written at 22:00)."""
    local = now.astimezone(zone)
    if from_hour <= local.hour < until_hour:
        return now
    day = local.date() if local.hour < from_hour else local.date() + datetime.timedelta(days=1)
    return datetime.datetime.combine(day, datetime.time(from_hour), tzinfo=zone)


def retry_delay(*, attempts: int, base_seconds: int, cap_seconds: int | None = None) -> datetime.timedelta:
    """Exponential back-off after a temporary failure: base, twice the base, four times… after the 1st, 2nd, 3rd try,
    never longer than the cap."""
    delay = base_seconds * 2 ** min(max(attempts - 1, 0), 32)
    return datetime.timedelta(seconds=delay if cap_seconds is None else min(delay, cap_seconds))


def family_window_opens(school: School, moment: datetime.datetime, time_zone: str) -> datetime.datetime:
    """`send_window_opens` with the school's hours of the family's own day (a family may live in another zone)."""
    return send_window_opens(
        now=moment,
        zone=time_zone_named(time_zone),
        from_hour=school.messages_from_hour,
        until_hour=school.messages_until_hour,
    )


def held_until(school: School, time_zone: str, now: datetime.datetime | None = None) -> datetime.datetime | None:
    """When email or a text written now may reach a family: None straight away, else when its quiet hours end."""
    now = now or timezone.now()
    opens = family_window_opens(school, now, time_zone)
    return opens if opens > now else None


def email_held_until(school: School, now: datetime.datetime | None = None) -> datetime.datetime | None:
    """`held_until` for the families living in the school's own time zone."""
    return held_until(school, school.time_zone, now)


def schools_of_guardians(guardian_ids: Iterable[int]) -> dict[int, School]:
    """The school whose day each family's messages keep to: its children's (the first, should they be at two)."""
    links = (
        StudentGuardian.objects.filter(guardian_id__in=list(guardian_ids))
        .select_related("student__school")
        .order_by("-student__school_id")
    )
    return {link.guardian_id: link.student.school for link in links}


@dataclass(frozen=True)
class OptOuts:
    phones: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()


def opt_outs_of(guardians: Iterable[Guardian]) -> OptOuts:
    """Which of these families' numbers texted STOP and which addresses unsubscribed, in two queries."""
    guardians = list(guardians)
    phones = {guardian.phone for guardian in guardians if guardian.phone}
    emails = {guardian.email for guardian in guardians if guardian.email}
    return OptOuts(
        phones=frozenset(PhoneOptOut.objects.filter(phone__in=phones).values_list("phone", flat=True)),
        emails=frozenset(EmailOptOut.objects.filter(email__in=emails).values_list("email", flat=True)),
    )


def channels_for(guardian: Guardian, opt_outs: OptOuts, *, essential: bool) -> list[str]:
    """The ways a message may reach a family member outside Homeroom, the preferred one first; empty when only
    the portal inbox (where every message is anyway) is left. An unsubscribed address still gets what is
    essential; a number that texted STOP gets nothing."""
    usable = []
    if guardian.email and (essential or guardian.email not in opt_outs.emails):
        usable.append(DeliveryChannel.EMAIL)
    if guardian.phone and guardian.phone not in opt_outs.phones:
        usable.append(DeliveryChannel.SMS)
    if guardian.preferred_channel == Channel.APP:
        return []
    if guardian.preferred_channel == Channel.SMS:
        usable.sort(key=lambda channel: channel != DeliveryChannel.SMS)
    return [str(channel) for channel in usable]


@dataclass
class Recipient:
    guardian: Guardian
    students: list[Student]

    @property
    def child_names(self) -> str:
        names = [student.preferred_name or student.first_name for student in self.students]
        return (
            names[0]
            if len(names) == 1
            else _("%(names)s and %(last)s")
            % {
                "names": ", ".join(names[:-1]),
                "last": names[-1],
            }
        )


def inbox_of(*, guardian: Guardian, limit: int = 10) -> list[Delivery]:
    """What Homeroom sent a family, newest first: their in-app inbox, while custody lets them read it."""
    return list(
        Delivery.objects.filter(guardian=guardian)
        .filter(family_may_read_from(guardian="guardian", staff="message__sender"))
        .exclude(status=DeliveryStatus.FAILED, error=NO_LONGER_CONTACTABLE)
        .select_related("message__sender")
        .order_by("-id")[:limit]
    )


UNDELIVERED_SHOWN = 50


def undelivered_from(*, sender: User, now: datetime.datetime | None = None) -> list[Delivery]:
    """The copies of what a member of staff sent lately (a message, a notice, a letter) that did not reach a family
    by email or text, the latest first: they are told, to reach the family another way. A copy a restriction
    stopped is shown to nobody."""
    since = (now or timezone.now()) - datetime.timedelta(days=settings.HOMEROOM_DELIVERY_LATE_RETRY_DAYS)
    return list(
        Delivery.objects.filter(message__sender=sender, message__created_at__gte=since, status=DeliveryStatus.FAILED)
        .exclude(error=NO_LONGER_CONTACTABLE)
        .select_related("guardian", "message")
        .order_by("-id")[:UNDELIVERED_SHOWN]
    )


def translations_of(*, subject: str, body: str, source: str, languages: Iterable[str]) -> dict[str, tuple[str, str]]:
    """What staff wrote, machine-translated once into each family language other than the writer's, by the
    configured translator: none when there is none. A translator that fails stops the sending with its reason."""
    backend = translator()
    translations = {}
    for language in sorted(set(languages) - {source}):
        try:
            translated = backend.translate([subject, body], source=source, target=language)
        except TranslationError as error:
            raise ValidationError(gettext("Nothing was sent: %(error)s") % {"error": error}) from error
        if translated is not None:
            translated_subject = " ".join(translated[0].split())[:SUBJECT_MAX_LENGTH]
            translations[language] = (translated_subject, translated[1][:MESSAGE_MAX_LENGTH])
    return translations


def languages_read_untranslated(*, writer: User, guardians: Iterable[Guardian]) -> list[str]:
    """The languages, named, of these family members who would read the writer's words as written, in a language
    other than the writer's: none when a translator is configured."""
    if translator().name == "none":
        writes_in = writer.language or "en"
        return sorted({guardian.language_label for guardian in guardians if guardian.preferred_language != writes_in})
    return []


@dataclass(frozen=True)
class TranslationPreview:
    language: str
    language_label: str
    families: int
    subject: str
    body: str
    machine_translated: bool


def translation_previews(
    *, subject: str, body: str, source: str, families: Sequence[Recipient]
) -> list[TranslationPreview]:
    """What each language's families will read, before it is sent: the machine translation, or the original
    where there is none (the writer's own language, or no translator set up)."""
    by_language = Counter(family.guardian.preferred_language for family in families)
    translations = translations_of(subject=subject, body=body, source=source, languages=by_language)
    return [
        TranslationPreview(
            language=language,
            language_label=str(FAMILY_LANGUAGE_NAMES.get(language, language)),
            families=count,
            subject=translations.get(language, (subject, body))[0],
            body=translations.get(language, (subject, body))[1],
            machine_translated=language in translations,
        )
        for language, count in by_language.most_common()
    ]


def family_languages(families: Sequence[Recipient]) -> list[tuple[str, int]]:
    """The languages families read, the most read first, with how many families read each."""
    return Counter(family.guardian.language_label for family in families).most_common()


def threads_visible_to(user: User) -> QuerySet[Thread]:
    """A member of staff sees their own conversations; a family member, theirs, while custody lets them."""
    if not user.is_authenticated:
        return Thread.objects.none()
    families = Q(guardian__user=user) & Q(family_may_read_from(guardian="guardian", staff="staff"))
    return Thread.objects.filter(Q(staff=user) | families)
