"""Display of tones, ratios and Today's rows. Python, not included templates: Today shows them on every row, and
a row written as a template costs three times its Python (0.33 ms against 0.11 ms, 10 rows a page)."""

import datetime
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

from django import template
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateformat import format as format_date
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import get_language, gettext, ngettext

from communication.models import Tone
from communication.selectors import Ratio
from communication.today import Reason, TodayRow
from delivery.models import Delivery, DeliveryChannel, DeliveryStatus
from roster.languages import FAMILY_LANGUAGE_NAMES
from roster.models import Guardian, Relationship, StudentGuardian
from roster.phone import format_phone
from roster.templatetags.roster_tags import grade

register = template.Library()


TONE_LABELS = dict(Tone.choices)


@register.filter
def tone_badge(tone: str) -> SafeString | str:
    """A tone as a labelled badge: the word carries the meaning, the colour only repeats it."""
    if tone not in TONE_LABELS:
        return ""
    return format_html('<span class="tone tone-{}">{}</span>', tone, TONE_LABELS[tone])


@register.filter
def ratio_summary(ratio: Ratio) -> SafeString:
    counts = gettext("Positive to concern: %(positives)s to %(concerns)s") % {
        "positives": ratio.positives,
        "concerns": ratio.concerns,
    }
    target = gettext("target %(target)s to 1") % {"target": ratio.target}
    if ratio.meets_target:
        return format_html('<p class="ratio">{} <span class="muted">({})</span></p>', counts, target)
    needed = ngettext(
        "%(needed)s more positive contact to reach it",
        "%(needed)s more positive contacts to reach it",
        ratio.positives_needed,
    ) % {"needed": ratio.positives_needed}
    return format_html(
        '<p class="ratio below-target">{} <span class="muted">({})</span> · <strong>{}</strong></p>',
        counts,
        target,
        needed,
    )


@dataclass(frozen=True)
class RowWords:
    """The words every Today row repeats, translated once per language: asked for row by row, Django's
    translation look-ups cost more than the rest of the row."""

    reasons: dict[Reason, str]
    tone_badges: dict[str, SafeString | str]
    relationships: dict[str, str]
    languages: dict[str, str]
    grades: dict[int | None, str]
    no_contact_yet: str
    separate_household: str
    no_family: str
    share_good_news: str
    log_a_contact: str


@lru_cache(maxsize=32)
def row_words(language: str) -> RowWords:
    with translation.override(language):
        return RowWords(
            reasons={reason: reason.label for reason in Reason},
            tone_badges={tone: tone_badge(tone) for tone in Tone.values},
            relationships={value: str(label) for value, label in Relationship.choices},
            languages={code: str(name) for code, name in FAMILY_LANGUAGE_NAMES.items()},
            grades={level: grade(level) for level in (None, *range(-1, 13))},
            no_contact_yet=gettext("No contact yet this term."),
            separate_household=gettext("separate household"),
            no_family=gettext(
                "No parent or guardian on file may be contacted about this student: check with the office."
            ),
            share_good_news=gettext("Share good news"),
            log_a_contact=gettext("Log a contact"),
        )


def last_contact_line(row: TodayRow, words: RowWords) -> SafeString:
    """When the family last heard from school, in what tone, and the attempts that did not reach them."""
    if row.last_contact_on is not None and row.days_since_contact is not None:
        days = row.days_since_contact
        text = ngettext("Last contact %(day)s, %(days)s day ago", "Last contact %(day)s, %(days)s days ago", days) % {
            "day": format_date(row.last_contact_on, "j M"),  # month names in the active language
            "days": days,
        }
        line = format_html("{} {}", text, words.tone_badges.get(row.last_contact_tone, ""))
    else:
        line = format_html('<span class="muted">{}</span>', words.no_contact_yet)
    if row.failed_attempts:
        attempts = ngettext(
            "%(attempts)s attempt that did not reach them",
            "%(attempts)s attempts that did not reach them",
            row.failed_attempts,
        ) % {"attempts": row.failed_attempts}
        line = format_html('{} <span class="muted">· {}</span>', line, attempts)
    return format_html('<p class="last-contact">{}</p>', line)


def family_member(link: StudentGuardian, words: RowWords) -> SafeString:
    """Who to call on Today: name, relationship, household, language, best time and a number to tap."""
    guardian = link.guardian
    household = "" if link.lives_with_student else format_html(" · {}", words.separate_household)
    best_time = (
        format_html(' <span class="muted">{}</span>', guardian.best_time_to_reach)
        if guardian.best_time_to_reach
        else ""
    )
    phone = (
        format_html(' <a class="tel" href="tel:{}">{}</a>', guardian.phone, format_phone(guardian.phone))
        if guardian.phone
        else ""
    )
    return format_html(
        '<li class="family-member"><strong>{}</strong> <span class="muted">{}{}</span><br>'
        '<span class="badge" lang="{}">{}</span>{}{}</li>',
        guardian.display_name,
        words.relationships.get(link.relationship, link.relationship),
        household,
        guardian.preferred_language,
        words.languages.get(guardian.preferred_language, guardian.preferred_language),
        best_time,
        phone,
    )


@register.simple_tag
def today_row(row: TodayRow, next_url: str) -> SafeString:
    """One family on the Today list: who, why now, how it has gone, whom to call, and the two buttons to log it."""
    words = row_words(get_language())
    student = row.student
    follow_up = (
        format_html(
            " · {}: “{}”",
            gettext("due %(day)s") % {"day": format_date(row.follow_up_on, "D j M")},
            Truncator(row.follow_up_note).chars(90),
        )
        if row.follow_up_on
        else ""
    )
    family = (
        SafeString("".join(family_member(link, words) for link in row.family_links))
        if row.family_links
        else format_html('<li class="family-member warning">{}</li>', words.no_family)
    )
    actions = ""
    if row.family_links:
        log_url = reverse("communication:log_contact", args=[student.pk])
        actions = format_html(
            '<p class="row-actions"><a class="button" href="{}?next={}">{}'
            '<span class="visually-hidden"> · {}</span></a> <a class="button secondary" href="{}?next={}">{}'
            '<span class="visually-hidden"> · {}</span></a></p>',
            reverse("communication:good_news", args=[student.pk]),
            next_url,
            words.share_good_news,
            student.display_name,
            log_url,
            next_url,
            words.log_a_contact,
            student.display_name,
        )
    return format_html(
        '<li class="card today-row reason-{}"><h2 class="row-title"><a href="{}">{}</a> <span class="muted">{}</span>'
        '</h2><p class="reason"><strong>{}</strong>{}</p>{}{}<ul class="family">{}</ul>{}</li>',
        row.reason.slug,
        reverse("students:student_detail", args=[student.pk]),
        student.display_name,
        words.grades.get(student.grade_level, ""),
        words.reasons[row.reason],
        follow_up,
        last_contact_line(row, words),
        ratio_summary(row.ratio) if row.ratio.has_contacts else "",
        family,
        actions,
    )


@register.simple_tag
def delivery_status(delivery: Delivery, guardian: Guardian) -> str:
    """What became of a family's copy, for the sender: waiting for their morning, emailed, texted, failed, read."""
    channel = channel_words()[delivery.channel]
    now = timezone.now()
    if delivery.status == DeliveryStatus.FAILED:
        status = gettext(
            "Not delivered to %(name)s: %(channel)s failed (%(reason)s). The message is in their Homeroom inbox."
        ) % {"name": guardian.display_name, "channel": channel, "reason": delivery.error}
        if delivery.failing_since and delivery.not_before and delivery.not_before > now:
            status += " " + gettext("Homeroom tries again at %(time)s on %(day)s, the family's time.") % (
                _families_time(delivery.not_before, guardian)
            )
    elif delivery.status in (DeliveryStatus.QUEUED, DeliveryStatus.SENDING):
        if delivery.not_before and delivery.not_before > now and delivery.failing_since:
            status = gettext(
                "%(channel)s not sent yet (%(reason)s): trying again at %(time)s on %(day)s, the family's time."
            ) % {"channel": channel, "reason": delivery.error, **_families_time(delivery.not_before, guardian)}
        elif delivery.not_before and delivery.not_before > now:
            status = gettext("%(channel)s will be delivered at %(time)s on %(day)s, the family's time.") % {
                "channel": channel,
                **_families_time(delivery.not_before, guardian),
            }
        else:
            status = gettext("%(channel)s being sent") % {"channel": channel}
    elif delivery.status == DeliveryStatus.DELIVERED:
        status = gettext("Text message delivered")
    elif delivery.channel == DeliveryChannel.EMAIL:
        status = gettext("Emailed")
    elif delivery.channel == DeliveryChannel.SMS:
        status = gettext("Texted")
    else:
        status = gettext("In their Homeroom inbox")
    if delivery.fallback_from:
        status += " · " + gettext("%(channel)s did not work: %(reason)s") % {
            "channel": channel_words()[delivery.fallback_from],
            "reason": delivery.error,
        }
    if delivery.read_at:
        status += " · " + gettext("read in Homeroom on %(day)s") % {"day": format_date(delivery.read_at, "j M")}
    return status


def _families_time(moment: datetime.datetime, guardian: Guardian) -> dict[str, str]:
    families_time = moment.astimezone(zoneinfo.ZoneInfo(guardian.time_zone))
    return {"time": format_date(families_time, "G:i"), "day": format_date(families_time, "l j F")}


def channel_words() -> dict[str, str]:
    return {
        DeliveryChannel.EMAIL: gettext("Email"),
        DeliveryChannel.SMS: gettext("Text message"),
        DeliveryChannel.APP: gettext("Homeroom inbox"),
    }
