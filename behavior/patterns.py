"""Patterns in a student's behavior notes, found early: plain rules a teacher can check by hand.

- **Several minor notes close together**: at least `cluster_notes` (3) minor notes in the last `cluster_days` (14)
  days, today included.
- **A rising trend**: notes counted per week over the last `trend_weeks` (4) weeks, the latest ending today; rising
  when the latest week has at least 2 notes and the most of any week, more than the first week, and the
  least-squares slope through the weekly counts is at least half a note a week.
- **Repetition**: over the last `lookback_days` (28) days, at least `repeat_notes` (3) notes, and at least
  `repeat_share` (60 %) of them, share one time of day, one day of the week, one place (the classroom, where most
  days are spent, does not count as a place), one class or subject, or one suspected cause.

Each rule looks only at notes written up to today. A pattern is a reason to talk with the family early, never a
diagnosis.
"""

import datetime
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from behavior.models import Cause, Setting, Severity


@dataclass(frozen=True)
class Fact:
    """What the rules need of a note: its local time and what it records."""

    at: datetime.datetime  # in the school's time zone
    severity: str = Severity.MINOR
    setting: str = Setting.CLASSROOM
    subject: str = ""
    causes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rules:
    cluster_notes: int = 3
    cluster_days: int = 14
    trend_weeks: int = 4
    lookback_days: int = 28
    repeat_notes: int = 3
    repeat_share: float = 0.6


class Kind(StrEnum):
    CLUSTER = "cluster"
    RISING = "rising"
    TIME_OF_DAY = "time_of_day"
    WEEKDAY = "weekday"
    SETTING = "setting"
    SUBJECT = "subject"
    CAUSE = "cause"


class Period(StrEnum):
    """Parts of a school day, by the hour a note's moment began."""

    EARLY = "early"  # before 10
    LATE_MORNING = "late_morning"  # 10 to 12
    MIDDAY = "midday"  # 12 to 1
    AFTERNOON = "afternoon"  # from 1

    @classmethod
    def of(cls, moment: datetime.datetime) -> "Period":
        if moment.hour < 10:
            return cls.EARLY
        if moment.hour < 12:
            return cls.LATE_MORNING
        if moment.hour < 13:
            return cls.MIDDAY
        return cls.AFTERNOON

    @property
    def label(self) -> str:
        return {
            Period.EARLY: _("early in the day, before 10 am"),
            Period.LATE_MORNING: _("late in the morning, 10 am to noon"),
            Period.MIDDAY: _("around lunch, noon to 1 pm"),
            Period.AFTERNOON: _("in the afternoon"),
        }[self]


@dataclass(frozen=True)
class Pattern:
    kind: Kind
    count: int  # the notes that show it
    of: int  # the notes the rule looked at
    value: str = ""  # what repeats: a period, a weekday (0 is Monday), a place, a subject or a cause
    weekly: tuple[int, ...] = ()  # for a rising trend: notes per week, oldest first

    def describe(self) -> str:
        """The pattern in plain words, for the teacher and the conversation with the family."""
        counts = {"count": self.count, "of": self.of}
        if self.kind == Kind.CLUSTER:
            return ngettext(
                "%(count)d minor note in the last %(of)d days.",
                "%(count)d minor notes in the last %(of)d days.",
                self.count,
            ) % {"count": self.count, "of": self.of}
        if self.kind == Kind.RISING:
            return _("More notes each week: %(weeks)s over the last %(count)d weeks.") % {
                "weeks": ", ".join(str(week) for week in self.weekly),
                "count": len(self.weekly),
            }
        where = {
            Kind.TIME_OF_DAY: lambda: Period(self.value).label,
            Kind.WEEKDAY: lambda: _("on %(day)s") % {"day": _weekday_name(int(self.value))},
            Kind.SETTING: lambda: _("in this place: %(place)s") % {"place": Setting(self.value).label},
            Kind.SUBJECT: lambda: _("in %(subject)s") % {"subject": self.value},
            Kind.CAUSE: lambda: _("with this possible cause: %(cause)s") % {"cause": Cause(self.value).label},
        }[self.kind]()
        return _("%(count)d of the last %(of)d notes were %(where)s.") % {**counts, "where": where}


def _weekday_name(day: int) -> str:
    # 2024-01-01 was a Monday; the locale names the day.
    return str(formats.date_format(datetime.date(2024, 1, 1) + datetime.timedelta(days=day), "l"))


def weekly_counts(facts: Iterable[Fact], today: datetime.date, weeks: int) -> list[int]:
    """Notes per week, oldest first; the last week is the seven days ending today."""
    counts = [0] * weeks
    for fact in facts:
        days_ago = (today - fact.at.date()).days
        if 0 <= days_ago < 7 * weeks:
            counts[weeks - 1 - days_ago // 7] += 1
    return counts


def slope(values: Sequence[int]) -> float:
    """The least-squares slope of the values against their positions."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    spread = sum((x - mean_x) ** 2 for x in range(n))
    return sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values)) / spread


def _cluster(facts: Sequence[Fact], today: datetime.date, rules: Rules) -> Pattern | None:
    recent = [
        fact
        for fact in facts
        if fact.severity == Severity.MINOR and 0 <= (today - fact.at.date()).days < rules.cluster_days
    ]
    if len(recent) >= rules.cluster_notes:
        return Pattern(Kind.CLUSTER, len(recent), rules.cluster_days)
    return None


def _rising(facts: Sequence[Fact], today: datetime.date, rules: Rules) -> Pattern | None:
    weekly = weekly_counts(facts, today, rules.trend_weeks)
    latest = weekly[-1]
    if latest >= 2 and latest == max(weekly) and latest > weekly[0] and slope(weekly) >= 0.5:
        return Pattern(Kind.RISING, sum(weekly), sum(weekly), weekly=tuple(weekly))
    return None


# For each kind of repetition, what a note shows of it (none, one or several values).
_ASPECTS: dict[Kind, Callable[[Fact], Iterable[str]]] = {
    Kind.TIME_OF_DAY: lambda fact: [Period.of(fact.at)],
    Kind.WEEKDAY: lambda fact: [str(fact.at.weekday())],
    Kind.SETTING: lambda fact: [fact.setting] if fact.setting not in {Setting.CLASSROOM, Setting.OTHER} else [],
    Kind.SUBJECT: lambda fact: [fact.subject.strip().casefold()] if fact.subject.strip() else [],
    Kind.CAUSE: lambda fact: [cause for cause in dict.fromkeys(fact.causes) if cause != Cause.OTHER],
}


def _repetitions(facts: Sequence[Fact], today: datetime.date, rules: Rules) -> list[Pattern]:
    recent = [fact for fact in facts if 0 <= (today - fact.at.date()).days < rules.lookback_days]
    if len(recent) < rules.repeat_notes:
        return []
    found = []
    for kind, aspect in _ASPECTS.items():
        counts = Counter(value for fact in recent for value in aspect(fact))
        if not counts:
            continue
        # The most frequent; a tie goes to the first in alphabetical order, the same answer every run.
        value, count = min(counts.items(), key=lambda item: (-item[1], item[0]))
        if count >= rules.repeat_notes and count >= rules.repeat_share * len(recent):
            if kind == Kind.SUBJECT:  # shown as first written (oldest note), matched whatever the case
                value = next(f.subject.strip() for f in recent if f.subject.strip().casefold() == value)
            found.append(Pattern(kind, count, len(recent), value))
    return found


def find_patterns(facts: Iterable[Fact], today: datetime.date, rules: Rules | None = None) -> list[Pattern]:
    """Every pattern the rules see in these notes as of today, most pressing first."""
    rules = rules or Rules()
    known = sorted((fact for fact in facts if fact.at.date() <= today), key=lambda fact: fact.at)
    found = [_cluster(known, today, rules), _rising(known, today, rules)]
    return [pattern for pattern in found if pattern is not None] + _repetitions(known, today, rules)
