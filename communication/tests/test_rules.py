"""The rules of Keep in touch as pure functions, at their edges: no database."""

import datetime

import pytest

from communication.models import Tone
from communication.selectors import Ratio, positive_first_applies
from communication.today import Reason, TodayRow, is_due_for_contact, reason_to_reach
from roster.models import School, Student

TODAY = datetime.date(2026, 11, 25)
YESTERDAY = TODAY - datetime.timedelta(days=1)
TOMORROW = TODAY + datetime.timedelta(days=1)


def ago(days: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=days)


# --- Cadence -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("days_since", "due"), [(20, False), (21, True), (90, True), (None, True)])
def test_a_family_is_due_from_the_cadence_day_on(days_since, due):
    last = None if days_since is None else ago(days_since)
    assert is_due_for_contact(last_contact_on=last, today=TODAY, cadence_days=21) is due


# --- Why a family is on the Today list ---------------------------------------------------------------------------

UP_TO_DATE = {
    "today": TODAY,
    "cadence_days": 21,
    "has_contactable_family": True,
    "follow_up_due_on": None,
    "last_contact_on": ago(5),
    "positives_this_term": 1,
}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({}, Reason.UP_TO_DATE),
        ({"follow_up_due_on": TODAY}, Reason.FOLLOW_UP_DUE),
        ({"last_contact_on": None, "positives_this_term": 0}, Reason.NOT_CONTACTED_THIS_TERM),
        ({"last_contact_on": ago(21)}, Reason.PAST_CADENCE),
        ({"positives_this_term": 0}, Reason.NO_POSITIVE_YET),
        ({"has_contactable_family": False}, Reason.NO_CONTACTABLE_FAMILY),
    ],
    ids=lambda value: value.name if isinstance(value, Reason) else None,
)
def test_each_reason_to_reach_a_family_is_given_for_its_own_case(change, reason):
    assert reason_to_reach(**{**UP_TO_DATE, **change}) is reason


def test_a_follow_up_due_beats_a_family_not_contacted_this_term():
    assert (
        reason_to_reach(**{**UP_TO_DATE, "follow_up_due_on": YESTERDAY, "last_contact_on": None})
        is Reason.FOLLOW_UP_DUE
    )


def test_a_follow_up_due_beats_a_family_past_the_cadence():
    assert (
        reason_to_reach(**{**UP_TO_DATE, "follow_up_due_on": TODAY, "last_contact_on": ago(40)}) is Reason.FOLLOW_UP_DUE
    )


def test_a_follow_up_due_tomorrow_is_not_due_today():
    assert (
        reason_to_reach(**{**UP_TO_DATE, "follow_up_due_on": TOMORROW, "last_contact_on": None})
        is Reason.NOT_CONTACTED_THIS_TERM
    )


def test_a_family_past_the_cadence_comes_before_one_without_good_news():
    assert (
        reason_to_reach(**{**UP_TO_DATE, "last_contact_on": ago(21), "positives_this_term": 0}) is Reason.PAST_CADENCE
    )


def test_a_family_contacted_the_day_before_the_cadence_day_is_not_past_it():
    assert reason_to_reach(**{**UP_TO_DATE, "last_contact_on": ago(20)}) is Reason.UP_TO_DATE


def test_no_contactable_family_wins_over_every_other_reason():
    everything_due = {
        **UP_TO_DATE,
        "has_contactable_family": False,
        "follow_up_due_on": ago(3),
        "last_contact_on": None,
        "positives_this_term": 0,
    }
    assert reason_to_reach(**everything_due) is Reason.NO_CONTACTABLE_FAMILY


def test_a_family_last_reached_in_an_earlier_term_is_not_contacted_this_term():
    # The caller passes this term's last contact only: one from June is None here.
    assert (
        reason_to_reach(**{**UP_TO_DATE, "last_contact_on": None, "positives_this_term": 0})
        is Reason.NOT_CONTACTED_THIS_TERM
    )


def test_the_reasons_are_numbered_most_urgent_first():
    assert sorted(Reason) == [
        Reason.FOLLOW_UP_DUE,
        Reason.NOT_CONTACTED_THIS_TERM,
        Reason.PAST_CADENCE,
        Reason.NO_POSITIVE_YET,
        Reason.UP_TO_DATE,
        Reason.NO_CONTACTABLE_FAMILY,
    ]


# --- Positive first ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tone", "positives", "applies"),
    [
        (Tone.CONCERN, 0, True),
        (Tone.CONCERN, 1, False),
        (Tone.POSITIVE, 0, False),
        (Tone.NEUTRAL, 0, False),
    ],
)
def test_only_a_concern_to_a_family_without_good_news_this_term_is_questioned(tone, positives, applies):
    assert positive_first_applies(tone=tone, positives_this_term=positives) is applies


# --- Ratio -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("positives", "meets"), [(3, False), (4, True), (5, True)])
def test_a_ratio_meets_a_4_to_1_target_from_exactly_4_to_1(positives, meets):
    assert Ratio(positives=positives, concerns=1, target=4).meets_target is meets


@pytest.mark.parametrize(
    ("positives", "concerns", "needed"),
    [(0, 1, 4), (3, 1, 1), (4, 1, 0), (9, 2, 0), (1, 3, 11), (7, 0, 0)],
)
def test_positives_needed_is_how_far_the_ratio_is_from_the_target(positives, concerns, needed):
    assert Ratio(positives=positives, concerns=concerns, target=4).positives_needed == needed


def test_a_ratio_without_concerns_meets_the_target():
    ratio = Ratio(positives=0, concerns=0, target=4)
    assert ratio.meets_target
    assert ratio.positives_needed == 0


@pytest.mark.parametrize(("positives", "concerns", "has"), [(0, 0, False), (1, 0, True), (0, 1, True)])
def test_a_ratio_has_contacts_once_there_is_a_positive_or_a_concern(positives, concerns, has):
    assert Ratio(positives=positives, concerns=concerns, target=4).has_contacts is has


# --- Today's order within a reason -------------------------------------------------------------------------------

SCHOOL = School(time_zone="America/New_York", contact_cadence_days=21, positive_ratio_target=4)


def make_row(
    reason: Reason,
    last_name: str,
    *,
    last_contact_on: datetime.date | None = None,
    follow_up_on: datetime.date | None = None,
    pk: int = 1,
) -> TodayRow:
    return TodayRow(
        student=Student(pk=pk, first_name="Kid", last_name=last_name, school=SCHOOL),
        reason=reason,
        today=TODAY,
        ratio=Ratio(positives=1 if last_contact_on else 0, concerns=0, target=4),
        last_contact_on=last_contact_on,
        follow_up_on=follow_up_on,
    )


def order(rows: list[TodayRow]) -> list[str]:
    return [row.student.last_name for row in sorted(rows, key=TodayRow.sort_key)]


def test_rows_are_ordered_by_reason_before_anything_else():
    rows = [
        make_row(Reason.NO_CONTACTABLE_FAMILY, "Able"),
        make_row(Reason.UP_TO_DATE, "Baker", last_contact_on=ago(60)),
        make_row(Reason.NO_POSITIVE_YET, "Cole", last_contact_on=ago(50)),
        make_row(Reason.PAST_CADENCE, "Dunn", last_contact_on=ago(22)),
        make_row(Reason.NOT_CONTACTED_THIS_TERM, "Ezra"),
        make_row(Reason.FOLLOW_UP_DUE, "Fox", follow_up_on=TODAY, last_contact_on=ago(1)),
    ]
    assert order(rows) == ["Fox", "Ezra", "Dunn", "Cole", "Baker", "Able"]


def test_the_oldest_follow_up_comes_first():
    rows = [
        make_row(Reason.FOLLOW_UP_DUE, "Able", follow_up_on=TODAY, last_contact_on=ago(30)),
        make_row(Reason.FOLLOW_UP_DUE, "Baker", follow_up_on=ago(6), last_contact_on=ago(1)),
        make_row(Reason.FOLLOW_UP_DUE, "Cole", follow_up_on=ago(2), last_contact_on=ago(10)),
    ]
    assert order(rows) == ["Baker", "Cole", "Able"]


@pytest.mark.parametrize("reason", [Reason.PAST_CADENCE, Reason.NO_POSITIVE_YET, Reason.UP_TO_DATE])
def test_the_family_that_has_waited_longest_comes_first(reason):
    rows = [
        make_row(reason, "Able", last_contact_on=ago(3)),
        make_row(reason, "Baker", last_contact_on=ago(40)),
        make_row(reason, "Cole", last_contact_on=ago(25)),
    ]
    assert order(rows) == ["Baker", "Cole", "Able"]


def test_families_not_contacted_this_term_are_ordered_by_name():
    rows = [
        make_row(Reason.NOT_CONTACTED_THIS_TERM, "Cole", pk=1),
        make_row(Reason.NOT_CONTACTED_THIS_TERM, "Able", pk=2),
        make_row(Reason.NOT_CONTACTED_THIS_TERM, "Baker", pk=3),
    ]
    assert order(rows) == ["Able", "Baker", "Cole"]
