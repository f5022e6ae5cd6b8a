"""Homeroom's own examples of good goals, by area and grade band, and home activities, in every language the
portal speaks. A teacher starts from one and makes it the child's own."""

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Band:
    EARLY = "k-2"
    ELEMENTARY = "3-5"
    MIDDLE = "6-8"
    HIGH = "9-12"

    LABELS: ClassVar[dict[str, Promise]] = {
        EARLY: _("Kindergarten to grade 2"),
        ELEMENTARY: _("Grades 3 to 5"),
        MIDDLE: _("Grades 6 to 8"),
        HIGH: _("Grades 9 to 12"),
    }


def band_of(grade_level: int | None) -> str:
    """The grade band of the examples; a grade the SIS did not give shows the early band first."""
    if grade_level is None or grade_level <= 2:
        return Band.EARLY
    if grade_level <= 5:
        return Band.ELEMENTARY
    return Band.MIDDLE if grade_level <= 8 else Band.HIGH


class Area(models.TextChoices):
    READING = "reading", _("Reading")
    MATH = "math", _("Math")
    WRITING = "writing", _("Writing")
    BEHAVIOR = "behavior", _("Behavior")
    ATTENDANCE = "attendance", _("Attendance")
    SOCIAL_EMOTIONAL = "social_emotional", _("Social and emotional")
    WORK_HABITS = "work_habits", _("Work habits")
    OTHER = "other", _("Other")


@dataclass(frozen=True)
class HomeActivityIdea:
    key: str
    text: Promise


HOME_ACTIVITIES = {
    idea.key: idea
    for idea in (
        HomeActivityIdea(
            "read_together",
            _(
                "Read together for 15 minutes. Then ask: Who was in the story? What happened first? "
                "What do you think happens next?"
            ),
        ),
        HomeActivityIdea(
            "read_aloud_timed",
            _("Listen to your child read one page aloud for one minute. Count the words read correctly together."),
        ),
        HomeActivityIdea(
            "math_facts_game",
            _("Play a 5-minute number game: take turns saying a math fact and its answer; the winner picks the next."),
        ),
        HomeActivityIdea(
            "math_in_the_kitchen",
            _("Cook or shop together and let your child measure, count or work out the change."),
        ),
        HomeActivityIdea(
            "write_a_note",
            _("Ask your child to write you a short note or a shopping list; write one back."),
        ),
        HomeActivityIdea(
            "homework_spot",
            _("Agree on one quiet time and place for homework, and check the planner together each evening."),
        ),
        HomeActivityIdea(
            "bedtime_routine",
            _("Keep the same bedtime on school nights and lay out clothes and the backpack the night before."),
        ),
        HomeActivityIdea(
            "talk_about_feelings",
            _("At dinner, each person names one feeling from the day and what helped with it."),
        ),
        HomeActivityIdea(
            "praise_the_effort",
            _("Notice one time today your child kept going when it was hard, and tell them what you saw."),
        ),
    )
}


@dataclass(frozen=True)
class Example:
    key: str
    area: str
    band: str
    statement: Promise  # may name the child: %(name)s
    measure: Promise
    unit: Promise | str
    baseline: Decimal
    target: Decimal
    weeks: int
    checkin_every_days: int
    school_strategies: Promise
    home_strategies: Promise
    activities: tuple[str, ...]
    families_may_measure: bool = False

    def statement_for(self, name: str) -> str:
        return str(self.statement) % {"name": name}

    @property
    def band_label(self) -> str:
        return str(Band.LABELS[self.band])

    @property
    def area_label(self) -> str:
        return str(Area(self.area).label)


EXAMPLES = {
    example.key: example
    for example in (
        Example(
            key="reading_fluency_early",
            area=Area.READING,
            band=Band.EARLY,
            statement=_("%(name)s will read a grade-level passage aloud at 60 words correct per minute."),
            measure=_("Words read correctly in one minute, on a grade-level passage"),
            unit=pgettext_lazy("unit", "words per minute"),
            baseline=Decimal(35),
            target=Decimal(60),
            weeks=12,
            checkin_every_days=14,
            school_strategies=_("Daily partner reading and a weekly one-minute reading check with the teacher."),
            home_strategies=_("Read together for 15 minutes, five evenings a week."),
            activities=("read_together", "read_aloud_timed"),
        ),
        Example(
            key="reading_fluency_elementary",
            area=Area.READING,
            band=Band.ELEMENTARY,
            statement=_("%(name)s will read a grade-level passage aloud at 110 words correct per minute."),
            measure=_("Words read correctly in one minute, on a grade-level passage"),
            unit=pgettext_lazy("unit", "words per minute"),
            baseline=Decimal(80),
            target=Decimal(110),
            weeks=12,
            checkin_every_days=14,
            school_strategies=_("Repeated reading of short passages, three times a week, in a small group."),
            home_strategies=_("Listen to one page read aloud each evening and talk about it."),
            activities=("read_together", "read_aloud_timed"),
        ),
        Example(
            key="reading_minutes_middle",
            area=Area.READING,
            band=Band.MIDDLE,
            statement=_("%(name)s will read a chosen book for 20 minutes at least five days a week."),
            measure=_("Days a week with 20 minutes of reading"),
            unit=pgettext_lazy("unit", "days a week"),
            baseline=Decimal(2),
            target=Decimal(5),
            weeks=8,
            checkin_every_days=7,
            school_strategies=_("Help choose books that match the student's interests; a weekly reading log check."),
            home_strategies=_("A quiet 20 minutes for reading each day; ask what the book is about."),
            activities=("read_together",),
            families_may_measure=True,
        ),
        Example(
            key="math_facts_elementary",
            area=Area.MATH,
            band=Band.ELEMENTARY,
            statement=_("%(name)s will answer 40 multiplication facts correctly in two minutes."),
            measure=_("Multiplication facts correct in two minutes"),
            unit=pgettext_lazy("unit", "facts"),
            baseline=Decimal(15),
            target=Decimal(40),
            weeks=10,
            checkin_every_days=14,
            school_strategies=_("Five minutes of fact practice each day and a fact check every two weeks."),
            home_strategies=_("Play a number game for five minutes, three evenings a week."),
            activities=("math_facts_game", "math_in_the_kitchen"),
        ),
        Example(
            key="math_counting_early",
            area=Area.MATH,
            band=Band.EARLY,
            statement=_("%(name)s will count objects to 50 without a mistake."),
            measure=_("Highest number counted to without a mistake"),
            unit=pgettext_lazy("unit", "objects"),
            baseline=Decimal(20),
            target=Decimal(50),
            weeks=12,
            checkin_every_days=14,
            school_strategies=_("Counting games in the math center every day."),
            home_strategies=_("Count things together at home and at the store."),
            activities=("math_in_the_kitchen",),
            families_may_measure=True,
        ),
        Example(
            key="math_homework_high",
            area=Area.MATH,
            band=Band.HIGH,
            statement=_("%(name)s will score at least 75%% on the weekly algebra quiz."),
            measure=_("Score on the weekly algebra quiz"),
            unit="%",
            baseline=Decimal(55),
            target=Decimal(75),
            weeks=10,
            checkin_every_days=14,
            school_strategies=_("Office hours on Tuesdays and a quiz review the day before."),
            home_strategies=_("Ask to see the quiz each Friday and talk about one thing that went well."),
            activities=("homework_spot",),
        ),
        Example(
            key="writing_sentences_early",
            area=Area.WRITING,
            band=Band.EARLY,
            statement=_("%(name)s will write three complete sentences about a picture, with capitals and periods."),
            measure=_("Complete sentences written about a picture"),
            unit=pgettext_lazy("unit", "sentences"),
            baseline=Decimal(1),
            target=Decimal(3),
            weeks=10,
            checkin_every_days=14,
            school_strategies=_("A sentence starter card and daily journal time."),
            home_strategies=_("Ask your child to write you a short note; write one back."),
            activities=("write_a_note",),
        ),
        Example(
            key="writing_paragraph_middle",
            area=Area.WRITING,
            band=Band.MIDDLE,
            statement=_("%(name)s will write a paragraph with a topic sentence and three supporting details."),
            measure=_("Paragraph checklist points met (out of 5)"),
            unit=pgettext_lazy("unit", "points"),
            baseline=Decimal(2),
            target=Decimal(5),
            weeks=10,
            checkin_every_days=14,
            school_strategies=_("A paragraph checklist and feedback on one paragraph a week."),
            home_strategies=_("Ask your child to read you a paragraph and say what its main idea is."),
            activities=("write_a_note",),
        ),
        Example(
            key="behavior_calm_early",
            area=Area.BEHAVIOR,
            band=Band.EARLY,
            statement=_("%(name)s will use the calm corner or ask for a break instead of leaving the group."),
            measure=_("Times a week leaving the group without asking"),
            unit=pgettext_lazy("unit", "times a week"),
            baseline=Decimal(6),
            target=Decimal(1),
            weeks=8,
            checkin_every_days=7,
            school_strategies=_("Teach and practice the break signal; praise each time it is used."),
            home_strategies=_("Practice naming feelings and taking a calm breath together."),
            activities=("talk_about_feelings", "praise_the_effort"),
        ),
        Example(
            key="behavior_on_task_elementary",
            area=Area.BEHAVIOR,
            band=Band.ELEMENTARY,
            statement=_("%(name)s will stay on task during independent work for 15 minutes."),
            measure=_("Minutes on task during independent work"),
            unit=pgettext_lazy("unit", "minutes"),
            baseline=Decimal(5),
            target=Decimal(15),
            weeks=8,
            checkin_every_days=7,
            school_strategies=_("A short checklist on the desk and a check-in after each work block."),
            home_strategies=_("Praise the effort when homework is finished without reminders."),
            activities=("praise_the_effort", "homework_spot"),
        ),
        Example(
            key="attendance_on_time",
            area=Area.ATTENDANCE,
            band=Band.MIDDLE,
            statement=_("%(name)s will arrive on time at least 9 school days out of 10."),
            measure=_("School days on time, out of the last 10"),
            unit=pgettext_lazy("unit", "days out of 10"),
            baseline=Decimal(6),
            target=Decimal(9),
            weeks=6,
            checkin_every_days=14,
            school_strategies=_("A warm welcome at the door and a first job in the morning."),
            home_strategies=_("The same bedtime on school nights and the backpack ready the night before."),
            activities=("bedtime_routine",),
            families_may_measure=True,
        ),
        Example(
            key="social_emotional_friends",
            area=Area.SOCIAL_EMOTIONAL,
            band=Band.ELEMENTARY,
            statement=_("%(name)s will join a game or group activity at recess on at least 4 days a week."),
            measure=_("Days a week joining a game at recess"),
            unit=pgettext_lazy("unit", "days a week"),
            baseline=Decimal(1),
            target=Decimal(4),
            weeks=8,
            checkin_every_days=7,
            school_strategies=_("A recess buddy and a short practice of how to ask to join in."),
            home_strategies=_("Talk each evening about who they played with and what was fun."),
            activities=("talk_about_feelings",),
        ),
        Example(
            key="work_habits_homework",
            area=Area.WORK_HABITS,
            band=Band.HIGH,
            statement=_("%(name)s will turn in at least 90%% of homework on time."),
            measure=_("Homework turned in on time"),
            unit="%",
            baseline=Decimal(60),
            target=Decimal(90),
            weeks=10,
            checkin_every_days=14,
            school_strategies=_("A weekly planner check and a reminder on the class page."),
            home_strategies=_("One quiet time and place for homework, and a look at the planner together."),
            activities=("homework_spot",),
        ),
        Example(
            key="work_habits_planner_middle",
            area=Area.WORK_HABITS,
            band=Band.MIDDLE,
            statement=_("%(name)s will write every assignment in the planner on at least 4 days a week."),
            measure=_("Days a week with a complete planner"),
            unit=pgettext_lazy("unit", "days a week"),
            baseline=Decimal(1),
            target=Decimal(4),
            weeks=8,
            checkin_every_days=7,
            school_strategies=_("Two minutes at the end of class to fill in the planner, checked by the teacher."),
            home_strategies=_("Look at the planner together each evening."),
            activities=("homework_spot",),
            families_may_measure=True,
        ),
    )
}


def examples_for(grade_level: int | None) -> list[Example]:
    """The examples of the child's grade band first, then the others: a teacher may need any of them."""
    band = band_of(grade_level)
    return sorted(EXAMPLES.values(), key=lambda example: (example.band != band, example.area, example.key))
