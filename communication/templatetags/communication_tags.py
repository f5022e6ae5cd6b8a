"""Display of tones and ratios. Filters, not included templates: Today shows them on every row, and an include
costs a template render each time."""

from django import template
from django.utils.dateformat import format as format_date
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext

from communication.models import Tone
from communication.selectors import Ratio, TodayRow
from roster.models import StudentGuardian
from roster.phone import format_phone

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


@register.filter
def last_contact_line(row: TodayRow) -> SafeString:
    """When the family last heard from school, in what tone, and the attempts that did not reach them."""
    parts = []
    if row.last_contact_on is not None and row.days_since_contact is not None:
        days = row.days_since_contact
        text = ngettext("Last contact %(day)s, %(days)s day ago", "Last contact %(day)s, %(days)s days ago", days) % {
            "day": format_date(row.last_contact_on, "j M"),  # month names in the active language
            "days": days,
        }
        parts.append(format_html("{} {}", text, tone_badge(row.last_contact_tone)))
    else:
        parts.append(format_html('<span class="muted">{}</span>', gettext("No contact yet this term.")))
    if row.failed_attempts:
        attempts = ngettext(
            "%(attempts)s attempt that did not reach them",
            "%(attempts)s attempts that did not reach them",
            row.failed_attempts,
        ) % {"attempts": row.failed_attempts}
        parts.append(format_html('<span class="muted">· {}</span>', attempts))
    return format_html('<p class="last-contact">{}</p>', format_html_join(" ", "{}", ((part,) for part in parts)))


@register.filter
def family_member(link: StudentGuardian) -> SafeString:
    """Who to call on Today: name, relationship, household, language, best time and a number to tap."""
    guardian = link.guardian
    household = "" if link.lives_with_student else format_html(" · {}", gettext("separate household"))
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
        '<strong>{}</strong> <span class="muted">{}{}</span><br><span class="badge" lang="{}">{}</span>{}{}',
        guardian.display_name,
        link.relationship_label,
        household,
        guardian.preferred_language,
        guardian.language_label,
        best_time,
        phone,
    )
