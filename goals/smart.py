"""The SMART check: which of Specific, Measurable, Achievable, Relevant and Time-bound a goal lacks or has
weakly, why, and a concrete fix. Each rule is a plain function of the draft, so each is explained and tested on
its own. The check advises; it never stops a teacher saving a goal."""

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal

from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# A goal that is reachable grows by at most this share of where the child starts, each week: a rule of thumb
# for classroom measures (fluency, fact counts, minutes on task), asked about rather than enforced.
STEEPEST_WEEKLY_GROWTH = Decimal("0.10")
MIN_STATEMENT_WORDS = 6
MIN_CHECKINS_BEFORE_DUE = 2
# Words that say "more" without saying how much, in the languages a teacher writes goals in.
VAGUE_WORDS = re.compile(
    r"\b(better|improve[sd]?|improving|improvement|more|less|try|tries|work on|"
    r"mejor|mejorar|mejora|mejore|mejorará|más|mas|menos|intentar)\b",
    re.IGNORECASE,
)
PERCENT_UNIT = re.compile(r"%|percent|per cent|por ciento|porcentaje", re.IGNORECASE)


class Letter:
    SPECIFIC = "S"
    MEASURABLE = "M"
    ACHIEVABLE = "A"
    RELEVANT = "R"
    TIME_BOUND = "T"
    ORDER = (SPECIFIC, MEASURABLE, ACHIEVABLE, RELEVANT, TIME_BOUND)


class Level:
    MISSING = "missing"
    WEAK = "weak"


@dataclass(frozen=True)
class Draft:
    """What the teacher has written so far: any of it may be empty."""

    statement: str = ""
    measure: str = ""
    unit: str = ""
    baseline: Decimal | None = None
    baseline_on: datetime.date | None = None
    target: Decimal | None = None
    due_on: datetime.date | None = None
    checkin_every_days: int = 14
    school_strategies: str = ""
    home_strategies: str = ""
    builds_on_answers: int = 0  # how many of the family's answers it is linked to


@dataclass(frozen=True)
class Context:
    today: datetime.date
    term_ends_on: datetime.date | None = None
    family_answers: int = 0  # answers the family has given about the child


@dataclass(frozen=True)
class Advice:
    letter: str
    level: str
    message: str


Rule = Callable[[Draft, Context], Advice | None]


def _number(value: Decimal) -> str:
    return number_format(value.normalize() if value == value.to_integral() else value)


def _start(draft: Draft, context: Context) -> datetime.date:
    return draft.baseline_on or context.today


# --- Specific -----------------------------------------------------------------------------------------------------


def statement_is_missing_or_short(draft: Draft, context: Context) -> Advice | None:
    words = len(draft.statement.split())
    if words == 0:
        return Advice(
            Letter.SPECIFIC,
            Level.MISSING,
            _("Say in one sentence who will do what: “Maya will read a grade-level page aloud at 60 words a minute.”"),
        )
    if words < MIN_STATEMENT_WORDS:
        return Advice(
            Letter.SPECIFIC,
            Level.WEAK,
            _("The goal is very short: say what the child will do, and where or in what task."),
        )
    return None


def statement_is_vague(draft: Draft, context: Context) -> Advice | None:
    vague = VAGUE_WORDS.search(draft.statement)
    if vague is None or re.search(r"\d", draft.statement):
        return None
    return Advice(
        Letter.SPECIFIC,
        Level.WEAK,
        _("“%(word)s” does not say how much: name what the child will do and the number to reach.")
        % {"word": vague.group(0)},
    )


# --- Measurable ---------------------------------------------------------------------------------------------------


def measure_is_missing(draft: Draft, context: Context) -> Advice | None:
    if draft.measure.strip():
        return None
    return Advice(
        Letter.MEASURABLE,
        Level.MISSING,
        _(
            "Say how it will be measured, with a unit: words read correctly in a minute, percent of homework turned "
            "in, days on time."
        ),
    )


def target_is_missing(draft: Draft, context: Context) -> Advice | None:
    if draft.target is not None:
        return None
    if draft.baseline is not None:
        message = _("Add a number to reach: from %(baseline)s to ___ %(unit)s.") % {
            "baseline": _number(draft.baseline),
            "unit": draft.unit or _("(unit)"),
        }
    else:
        message = _("Add a number to reach, so you and the family know when the goal is met.")
    return Advice(Letter.MEASURABLE, Level.MISSING, message)


def baseline_is_missing(draft: Draft, context: Context) -> Advice | None:
    if draft.baseline is not None:
        return None
    return Advice(
        Letter.MEASURABLE,
        Level.MISSING,
        _("Add where the child is now (the baseline) and when it was measured, so progress can be seen."),
    )


def target_is_the_baseline(draft: Draft, context: Context) -> Advice | None:
    if draft.baseline is None or draft.target is None or draft.baseline != draft.target:
        return None
    return Advice(
        Letter.MEASURABLE,
        Level.WEAK,
        _("The target is where the child already is: set a number that shows growth."),
    )


def percentage_out_of_range(draft: Draft, context: Context) -> Advice | None:
    if not PERCENT_UNIT.search(draft.unit):
        return None
    for value in (draft.baseline, draft.target):
        if value is not None and not Decimal(0) <= value <= Decimal(100):
            return Advice(
                Letter.MEASURABLE,
                Level.WEAK,
                _("A percentage is between 0 and 100: %(value)s cannot be measured.") % {"value": _number(value)},
            )
    return None


# --- Achievable ---------------------------------------------------------------------------------------------------


def growth_is_steep(draft: Draft, context: Context) -> Advice | None:
    if draft.baseline is None or draft.target is None or draft.due_on is None or draft.baseline == 0:
        return None
    days = (draft.due_on - _start(draft, context)).days
    if days <= 0:
        return None
    weeks = Decimal(days) / 7
    weekly = abs(draft.target - draft.baseline) / abs(draft.baseline) / weeks
    if weekly <= STEEPEST_WEEKLY_GROWTH:
        return None
    ratio = draft.target / draft.baseline
    weeks_said = max(1, round(weeks))
    if ratio >= 2:
        message = ngettext(
            "The target is %(ratio)s times the baseline in %(weeks)s week: is that achievable?",
            "The target is %(ratio)s times the baseline in %(weeks)s weeks: is that achievable?",
            weeks_said,
        ) % {
            "ratio": number_format(round(ratio, 1)).rstrip("0").rstrip(".,"),
            "weeks": weeks_said,
        }
    else:
        message = ngettext(
            "From %(baseline)s to %(target)s in %(weeks)s week is a change of %(percent)s%% of the baseline a "
            "week: is that achievable? Give it longer, or a nearer target.",
            "From %(baseline)s to %(target)s in %(weeks)s weeks is a change of %(percent)s%% of the baseline a "
            "week: is that achievable? Give it longer, or a nearer target.",
            weeks_said,
        ) % {
            "baseline": _number(draft.baseline),
            "target": _number(draft.target),
            "weeks": weeks_said,
            # Rounded up, so a change just over the limit never reads as the limit itself.
            "percent": _number((weekly * 100).quantize(Decimal("0.1"), rounding=ROUND_UP)),
        }
    return Advice(Letter.ACHIEVABLE, Level.WEAK, message)


def school_support_is_missing(draft: Draft, context: Context) -> Advice | None:
    if draft.school_strategies.strip():
        return None
    return Advice(
        Letter.ACHIEVABLE,
        Level.WEAK,
        _("Say what school will do to help: a goal is reachable when the child is not alone with it."),
    )


# --- Relevant -----------------------------------------------------------------------------------------------------


def not_linked_to_the_family(draft: Draft, context: Context) -> Advice | None:
    if draft.builds_on_answers:
        return None
    if context.family_answers:
        return Advice(
            Letter.RELEVANT,
            Level.WEAK,
            _("Link it to something the family told you: it is their goal too."),
        )
    return Advice(
        Letter.RELEVANT,
        Level.WEAK,
        _("The family has not answered the questions about their child yet: ask them what matters to them."),
    )


def home_part_is_missing(draft: Draft, context: Context) -> Advice | None:
    if draft.home_strategies.strip():
        return None
    return Advice(
        Letter.RELEVANT,
        Level.WEAK,
        _("Say what home can do: one small thing, like reading together for 15 minutes."),
    )


# --- Time-bound ---------------------------------------------------------------------------------------------------


def due_date_is_missing(draft: Draft, context: Context) -> Advice | None:
    if draft.due_on is not None:
        return None
    return Advice(Letter.TIME_BOUND, Level.MISSING, _("Add a due date: by when will the child reach the target?"))


def due_date_has_passed(draft: Draft, context: Context) -> Advice | None:
    if draft.due_on is None or draft.due_on >= context.today:
        return None
    return Advice(Letter.TIME_BOUND, Level.WEAK, _("The due date has passed: choose a date ahead."))


def due_date_before_baseline(draft: Draft, context: Context) -> Advice | None:
    if draft.due_on is None or draft.baseline_on is None or draft.due_on > draft.baseline_on:
        return None
    return Advice(Letter.TIME_BOUND, Level.WEAK, _("The due date must come after the baseline was measured."))


def due_date_after_the_term(draft: Draft, context: Context) -> Advice | None:
    if draft.due_on is None or context.term_ends_on is None or draft.due_on <= context.term_ends_on:
        return None
    return Advice(
        Letter.TIME_BOUND,
        Level.WEAK,
        _("The due date is past the end of the term (%(end)s): end it with the term, or plan who follows it up.")
        % {"end": date_format(context.term_ends_on, "j M Y")},
    )


def too_few_checkins(draft: Draft, context: Context) -> Advice | None:
    if draft.due_on is None:
        return None
    days = (draft.due_on - _start(draft, context)).days
    fit = days // max(draft.checkin_every_days, 1)
    if days <= 0 or fit >= MIN_CHECKINS_BEFORE_DUE:
        return None
    if fit == 0:
        return Advice(
            Letter.TIME_BOUND,
            Level.WEAK,
            _(
                "With a check-in every %(every)s days, none comes before the due date: check in more often, or give "
                "it longer."
            )
            % {"every": draft.checkin_every_days},
        )
    return Advice(
        Letter.TIME_BOUND,
        Level.WEAK,
        ngettext(
            "With a check-in every %(every)s days, only %(fit)s fits before the due date: check in more often, or "
            "give it longer.",
            "With a check-in every %(every)s days, only %(fit)s fit before the due date: check in more often, or "
            "give it longer.",
            fit,
        )
        % {"every": draft.checkin_every_days, "fit": fit},
    )


RULES: tuple[Rule, ...] = (
    statement_is_missing_or_short,
    statement_is_vague,
    measure_is_missing,
    baseline_is_missing,
    target_is_missing,
    target_is_the_baseline,
    percentage_out_of_range,
    growth_is_steep,
    school_support_is_missing,
    not_linked_to_the_family,
    home_part_is_missing,
    due_date_is_missing,
    due_date_before_baseline,
    due_date_has_passed,
    due_date_after_the_term,
    too_few_checkins,
)


@dataclass(frozen=True)
class LetterCheck:
    letter: str
    name: str
    advice: list[Advice]

    @property
    def level(self) -> str:
        """ "missing" when any rule finds it missing, "weak" when one finds it weak, "" when it holds."""
        levels = {advice.level for advice in self.advice}
        return Level.MISSING if Level.MISSING in levels else (Level.WEAK if levels else "")


def check(draft: Draft, context: Context) -> list[LetterCheck]:
    """Each of the five letters, in order, with the advice of every rule that found something."""
    found = [advice for rule in RULES if (advice := rule(draft, context)) is not None]
    names = {
        Letter.SPECIFIC: _("Specific"),
        Letter.MEASURABLE: _("Measurable"),
        Letter.ACHIEVABLE: _("Achievable"),
        Letter.RELEVANT: _("Relevant"),
        Letter.TIME_BOUND: _("Time-bound"),
    }
    return [
        LetterCheck(letter, names[letter], [advice for advice in found if advice.letter == letter])
        for letter in Letter.ORDER
    ]
