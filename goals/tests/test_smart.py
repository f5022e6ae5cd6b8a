"""The SMART check, rule by rule, at its edges: pure functions of a draft and a context, no database, no clock."""

import datetime
from dataclasses import replace
from decimal import Decimal

import pytest
from django.utils.translation import override

from goals.smart import (
    MIN_STATEMENT_WORDS,
    Advice,
    Context,
    Draft,
    Letter,
    LetterCheck,
    Level,
    baseline_is_missing,
    check,
    due_date_after_the_term,
    due_date_before_baseline,
    due_date_has_passed,
    due_date_is_missing,
    growth_is_steep,
    home_part_is_missing,
    measure_is_missing,
    not_linked_to_the_family,
    percentage_out_of_range,
    school_support_is_missing,
    statement_is_missing_or_short,
    statement_is_vague,
    target_is_missing,
    target_is_the_baseline,
    too_few_checkins,
)

TODAY = datetime.date(2026, 11, 25)
DAY = datetime.timedelta(days=1)
WEEK = datetime.timedelta(weeks=1)
TERM_ENDS = datetime.date(2027, 3, 26)
CONTEXT = Context(today=TODAY, term_ends_on=TERM_ENDS, family_answers=2)

GOOD = Draft(
    statement="Maya will read a grade-level passage aloud at 60 words correct per minute.",
    measure="Words read correctly in one minute",
    unit="words per minute",
    baseline=Decimal(45),
    baseline_on=TODAY - 3 * DAY,
    target=Decimal(60),
    due_on=TODAY - 3 * DAY + 12 * WEEK,
    checkin_every_days=14,
    school_strategies="Partner reading every morning with a grade-level passage.",
    home_strategies="Read together for 15 minutes after dinner.",
    builds_on_answers=1,
)


def draft(**changes) -> Draft:
    """The good draft with some of it changed."""
    return replace(GOOD, **changes)


def context(**changes) -> Context:
    return replace(CONTEXT, **changes)


@pytest.fixture(autouse=True)
def _english():
    with override("en"):
        yield


def test_the_good_draft_is_realistic_and_within_the_term():
    assert GOOD.due_on - GOOD.baseline_on == 12 * WEEK
    assert TODAY < GOOD.due_on <= TERM_ENDS


# --- Specific -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("statement", ["", "   \n "])
def test_a_missing_statement_asks_who_will_do_what(statement):
    advice = statement_is_missing_or_short(draft(statement=statement), CONTEXT)

    assert advice is not None
    assert (advice.letter, advice.level) == (Letter.SPECIFIC, Level.MISSING)
    assert advice.message.startswith("Say in one sentence who will do what")


@pytest.mark.parametrize("words", [1, MIN_STATEMENT_WORDS - 1])
def test_a_statement_shorter_than_the_minimum_is_called_very_short(words):
    advice = statement_is_missing_or_short(draft(statement=" ".join(["read"] * words)), CONTEXT)

    assert advice == Advice(
        Letter.SPECIFIC, Level.WEAK, "The goal is very short: say what the child will do, and where or in what task."
    )


def test_a_statement_of_the_minimum_length_is_long_enough():
    statement = " ".join(["read"] * MIN_STATEMENT_WORDS)

    assert statement_is_missing_or_short(draft(statement=statement), CONTEXT) is None


@pytest.mark.parametrize(
    ("statement", "word"),
    [
        ("Maya will get better at reading aloud in class.", "better"),
        ("Maya will Improve her reading in class.", "Improve"),
        ("Maya improved her spelling of common words.", "improved"),
        ("Maya will read more fluently in class.", "more"),
        ("Maya will try to finish her homework on time.", "try"),
        ("Maya will work on her multiplication facts.", "work on"),
        ("Maya va a mejorar su lectura en voz alta.", "mejorar"),
        ("Maya leerá más rápido en clase.", "más"),
    ],
)
def test_a_vague_word_without_a_number_is_questioned(statement, word):
    advice = statement_is_vague(draft(statement=statement), CONTEXT)

    assert advice is not None
    assert (advice.letter, advice.level) == (Letter.SPECIFIC, Level.WEAK)
    assert advice.message == (f"“{word}” does not say how much: name what the child will do and the number to reach.")


@pytest.mark.parametrize(
    "statement",
    [
        "Maya will improve her reading to 60 words correct per minute.",
        "Maya va a mejorar su lectura hasta 60 palabras por minuto.",
    ],
)
def test_a_vague_word_with_a_number_stays_quiet(statement):
    assert statement_is_vague(draft(statement=statement), CONTEXT) is None


@pytest.mark.parametrize(
    "statement",
    [
        GOOD.statement,
        # "less", "try" and "more" inside longer words are not the vague words.
        "Maya will read the lessons of the poetry unit aloud as a sophomore would.",
        "",
    ],
)
def test_a_statement_without_a_vague_word_stays_quiet(statement):
    assert statement_is_vague(draft(statement=statement), CONTEXT) is None


# --- Measurable ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("measure", ["", "   "])
def test_a_missing_measure_asks_how_it_will_be_measured(measure):
    advice = measure_is_missing(draft(measure=measure), CONTEXT)

    assert advice is not None
    assert (advice.letter, advice.level) == (Letter.MEASURABLE, Level.MISSING)
    assert advice.message.startswith("Say how it will be measured, with a unit")


def test_a_measure_stays_quiet():
    assert measure_is_missing(GOOD, CONTEXT) is None


def test_a_missing_baseline_asks_where_the_child_is_now():
    advice = baseline_is_missing(draft(baseline=None), CONTEXT)

    assert advice is not None
    assert (advice.letter, advice.level) == (Letter.MEASURABLE, Level.MISSING)
    assert "baseline" in advice.message


@pytest.mark.parametrize("baseline", [Decimal(45), Decimal(0)])
def test_a_baseline_even_of_zero_stays_quiet(baseline):
    assert baseline_is_missing(draft(baseline=baseline), CONTEXT) is None


@pytest.mark.parametrize(
    ("baseline", "unit", "message"),
    [
        (Decimal(45), "words per minute", "Add a number to reach: from 45 to ___ words per minute."),
        (Decimal("45.0"), "words per minute", "Add a number to reach: from 45 to ___ words per minute."),
        (Decimal("12.5"), "facts", "Add a number to reach: from 12.5 to ___ facts."),
        (Decimal(45), "", "Add a number to reach: from 45 to ___ (unit)."),
    ],
)
def test_a_missing_target_after_a_baseline_gives_the_sentence_to_complete(baseline, unit, message):
    advice = target_is_missing(draft(baseline=baseline, unit=unit, target=None), CONTEXT)

    assert advice == Advice(Letter.MEASURABLE, Level.MISSING, message)


def test_a_missing_target_without_a_baseline_asks_for_a_number_to_reach():
    advice = target_is_missing(draft(baseline=None, target=None), CONTEXT)

    assert advice == Advice(
        Letter.MEASURABLE,
        Level.MISSING,
        "Add a number to reach, so you and the family know when the goal is met.",
    )


def test_a_target_stays_quiet():
    assert target_is_missing(GOOD, CONTEXT) is None


@pytest.mark.parametrize("target", [Decimal(45), Decimal("45.00")])
def test_a_target_equal_to_the_baseline_asks_for_growth(target):
    advice = target_is_the_baseline(draft(baseline=Decimal(45), target=target), CONTEXT)

    assert advice == Advice(
        Letter.MEASURABLE, Level.WEAK, "The target is where the child already is: set a number that shows growth."
    )


@pytest.mark.parametrize(
    ("baseline", "target"), [(Decimal(45), Decimal(60)), (Decimal(45), None), (None, Decimal(60)), (None, None)]
)
def test_a_target_that_differs_from_the_baseline_or_lacks_one_stays_quiet(baseline, target):
    assert target_is_the_baseline(draft(baseline=baseline, target=target), CONTEXT) is None


@pytest.mark.parametrize(
    ("unit", "baseline", "target", "shown"),
    [
        ("%", Decimal(50), Decimal(120), "120"),
        ("%", Decimal(-5), Decimal(50), "-5"),
        (" Percent ", Decimal(40), Decimal("100.5"), "100.5"),
        ("por ciento", Decimal(101), None, "101"),
    ],
)
def test_a_percentage_outside_0_to_100_cannot_be_measured(unit, baseline, target, shown):
    advice = percentage_out_of_range(draft(unit=unit, baseline=baseline, target=target), CONTEXT)

    assert advice == Advice(
        Letter.MEASURABLE, Level.WEAK, f"A percentage is between 0 and 100: {shown} cannot be measured."
    )


@pytest.mark.parametrize(
    ("unit", "baseline", "target"),
    [
        ("%", Decimal(0), Decimal(100)),
        ("%", None, None),
        ("words per minute", Decimal(45), Decimal(120)),
        ("", Decimal(-5), Decimal(150)),
    ],
)
def test_a_percentage_within_0_to_100_or_another_unit_stays_quiet(unit, baseline, target):
    assert percentage_out_of_range(draft(unit=unit, baseline=baseline, target=target), CONTEXT) is None


# --- Achievable ---------------------------------------------------------------------------------------------------


def steep(baseline, target, *, due_in: datetime.timedelta, baseline_on: datetime.date | None = None) -> Draft:
    return draft(baseline=Decimal(baseline), target=Decimal(target), baseline_on=baseline_on, due_on=TODAY + due_in)


def test_a_target_three_times_the_baseline_in_four_weeks_is_questioned():
    advice = growth_is_steep(steep(20, 60, due_in=4 * WEEK), CONTEXT)

    assert advice == Advice(
        Letter.ACHIEVABLE, Level.WEAK, "The target is 3 times the baseline in 4 weeks: is that achievable?"
    )


@pytest.mark.parametrize(
    ("target", "due_in", "said"),
    [(50, 4 * WEEK, "2.5 times the baseline in 4 weeks"), (60, 30 * DAY, "3 times the baseline in 4 weeks")],
)
def test_a_steep_ratio_is_said_to_one_decimal_in_whole_weeks(target, due_in, said):
    advice = growth_is_steep(steep(20, target, due_in=due_in), CONTEXT)

    assert advice is not None
    assert said in advice.message


def test_steep_growth_short_of_double_is_said_as_a_weekly_percentage():
    advice = growth_is_steep(steep(20, 36, due_in=4 * WEEK), CONTEXT)

    assert advice == Advice(
        Letter.ACHIEVABLE,
        Level.WEAK,
        "From 20 to 36 in 4 weeks is a change of 20% of the baseline a week: is that achievable? Give it longer, "
        "or a nearer target.",
    )


@pytest.mark.parametrize(
    ("baseline", "target", "due_in"),
    [
        (45, 60, 12 * WEEK),
        (20, 28, 4 * WEEK),  # exactly 10% a week: the steepest that is not questioned
        (10, 8, 8 * WEEK),  # a modest fall
    ],
)
def test_modest_growth_stays_quiet(baseline, target, due_in):
    assert growth_is_steep(steep(baseline, target, due_in=due_in), CONTEXT) is None


def test_growth_just_over_ten_percent_a_week_is_questioned():
    advice = growth_is_steep(steep(20, 29, due_in=4 * WEEK), CONTEXT)

    assert advice is not None
    assert advice.message.startswith("From 20 to 29 in 4 weeks is a change of 11.3% of the baseline a week")


def test_going_down_is_judged_on_the_size_of_the_change():
    advice = growth_is_steep(steep(6, 1, due_in=8 * WEEK), CONTEXT)

    assert advice is not None
    assert (advice.letter, advice.level) == (Letter.ACHIEVABLE, Level.WEAK)
    assert advice.message.startswith("From 6 to 1 in 8 weeks is a change of")


def test_a_baseline_of_zero_is_not_judged_for_growth():
    assert growth_is_steep(steep(0, 60, due_in=1 * WEEK), CONTEXT) is None


@pytest.mark.parametrize("missing", ["baseline", "target", "due_on"])
def test_growth_is_not_judged_without_a_baseline_target_and_due_date(missing):
    assert growth_is_steep(replace(steep(20, 60, due_in=4 * WEEK), **{missing: None}), CONTEXT) is None


def test_growth_is_counted_from_the_baseline_date_when_there_is_one():
    from_today = steep(20, 30, due_in=4 * WEEK)
    from_four_weeks_ago = steep(20, 30, due_in=4 * WEEK, baseline_on=TODAY - 4 * WEEK)

    assert growth_is_steep(from_today, CONTEXT) is not None
    assert growth_is_steep(from_four_weeks_ago, CONTEXT) is None


def test_the_weeks_named_are_counted_from_the_baseline_date():
    advice = growth_is_steep(steep(20, 60, due_in=2 * WEEK, baseline_on=TODAY - 2 * WEEK), CONTEXT)

    assert advice is not None
    assert "3 times the baseline in 4 weeks" in advice.message


@pytest.mark.parametrize(("due_in", "baseline_on"), [(0 * DAY, None), (1 * WEEK, TODAY + 2 * WEEK)])
def test_growth_is_not_judged_when_the_due_date_is_not_after_the_start(due_in, baseline_on):
    assert growth_is_steep(steep(20, 60, due_in=due_in, baseline_on=baseline_on), CONTEXT) is None


def test_a_steep_target_due_within_a_week_is_said_in_one_week_singular():
    advice = growth_is_steep(steep(10, 100, due_in=1 * WEEK), CONTEXT)

    assert advice is not None
    assert "10 times the baseline in 1 week:" in advice.message


@pytest.mark.parametrize("strategies", ["", "  \n"])
def test_missing_school_support_is_asked_for(strategies):
    advice = school_support_is_missing(draft(school_strategies=strategies), CONTEXT)

    assert advice is not None
    assert (advice.letter, advice.level) == (Letter.ACHIEVABLE, Level.WEAK)
    assert advice.message.startswith("Say what school will do to help")


def test_school_support_stays_quiet():
    assert school_support_is_missing(GOOD, CONTEXT) is None


# --- Relevant -----------------------------------------------------------------------------------------------------


def test_a_goal_not_linked_to_what_the_family_said_asks_for_the_link():
    advice = not_linked_to_the_family(draft(builds_on_answers=0), context(family_answers=2))

    assert advice == Advice(
        Letter.RELEVANT, Level.WEAK, "Link it to something the family told you: it is their goal too."
    )


def test_when_the_family_has_not_answered_the_advice_is_to_ask_them():
    advice = not_linked_to_the_family(draft(builds_on_answers=0), context(family_answers=0))

    assert advice is not None
    assert (advice.letter, advice.level) == (Letter.RELEVANT, Level.WEAK)
    assert advice.message.startswith("The family has not answered the questions about their child yet")
    assert "Link it" not in advice.message


def test_a_goal_linked_to_the_family_stays_quiet():
    assert not_linked_to_the_family(draft(builds_on_answers=1), context(family_answers=2)) is None


@pytest.mark.parametrize("strategies", ["", "   "])
def test_a_missing_home_part_is_asked_for(strategies):
    advice = home_part_is_missing(draft(home_strategies=strategies), CONTEXT)

    assert advice is not None
    assert (advice.letter, advice.level) == (Letter.RELEVANT, Level.WEAK)
    assert advice.message.startswith("Say what home can do")


def test_a_home_part_stays_quiet():
    assert home_part_is_missing(GOOD, CONTEXT) is None


# --- Time-bound ---------------------------------------------------------------------------------------------------


def test_a_missing_due_date_is_asked_for():
    advice = due_date_is_missing(draft(due_on=None), CONTEXT)

    assert advice == Advice(
        Letter.TIME_BOUND, Level.MISSING, "Add a due date: by when will the child reach the target?"
    )


def test_a_due_date_stays_quiet():
    assert due_date_is_missing(GOOD, CONTEXT) is None


def test_a_due_date_that_has_passed_asks_for_a_date_ahead():
    advice = due_date_has_passed(draft(due_on=TODAY - DAY), CONTEXT)

    assert advice == Advice(Letter.TIME_BOUND, Level.WEAK, "The due date has passed: choose a date ahead.")


@pytest.mark.parametrize("due_on", [TODAY, TODAY + DAY, None])
def test_a_due_date_today_or_ahead_has_not_passed(due_on):
    assert due_date_has_passed(draft(due_on=due_on), CONTEXT) is None


@pytest.mark.parametrize("due_on", [TODAY - 5 * DAY, TODAY - 10 * DAY])
def test_a_due_date_on_or_before_the_baseline_date_is_questioned(due_on):
    advice = due_date_before_baseline(draft(baseline_on=TODAY - 5 * DAY, due_on=due_on), CONTEXT)

    assert advice == Advice(Letter.TIME_BOUND, Level.WEAK, "The due date must come after the baseline was measured.")


@pytest.mark.parametrize(
    ("baseline_on", "due_on"), [(TODAY - 5 * DAY, TODAY - 4 * DAY), (None, TODAY - 5 * DAY), (TODAY, None)]
)
def test_a_due_date_after_the_baseline_date_or_without_one_stays_quiet(baseline_on, due_on):
    assert due_date_before_baseline(draft(baseline_on=baseline_on, due_on=due_on), CONTEXT) is None


def test_a_due_date_after_the_term_names_the_end_of_the_term():
    advice = due_date_after_the_term(draft(due_on=TERM_ENDS + DAY), CONTEXT)

    assert advice == Advice(
        Letter.TIME_BOUND,
        Level.WEAK,
        "The due date is past the end of the term (26 Mar 2027): end it with the term, or plan who follows it up.",
    )


@pytest.mark.parametrize(
    ("due_on", "term_ends_on"), [(TERM_ENDS, TERM_ENDS), (TERM_ENDS - WEEK, TERM_ENDS), (TERM_ENDS + WEEK, None)]
)
def test_a_due_date_within_the_term_or_without_a_term_stays_quiet(due_on, term_ends_on):
    assert due_date_after_the_term(draft(due_on=due_on), context(term_ends_on=term_ends_on)) is None


def test_too_few_checkins_before_the_due_date_says_how_many_fit():
    advice = too_few_checkins(draft(baseline_on=None, checkin_every_days=14, due_on=TODAY + 20 * DAY), CONTEXT)

    assert advice == Advice(
        Letter.TIME_BOUND,
        Level.WEAK,
        "With a check-in every 14 days, only 1 fits before the due date: check in more often, or give it longer.",
    )


def test_no_checkin_before_the_due_date_is_questioned_too():
    advice = too_few_checkins(draft(baseline_on=None, checkin_every_days=14, due_on=TODAY + 10 * DAY), CONTEXT)

    assert advice is not None
    assert advice.message.startswith("With a check-in every 14 days")


@pytest.mark.parametrize(("every", "due_in"), [(14, 28 * DAY), (7, 20 * DAY), (0, 20 * DAY)])
def test_two_or_more_checkins_before_the_due_date_stay_quiet(every, due_in):
    assert too_few_checkins(draft(baseline_on=None, checkin_every_days=every, due_on=TODAY + due_in), CONTEXT) is None


def test_checkins_are_counted_from_the_baseline_date_when_there_is_one():
    assert too_few_checkins(draft(baseline_on=TODAY - 14 * DAY, due_on=TODAY + 20 * DAY), CONTEXT) is None


@pytest.mark.parametrize("due_on", [None, TODAY, TODAY - 5 * DAY])
def test_checkins_are_not_counted_without_a_due_date_after_the_start(due_on):
    assert too_few_checkins(draft(baseline_on=None, due_on=due_on), CONTEXT) is None


# --- The whole check ----------------------------------------------------------------------------------------------


def test_the_check_gives_the_five_letters_in_order_with_their_names():
    checks = check(GOOD, CONTEXT)

    assert [(c.letter, c.name) for c in checks] == [
        ("S", "Specific"),
        ("M", "Measurable"),
        ("A", "Achievable"),
        ("R", "Relevant"),
        ("T", "Time-bound"),
    ]
    assert all(isinstance(c, LetterCheck) for c in checks)


def test_a_complete_good_draft_gets_no_advice_at_all():
    checks = check(GOOD, CONTEXT)

    assert [c.advice for c in checks] == [[], [], [], [], []]
    assert [c.level for c in checks] == ["", "", "", "", ""]


def test_an_empty_draft_is_missing_where_anything_is_missing_and_weak_where_only_weak():
    checks = check(Draft(), Context(today=TODAY))

    assert [c.level for c in checks] == [Level.MISSING, Level.MISSING, Level.WEAK, Level.WEAK, Level.MISSING]


def test_each_piece_of_advice_is_grouped_under_its_own_letter():
    checks = check(draft(home_strategies="", due_on=TODAY - DAY, baseline_on=TODAY - 12 * WEEK), CONTEXT)
    by_letter = {c.letter: c for c in checks}

    assert by_letter["S"].advice == by_letter["M"].advice == by_letter["A"].advice == []
    assert [a.message for a in by_letter["R"].advice] == [
        "Say what home can do: one small thing, like reading together for 15 minutes."
    ]
    assert [a.message for a in by_letter["T"].advice] == ["The due date has passed: choose a date ahead."]
    assert all(a.letter == c.letter for c in checks for a in c.advice)


@pytest.mark.parametrize(
    ("levels", "level"),
    [
        ([], ""),
        ([Level.WEAK], Level.WEAK),
        ([Level.WEAK, Level.WEAK], Level.WEAK),
        ([Level.WEAK, Level.MISSING], Level.MISSING),
    ],
)
def test_a_letter_is_missing_when_any_advice_is_missing_and_weak_when_only_weak(levels, level):
    letter_check = LetterCheck("M", "Measurable", [Advice("M", each, "") for each in levels])

    assert letter_check.level == level
