"""Working-day deadlines on the official Chinese calendar (holidays and make-up working days).

Years `chinese_calendar` knows (the State Council's yearly notice, 2004–2026 in version 1.11) are
exact. For any other year we cannot know the official arrangement in advance: we fall back to
Monday–Friday minus the fixed-date statutory holidays 元旦 (1 Jan), 劳动节 (1 May) and 国庆节
(1–3 Oct). The lunar holidays (春节, 清明, 端午, 中秋) and the make-up working days are NOT applied in
that fallback — `calendar_is_official(year)` is False for such years, so pages can say the deadline
is an estimate (see `calendar_note`).
"""
from datetime import date, datetime, timedelta

import chinese_calendar
from flask_babel import gettext as _

from core.clock import end_of_shanghai_day_utc, shanghai_date

FIXED_STATUTORY_HOLIDAYS = ((1, 1), (5, 1), (10, 1), (10, 2), (10, 3))  # (month, day)


def calendar_is_official(year: int) -> bool:
    """Whether the official holiday and make-up-day arrangement for `year` is known."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def calendar_note(year: int):
    """A sentence for pages whose deadline falls in a year without the official arrangement, else None."""
    if calendar_is_official(year):
        return None
    return _("%(year)s 年官方放假安排未收录，按周一至周五估算", year=year)


def is_working_day(day: date) -> bool:
    """Official working day (make-up Saturdays/Sundays included, holidays excluded); estimated when unknown."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_STATUTORY_HOLIDAYS


def nth_working_day_after(day: date, days: int) -> date:
    """The `days`-th working day after `day` (the day itself never counts); `day` itself for 0."""
    if days < 0:
        raise ValueError("days must not be negative")
    cursor = day
    remaining = days
    while remaining > 0:
        cursor += timedelta(days=1)
        if is_working_day(cursor):
            remaining -= 1
    return cursor


def add_working_days(start: datetime, days: int) -> datetime:
    """Deadline for an answer: the end (23:59:59 Asia/Shanghai) of the `days`-th working day after the
    request day, as naive UTC. `start` is naive UTC; the request day is its Asia/Shanghai date."""
    return end_of_shanghai_day_utc(nth_working_day_after(shanghai_date(start), days))
