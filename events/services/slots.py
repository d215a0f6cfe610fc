"""A session's time slots in words, as the schedule, the table plan and the refusals name them."""
from flask_babel import gettext as _

from core.clock import format_shanghai
from events.models import EventSession


def slot_label(session: EventSession, slot: int) -> str:
    """"第 3 时段（09:30–10:00）", times in Asia/Shanghai."""
    start = format_shanghai(session.slot_starts_at(slot), "%H:%M")
    end = format_shanghai(session.slot_ends_at(slot), "%H:%M")
    return str(_("第 %(n)s 时段（%(start)s–%(end)s）", n=slot + 1, start=start, end=end))
