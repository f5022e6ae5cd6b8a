"""Where a goal stands, as plain arithmetic: the status rule, the trend, the projection and the chart's geometry.

No database and no clock: every date is counted from DAY_0, the day the baseline was measured."""

import datetime
import itertools
import math
from decimal import Decimal

import pytest
from django.utils import translation

from goals.progress import TOP, Line, Plan, Point, Status, chart, measured_points, projection, status, trend

DAY_0 = datetime.date(2026, 9, 1)


def day(n: int) -> datetime.date:
    return DAY_0 + datetime.timedelta(days=n)


def at(n: int, value: str | int, *, home: bool = False) -> Point:
    """A measured check-in `n` days after DAY_0, from school unless `home`."""
    return Point(day(n), Decimal(str(value)), home)


# Reading fluency: 40 words a minute on day 0, 60 by day 84 (twelve weeks).
READING = Plan(Decimal(40), DAY_0, Decimal(60), day(84))
# Leaving the group: 6 times a week on day 0, at most once by day 70. Fewer is better.
LEAVING = Plan(Decimal(6), DAY_0, Decimal(1), day(70))
# The same reading goal, set without a baseline.
READING_NO_BASELINE = Plan(None, None, Decimal(60), day(84))


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


# --- Plan -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "target", "goes_down"),
    [
        (40, 60, False),
        (6, 1, True),
        (5, 5, False),
        (None, 1, False),
        (6, None, False),
    ],
    ids=["target above baseline", "target below baseline", "target equal to baseline", "no baseline", "no target"],
)
def test_a_goal_goes_down_only_when_its_target_is_below_its_baseline(baseline, target, goes_down):
    plan = Plan(
        None if baseline is None else Decimal(baseline), DAY_0, None if target is None else Decimal(target), day(84)
    )
    assert plan.goes_down is goes_down


@pytest.mark.parametrize(
    ("plan", "value", "reached"),
    [
        (READING, Decimal("59.99"), False),
        (READING, Decimal(60), True),
        (READING, Decimal(75), True),
        (READING, 60.5, True),
        (LEAVING, Decimal("1.01"), False),
        (LEAVING, Decimal(1), True),
        (LEAVING, Decimal(0), True),
        (LEAVING, 0.5, True),
        (LEAVING, Decimal(6), False),
        (Plan(Decimal(40), DAY_0, None, day(84)), Decimal(1000), False),
        (Plan(Decimal(40), DAY_0, None, day(84)), Decimal(-1000), False),
    ],
)
def test_a_value_reaches_the_target_from_the_side_the_goal_moves_towards(plan, value, reached):
    assert plan.reached(value) is reached


# --- Status ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("today", [day(30), day(84)], ids=["before the due date", "on the due date"])
def test_a_goal_with_no_measured_checkins_is_not_measured_yet(today):
    # Check-ins with only a note are not points: the caller passes none, so this is also "notes only".
    assert status(READING, [], today=today) == Status.NOT_MEASURED


def test_a_goal_with_no_measured_checkins_is_not_met_once_its_due_date_has_passed():
    assert status(READING, [], today=day(85)) == Status.NOT_MET


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [(45, 50, Status.ON_TRACK), (41, 42, Status.AT_RISK)],
    ids=["rising fast enough", "rising too slowly"],
)
def test_the_trend_through_baseline_and_checkins_decides_on_track_or_at_risk(first, second, expected):
    assert status(READING, [at(14, first), at(28, second)], today=day(30)) == expected


@pytest.mark.parametrize(
    ("points", "projected", "expected"),
    [
        ([at(14, "43.333"), at(28, "46.666")], 59.998, Status.ON_TRACK),
        ([at(14, "43.33"), at(28, "46.66")], 59.98, Status.AT_RISK),
    ],
    ids=["short by less than half a hundredth", "short by a hundredth or more"],
)
def test_the_projection_is_rounded_to_hundredths_before_it_is_held_against_the_target(points, projected, expected):
    assert projection(READING, points) == pytest.approx(projected, abs=0.001)
    assert status(READING, points, today=day(30)) == expected


def test_a_goal_that_goes_down_is_on_track_when_the_measure_falls_on_schedule():
    # 6 → 5 → 4 a week: one fewer every two weeks reaches 1 on day 70 (up to float rounding).
    assert status(LEAVING, [at(14, 5), at(28, 4)], today=day(30)) == Status.ON_TRACK


@pytest.mark.parametrize(
    "points", [[at(14, "5.8"), at(28, "5.6")], [at(14, 7), at(28, 8)]], ids=["falling too slowly", "rising"]
)
def test_a_goal_that_goes_down_is_at_risk_when_the_measure_does_not_fall_fast_enough(points):
    assert status(LEAVING, points, today=day(30)) == Status.AT_RISK


@pytest.mark.parametrize(
    ("plan", "value"),
    [(LEAVING, "1"), (LEAVING, "0.5"), (LEAVING, "0"), (READING, "60"), (READING, "62.5")],
    ids=["down to the target", "down below it", "down to zero", "up to the target", "up above it"],
)
def test_a_goal_is_met_once_the_latest_value_has_reached_the_target(plan, value):
    assert status(plan, [at(14, 3 if plan.goes_down else 50), at(28, value)], today=day(30)) == Status.MET


@pytest.mark.parametrize(("plan", "value"), [(READING, 61), (LEAVING, 1)], ids=["goes up", "goes down"])
def test_a_goal_already_met_at_its_first_checkin_is_met(plan, value):
    assert status(plan, [at(7, value)], today=day(7)) == Status.MET


@pytest.mark.parametrize(
    ("plan", "points"),
    [
        (READING, [at(14, 45), at(28, 50), at(84, 59)]),
        (LEAVING, [at(14, 5), at(28, 4), at(70, 2)]),
        (READING, [at(14, 45), at(28, 50)]),  # on track when last measured, but never measured again
    ],
    ids=["goes up, fell short", "goes down, fell short", "on track then silent"],
)
def test_a_goal_past_its_due_date_without_reaching_the_target_is_not_met(plan, points):
    assert status(plan, points, today=plan.due_on + datetime.timedelta(days=1)) == Status.NOT_MET


@pytest.mark.parametrize(
    ("plan", "points"),
    [(READING, [at(14, 45), at(84, 60)]), (LEAVING, [at(14, 5), at(70, 1)])],
    ids=["goes up", "goes down"],
)
def test_a_goal_past_its_due_date_is_met_when_the_latest_value_reached_the_target(plan, points):
    assert status(plan, points, today=plan.due_on + datetime.timedelta(days=30)) == Status.MET


def test_only_the_latest_checkin_counts_towards_met():
    # 60 was reached on day 14, but the latest check-in has slipped back to 55.
    assert status(READING, [at(14, 60), at(28, 55)], today=day(90)) == Status.NOT_MET


def test_the_latest_checkin_is_the_one_with_the_latest_date_whatever_the_order_given():
    assert status(READING, [at(28, 61), at(14, 45)], today=day(30)) == Status.MET
    assert status(READING, [at(28, 45), at(14, 61)], today=day(30)) != Status.MET


def test_a_single_checkin_without_a_baseline_is_on_track():
    # One point draws no line: nothing says the child is slipping.
    assert status(READING_NO_BASELINE, [at(14, 45)], today=day(30)) == Status.ON_TRACK


def test_without_a_baseline_the_first_checkin_says_which_way_is_better():
    fewer_is_better = Plan(None, None, Decimal(1), day(56))

    assert status(fewer_is_better, [at(14, 6)], day(20)) == Status.ON_TRACK
    assert status(fewer_is_better, [at(14, 6), at(28, 3)], day(30)) == Status.ON_TRACK
    assert status(fewer_is_better, [at(14, 6), at(28, 7)], day(30)) == Status.AT_RISK
    assert status(fewer_is_better, [at(14, 6), at(28, 1)], day(30)) == Status.MET


def test_a_goal_without_a_target_cannot_be_judged_and_is_not_measured():
    no_target = Plan(Decimal(40), DAY_0, None, day(84))

    assert status(no_target, [at(14, 45), at(28, 50)], day(30)) == Status.NOT_MEASURED
    assert status(no_target, [at(14, 45)], day(100)) == Status.NOT_MEASURED


def test_a_single_checkin_after_a_baseline_is_judged_on_the_line_from_the_baseline():
    # 40 → 41 in six weeks leads to 42 by day 84.
    assert status(READING, [at(42, 41)], today=day(45)) == Status.AT_RISK
    # 40 → 52 in six weeks leads to 64.
    assert status(READING, [at(42, 52)], today=day(45)) == Status.ON_TRACK


def test_a_target_equal_to_the_baseline_is_met_by_holding_the_baseline():
    plan = Plan(Decimal(5), DAY_0, Decimal(5), day(84))
    assert status(plan, [], today=day(30)) == Status.NOT_MEASURED
    assert status(plan, [at(14, 5)], today=day(30)) == Status.MET
    assert status(plan, [at(14, 6)], today=day(30)) == Status.MET
    assert status(plan, [at(14, 4)], today=day(30)) == Status.AT_RISK


# --- Trend and projection -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("points", [[], [at(0, 40)]], ids=["no point", "one point"])
def test_there_is_no_trend_through_fewer_than_two_points(points):
    assert trend(points) is None


def test_there_is_no_trend_when_every_point_is_on_the_same_day():
    assert trend([at(14, 40), at(14, 45), at(14, 50)]) is None


@pytest.mark.parametrize(
    ("points", "intercept", "slope"),
    [
        ([at(0, 40), at(14, 45)], 40, 5 / 14),
        # x = 0, 1, 2 and y = 1, 3, 2: mean (1, 2), slope 1/2, so the line is 1.5 + x / 2.
        ([at(0, 1), at(1, 3), at(2, 2)], 1.5, 0.5),
        ([at(0, 7), at(10, 7), at(20, 7)], 7, 0),
        ([at(0, 6), at(14, 5), at(28, 4)], 6, -1 / 14),
    ],
    ids=["two points", "scattered points", "level points", "falling points"],
)
def test_the_trend_is_the_least_squares_line_counted_in_days_from_the_first_point(points, intercept, slope):
    line = trend(points)
    assert line == Line(DAY_0, pytest.approx(intercept), pytest.approx(slope))
    assert line.at(day(84)) == pytest.approx(intercept + 84 * slope)


def test_the_measured_points_are_the_baseline_then_the_checkins_in_date_order():
    assert measured_points(READING, [at(28, 50), at(14, 45)]) == [at(0, 40), at(14, 45), at(28, 50)]
    assert measured_points(READING_NO_BASELINE, [at(28, 50), at(14, 45)]) == [at(14, 45), at(28, 50)]


def test_the_measured_points_stay_in_date_order_when_a_checkin_predates_the_baseline():
    plan = Plan(Decimal(40), day(14), Decimal(60), day(84))
    assert measured_points(plan, [at(7, 38), at(28, 45)]) == [at(7, 38), at(14, 40), at(28, 45)]


def test_the_projection_carries_the_trend_to_the_due_date():
    # 40, 45, 50 every two weeks: 5 more every 14 days reaches 70 on day 84.
    assert projection(READING, [at(14, 45), at(28, 50)]) == pytest.approx(70)
    assert projection(LEAVING, [at(14, 5), at(28, 4)]) == pytest.approx(1)


@pytest.mark.parametrize(
    ("plan", "points"),
    [
        (READING, []),
        (READING_NO_BASELINE, [at(14, 45)]),
        (Plan(Decimal(40), DAY_0, Decimal(60), None), [at(14, 45), at(28, 50)]),
    ],
    ids=["baseline only", "one check-in, no baseline", "no due date"],
)
def test_there_is_no_projection_without_a_line_or_a_due_date(plan, points):
    assert projection(plan, points) is None


# --- Chart ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "plan",
    [
        Plan(None, None, None, None),
        Plan(None, None, Decimal(60), None),
        Plan(Decimal(40), None, Decimal(60), None),
        Plan(None, DAY_0, None, day(84)),
    ],
    ids=["empty plan", "a target but no date", "values but no dates", "dates but no values"],
)
def test_there_is_no_chart_when_there_is_nothing_to_draw(plan):
    assert chart(plan, []) is None


CHARTED = {
    "reading on track": (READING, [at(14, 45), at(28, 50)]),
    "reading at risk": (READING, [at(14, 41), at(28, 42)]),
    "reading scattered": (READING, [at(14, 48), at(28, 44), at(42, 55)]),
    "leaving the group": (LEAVING, [at(14, 5), at(28, 4)]),
    "leaving the group, rising": (LEAVING, [at(14, 7), at(28, 9)]),
    "no baseline, racing ahead": (READING_NO_BASELINE, [at(14, "0.1"), at(28, 100)]),
    "negative values": (Plan(Decimal(-3), DAY_0, Decimal(0), day(70)), [at(14, -2), at(28, "-1.5")]),
    "fractions": (Plan(Decimal("0.2"), DAY_0, Decimal("0.7"), day(70)), [at(14, "0.3")]),
    "thousands": (Plan(Decimal(1500), DAY_0, Decimal(3000), day(70)), [at(14, 1800)]),
    "check-in after the due date": (READING, [at(14, 45), at(100, 58)]),
    "baseline only": (READING, []),
    "flat at zero": (Plan(Decimal(0), DAY_0, Decimal(0), day(70)), [at(14, 0)]),
}


def _inside(chart_, x, y):
    return chart_.plot_left <= x <= chart_.plot_right and TOP <= y <= chart_.plot_bottom


@pytest.mark.parametrize(("plan", "points"), CHARTED.values(), ids=CHARTED.keys())
def test_everything_charted_lies_inside_the_plot_area(plan, points):
    chart_ = chart(plan, points)
    assert chart_.plot_left < chart_.plot_right <= chart_.width
    assert TOP < chart_.plot_bottom <= chart_.height
    assert all(_inside(chart_, point.x, point.y) for point in chart_.points)
    for line in (chart_.aim, chart_.projected):
        if line is not None:
            assert _inside(chart_, line[0], line[1]) and _inside(chart_, line[2], line[3])
    assert TOP <= chart_.target_y <= chart_.plot_bottom


def test_the_chart_draws_the_baseline_and_every_checkin_in_date_order():
    chart_ = chart(READING, [at(28, 50), at(14, 45)])
    assert [point.label for point in chart_.points] == ["1 Sep: 40", "15 Sep: 45", "29 Sep: 50"]
    assert [point.x for point in chart_.points] == sorted(point.x for point in chart_.points)


def test_dates_run_from_the_left_edge_to_the_right_in_proportion_to_the_days_between_them():
    chart_ = chart(READING, [at(21, 45), at(42, 50)])
    width = chart_.plot_right - chart_.plot_left
    # Days 0, 21 and 42 of 84: the left edge, a quarter and half of the way across; the due date at the right edge.
    assert [point.x for point in chart_.points] == [
        chart_.plot_left,
        pytest.approx(chart_.plot_left + width / 4, abs=0.05),
        pytest.approx(chart_.plot_left + width / 2, abs=0.05),
    ]
    assert chart_.aim[2] == chart_.plot_right
    assert [(tick.position, tick.label) for tick in chart_.x_ticks] == [
        (chart_.plot_left, "1 Sep"),
        (chart_.plot_right, "24 Nov"),
    ]


@pytest.mark.parametrize(
    ("plan", "points"),
    [(READING, [at(14, 48), at(28, 44), at(42, 55)]), (LEAVING, [at(14, 5), at(28, 4)])],
    ids=["goes up", "goes down"],
)
def test_a_higher_value_is_drawn_higher(plan, points):
    chart_ = chart(plan, points)
    values = [point.value for point in measured_points(plan, points)]
    by_value = sorted(zip(values, (point.y for point in chart_.points), strict=True))
    ys = [y for _, y in by_value]
    assert ys == sorted(ys, reverse=True)
    assert len(set(ys)) == len(set(values))


@pytest.mark.parametrize(("plan", "rises"), [(READING, True), (LEAVING, False)], ids=["goes up", "goes down"])
def test_the_aim_line_runs_from_the_baseline_to_the_target_at_the_due_date(plan, rises):
    chart_ = chart(plan, [at(14, 45 if rises else 5)])
    baseline = chart_.points[0]
    assert chart_.aim == (baseline.x, baseline.y, chart_.plot_right, chart_.target_y)
    assert (chart_.aim[3] < chart_.aim[1]) is rises  # up the chart is a smaller y


def test_the_aim_line_of_a_target_equal_to_the_baseline_is_level():
    chart_ = chart(Plan(Decimal(5), DAY_0, Decimal(5), day(84)), [])
    assert chart_.aim[1] == chart_.aim[3] == chart_.target_y


def test_the_aim_line_starts_at_the_first_checkin_when_the_baseline_has_no_date():
    chart_ = chart(Plan(Decimal(40), None, Decimal(60), day(84)), [at(14, 45), at(28, 50)])
    assert chart_.aim[0] == chart_.points[0].x == chart_.plot_left
    assert chart_.aim[2] == chart_.plot_right


def test_there_is_no_aim_line_without_a_baseline():
    chart_ = chart(READING_NO_BASELINE, [at(14, 45), at(28, 50)])
    assert chart_.aim is None
    assert chart_.target_y is not None


@pytest.mark.parametrize(
    ("plan", "points"),
    [(READING, [at(14, 45), at(28, 50)]), (LEAVING, [at(14, 5), at(28, 4)])],
    ids=["goes up", "goes down"],
)
def test_the_projected_line_starts_at_the_last_point_and_ends_at_the_due_date(plan, points):
    # The check-ins fall on a straight line, so the trend passes through the last one.
    chart_ = chart(plan, points)
    last = chart_.points[-1]
    assert chart_.projected[:2] == (last.x, last.y)
    assert chart_.projected[2] == chart_.plot_right == chart_.aim[2]


def test_the_projected_line_of_scattered_checkins_starts_above_the_last_date_on_the_trend():
    chart_ = chart(READING, [at(14, 48), at(28, 44), at(42, 55)])
    assert chart_.projected[0] == chart_.points[-1].x
    assert chart_.projected[2] == chart_.plot_right


def test_a_projection_that_lands_on_the_target_ends_on_the_target_line():
    chart_ = chart(LEAVING, [at(14, 5), at(28, 4)])
    assert chart_.projected[3] == pytest.approx(chart_.target_y, abs=0.1)


@pytest.mark.parametrize(
    ("plan", "points"),
    [
        (READING, []),
        (READING_NO_BASELINE, [at(14, 45)]),
        (READING, [at(14, 45), at(84, 58)]),
        (READING, [at(14, 45), at(100, 58)]),
    ],
    ids=["baseline only", "one point", "last check-in on the due date", "last check-in after the due date"],
)
def test_there_is_no_projected_line_without_a_trend_or_days_left_to_carry_it(plan, points):
    assert chart(plan, points).projected is None


def _tick_values(chart_):
    return [Decimal(tick.label.replace(",", "")) for tick in chart_.y_ticks]


@pytest.mark.parametrize(("plan", "points"), CHARTED.values(), ids=CHARTED.keys())
def test_the_y_ticks_are_round_numbers_rising_up_the_chart(plan, points):
    chart_ = chart(plan, points)
    values = _tick_values(chart_)
    steps = {b - a for a, b in itertools.pairwise(values)}
    assert len(values) >= 2
    assert len(steps) == 1
    step = steps.pop()
    assert step > 0
    mantissa = step.scaleb(-math.floor(math.log10(step))).normalize()
    assert mantissa in {1, 2, 5}
    assert all(value % step == 0 for value in values)
    positions = [tick.position for tick in chart_.y_ticks]
    assert positions == sorted(positions, reverse=True)
    assert positions[0] == chart_.plot_bottom
    assert positions[-1] == TOP


@pytest.mark.parametrize(
    ("plan", "points", "labels"),
    [
        (READING, [at(14, 45), at(28, 50)], ["0", "20", "40", "60", "80"]),
        (Plan(Decimal("0.2"), DAY_0, Decimal("0.7"), day(70)), [at(14, "0.3")], ["0", "0.2", "0.4", "0.6", "0.8"]),
        (Plan(Decimal(-3), DAY_0, Decimal(0), day(70)), [at(14, -2)], ["-3", "-2", "-1", "0", "1", "2", "3"]),
        (Plan(Decimal(0), DAY_0, Decimal(0), day(70)), [], ["0", "1"]),
    ],
    ids=["words a minute", "fractions", "below zero", "nothing but zero"],
)
def test_the_y_tick_labels_read_as_plain_numbers(plan, points, labels):
    assert [tick.label for tick in chart(plan, points).y_ticks] == labels


def test_a_tick_sits_at_the_height_of_its_value():
    chart_ = chart(READING, [at(14, 45), at(28, 50)])
    ticks = {tick.label: tick.position for tick in chart_.y_ticks}
    assert chart_.points[0].y == ticks["40"]
    assert chart_.target_y == ticks["60"]


def test_a_point_is_labelled_with_its_date_and_value():
    chart_ = chart(READING, [Point(day(14), Decimal("45.50")), at(28, 100)])
    assert [point.label for point in chart_.points] == ["1 Sep: 40", "15 Sep: 45.5", "29 Sep: 100"]


def test_checkins_from_home_are_flagged_on_the_chart():
    chart_ = chart(READING, [at(14, 45), at(28, 50, home=True), at(42, 52)])
    assert [point.from_home for point in chart_.points] == [False, False, True, False]
    unflagged = chart(READING, [at(14, 45), at(28, 50)])
    assert not any(point.from_home for point in unflagged.points)


def test_the_home_flags_follow_their_checkins_whatever_the_order_given():
    chart_ = chart(READING, [at(42, 52, home=True), at(14, 45), at(28, 50, home=True)])
    assert [point.from_home for point in chart_.points] == [False, False, True, True]


def test_the_baseline_is_never_flagged_from_home_even_on_the_day_of_a_home_checkin():
    chart_ = chart(READING, [at(0, 41, home=True), at(14, 45)])
    assert [(point.label, point.from_home) for point in chart_.points] == [
        ("1 Sep: 40", False),
        ("1 Sep: 41", True),
        ("15 Sep: 45", False),
    ]


def test_the_first_checkin_of_a_goal_without_a_baseline_can_be_from_home():
    chart_ = chart(READING_NO_BASELINE, [at(14, 45, home=True), at(28, 50)])
    assert [point.from_home for point in chart_.points] == [True, False]


def test_a_school_and_a_home_checkin_on_the_same_day_are_told_apart():
    chart_ = chart(READING, [at(14, 45), at(14, 46, home=True)])
    assert sorted((point.label, point.from_home) for point in chart_.points[1:]) == [
        ("15 Sep: 45", False),
        ("15 Sep: 46", True),
    ]
