"""The organiser's report: the funnel by chain, month, region and financing type, and institutions' response times.

Funnel stages, in order: registered → matched → met → intent → credit → disbursed. Each SME (and each need) counts
at every stage up to the furthest it reached, so no stage is ever larger than the one before it ("at least
that stage"): an SME with a meeting but no approved registration counts as registered too. What reaches a stage:

- registered — an APPROVED registration for a session of the event (its attached needs).
- matched — a meeting that is scheduled, held or no-show (a published schedule; proposals and cancelled meetings do
  not count).
- met — a HELD meeting: status held, or checked in, or either side's outcome says held.
- intent — the meeting's intent above zero (the institution's figure when it recorded one, else the SME's).
- credit — the institution's agreed figure above zero: 授信 (loan), 签署投资协议 (equity), 出单 (insurance),
  出具担保函 (guarantee).
- disbursed — the institution's funded figure above zero: 放款 (loan), 资金到位 (equity); insurance and guarantee
  end at the credit stage.

Amounts: every stage carries the amount of the needs that reached it (each need once); from intent on also the
outcome figures (each meeting once), split into confirmed (the institution recorded and the SME confirmed) and
unconfirmed (the institution's figures not yet confirmed or disputed, and an SME-only intent). An SME-only 授信 or
放款 is never counted (events/services/outcomes.py).

Dimensions: chain and month are the event's (一月一链: one chain per month), region is the SME's own (province,
city or district, one level below the scope), financing type is the need's (or the product's for a meeting
without a need; "未注明" when neither). Within a group each SME and each need counts once; the same SME may appear
in several groups (two needs of two types), so groups do not always add up to the total.

Scope: an organiser sees the events hosted within its office's region, an administrator every event.
Filters: event, chain, year, month (of the event) and the SME's region.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import mean, median

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, String, and_, case, extract, false, func, literal, or_, select, true, union_all
from sqlalchemy.orm import aliased

from core.clock import SHANGHAI, to_shanghai, utcnow
from core.errors import NotFound
from core.extensions import db
from core.regions import region_prefix
from core.roles import Role
from events.enums import MeetingStatus, RegistrationStatus, RequestDirection, RequestStatus, Side, Verdict
from events.models import Event, EventSession, Meeting, MeetingRequest, Outcome, Registration, RegistrationNeed
from events.services.scope import ensure_manages_event, host_region_condition
from events.workdays import is_working_day
from market.enums import FinancingType
from market.models import Chain, Enterprise, FinancingNeed, Institution, Product, Region

UNSPECIFIED = "unspecified"

STAGES = ("registered", "matched", "met", "intent", "credit", "disbursed")
STAGE_LABELS = {"registered": _l("报名"), "matched": _l("匹配"), "met": _l("会谈"), "intent": _l("意向"),
                "credit": _l("授信/签约"), "disbursed": _l("放款/到位")}
STAGE_DEFINITIONS = {
    "registered": _l("报名审核通过的企业，及已进入后续环节的企业；需求金额为所涉需求合计（每项需求只计一次）。"),
    "matched": _l("日程中有已排期、已会谈或未到场对接的企业（不含拟安排和已取消），及已进入后续环节的企业。"),
    "met": _l("至少有一场对接已举行的企业（已会谈、已签到，或任一方填报为已会谈），及已进入后续环节的企业。"),
    "intent": _l("对接结果中意向金额大于零的企业（以机构填报为准，机构未填报时采用企业填报），及已进入后续环节的企业。"),
    "credit": _l("金融机构填报授信（贷）、签署投资协议（股）、出单（保）或出具担保函（担）金额大于零的企业，及已放款或资金到位的企业。"),
    "disbursed": _l("金融机构填报放款（贷）或资金到位（股）金额大于零的企业。"),
}
OUTCOME_RULE = _l("每个环节统计至少到达该环节的企业和需求，漏斗逐级不增。授信、放款等以金融机构填报的数据为准；"
                  "企业确认的计入“已确认”，未确认或有异议的计入“待确认”；仅企业自报的授信、放款不计入统计。")
MATCHED_STATUSES = (MeetingStatus.SCHEDULED, MeetingStatus.HELD, MeetingStatus.NO_SHOW)
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
    """SMEs and needs that reached at least this stage, their needs' amount and (from intent on) the figures."""

    stage: str
    enterprises: int = 0
    needs: int = 0
    need_amount_yuan: int = 0
    confirmed_yuan: int = 0
    unconfirmed_yuan: int = 0

    @property
    def has_figures(self) -> bool:
        return STAGES.index(self.stage) >= STAGES.index("intent")

    @property
    def amount_yuan(self) -> int:
        """The stage's amount: the needs' for 报名/匹配/会谈, the outcome figures (both columns) after."""
        return self.confirmed_yuan + self.unconfirmed_yuan if self.has_figures else self.need_amount_yuan

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
            raise NotFound()
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
    """Per meeting with an outcome, the reading of events.services.outcomes.figures_of, in SQL.

    Columns: meeting_id, held (either side), intent (the institution's when it recorded, else the SME's), agreed,
    funded, premium (the institution's only), confirmed (the institution recorded and the SME confirmed), disputed,
    financing_type (of the rows), enterprise_agreed / enterprise_funded (SME-only figures: shown, never counted).
    """
    by_institution = aliased(Outcome)
    by_enterprise = aliased(Outcome)
    institution_recorded = by_institution.id.is_not(None)

    def pick(column: str):
        return case((institution_recorded, getattr(by_institution, column)), else_=getattr(by_enterprise, column))

    return (select(Meeting.id.label("meeting_id"),
                   or_(by_institution.held.is_(True), by_enterprise.held.is_(True)).label("held"),
                   pick("intent_amount_yuan").label("intent"),
                   by_institution.agreed_amount_yuan.label("agreed"),
                   by_institution.funded_amount_yuan.label("funded"),
                   by_institution.premium_yuan.label("premium"),
                   and_(institution_recorded, by_enterprise.verdict == Verdict.CONFIRMED).label("confirmed"),
                   and_(institution_recorded, by_enterprise.verdict == Verdict.DISPUTED).label("disputed"),
                   pick("financing_type").label("financing_type"),
                   by_enterprise.agreed_amount_yuan.label("enterprise_agreed"),
                   by_enterprise.funded_amount_yuan.label("enterprise_funded"))
            .outerjoin(by_institution, and_(by_institution.meeting_id == Meeting.id,
                                            by_institution.side == Side.INSTITUTION))
            .outerjoin(by_enterprise, and_(by_enterprise.meeting_id == Meeting.id,
                                           by_enterprise.side == Side.ENTERPRISE))
            .where(or_(institution_recorded, by_enterprise.id.is_not(None)))
            .subquery("effective_outcome"))


def _fact_columns(stage: str, unit, amount, financing_type, confirmed):
    return (literal(stage, String).label("stage"), literal(STAGES.index(stage)).label("rank"),
            Event.id.label("event_id"), Event.chain_id.label("chain_id"),
            extract("year", Event.starts_on).label("year"), extract("month", Event.starts_on).label("month"),
            Enterprise.region_code.label("region_code"), Enterprise.id.label("enterprise_id"),
            FinancingNeed.id.label("need_id"), FinancingNeed.amount_yuan.label("need_amount"),
            unit.label("unit_id"), amount.label("amount"), confirmed.label("confirmed"),
            func.coalesce(financing_type, UNSPECIFIED, type_=String).label("financing_type"))


def _stage_facts(actor, filters: ReportFilter):
    """One row per (stage, SME, need or meeting) with every dimension and its rank; filtered and scoped."""
    where = event_conditions(actor, filters) + enterprise_conditions(filters)
    registered = (
        select(*_fact_columns("registered", FinancingNeed.id, literal(None, BigInteger), FinancingNeed.type,
                              false()))
        .select_from(Registration)
        .join(EventSession, EventSession.id == Registration.session_id)
        .join(Event, Event.id == EventSession.event_id)
        .join(Enterprise, Enterprise.id == Registration.enterprise_id)
        .outerjoin(RegistrationNeed, RegistrationNeed.registration_id == Registration.id)
        .outerjoin(FinancingNeed, FinancingNeed.id == RegistrationNeed.need_id)
        .where(Registration.status == RegistrationStatus.APPROVED, *where))

    outcome = effective_outcome()

    def meetings(stage: str, unit, amount, condition, confirmed):
        return (select(*_fact_columns(stage, unit, amount, func.coalesce(FinancingNeed.type, Product.type),
                                      confirmed))
                .select_from(Meeting)
                .join(EventSession, EventSession.id == Meeting.session_id)
                .join(Event, Event.id == EventSession.event_id)
                .join(Enterprise, Enterprise.id == Meeting.enterprise_id)
                .outerjoin(FinancingNeed, FinancingNeed.id == Meeting.need_id)
                .outerjoin(Product, Product.id == Meeting.product_id)
                .outerjoin(outcome, outcome.c.meeting_id == Meeting.id)
                .where(Meeting.status.in_(MATCHED_STATUSES), condition, *where))

    held = or_(Meeting.status == MeetingStatus.HELD, Meeting.checked_in_at.is_not(None),
               outcome.c.held.is_(True))
    none = literal(None, BigInteger)
    confirmed = func.coalesce(outcome.c.confirmed, false())
    parts = [
        registered,
        meetings("matched", FinancingNeed.id, none, true(), false()),
        meetings("met", FinancingNeed.id, none, held, false()),
        meetings("intent", Meeting.id, outcome.c.intent, outcome.c.intent > 0, confirmed),
        meetings("credit", Meeting.id, outcome.c.agreed, outcome.c.agreed > 0, confirmed),
        meetings("disbursed", Meeting.id, outcome.c.funded, outcome.c.funded > 0, confirmed),
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
    """{group key: {stage: figure}}: each SME and each need counted at every stage up to the furthest it reached.

    Three queries whatever the data: SMEs by their furthest rank, needs by theirs (with their amounts), and the
    outcome figures (each meeting once per stage) split into confirmed and unconfirmed.
    """
    keys = [key.label(f"k{index}") for index, key in enumerate(_dimension_keys(facts, dimension, region_level))]
    width = len(keys)
    keyed = select(*keys, *[facts.c[name] for name in ("stage", "rank", "enterprise_id", "need_id", "need_amount",
                                                       "unit_id", "amount", "confirmed")]).subquery("keyed")
    groups: dict[tuple, dict[str, StageFigure]] = {}

    def stages_of(key: tuple) -> dict[str, StageFigure]:
        return groups.setdefault(key, {name: StageFigure(name) for name in STAGES})

    def at_least(rank_column, value=None) -> list:
        """Per stage: how many rows (or how much of `value`) reached at least that stage's rank."""
        return [func.coalesce(func.sum(case((rank_column >= index, 1 if value is None else value), else_=0)), 0)
                for index in range(len(STAGES))]

    def key_columns(table) -> list:
        return [table.c[f"k{index}"] for index in range(width)]

    furthest = (select(*key_columns(keyed), keyed.c.enterprise_id, func.max(keyed.c.rank).label("rank"))
                .group_by(*key_columns(keyed), keyed.c.enterprise_id).subquery("furthest_enterprise"))
    for row in db.session.execute(select(*key_columns(furthest), *at_least(furthest.c.rank))
                                  .group_by(*key_columns(furthest))):
        for name, count in zip(STAGES, row[width:], strict=True):
            stages_of(tuple(row[:width]))[name].enterprises = int(count or 0)

    furthest = (select(*key_columns(keyed), keyed.c.need_id, func.max(keyed.c.rank).label("rank"),
                       func.max(keyed.c.need_amount).label("need_amount"))
                .where(keyed.c.need_id.is_not(None))
                .group_by(*key_columns(keyed), keyed.c.need_id).subquery("furthest_need"))
    for row in db.session.execute(select(*key_columns(furthest), *at_least(furthest.c.rank),
                                         *at_least(furthest.c.rank, furthest.c.need_amount))
                                  .group_by(*key_columns(furthest))):
        counts, amounts = row[width:width + len(STAGES)], row[width + len(STAGES):]
        for name, count, amount in zip(STAGES, counts, amounts, strict=True):
            figure = stages_of(tuple(row[:width]))[name]
            figure.needs, figure.need_amount_yuan = int(count or 0), int(amount or 0)

    figures = (select(keyed.c.stage, *key_columns(keyed), keyed.c.unit_id, keyed.c.amount, keyed.c.confirmed)
               .where(keyed.c.rank >= STAGES.index("intent")).distinct().subquery("outcome_figures"))
    for row in db.session.execute(select(figures.c.stage, *key_columns(figures), figures.c.confirmed,
                                         func.coalesce(func.sum(figures.c.amount), 0))
                                  .group_by(figures.c.stage, *key_columns(figures), figures.c.confirmed)):
        figure = stages_of(tuple(row[1:1 + width]))[row[0]]
        if row[1 + width]:
            figure.confirmed_yuan += int(row[2 + width] or 0)
        else:
            figure.unconfirmed_yuan += int(row[2 + width] or 0)
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
    if not code and actor is not None and actor.role == Role.ORGANISER:
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
    local_start = to_shanghai(start)
    local_end = to_shanghai(end)
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
    where = [MeetingRequest.direction == RequestDirection.FROM_ENTERPRISE,
             MeetingRequest.status != RequestStatus.WITHDRAWN,
             *event_conditions(actor, filters), *enterprise_conditions(filters)]
    answered = MeetingRequest.responded_at.is_not(None)
    late = or_(and_(answered, MeetingRequest.responded_at > MeetingRequest.respond_by),
               and_(~answered, MeetingRequest.respond_by < now))
    scoped = (select(MeetingRequest.institution_id, Institution.name,
                     func.count(MeetingRequest.id),
                     func.sum(case((answered, 1), else_=0)),
                     func.sum(case((late, 1), else_=0)),
                     func.sum(case((MeetingRequest.status == RequestStatus.REQUESTED, 1), else_=0)))
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
