"""Working-day deadlines on the official calendar: holidays, make-up days, and the estimate beyond 2026."""
from datetime import date, datetime, timedelta

import chinese_calendar
import pytest

from core.clock import shanghai_date
from events.workdays import add_working_days, calendar_is_official, calendar_note, is_working_day, nth_working_day_after
from tests.support.participation import utc

# (request day, working days, expected deadline day) — written by hand from the State Council notices.
HAND_WRITTEN = [
    # 2024 春节: 2/10–2/17 off; make-up working days Sun 2/4 and Sun 2/18.
    (date(2024, 2, 9), 1, date(2024, 2, 18)),
    (date(2024, 2, 3), 1, date(2024, 2, 4)),
    (date(2024, 2, 3), 5, date(2024, 2, 8)),
    (date(2024, 2, 8), 2, date(2024, 2, 18)),
    (date(2024, 2, 7), 5, date(2024, 2, 20)),   # 2/8, 2/9, 2/18, 2/19, 2/20
    # 2024 国庆: 10/1–10/7 off; make-up Sun 9/29 and Sat 10/12.
    (date(2024, 9, 27), 1, date(2024, 9, 29)),
    (date(2024, 9, 29), 1, date(2024, 9, 30)),
    (date(2024, 9, 30), 1, date(2024, 10, 8)),
    (date(2024, 9, 30), 5, date(2024, 10, 12)),
    # 2025 春节: 1/28–2/4 off; make-up Sun 1/26 and Sat 2/8.
    (date(2025, 1, 24), 1, date(2025, 1, 26)),
    (date(2025, 1, 27), 1, date(2025, 2, 5)),
    (date(2025, 2, 5), 3, date(2025, 2, 8)),
    # 2025 国庆+中秋: 10/1–10/8 off; make-up Sun 9/28 and Sat 10/11.
    (date(2025, 9, 26), 1, date(2025, 9, 28)),
    (date(2025, 9, 30), 1, date(2025, 10, 9)),
    (date(2025, 10, 9), 2, date(2025, 10, 11)),
    # 2026 元旦: 1/1–1/3 off; make-up Sun 1/4.
    (date(2025, 12, 31), 1, date(2026, 1, 4)),
    # 2026 春节: 2/15–2/23 off; make-up Sat 2/14 and Sat 2/28.
    (date(2026, 2, 13), 1, date(2026, 2, 14)),
    (date(2026, 2, 14), 1, date(2026, 2, 24)),
    (date(2026, 2, 24), 4, date(2026, 2, 28)),
    # 2026 劳动节: 5/1–5/5 off; make-up Sat 5/9.
    (date(2026, 4, 30), 4, date(2026, 5, 9)),
    # 2026 国庆: 10/1–10/7 off; make-up Sun 9/20 and Sat 10/10.
    (date(2026, 9, 18), 1, date(2026, 9, 20)),
    (date(2026, 9, 30), 1, date(2026, 10, 8)),
    (date(2026, 10, 8), 2, date(2026, 10, 10)),
]


def _by_the_library(day: date, days: int) -> date:
    """The same count done directly on chinese_calendar, as a second opinion."""
    cursor, left = day, days
    while left:
        cursor += timedelta(days=1)
        if chinese_calendar.is_workday(cursor):
            left -= 1
    return cursor


@pytest.mark.parametrize(("day", "days", "expected"), HAND_WRITTEN)
def test_deadline_day_matches_hand_written_and_chinese_calendar(day, days, expected):
    assert nth_working_day_after(day, days) == expected
    assert _by_the_library(day, days) == expected


@pytest.mark.parametrize(("day", "working"), [
    (date(2024, 2, 4), True), (date(2024, 2, 18), True), (date(2024, 2, 12), False), (date(2024, 10, 12), True),
    (date(2024, 10, 7), False), (date(2025, 2, 8), True), (date(2025, 10, 8), False), (date(2026, 2, 28), True),
    (date(2026, 2, 23), False), (date(2026, 9, 20), True),
])
def test_make_up_days_work_and_holidays_do_not(day, working):
    assert is_working_day(day) is working
    assert chinese_calendar.is_workday(day) is working


def test_deadline_is_end_of_day_in_shanghai_as_utc():
    # Fri 2024-02-09 15:00 in Shanghai; 1 working day → Sun 2/18 (make-up day), 23:59:59 Shanghai.
    deadline = add_working_days(utc(2024, 2, 9, 15), 1)
    assert deadline == datetime(2024, 2, 18, 15, 59, 59)


def test_request_day_is_the_shanghai_date_not_the_utc_date():
    # 2024-02-08 17:30 UTC is already Fri 2/9 01:30 in Shanghai.
    start = datetime(2024, 2, 8, 17, 30)
    assert shanghai_date(start) == date(2024, 2, 9)
    assert add_working_days(start, 1) == datetime(2024, 2, 18, 15, 59, 59)


def test_zero_days_is_the_end_of_the_request_day():
    assert add_working_days(utc(2024, 3, 1, 10), 0) == utc(2024, 3, 1, 23, 59) + timedelta(seconds=59)


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        nth_working_day_after(date(2024, 3, 1), -1)


def test_official_years_and_the_estimate_beyond():
    assert calendar_is_official(2024) and calendar_is_official(2025) and calendar_is_official(2026)
    assert not calendar_is_official(2027)
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))


@pytest.mark.parametrize(("day", "days", "expected"), [
    (date(2026, 12, 31), 1, date(2027, 1, 4)),   # 元旦 (fixed date) and the weekend skipped
    (date(2027, 4, 30), 1, date(2027, 5, 3)),    # 劳动节 5/1 is a Saturday anyway: Monday
    (date(2027, 9, 30), 1, date(2027, 10, 4)),   # 国庆 10/1–10/3 (fixed dates) skipped
    (date(2027, 3, 5), 5, date(2027, 3, 12)),    # plain Monday–Friday
])
def test_unknown_years_fall_back_to_weekdays_minus_fixed_holidays(day, days, expected):
    assert nth_working_day_after(day, days) == expected


def test_the_page_note_for_an_estimated_year(app):
    with app.test_request_context():
        assert calendar_note(2026) is None
        assert str(calendar_note(2027)) == "2027 年官方放假安排未收录，按周一至周五估算"
