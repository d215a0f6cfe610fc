"""The clock: timestamps are stored as naive UTC and shown in Asia/Shanghai (Beijing time)."""
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)


def utcnow() -> datetime:
    """Naive UTC: every timestamp is stored in UTC and shown in Asia/Shanghai."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_shanghai(moment: datetime) -> datetime:
    """A stored moment (naive UTC, or aware) as an aware Asia/Shanghai datetime."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return aware.astimezone(SHANGHAI)


def format_shanghai(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A stored moment as Asia/Shanghai wall-clock text; "" for None."""
    if moment is None:
        return ""
    return to_shanghai(moment).strftime(pattern)


def shanghai_date(moment: datetime) -> date:
    """The Asia/Shanghai calendar date of a stored moment."""
    return to_shanghai(moment).date()


def shanghai_today(now: datetime | None = None) -> date:
    return shanghai_date(now or utcnow())


def utc_of_shanghai(day: date, at: time = time(0)) -> datetime:
    """Beijing wall-clock `at` on `day`, as the naive UTC the tables store."""
    return datetime.combine(day, at, tzinfo=SHANGHAI).astimezone(UTC).replace(tzinfo=None)


def end_of_shanghai_day_utc(day: date) -> datetime:
    """23:59:59 Asia/Shanghai on `day`, as naive UTC."""
    return utc_of_shanghai(day, END_OF_DAY)


def shanghai_wall_to_utc(local: datetime) -> datetime:
    """A naive Asia/Shanghai wall-clock time (as a person types it) as naive UTC."""
    return local.replace(tzinfo=SHANGHAI).astimezone(UTC).replace(tzinfo=None)
