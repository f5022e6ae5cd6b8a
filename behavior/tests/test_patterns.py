"""The pattern rules of behavior notes as pure functions, at their edges: no database."""

import datetime

import pytest
from django.utils import translation

from behavior.models import Cause, Setting, Severity
from behavior.patterns import Fact, Kind, Pattern, Period, Rules, find_patterns, slope, weekly_counts

TODAY = datetime.date(2026, 11, 25)  # a Wednesday


def note(days_ago: int = 0, hour: int = 9, minute: int = 0, **fields) -> Fact:
    """A minor classroom note (unless told otherwise) written `days_ago` days before TODAY."""
    day = TODAY - datetime.timedelta(days=days_ago)
    return Fact(at=datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=datetime.UTC), **fields)


def found(facts, kind: Kind, rules: Rules | None = None) -> Pattern | None:
    """The one pattern of this kind find_patterns sees, if any."""
    matches = [pattern for pattern in find_patterns(facts, TODAY, rules) if pattern.kind == kind]
    assert len(matches) <= 1
    return matches[0] if matches else None


def by_week(counts: list[int]) -> list[Fact]:
    """Notes giving these weekly counts, oldest week first, the last week ending TODAY."""
    weeks = len(counts)
    return [
        note(days_ago=7 * (weeks - 1 - week) + n % 7, hour=8 + n % 8)
        for week, count in enumerate(counts)
        for n in range(count)
    ]


def test_no_notes_show_no_pattern():
    assert find_patterns([], TODAY) == []
    assert find_patterns(iter([]), TODAY) == []


def test_notes_may_come_as_a_one_pass_iterator():
    facts = [note(days_ago=days, hour=14, setting=Setting.BUS) for days in (0, 1, 2)]
    assert find_patterns(iter(facts), TODAY) == find_patterns(facts, TODAY) != []


def test_the_most_pressing_patterns_come_first():
    kinds = [pattern.kind for pattern in find_patterns(by_week([0, 1, 1, 3]), TODAY)]
    assert kinds[:2] == [Kind.CLUSTER, Kind.RISING]
    assert set(kinds[2:]) <= {Kind.TIME_OF_DAY, Kind.WEEKDAY, Kind.SETTING, Kind.SUBJECT, Kind.CAUSE}


# --- Several minor notes close together --------------------------------------------------------------------------


def test_three_minor_notes_in_fourteen_days_make_a_cluster():
    facts = [note(days_ago=0), note(days_ago=5), note(days_ago=13)]
    assert found(facts, Kind.CLUSTER) == Pattern(Kind.CLUSTER, count=3, of=14)


def test_two_minor_notes_make_no_cluster():
    assert found([note(days_ago=0), note(days_ago=5)], Kind.CLUSTER) is None


@pytest.mark.parametrize(("days_ago", "fires"), [(13, True), (14, False)])
def test_the_cluster_window_is_fourteen_days_today_included(days_ago, fires):
    facts = [note(days_ago=0), note(days_ago=1), note(days_ago=days_ago)]
    assert (found(facts, Kind.CLUSTER) is not None) is fires


def test_every_minor_note_in_the_window_is_counted():
    facts = [note(days_ago=days) for days in (0, 2, 4, 6, 20)]
    assert found(facts, Kind.CLUSTER) == Pattern(Kind.CLUSTER, count=4, of=14)


def test_major_notes_do_not_count_toward_a_cluster():
    assert found([note(days_ago=0), note(days_ago=1), note(days_ago=2, severity=Severity.MAJOR)], Kind.CLUSTER) is None
    assert found([note(days_ago=days, severity=Severity.MAJOR) for days in (0, 1, 2)], Kind.CLUSTER) is None


def test_notes_dated_after_today_are_ignored():
    facts = [note(days_ago=0), note(days_ago=-1), note(days_ago=-2), note(days_ago=-10)]
    assert find_patterns(facts, TODAY) == []
    assert find_patterns(facts, TODAY + datetime.timedelta(days=10)) != []


def test_a_cluster_in_plain_words():
    facts = [note(days_ago=days) for days in (0, 1, 2)]
    with translation.override("en"):
        assert found(facts, Kind.CLUSTER).describe() == "3 minor notes in the last 14 days."
        assert Pattern(Kind.CLUSTER, count=1, of=7).describe() == "1 minor note in the last 7 days."


# --- A rising trend ----------------------------------------------------------------------------------------------


def test_weekly_counts_are_oldest_first_and_the_last_week_ends_today():
    days = [0, 6, 1, 7, 13, 14, 27, 28, 40, -1]
    assert weekly_counts([note(days_ago=d) for d in days], TODAY, weeks=4) == [1, 1, 2, 3]


def test_weekly_counts_cover_only_the_weeks_asked_for():
    facts = [note(days_ago=d) for d in (0, 7, 8, 14)]
    assert weekly_counts(facts, TODAY, weeks=2) == [2, 1]
    assert weekly_counts([], TODAY, weeks=3) == [0, 0, 0]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0, 1, 2, 3], 1.0),
        ([3, 2, 1, 0], -1.0),
        ([0, 2, 4, 6], 2.0),
        ([2, 2, 2, 2], 0.0),
        ([0, 1, 1, 3], 0.9),
        ([4], 0.0),
        ([], 0.0),
    ],
)
def test_slope_is_the_least_squares_slope(values, expected):
    assert slope(values) == pytest.approx(expected)


def test_a_rising_trend():
    assert found(by_week([0, 1, 1, 3]), Kind.RISING) == Pattern(Kind.RISING, count=5, of=5, weekly=(0, 1, 1, 3))


def test_a_slope_of_exactly_half_a_note_a_week_is_rising():
    assert slope([2, 0, 2, 3]) == 0.5
    assert found(by_week([2, 0, 2, 3]), Kind.RISING) is not None


@pytest.mark.parametrize(
    "counts",
    [
        pytest.param([1, 2, 0, 2], id="slope-below-half"),
        pytest.param([0, 1, 4, 3], id="latest-not-the-highest"),
        pytest.param([5, 0, 5, 5], id="latest-equals-first"),
        pytest.param([3, 2, 1, 0], id="falling"),
        pytest.param([0, 0, 0, 0], id="no-notes"),
    ],
)
def test_no_rising_trend(counts):
    assert found(by_week(counts), Kind.RISING) is None


def test_the_latest_week_needs_two_notes_to_be_rising():
    two_weeks = Rules(trend_weeks=2)
    assert slope([0, 1]) >= 0.5
    assert found(by_week([0, 1]), Kind.RISING, two_weeks) is None
    assert found(by_week([0, 2]), Kind.RISING, two_weeks) == Pattern(Kind.RISING, 2, 2, weekly=(0, 2))


def test_a_rising_trend_in_plain_words():
    with translation.override("en"):
        assert found(by_week([0, 1, 1, 3]), Kind.RISING).describe() == (
            "More notes each week: 0, 1, 1, 3 over the last 4 weeks."
        )


# --- Repetition --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "period"),
    [
        (0, 0, Period.EARLY),
        (9, 59, Period.EARLY),
        (10, 0, Period.LATE_MORNING),
        (11, 59, Period.LATE_MORNING),
        (12, 0, Period.MIDDAY),
        (12, 59, Period.MIDDAY),
        (13, 0, Period.AFTERNOON),
        (23, 59, Period.AFTERNOON),
    ],
)
def test_the_period_of_a_moment(hour, minute, period):
    assert Period.of(note(hour=hour, minute=minute).at) == period


def test_a_repeated_time_of_day():
    facts = [note(days_ago=0, hour=13), note(days_ago=1, hour=14), note(days_ago=2, hour=15), note(days_ago=3, hour=9)]
    assert found(facts, Kind.TIME_OF_DAY) == Pattern(Kind.TIME_OF_DAY, 3, 4, Period.AFTERNOON)


def test_late_morning_runs_from_ten_to_noon():
    moments = [(9, 59), (10, 0), (11, 0), (11, 59), (12, 0)]
    facts = [note(days_ago=days, hour=hour, minute=minute) for days, (hour, minute) in enumerate(moments)]
    assert found(facts, Kind.TIME_OF_DAY) == Pattern(Kind.TIME_OF_DAY, 3, 5, Period.LATE_MORNING)


def test_a_repeated_weekday():
    mondays = [note(days_ago=days, hour=hour) for days, hour in ((2, 9), (9, 11), (16, 14))]
    assert found([*mondays, note(days_ago=0)], Kind.WEEKDAY) == Pattern(Kind.WEEKDAY, 3, 4, "0")


def test_notes_on_different_weekdays_do_not_repeat():
    assert found([note(days_ago=days) for days in range(7)], Kind.WEEKDAY) is None


def test_a_repeated_place():
    facts = [note(days_ago=days, setting=Setting.CAFETERIA) for days in (0, 1, 2)] + [note(days_ago=3)]
    assert found(facts, Kind.SETTING) == Pattern(Kind.SETTING, 3, 4, Setting.CAFETERIA)


@pytest.mark.parametrize("setting", [Setting.CLASSROOM, Setting.OTHER])
def test_the_classroom_and_somewhere_else_are_not_repeated_places(setting):
    assert found([note(days_ago=days, setting=setting) for days in range(5)], Kind.SETTING) is None


def test_a_repeated_subject_matches_whatever_the_case_and_shows_as_first_written():
    subjects = ["Math", " math ", "MATH", "Reading"]
    facts = [note(days_ago=days, subject=subject) for days, subject in zip((3, 2, 1, 0), subjects, strict=True)]
    assert found(facts, Kind.SUBJECT) == Pattern(Kind.SUBJECT, 3, 4, "Math")


def test_blank_subjects_never_repeat_but_still_count_as_notes():
    assert found([note(days_ago=days, subject=s) for days, s in enumerate(["", "  ", "", ""])], Kind.SUBJECT) is None
    facts = [note(days_ago=days, subject=s) for days, s in enumerate(["Math", "", "Math", " ", "Math"])]
    assert found(facts, Kind.SUBJECT) == Pattern(Kind.SUBJECT, 3, 5, "Math")


def test_a_repeated_cause_counts_each_cause_of_a_note():
    causes = [(Cause.TOO_HARD, Cause.SENSORY), (Cause.SENSORY,), (Cause.PEER_CONFLICT, Cause.SENSORY), ()]
    facts = [note(days_ago=days, causes=c) for days, c in enumerate(causes)]
    assert found(facts, Kind.CAUSE) == Pattern(Kind.CAUSE, 3, 4, Cause.SENSORY)


def test_a_cause_named_twice_on_one_note_counts_once():
    causes = [(Cause.TOO_HARD, Cause.TOO_HARD, Cause.TOO_HARD), (Cause.HEALTH,), (Cause.ATTENTION,)]
    assert found([note(days_ago=days, causes=c) for days, c in enumerate(causes)], Kind.CAUSE) is None


def test_something_else_is_not_a_repeated_cause():
    assert found([note(days_ago=days, causes=(Cause.OTHER,)) for days in range(4)], Kind.CAUSE) is None


@pytest.mark.parametrize("causes", [(Cause.TOO_HARD, Cause.SENSORY), (Cause.SENSORY, Cause.TOO_HARD)])
def test_a_tie_between_causes_goes_to_the_first_in_alphabetical_order_whatever_the_order_written(causes):
    facts = [note(days_ago=days, causes=causes) for days in range(3)]

    assert found(facts, Kind.CAUSE).value == Cause.SENSORY


def test_fewer_than_three_recent_notes_never_repeat():
    facts = [
        note(days_ago=days, hour=14, setting=Setting.BUS, subject="Math", causes=(Cause.HEALTH,)) for days in (0, 7)
    ]
    assert find_patterns(facts, TODAY) == []


@pytest.mark.parametrize(("others", "fires"), [(2, True), (3, False)])
def test_a_repetition_needs_sixty_percent_of_the_notes(others, fires):
    facts = [note(days_ago=days, setting=Setting.HALLWAY) for days in (0, 1, 2)]
    facts += [note(days_ago=10 + days) for days in range(others)]
    expected = Pattern(Kind.SETTING, 3, 3 + others, Setting.HALLWAY) if fires else None
    assert found(facts, Kind.SETTING) == expected


@pytest.mark.parametrize(("days_ago", "fires"), [(27, True), (28, False)])
def test_repetition_looks_back_twenty_eight_days(days_ago, fires):
    facts = [note(days_ago=days, setting=Setting.RECESS) for days in (0, 1, days_ago)]
    assert (found(facts, Kind.SETTING) is not None) is fires


def test_notes_older_than_the_lookback_do_not_dilute_the_share():
    facts = [note(days_ago=days, setting=Setting.LIBRARY) for days in (0, 1, 2)]
    facts += [note(days_ago=days) for days in (28, 29, 30, 31)]
    assert found(facts, Kind.SETTING) == Pattern(Kind.SETTING, 3, 3, Setting.LIBRARY)


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (Pattern(Kind.TIME_OF_DAY, 3, 4, Period.AFTERNOON), "3 of the last 4 notes were in the afternoon."),
        (Pattern(Kind.TIME_OF_DAY, 3, 5, Period.EARLY), "3 of the last 5 notes were early in the day, before 10 am."),
        (Pattern(Kind.WEEKDAY, 3, 4, "0"), "3 of the last 4 notes were on Monday."),
        (Pattern(Kind.WEEKDAY, 4, 5, "4"), "4 of the last 5 notes were on Friday."),
        (Pattern(Kind.SETTING, 3, 4, Setting.CAFETERIA), "3 of the last 4 notes were in this place: Cafeteria."),
        (Pattern(Kind.SUBJECT, 3, 4, "Math"), "3 of the last 4 notes were in Math."),
        (
            Pattern(Kind.CAUSE, 3, 4, Cause.TOO_HARD),
            "3 of the last 4 notes were with this possible cause: The task was too hard.",
        ),
    ],
    ids=lambda value: value.kind.value if isinstance(value, Pattern) else None,
)
def test_a_repetition_in_plain_words(pattern, words):
    with translation.override("en"):
        assert pattern.describe() == words


def test_a_repeated_weekday_found_in_notes_reads_in_plain_words():
    facts = [note(days_ago=days) for days in (2, 9, 16)]
    with translation.override("en"):
        assert found(facts, Kind.WEEKDAY).describe() == "3 of the last 3 notes were on Monday."


def test_weekday_names_come_from_the_locale():
    with translation.override("es"):
        assert "lunes" in Pattern(Kind.WEEKDAY, 3, 4, "0").describe()


# --- Other rules -------------------------------------------------------------------------------------------------


def test_custom_cluster_rules():
    assert found([note(days_ago=0), note(days_ago=1)], Kind.CLUSTER, Rules(cluster_notes=2)) == Pattern(
        Kind.CLUSTER, 2, 14
    )
    facts = [note(days_ago=days) for days in (0, 1, 7)]
    assert found(facts, Kind.CLUSTER, Rules(cluster_days=7)) is None
    assert found(facts, Kind.CLUSTER, Rules(cluster_days=8)) == Pattern(Kind.CLUSTER, 3, 8)


def test_custom_trend_weeks():
    facts = by_week([0, 1, 3])
    assert found(facts, Kind.RISING, Rules(trend_weeks=3)) == Pattern(Kind.RISING, 4, 4, weekly=(0, 1, 3))
    assert found(facts, Kind.RISING, Rules(trend_weeks=2)) == Pattern(Kind.RISING, 4, 4, weekly=(1, 3))


def test_custom_repetition_rules():
    facts = [note(days_ago=days, setting=Setting.BUS) for days in (0, 1, 2)] + [note(days_ago=d) for d in (3, 4, 5)]
    assert found(facts, Kind.SETTING) is None
    assert found(facts, Kind.SETTING, Rules(repeat_share=0.5)) == Pattern(Kind.SETTING, 3, 6, Setting.BUS)
    assert found(facts, Kind.SETTING, Rules(lookback_days=3)) == Pattern(Kind.SETTING, 3, 3, Setting.BUS)
    assert found(facts[:2], Kind.SETTING, Rules(repeat_notes=2)) == Pattern(Kind.SETTING, 2, 2, Setting.BUS)
    assert found(facts, Kind.SETTING, Rules(repeat_notes=4, repeat_share=0.5)) is None
