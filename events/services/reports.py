"""The organiser's report: the funnel by chain, month, region and financing type, and institutions' response times.

Funnel stages (each with a count of distinct SMEs, a count of distinct needs and an amount in yuan):

- registered — SMEs with an APPROVED registration for a session of the event; amount = the sum of the needs they
  attached to those registrations (each need once).
- matched — SMEs with a meeting that is scheduled, held or no-show (a published schedule; proposals and cancelled
  meetings do not count); amount = the sum of the needs those meetings are about (each need once).
- met — SMEs with a HELD meeting: status held, or checked in, or the meeting's outcome says held; amount as above.
- intent / credit / disbursed — SMEs with a meeting whose outcome has an intent / credit line (授信) / disbursement
  (放款) above zero; amount = the sum of those figures over meetings.

"The meeting's outcome": both sides may record one. Per meeting we take the institution's record when it has
recorded one (it books the credit line and the disbursement), else the SME's. The two are never added up.

Dimensions: chain and month are the event's (一月一链: one chain per month), region is the SME's own (province,
city or district, one level below the scope), financing type is the need's (or the product's for a meeting
without a need; "未注明" when neither). Within a group each SME and each need counts once; the same SME may appear
in several groups (two needs of two types), so groups do not always add up to the total.

Scope: an organiser sees the events hosted within its office's region, an administrator every event.
Filters: event, chain, year, month (of the event) and the SME's region.
"""
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from statistics import mean, median
from zoneinfo import ZoneInfo

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, case, distinct, extract, func, literal, or_, select, true, union_all
from sqlalchemy.orm import aliased

from chainmatch.extensions import db
from events.enums import MeetingStatus, RegistrationStatus, RequestDirection, RequestStatus, Side
from events.models import (Event, EventSession, Meeting, MeetingRequest, Outcome, Registration,
                           RegistrationNeed)
from events.services.scope import ensure_manages_event, host_region_condition
from events.workdays import is_working_day
from market.enums import FinancingType
from market.models import Chain, Enterprise, FinancingNeed, Institution, Product, Region, region_prefix, utcnow

SHANGHAI = ZoneInfo("Asia/Shanghai")
UNSPECIFIED = "unspecified"

STAGES = ("registered", "matched", "met", "intent", "credit", "disbursed")
STAGE_LABELS = {"registered": _l("报名"), "matched": _l("匹配"), "met": _l("会谈"), "intent": _l("意向"),
                "credit": _l("授信"), "disbursed": _l("放款")}
STAGE_DEFINITIONS = {
    "registered": _l("报名审核通过的企业；金额为其报名时关联的融资需求金额合计（每项需求只计一次）。"),
    "matched": _l("日程中有已排期、已会谈或未到场对接的企业（不含拟安排和已取消）；金额为这些对接所涉需求金额合计。"),
    "met": _l("至少有一场对接已举行的企业（状态为已会谈、已签到，或对接结果填报为已会谈）；金额为所涉需求金额合计。"),
    "intent": _l("对接结果中意向金额大于零的企业；金额为各场对接的意向金额合计。"),
    "credit": _l("对接结果中授信金额大于零的企业；金额为各场对接的授信金额合计。"),
    "disbursed": _l("对接结果中放款金额大于零的企业；金额为各场对接的放款金额合计。"),
}
OUTCOME_RULE = _l("同一场对接双方都填报结果时，以金融机构填报的为准；仅企业填报时采用企业的数据。两者不相加。")
MATCHED_STATUSES = (MeetingStatus.SCHEDULED.value, MeetingStatus.HELD.value, MeetingStatus.NO_SHOW.value)
DIMENSIONS = ("chain", "month", "region", "financing_type")
DIMENSION_LABELS = {"chain": _l("按产业链"), "month": _l("按月份"), "region": _l("按地区"),
                    "financing_type": _l("按融资类型")}
REGION_LEVELS = ("province", "city", "district")


@dataclass(frozen=True)
class ReportFilter:
    event_id: int | None = None
    chain_id: int | None = None
    year: int | None = None
    month: int | None = None
    region_code: str | None = None  # the SME's region, by the GB/T 2260 prefix rule


@dataclass
class StageFigure:
    stage: str
    enterprises: int = 0
    needs: int = 0
    amount_yuan: int = 0

    @property
    def label(self) -> str:
        return str(STAGE_LABELS[self.stage])

    @property
    def definition(self) -> str:
        return str(STAGE_DEFINITIONS[self.stage])


@dataclass
class BreakdownRow:
    key: str
    label: str
    stages: dict[str, StageFigure]


@dataclass
class InstitutionResponse:
    institution_id: int
    name: str
    received: int
    answered: int
    overdue: int
    open: int
    median_days: float | None
    mean_days: float | None

    @property
    def answered_share(self) -> float | None:
        return self.answered / self.received if self.received else None


@dataclass
class Report:
    filters: ReportFilter
    funnel: list[StageFigure]
    breakdowns: dict[str, list[BreakdownRow]]
    region_level: str
    responses: list[InstitutionResponse] = field(default_factory=list)

    def stage(self, name: str) -> StageFigure:
        return next(figure for figure in self.funnel if figure.stage == name)


# ---- the facts of each stage, as one UNION ALL ---------------------------------------------------

def event_conditions(actor, filters: ReportFilter) -> list:
    """SQL conditions on Event for the actor's reach and the event-level filters (404 for an event out of reach)."""
    if filters.event_id is not None:
        event = db.session.get(Event, filters.event_id)
        if event is None:
            abort(404)
        ensure_manages_event(actor, event)
    conditions = [host_region_condition(actor, Event.host_region_code)]
    if filters.event_id is not None:
        conditions.append(Event.id == filters.event_id)
    if filters.chain_id is not None:
        conditions.append(Event.chain_id == filters.chain_id)
    if filters.year is not None:
        conditions.append(extract("year", Event.starts_on) == filters.year)
    if filters.month is not None:
        conditions.append(extract("month", Event.starts_on) == filters.month)
    return conditions


def enterprise_conditions(filters: ReportFilter) -> list:
    if not filters.region_code:
        return []
    return [Enterprise.region_code.startswith(region_prefix(filters.region_code))]


def effective_outcome():
    """Per meeting, the institution's outcome if recorded, else the enterprise's: (meeting_id, held, amounts)."""
    by_institution = aliased(Outcome)
    by_enterprise = aliased(Outcome)

    def pick(column: str):
        return case((by_institution.id.is_not(None), getattr(by_institution, column)),
                    else_=getattr(by_enterprise, column))

    return (select(Meeting.id.label("meeting_id"), pick("held").label("held"),
                   pick("intent_amount_yuan").label("intent"), pick("credit_granted_yuan").label("credit"),
                   pick("disbursed_yuan").label("disbursed"))
            .outerjoin(by_institution, and_(by_institution.meeting_id == Meeting.id,
                                            by_institution.side == Side.INSTITUTION.value))
            .outerjoin(by_enterprise, and_(by_enterprise.meeting_id == Meeting.id,
                                           by_enterprise.side == Side.ENTERPRISE.value))
            .where(or_(by_institution.id.is_not(None), by_enterprise.id.is_not(None)))
            .subquery("effective_outcome"))


def _fact_columns(stage: str, unit, amount, financing_type):
    return (literal(stage, String).label("stage"), Event.id.label("event_id"), Event.chain_id.label("chain_id"),
            extract("year", Event.starts_on).label("year"), extract("month", Event.starts_on).label("month"),
            Enterprise.region_code.label("region_code"), Enterprise.id.label("enterprise_id"),
            FinancingNeed.id.label("need_id"), unit.label("unit_id"), amount.label("amount"),
            func.coalesce(financing_type, UNSPECIFIED).label("financing_type"))


def _stage_facts(actor, filters: ReportFilter):
    """One row per (stage, SME, need or meeting) with every dimension; filtered and scoped."""
    where = event_conditions(actor, filters) + enterprise_conditions(filters)
    registered = (
        select(*_fact_columns("registered", FinancingNeed.id, FinancingNeed.amount_yuan, FinancingNeed.type))
        .select_from(Registration)
        .join(EventSession, EventSession.id == Registration.session_id)
        .join(Event, Event.id == EventSession.event_id)
        .join(Enterprise, Enterprise.id == Registration.enterprise_id)
        .outerjoin(RegistrationNeed, RegistrationNeed.registration_id == Registration.id)
        .outerjoin(FinancingNeed, FinancingNeed.id == RegistrationNeed.need_id)
        .where(Registration.status == RegistrationStatus.APPROVED.value, *where))

    outcome = effective_outcome()

    def meetings(stage: str, unit, amount, condition):
        return (select(*_fact_columns(stage, unit, amount, func.coalesce(FinancingNeed.type, Product.type)))
                .select_from(Meeting)
                .join(EventSession, EventSession.id == Meeting.session_id)
                .join(Event, Event.id == EventSession.event_id)
                .join(Enterprise, Enterprise.id == Meeting.enterprise_id)
                .outerjoin(FinancingNeed, FinancingNeed.id == Meeting.need_id)
                .outerjoin(Product, Product.id == Meeting.product_id)
                .outerjoin(outcome, outcome.c.meeting_id == Meeting.id)
                .where(Meeting.status.in_(MATCHED_STATUSES), condition, *where))

    held = or_(Meeting.status == MeetingStatus.HELD.value, Meeting.checked_in_at.is_not(None),
               outcome.c.held.is_(True))
    parts = [
        registered,
        meetings("matched", FinancingNeed.id, FinancingNeed.amount_yuan, true()),
        meetings("met", FinancingNeed.id, FinancingNeed.amount_yuan, held),
        meetings("intent", Meeting.id, outcome.c.intent, outcome.c.intent > 0),
        meetings("credit", Meeting.id, outcome.c.credit, outcome.c.credit > 0),
        meetings("disbursed", Meeting.id, outcome.c.disbursed, outcome.c.disbursed > 0),
    ]
    return union_all(*parts).subquery("facts")


def _region_key(column, level: str):
    if level == "province":
        return func.substr(column, 1, 2, type_=String).concat("0000")
    if level == "city":
        return func.substr(column, 1, 4, type_=String).concat("00")
    return column


def _dimension_keys(facts, dimension: str | None, region_level: str) -> list:
    if dimension is None:
        return []
    if dimension == "chain":
        return [facts.c.chain_id]
    if dimension == "month":
        return [facts.c.year, facts.c.month]
    if dimension == "region":
        return [_region_key(facts.c.region_code, region_level)]
    if dimension == "financing_type":
        return [facts.c.financing_type]
    raise ValueError(dimension)


def _aggregate(facts, dimension: str | None, region_level: str) -> dict[tuple, dict[str, StageFigure]]:
    """{group key: {stage: figure}}, counting each SME and each need (or meeting) once per group."""
    keys = [key.label(f"k{index}") for index, key in enumerate(_dimension_keys(facts, dimension, region_level))]
    distinct_rows = (select(facts.c.stage, *keys, facts.c.enterprise_id, facts.c.need_id, facts.c.unit_id,
                            facts.c.amount).distinct().subquery("distinct_facts"))
    key_columns = [distinct_rows.c[f"k{index}"] for index in range(len(keys))]
    query = (select(distinct_rows.c.stage, *key_columns,
                    func.count(distinct(distinct_rows.c.enterprise_id)),
                    func.count(distinct(distinct_rows.c.need_id)),
                    func.coalesce(func.sum(distinct_rows.c.amount), 0))
             .group_by(distinct_rows.c.stage, *key_columns))
    groups: dict[tuple, dict[str, StageFigure]] = {}
    for row in db.session.execute(query):
        stage, key, (enterprises, needs, amount) = row[0], tuple(row[1:1 + len(keys)]), row[1 + len(keys):]
        stages = groups.setdefault(key, {name: StageFigure(name) for name in STAGES})
        stages[stage] = StageFigure(stage, int(enterprises), int(needs), int(amount or 0))
    return groups


# ---- labels of the groups ------------------------------------------------------------------------

def _label_rows(dimension: str, groups: dict[tuple, dict], locale: str) -> list[BreakdownRow]:
    if dimension == "chain":
        chains = {chain.id: chain for chain in db.session.scalars(select(Chain).where(
            Chain.id.in_([key[0] for key in groups])))}
        ordered = sorted(groups, key=lambda key: (chains[key[0]].sort_order, key[0]))
        return [BreakdownRow(str(key[0]), chains[key[0]].name(locale), groups[key]) for key in ordered]
    if dimension == "month":
        ordered = sorted(groups, key=lambda key: (int(key[0]), int(key[1])))
        return [BreakdownRow(f"{int(y):04d}-{int(m):02d}", str(_("%(year)s年%(month)s月", year=int(y), month=int(m))),
                             groups[(y, m)]) for y, m in ordered]
    if dimension == "region":
        regions = {region.code: region for region in db.session.scalars(select(Region).where(
            Region.code.in_([key[0] for key in groups])))}
        return [BreakdownRow(key[0], regions[key[0]].name(locale) if key[0] in regions else key[0], groups[key])
                for key in sorted(groups)]
    order = [member.value for member in FinancingType] + [UNSPECIFIED]
    ordered = sorted(groups, key=lambda key: order.index(key[0]) if key[0] in order else len(order))
    return [BreakdownRow(key[0], financing_type_label(key[0]), groups[key]) for key in ordered]


def financing_type_label(value: str | None) -> str:
    if not value or value == UNSPECIFIED:
        return str(_l("未注明"))
    try:
        return FinancingType(value).label
    except ValueError:
        return value


def default_region_level(actor, filters: ReportFilter) -> str:
    """One level below the narrowest region in play (the filter, else the organiser's office), at most district."""
    code = filters.region_code
    if not code and actor is not None and actor.role == "organiser":
        code = actor.organiser_office.region_code
    if not code:
        return "province"
    if code.endswith("0000"):
        return "city"
    return "district"


# ---- the public entry points ---------------------------------------------------------------------

def funnel(actor, filters: ReportFilter) -> list[StageFigure]:
    """The six stages over everything the filters select."""
    groups = _aggregate(_stage_facts(actor, filters), None, "province")
    stages = groups.get((), {name: StageFigure(name) for name in STAGES})
    return [stages[name] for name in STAGES]


def breakdown(actor, filters: ReportFilter, dimension: str, region_level: str | None = None,
              locale: str = "zh") -> list[BreakdownRow]:
    level = region_level or default_region_level(actor, filters)
    groups = _aggregate(_stage_facts(actor, filters), dimension, level)
    return _label_rows(dimension, groups, locale)


def build_report(actor, filters: ReportFilter, region_level: str | None = None, locale: str = "zh",
                 now: datetime | None = None) -> Report:
    """Everything the dashboard shows, computed from the data."""
    level = region_level or default_region_level(actor, filters)
    facts = _stage_facts(actor, filters)
    total = _aggregate(facts, None, level).get((), {name: StageFigure(name) for name in STAGES})
    breakdowns = {dimension: _label_rows(dimension, _aggregate(facts, dimension, level), locale)
                  for dimension in DIMENSIONS}
    return Report(filters=filters, funnel=[total[name] for name in STAGES], breakdowns=breakdowns,
                  region_level=level, responses=institution_responses(actor, filters, now=now))


# ---- institutions' response times ----------------------------------------------------------------

def working_days_between(start: datetime, end: datetime) -> float:
    """Elapsed time between two naive-UTC moments counting only working days (Asia/Shanghai), in days."""
    if end <= start:
        return 0.0
    local_start = start.replace(tzinfo=UTC).astimezone(SHANGHAI)
    local_end = end.replace(tzinfo=UTC).astimezone(SHANGHAI)
    seconds = 0.0
    day = local_start.date()
    while day <= local_end.date():
        if is_working_day(day):
            day_start = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
            overlap = min(local_end, day_start + timedelta(days=1)) - max(local_start, day_start)
            seconds += max(overlap.total_seconds(), 0.0)
        day += timedelta(days=1)
    return seconds / 86400


def institution_responses(actor, filters: ReportFilter, now: datetime | None = None) -> list[InstitutionResponse]:
    """Per institution: requests SMEs sent it (withdrawn ones aside), how many it answered and how fast.

    Overdue = answered after the promised deadline, or still unanswered (or expired) past it. Times are working
    days on the official calendar (chinese-calendar), so the per-request durations are computed in Python over the
    answered requests; the counts are SQL aggregates.
    """
    now = now or utcnow()
    where = [MeetingRequest.direction == RequestDirection.FROM_ENTERPRISE.value,
             MeetingRequest.status != RequestStatus.WITHDRAWN.value,
             *event_conditions(actor, filters), *enterprise_conditions(filters)]
    answered = MeetingRequest.responded_at.is_not(None)
    late = or_(and_(answered, MeetingRequest.responded_at > MeetingRequest.respond_by),
               and_(~answered, MeetingRequest.respond_by < now))
    scoped = (select(MeetingRequest.institution_id, Institution.name,
                     func.count(MeetingRequest.id),
                     func.sum(case((answered, 1), else_=0)),
                     func.sum(case((late, 1), else_=0)),
                     func.sum(case((MeetingRequest.status == RequestStatus.REQUESTED.value, 1), else_=0)))
              .join(Event, Event.id == MeetingRequest.event_id)
              .join(Enterprise, Enterprise.id == MeetingRequest.enterprise_id)
              .join(Institution, Institution.id == MeetingRequest.institution_id)
              .where(*where)
              .group_by(MeetingRequest.institution_id, Institution.name))
    durations: dict[int, list[float]] = {}
    for institution_id, created_at, responded_at in db.session.execute(
            select(MeetingRequest.institution_id, MeetingRequest.created_at, MeetingRequest.responded_at)
            .join(Event, Event.id == MeetingRequest.event_id)
            .join(Enterprise, Enterprise.id == MeetingRequest.enterprise_id)
            .where(answered, *where)):
        durations.setdefault(institution_id, []).append(working_days_between(created_at, responded_at))
    rows = []
    for institution_id, name, received, answered_count, overdue, still_open in db.session.execute(scoped):
        times = durations.get(institution_id, [])
        rows.append(InstitutionResponse(institution_id, name, int(received), int(answered_count or 0),
                                        int(overdue or 0), int(still_open or 0),
                                        round(median(times), 2) if times else None,
                                        round(mean(times), 2) if times else None))
    rows.sort(key=lambda row: (-row.overdue, row.median_days is None, -(row.median_days or 0), row.name))
    return rows
