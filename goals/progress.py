"""Where a goal stands, from its check-ins: the trend, the projection to the due date, the status, and the chart.

The status rule:
- **met** when the latest measured check-in has reached the target (at or above it for a goal that goes up, at
  or below it for one that goes down, like "times a week leaving the group"; without a baseline, the first
  check-in says where the child started);
- **not met** when the due date has passed without that;
- **not measured yet** when no check-in has a value (a note alone does not move the line), or the goal has no
  target to measure against;
- otherwise, the trend decides: a least-squares line through the baseline and every measured check-in,
  carried on to the due date. **On track** when it reaches the target by then, **at risk** when it does not.

All of it is plain arithmetic on values, so it is the same on the teacher's page, the family's and the class
overview, and is tested without a database."""

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    NOT_MEASURED = "not_measured", _("Not measured yet")
    ON_TRACK = "on_track", _("On track")
    AT_RISK = "at_risk", _("At risk")
    MET = "met", _("Met")
    NOT_MET = "not_met", _("Not met")


@dataclass(frozen=True)
class Point:
    on: datetime.date
    value: Decimal
    from_home: bool = False  # told by the family, drawn apart on the chart


@dataclass(frozen=True)
class Line:
    """value = intercept + slope * days since `origin`."""

    origin: datetime.date
    intercept: float
    slope: float  # per day

    def at(self, on: datetime.date) -> float:
        return self.intercept + self.slope * (on - self.origin).days


@dataclass(frozen=True)
class Plan:
    """What the goal says: where it starts, where it ends, and by when."""

    baseline: Decimal | None
    baseline_on: datetime.date | None
    target: Decimal | None
    due_on: datetime.date | None

    @property
    def goes_down(self) -> bool:
        """A goal whose target is below its baseline: fewer is better."""
        return self.baseline is not None and self.target is not None and self.target < self.baseline

    def reached(self, value: float | Decimal) -> bool:
        if self.target is None:
            return False
        return value <= self.target if self.goes_down else value >= self.target


def measured_points(plan: Plan, measured: Sequence[Point]) -> list[Point]:
    """The baseline, when there is one, and the measured check-ins, in date order (the baseline first on its
    day)."""
    points = list(measured)
    if plan.baseline is not None and plan.baseline_on is not None:
        points.insert(0, Point(plan.baseline_on, plan.baseline))
    return sorted(points, key=lambda point: point.on)


def trend(points: Sequence[Point]) -> Line | None:
    """The least-squares line through the points; None with fewer than two points or all on one day."""
    if len(points) < 2:
        return None
    origin = points[0].on
    xs = [float((point.on - origin).days) for point in points]
    ys = [float(point.value) for point in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return Line(origin, mean_y - slope * mean_x, slope)


def projection(plan: Plan, measured: Sequence[Point]) -> float | None:
    """Where the trend puts the child on the due date."""
    line = trend(measured_points(plan, measured))
    if line is None or plan.due_on is None:
        return None
    return line.at(plan.due_on)


def status(plan: Plan, measured: Sequence[Point], today: datetime.date) -> str:
    if plan.target is None:
        return Status.NOT_MEASURED  # nothing to measure against
    first = min(measured, key=lambda point: point.on, default=None)
    if plan.baseline is None and first is not None:
        # Without a baseline the first measure says where the child started, and so which way is better.
        plan = Plan(first.value, first.on, plan.target, plan.due_on)
    latest = max(measured, key=lambda point: point.on, default=None)
    if latest is not None and plan.reached(latest.value):
        return Status.MET
    if plan.due_on is not None and today > plan.due_on:
        return Status.NOT_MET
    if latest is None:
        return Status.NOT_MEASURED
    projected = projection(plan, measured)
    if projected is None:
        # One measure and no baseline to draw a line from: nothing says it is slipping yet.
        return Status.ON_TRACK
    return Status.ON_TRACK if plan.reached(round(Decimal(projected), 2)) else Status.AT_RISK


# --- The chart ----------------------------------------------------------------------------------------------------

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 44


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    label: str  # for the point's <title>: date and value
    from_home: bool = False


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    points: list[ChartPoint] = field(default_factory=list)
    aim: tuple[float, float, float, float] | None = None  # baseline to target: x1, y1, x2, y2
    projected: tuple[float, float, float, float] | None = None  # last check-in to the due date, on the trend
    target_y: float | None = None
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_bottom: int = HEIGHT - BOTTOM


def _label(value: float) -> str:
    """A tick's number in the reader's format: "20", "2.5" (or "2,5")."""
    return number_format(round(value)) if abs(value - round(value)) < 1e-9 else number_format(round(value, 2))


def _nice_step(span: float) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about five ticks."""
    raw = span / 5 if span > 0 else 1
    power = 10 ** math.floor(math.log10(raw))
    return next(multiple * power for multiple in (1, 2, 5, 10) if raw <= multiple * power)


def chart(plan: Plan, measured: Sequence[Point]) -> Chart | None:
    """The goal's chart in SVG coordinates: the measured check-ins, the aim line from baseline to target, and the
    trend carried on to the due date. None when there is nothing to draw."""
    points = measured_points(plan, measured)
    dates = [point.on for point in points] + [d for d in (plan.baseline_on, plan.due_on) if d is not None]
    values = [float(point.value) for point in points] + [
        float(v) for v in (plan.baseline, plan.target) if v is not None
    ]
    if not dates or not values:
        return None
    projected = projection(plan, measured)
    if projected is not None:
        values.append(projected)
    first, last = min(dates), max(dates)
    days = max((last - first).days, 1)
    low, high = min([*values, 0.0]), max(values)
    step = _nice_step(high - low)
    low, high = step * (low // step), step * (high // step + 1)
    chart_ = Chart()

    def x(on: datetime.date) -> float:
        return round(LEFT + (chart_.plot_right - LEFT) * (on - first).days / days, 1)

    def y(value: float) -> float:
        return round(chart_.plot_bottom - (chart_.plot_bottom - TOP) * (value - low) / (high - low), 1)

    chart_.points = [
        ChartPoint(
            x(point.on),
            y(float(point.value)),
            f"{date_format(point.on, 'j M')}: {number_format(point.value.normalize())}",
            point.from_home,
        )
        for point in points
    ]
    if plan.baseline is not None and plan.target is not None and plan.due_on is not None:
        start = plan.baseline_on or first
        chart_.aim = (x(start), y(float(plan.baseline)), x(plan.due_on), y(float(plan.target)))
    if plan.target is not None:
        chart_.target_y = y(float(plan.target))
    line = trend(points)
    if line is not None and plan.due_on is not None and points[-1].on < plan.due_on:
        last_on = points[-1].on
        chart_.projected = (x(last_on), y(line.at(last_on)), x(plan.due_on), y(line.at(plan.due_on)))
    tick = low
    while tick <= high + step / 2:
        chart_.y_ticks.append(Tick(y(tick), _label(tick)))
        tick += step
    chart_.x_ticks = [Tick(x(on), date_format(on, "j M")) for on in sorted({first, last})]
    return chart_
