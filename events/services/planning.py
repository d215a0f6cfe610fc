"""The organiser's plan: year-plan entries, the month's event, its sessions, and the event's status.

Times arrive and are stored as naive UTC; dates of the event are Asia/Shanghai calendar dates.
Every refusal is a `FieldError` naming the form field it belongs beside.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError

from core.actors import SYSTEM, is_system
from core.clock import format_shanghai, shanghai_date, to_shanghai, utcnow
from core.errors import FieldError
from core.extensions import db
from core.roles import Role
from events.enums import ACTIVE_MEETING_STATUSES, EventStatus, SessionKind, SessionMode
from events.models import Event, EventSession, EventStatusChange, Meeting, Registration, YearPlanEntry
from events.services import availability, scope, venue_tables
from events.services.availability import set_place
from events.services.registration import promote_waitlist
from market.enums import FinancingType, RegionLevel
from market.models import Institution, Region
from market.services import get_chain, get_region
from market.web_links import is_web_url

# Sane dates (the database holds the outer bounds: YearPlanEntry.year, Event.dates_in_plan_years).
FIRST_DAY, LAST_DAY = date(2024, 1, 1), date(2100, 12, 31)
PLAN_YEARS_AHEAD = 2                     # a year plan reaches at most two years past this one
PLAN_MARGIN = timedelta(days=31)         # an event lies within its plan month, give or take a month
UNPLANNED_AHEAD = timedelta(days=2 * 366)  # an event without a plan entry: at most two years from today
REGISTRATION_LEAD = timedelta(days=183)  # registration opens at most half a year before the event starts
EVENT_FIELD_NAMES = {"starts_on": _l("开始日期"), "ends_on": _l("结束日期"),
                     "registration_opens_at": _l("报名开始"), "registration_closes_at": _l("报名截止"),
                     "matching_at": _l("智能匹配时间"), "publication_at": _l("日程发布时间")}


def shanghai_today() -> date:
    return shanghai_date(utcnow())


# ---- year plan --------------------------------------------------------------------------------

@dataclass
class PlanEntryFacts:
    year: int
    month: int
    chain_code: str
    host_region_code: str
    note: str = ""
    office_id: int | None = None  # administrators choose; organisers plan for their own office


def plan_year_range(today: date | None = None) -> tuple[int, int]:
    """The years a year plan may be kept for: 2024 up to two years past the current one."""
    today = today or shanghai_today()
    return FIRST_DAY.year, min(LAST_DAY.year, today.year + PLAN_YEARS_AHEAD)


def _apply_plan_facts(actor, entry: YearPlanEntry, facts: PlanEntryFacts) -> None:
    first, last = plan_year_range()
    if not isinstance(facts.year, int) or not first <= facts.year <= last:
        raise FieldError("year", _("年份应在 %(first)s 到 %(last)s 之间。", first=first, last=last))
    if not isinstance(facts.month, int) or not 1 <= facts.month <= 12:
        raise FieldError("month", _l("请从列表中选择。"))
    chain = get_chain(facts.chain_code)
    region = get_region(facts.host_region_code, "host_region")
    if not scope.covers_region(actor, region.code):
        raise FieldError("host_region", _l("主办地区不在本单位的辖区内。"))
    offices = {office.id: office for office in scope.offices_for(actor)}
    office_id = facts.office_id if actor.role == Role.ADMIN else actor.organiser_office_id
    if office_id not in offices:
        raise FieldError("office", _l("请选择牵头主办单位。"))
    if not offices[office_id].covers(region.code):
        raise FieldError("host_region", _l("主办地区不在牵头主办单位的辖区内。"))
    entry.organiser_office_id = office_id
    entry.year, entry.month = facts.year, facts.month
    entry.chain_id, entry.host_region_code = chain.id, region.code
    entry.note = (facts.note or "").strip()


def _flush_plan_entry(entry: YearPlanEntry) -> YearPlanEntry:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise FieldError("month", _l("该单位在这个月份已有计划。")) from None
    return entry


def create_plan_entry(actor, facts: PlanEntryFacts) -> YearPlanEntry:
    entry = YearPlanEntry()
    _apply_plan_facts(actor, entry, facts)
    db.session.add(entry)
    return _flush_plan_entry(entry)


def update_plan_entry(actor, entry: YearPlanEntry, facts: PlanEntryFacts) -> YearPlanEntry:
    scope.plan_entry_for(actor, entry.id)
    _apply_plan_facts(actor, entry, facts)
    return _flush_plan_entry(entry)


def plan_for_year(actor, year: int) -> list[YearPlanEntry]:
    query = scope.plan_entries_query(actor).where(YearPlanEntry.year == year)
    return list(db.session.scalars(query.order_by(YearPlanEntry.month, YearPlanEntry.id)))


def plan_years(actor) -> list[int]:
    query = select(YearPlanEntry.year).where(
        scope.host_region_condition(actor, YearPlanEntry.host_region_code)).distinct()
    return sorted(db.session.scalars(query))


def short_place_name(region: Region) -> str:
    """杭州市 → 杭州, 浙江省 → 浙江, 萧山区 → 杭州萧山 (for event titles)."""
    def trim(name: str) -> str:
        for suffix in ("自治区", "特别行政区", "省", "市", "区", "县"):
            if name.endswith(suffix) and len(name) > len(suffix) + 1:
                return name[: -len(suffix)]
        return name
    if region.level == RegionLevel.DISTRICT and region.parent is not None:
        return trim(region.parent.name_zh) + trim(region.name_zh)
    return trim(region.name_zh)


def suggested_title(entry: YearPlanEntry) -> str:
    """"2027年3月 · 人工智能产业链 · 杭州" from a plan entry."""
    chain_name = entry.chain.name_zh if entry.chain.name_zh.endswith("产业链") else entry.chain.name_zh + "产业链"
    return f"{entry.year}年{entry.month}月 · {chain_name} · {short_place_name(entry.host_region)}"


# ---- the month's event ----------------------------------------------------------------------

@dataclass
class EventFacts:
    title: str
    chain_code: str
    host_region_code: str
    starts_on: date
    ends_on: date
    registration_opens_at: datetime
    registration_closes_at: datetime
    matching_at: datetime | None = None
    publication_at: datetime | None = None
    publication_approved: bool = False
    description: str = ""


def event_date_window(plan_entry: YearPlanEntry | None = None, today: date | None = None) -> tuple[date, date]:
    """Where the event's days may lie: its plan month ± a month, or (unplanned) 2024 up to two years ahead."""
    if plan_entry is not None:
        first = date(plan_entry.year, plan_entry.month, 1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return max(FIRST_DAY, first - PLAN_MARGIN), min(LAST_DAY, last + PLAN_MARGIN)
    today = today or shanghai_today()
    return FIRST_DAY, min(LAST_DAY, today + UNPLANNED_AHEAD)


def _window_problems(facts: EventFacts, plan_entry: YearPlanEntry | None, today: date | None) -> list[FieldError]:
    """The event's days within `event_date_window`; its times from half a year before it until it ends."""
    problems = []
    earliest, latest = event_date_window(plan_entry, today)
    for name in ("starts_on", "ends_on"):
        day = getattr(facts, name)
        if day and not earliest <= day <= latest:
            if plan_entry is not None:
                message = _("%(field)s须在 %(start)s 至 %(end)s 之间（年度计划 %(year)s年%(month)s月，前后各一个月）。",
                            field=EVENT_FIELD_NAMES[name], start=earliest.isoformat(), end=latest.isoformat(),
                            year=plan_entry.year, month=plan_entry.month)
            else:
                message = _("%(field)s须在 %(start)s 至 %(end)s 之间。", field=EVENT_FIELD_NAMES[name],
                            start=earliest.isoformat(), end=latest.isoformat())
            problems.append(FieldError(name, message))
    if not facts.starts_on or not facts.ends_on or problems:
        return problems
    first_time = datetime.combine(facts.starts_on - REGISTRATION_LEAD, time(0, 0))
    last_time = datetime.combine(facts.ends_on, time(23, 59))
    for name in ("registration_opens_at", "registration_closes_at", "matching_at", "publication_at"):
        moment = getattr(facts, name)
        if moment is None:
            continue
        local = to_shanghai(moment).replace(tzinfo=None)
        if not first_time <= local <= last_time:
            problems.append(FieldError(name, _(
                "%(field)s须在 %(start)s 至 %(end)s 之间（活动开始前半年内，且不晚于活动结束）。",
                field=EVENT_FIELD_NAMES[name], start=first_time.strftime("%Y-%m-%d %H:%M"),
                end=last_time.strftime("%Y-%m-%d %H:%M"))))
    return problems


def event_problems(facts: EventFacts, plan_entry: YearPlanEntry | None = None,
                   today: date | None = None) -> list[FieldError]:
    """Dates within a sane window (see `event_date_window`), and in order: opens < closes ≤ matching ≤
    publication; starts_on ≤ ends_on."""
    problems = _window_problems(facts, plan_entry, today)
    if facts.starts_on and facts.ends_on and facts.starts_on > facts.ends_on:
        problems.append(FieldError("ends_on", _l("结束日期不能早于开始日期。")))
    opens, closes = facts.registration_opens_at, facts.registration_closes_at
    if opens and closes and opens >= closes:
        problems.append(FieldError("registration_closes_at", _l("报名截止时间须晚于报名开始时间。")))
    if closes and facts.matching_at and facts.matching_at < closes:
        problems.append(FieldError("matching_at", _l("匹配时间不能早于报名截止时间。")))
    earliest_publication = facts.matching_at or closes
    if earliest_publication and facts.publication_at and facts.publication_at < earliest_publication:
        message = _l("发布时间不能早于匹配时间。") if facts.matching_at else _l("发布时间不能早于报名截止时间。")
        problems.append(FieldError("publication_at", message))
    if facts.publication_approved and not facts.publication_at:
        problems.append(FieldError("publication_approved", _l("到点自动发布需要先填写发布时间。")))
    return problems


def _apply_event_facts(actor, event: Event, facts: EventFacts, plan_entry: YearPlanEntry | None) -> None:
    problems = event_problems(facts, plan_entry)
    if problems:
        raise problems[0]
    chain = get_chain(facts.chain_code)
    region = get_region(facts.host_region_code, "host_region")
    if not scope.covers_region(actor, region.code):
        raise FieldError("host_region", _l("主办地区不在本单位的辖区内。"))
    event.title = facts.title.strip()
    event.chain_id, event.host_region_code = chain.id, region.code
    event.description = (facts.description or "").strip()
    event.starts_on, event.ends_on = facts.starts_on, facts.ends_on
    event.registration_opens_at = facts.registration_opens_at
    event.registration_closes_at = facts.registration_closes_at
    event.matching_at, event.publication_at = facts.matching_at, facts.publication_at
    event.publication_approved = bool(facts.publication_approved)


def create_event(actor, facts: EventFacts, plan_entry: YearPlanEntry | None = None) -> Event:
    """A draft event, from a year-plan month (at most one event per month) or on its own."""
    event = Event(status=EventStatus.DRAFT)
    if plan_entry is not None:
        scope.plan_entry_for(actor, plan_entry.id)
        if plan_entry.event is not None:
            raise FieldError("title", _l("该计划月份已创建活动。"))
        event.plan_entry_id = plan_entry.id
        event.organiser_office_id = plan_entry.organiser_office_id
    elif actor.role == Role.ORGANISER:
        event.organiser_office_id = actor.organiser_office_id
    else:
        raise FieldError("title", _l("请从年度计划中的月份创建活动。"))
    _apply_event_facts(actor, event, facts, plan_entry)
    db.session.add(event)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise FieldError("title", _l("该计划月份已创建活动。")) from None
    return event


def update_event(actor, event: Event, facts: EventFacts) -> Event:
    scope.ensure_manages_event(actor, event)
    for session in event.sessions:
        if shanghai_date(session.starts_at) < facts.starts_on or shanghai_date(session.ends_at) > facts.ends_on:
            raise FieldError("starts_on", _("场次“%(title)s”不在新的活动日期之内，请先调整场次。",
                                            title=session.title))
    _apply_event_facts(actor, event, facts, event.plan_entry)
    db.session.flush()
    return event


# ---- sessions ---------------------------------------------------------------------------------

@dataclass
class SessionFacts:
    kind: str
    mode: str
    title: str
    starts_at: datetime
    ends_at: datetime
    slot_minutes: int | None = None
    tables: int = 0
    table_area: str = ""
    table_digits: int = 2
    capacity: int | None = None
    financing_types: list[str] = field(default_factory=list)
    venue: str = ""
    room: str = ""
    online_url: str = ""
    description: str = ""
    speakers: str = ""
    stream_url: str = ""
    replay_url: str = ""
    host_institution_id: int | None = None


def session_problems(event: Event, facts: SessionFacts) -> list[FieldError]:
    """Times in order and within the event's dates, slots dividing the session, a venue or a link."""
    try:
        kind, mode = SessionKind(facts.kind), SessionMode(facts.mode)
    except ValueError:
        return [FieldError("kind" if facts.kind not in set(SessionKind) else "mode", _l("请从列表中选择。"))]
    problems = []
    if facts.starts_at and facts.ends_at:
        if facts.starts_at >= facts.ends_at:
            problems.append(FieldError("ends_at", _l("结束时间须晚于开始时间。")))
        outside = _("场次须在活动日期（%(start)s 至 %(end)s）之内。", start=event.starts_on.isoformat(),
                    end=event.ends_on.isoformat())
        if not event.starts_on <= shanghai_date(facts.starts_at) <= event.ends_on:
            problems.append(FieldError("starts_at", outside))
        elif not event.starts_on <= shanghai_date(facts.ends_at) <= event.ends_on:
            problems.append(FieldError("ends_at", outside))
    if kind.has_meetings:
        minutes = facts.slot_minutes
        if not minutes:
            problems.append(FieldError("slot_minutes", _l("对接类场次须填写每场会谈时长。")))
        elif not 5 <= minutes <= 240:
            problems.append(FieldError("slot_minutes", _l("每场会谈时长应在 5 到 240 分钟之间。")))
        elif facts.starts_at and facts.ends_at and facts.starts_at < facts.ends_at:
            total = int((facts.ends_at - facts.starts_at).total_seconds() // 60)
            if (facts.ends_at - facts.starts_at).total_seconds() % 60 or total % minutes:
                divisors = [str(m) for m in range(5, min(total, 240) + 1) if total % m == 0]
                problems.append(FieldError("slot_minutes", _(
                    "会谈时长须能整除场次时长（%(total)s 分钟），可选 %(examples)s 分钟。", total=total,
                    examples=_l("、").join(divisors[-5:]) or "—")))
        if not facts.tables or facts.tables < 1:
            problems.append(FieldError("tables", _l("对接类场次至少需要 1 张洽谈桌。")))
    if len((facts.table_area or "").strip()) > 40:
        problems.append(FieldError("table_area", _l("洽谈区名称不超过 40 字。")))
    if not 1 <= (facts.table_digits or 2) <= 3:
        problems.append(FieldError("table_digits", _l("桌号位数应在 1 到 3 之间。")))
    if mode in (SessionMode.ONLINE, SessionMode.HYBRID) and not (facts.online_url or "").strip():
        problems.append(FieldError("online_url", _l("线上或线上+线下场次须填写线上会议室链接。")))
    if mode in (SessionMode.OFFLINE, SessionMode.HYBRID) and not (facts.venue or "").strip():
        problems.append(FieldError("venue", _l("线下或线上+线下场次须填写举办地点。")))
    for name in ("online_url", "stream_url", "replay_url"):  # shown as links: never javascript: or data:
        if (getattr(facts, name) or "").strip() and not is_web_url(getattr(facts, name)):
            problems.append(FieldError(name, _l("请填写以 http:// 或 https:// 开头的链接。")))
    if facts.capacity is not None and facts.capacity < 1:
        problems.append(FieldError("capacity", _l("名额须大于 0。")))
    if any(value not in set(FinancingType) for value in facts.financing_types):
        problems.append(FieldError("financing_types", _l("未知的融资类型。")))
    return problems


def _check_existing_meetings(session: EventSession, facts: SessionFacts) -> None:
    """A session with placed meetings keeps its slot grid; it may only grow at the end."""
    placed = select(func.count(Meeting.id), func.max(Meeting.slot)).where(
        Meeting.session_id == session.id, Meeting.slot.is_not(None),
        Meeting.status.in_(list(ACTIVE_MEETING_STATUSES)))
    count, last_slot = db.session.execute(placed).one()
    if not count:
        return
    if not SessionKind(facts.kind).has_meetings:
        raise FieldError("kind", _l("该场次已有会谈安排，不能改为非对接类场次。"))
    if facts.starts_at != session.starts_at or facts.slot_minutes != session.slot_minutes:
        raise FieldError("slot_minutes", _l("该场次已有会谈安排，不能更改开始时间或会谈时长；请先取消相关会谈。"))
    slots = int((facts.ends_at - facts.starts_at).total_seconds() // 60) // facts.slot_minutes
    if last_slot >= slots:
        raise FieldError("ends_at", _("第 %(slot)s 时段已有会谈安排，结束时间不能提前到它之前。", slot=last_slot + 1))


def _apply_session_facts(session: EventSession, facts: SessionFacts) -> None:
    kind = SessionKind(facts.kind)
    session.kind, session.mode = kind, SessionMode(facts.mode)
    session.title = facts.title.strip()
    session.description = (facts.description or "").strip()
    session.starts_at, session.ends_at = facts.starts_at, facts.ends_at
    session.slot_minutes = facts.slot_minutes if kind.has_meetings else None
    session.tables = facts.tables or 0
    session.table_area = (facts.table_area or "").strip()
    session.table_digits = facts.table_digits or 2
    session.capacity = facts.capacity
    session.financing_types = sorted(set(facts.financing_types))
    session.venue, session.room = (facts.venue or "").strip(), (facts.room or "").strip()
    session.online_url = (facts.online_url or "").strip()
    session.speakers = (facts.speakers or "").strip()
    session.stream_url, session.replay_url = (facts.stream_url or "").strip(), (facts.replay_url or "").strip()
    if facts.host_institution_id is not None and db.session.get(Institution, facts.host_institution_id) is None:
        raise FieldError("host_institution", _l("未知的金融机构。"))
    session.host_institution_id = facts.host_institution_id


def create_session(actor, event: Event, facts: SessionFacts) -> EventSession:
    scope.ensure_manages_event(actor, event)
    problems = session_problems(event, facts)
    if problems:
        raise problems[0]
    session = EventSession(event=event)
    _apply_session_facts(session, facts)
    db.session.add(session)
    db.session.flush()
    return session


def _slot_times(session: EventSession) -> list[tuple[datetime, datetime]]:
    return [(session.slot_starts_at(slot), session.slot_ends_at(slot)) for slot in range(session.slot_count)]


def _carry_unavailable_slots(session: EventSession, old_slots: list[tuple[datetime, datetime]]) -> int:
    """After the slot grid changed, each registration's unavailable slots become the new slots that overlap
    the times it could not take (none when the session no longer has meetings). Returns rows changed."""
    new_slots = _slot_times(session)
    if new_slots == old_slots:
        return 0
    changed = 0
    rows = db.session.scalars(select(Registration).where(Registration.session_id == session.id,
                                                         Registration.institution_id.is_not(None))).all()
    for row in rows:
        stored = row.unavailable_slots or []
        if not stored:
            continue
        blocked = [old_slots[slot] for slot in stored
                   if isinstance(slot, int) and not isinstance(slot, bool) and 0 <= slot < len(old_slots)]
        carried = [index for index, (start, end) in enumerate(new_slots)
                   if any(start < old_end and old_start < end for old_start, old_end in blocked)]
        if carried != stored:
            row.unavailable_slots = carried
            changed += 1
    return changed


def update_session(actor, session: EventSession, facts: SessionFacts) -> EventSession:
    """Save the session; registrations' unavailable slots follow a changed slot grid (by time), and a raised
    capacity moves the waitlist up."""
    scope.ensure_manages_event(actor, session.event)
    problems = session_problems(session.event, facts)
    if problems:
        raise problems[0]
    availability.lock_parties([session.id])  # the one lock order: its meetings' times may change below
    _check_existing_meetings(session, facts)
    old_slots, old_capacity = _slot_times(session), session.capacity
    grid = (session.starts_at, session.slot_minutes)
    _apply_session_facts(session, facts)
    _carry_unavailable_slots(session, old_slots)
    if grid != (session.starts_at, session.slot_minutes):
        _restamp_meeting_times(session)
    db.session.flush()
    venue_tables.sync_session_tables(session)  # relabel, or refuse a count or area the allotted tables rule out
    if session.capacity != old_capacity:
        promote_waitlist(session)
    return session


def _restamp_meeting_times(session: EventSession) -> None:
    """The grid moved (only possible without live placed meetings): the cancelled ones keep stored times
    that agree with their slot, or lose the slot when the session has no grid any more."""
    for meeting in db.session.scalars(select(Meeting).where(Meeting.session_id == session.id,
                                                            Meeting.slot.is_not(None))):
        if session.slot_minutes:
            set_place(meeting, session, meeting.slot, meeting.table_number)
        else:
            meeting.slot = meeting.table_number = meeting.starts_at = meeting.ends_at = None


# ---- ready: the organiser's word that the draft may open by the clock ---------------------------

def _has_sessions(event_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(EventSession.event_id == event_id))))


def mark_ready(actor, event: Event) -> bool:
    """The organiser says the draft is set up: the clock may open its registration. Needs a session.

    A conditional UPDATE (draft, not yet ready); returns whether this call changed anything.
    """
    scope.ensure_manages_event(actor, event)
    db.session.refresh(event, ["status", "ready_at", "ready_by_user_id"])
    if event.status != EventStatus.DRAFT:
        raise FieldError("ready", _("活动已是“%(status)s”状态，无需再标记准备就绪。",
                                    status=event.status.label))
    if not _has_sessions(event.id):
        raise FieldError("ready", _l("至少需要一个场次才能标记为准备就绪；请先添加场次。"))
    result = db.session.execute(
        update(Event).where(Event.id == event.id, Event.status == EventStatus.DRAFT, Event.ready_at.is_(None))
        .values(ready_at=utcnow(), ready_by_user_id=actor.id).execution_options(synchronize_session=False))
    db.session.refresh(event, ["status", "ready_at", "ready_by_user_id"])
    return result.rowcount == 1


def unmark_ready(actor, event: Event) -> bool:
    """Take "ready" back while the event is still a draft (the clock will not open it). Returns whether it changed."""
    scope.ensure_manages_event(actor, event)
    db.session.refresh(event, ["status", "ready_at", "ready_by_user_id"])
    if event.status != EventStatus.DRAFT:
        raise FieldError("ready", _("活动已是“%(status)s”状态，不能取消准备就绪；如需暂停报名，请退回草稿并说明原因。",
                                    status=event.status.label))
    result = db.session.execute(
        update(Event).where(Event.id == event.id, Event.status == EventStatus.DRAFT,
                            Event.ready_at.is_not(None))
        .values(ready_at=None, ready_by_user_id=None).execution_options(synchronize_session=False))
    db.session.refresh(event, ["status", "ready_at", "ready_by_user_id"])
    return result.rowcount == 1


@dataclass
class OpeningOutlook:
    """Whether and when the clock opens a draft's registration, and why not."""

    opens_by_clock: bool
    reason: str  # no_session | not_ready | window_passed | due | will_open
    message: str


def opening_outlook(event: Event, now: datetime | None = None) -> OpeningOutlook | None:
    """For a draft, what the scheduler will do with it (None once the event is past draft)."""
    if event.status != EventStatus.DRAFT:
        return None
    now = now or utcnow()
    opens, closes = format_shanghai(event.registration_opens_at), format_shanghai(event.registration_closes_at)
    if not event.sessions:
        return OpeningOutlook(False, "no_session", _(
            "报名不会自动开始：还没有场次。请先添加场次，再标记为准备就绪。"))
    if event.registration_closes_at <= now:
        return OpeningOutlook(False, "window_passed", _(
            "报名不会自动开始：报名截止时间 %(closes)s 已过。请先修改报名时间。", closes=closes))
    if event.ready_at is None:
        return OpeningOutlook(False, "not_ready", _(
            "报名不会自动开始：活动尚未标记为准备就绪。标记后，报名将于 %(opens)s 自动开始。", opens=opens))
    if event.registration_opens_at <= now:
        return OpeningOutlook(True, "due", _(
            "已准备就绪：报名时间已到，定时任务将在几分钟内开放报名（截止 %(closes)s）。", closes=closes))
    return OpeningOutlook(True, "will_open", _(
        "已准备就绪：报名将于 %(opens)s 自动开始，%(closes)s 截止。", opens=opens, closes=closes))


# ---- the event's status -----------------------------------------------------------------------

def advance_event(actor, event: Event, to_status: str, reason: str = "") -> bool:
    """Move the event one step forward, or back any number of steps with a reason.

    The move is a conditional UPDATE on the status the caller saw, so a repeated or racing call
    changes nothing twice. Returns whether this call changed the status. The system actor is the
    scheduler, which only moves forward and opens registration only for a ready draft. Opening needs a
    session; opening by hand counts as ready. Back to draft takes "ready" away, so the clock does not
    reopen what the organiser just stopped.
    """
    scope.ensure_manages_event(actor, event)
    target = EventStatus(to_status)
    current = event.status
    reason = (reason or "").strip()
    if target == current:
        return False
    if target.rank > current.rank + 1:
        raise FieldError("to_status", _("状态只能逐步推进：当前为“%(current)s”，下一步是“%(next)s”。",
                                        current=current.label, next=list(EventStatus)[current.rank + 1].label))
    if target.rank < current.rank:
        if is_system(actor):
            raise FieldError("to_status", _l("定时任务不能退回活动状态。"))
        if not reason:
            raise FieldError("reason", _l("退回状态须填写原因。"))
        if len(reason) > 500:
            raise FieldError("reason", _l("原因不能超过 500 字。"))
    conditions = [Event.id == event.id, Event.status == current]
    values: dict = {"status": target}
    if current == EventStatus.DRAFT and target == EventStatus.OPEN:
        if not _has_sessions(event.id):
            raise FieldError("to_status", _l("活动还没有场次，不能开始报名；请先添加场次。"))
        if is_system(actor):
            conditions.append(Event.ready_at.is_not(None))
        elif event.ready_at is None:
            values.update(ready_at=utcnow(), ready_by_user_id=actor.id)
    if target == EventStatus.DRAFT:
        values.update(ready_at=None, ready_by_user_id=None)
    result = db.session.execute(update(Event).where(*conditions).values(**values)
                                .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(event, ["status", "ready_at", "ready_by_user_id"])
        return False
    db.session.add(EventStatusChange(event_id=event.id, from_status=current, to_status=target,
                                     reason=reason, actor_user_id=getattr(actor, "id", None)))
    db.session.flush()
    db.session.refresh(event, ["status", "ready_at", "ready_by_user_id"])
    return True


def _advance_due(query, to_status: EventStatus) -> list[int]:
    changed = []
    for event in db.session.scalars(query.order_by(Event.id)).all():
        if advance_event(SYSTEM, event, to_status):
            changed.append(event.id)
    return changed


def open_due_registrations(now: datetime) -> list[int]:
    """Ready drafts with a session whose registration window has begun (and not yet ended) open. Returns
    their ids. A draft nobody marked ready stays a draft, whatever its times."""
    return _advance_due(select(Event).where(Event.status == EventStatus.DRAFT,
                                            Event.ready_at.is_not(None),
                                            exists().where(EventSession.event_id == Event.id),
                                            Event.registration_opens_at <= now,
                                            Event.registration_closes_at > now), EventStatus.OPEN)


def close_due_registrations(now: datetime) -> list[int]:
    """Open events whose registration deadline has passed close. Returns their ids."""
    return _advance_due(select(Event).where(Event.status == EventStatus.OPEN,
                                            Event.registration_closes_at <= now), EventStatus.CLOSED)


def next_status(event: Event) -> EventStatus | None:
    statuses = list(EventStatus)
    rank = event.status.rank
    return statuses[rank + 1] if rank + 1 < len(statuses) else None


def previous_statuses(event: Event) -> list[EventStatus]:
    return list(EventStatus)[: event.status.rank]

