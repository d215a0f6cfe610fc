"""Demo content of the month's event, so that a newcomer sees every page with something on it.

`load_demo(session)` builds, relative to today in Asia/Shanghai: a year plan for the Hangzhou office, the
current month's 人工智能 event hosted in 杭州 with five sessions (信贷融资对接 earlier this month and 股权融资对接
later, offline with tables and slots; 政策对接, 公益直播 and 金融知识宣讲 online with links), about forty SMEs and
eight institutions registered, matching run and the schedule published, meeting requests in every state, and
check-ins and outcomes for the meetings whose time has passed.

Everything goes through the event's services, as the organiser (organiser@demo.local) and as each party. The
seeded enterprises and institutions mostly have no user account: `Party` speaks for them, the way a clerk
would enter a paper form. A few timestamps are set in the past afterwards (registration and request times),
because the services stamp "now" and the demo tells a month's story.

Idempotent: when the month's event exists (looked up by its plan month and title) nothing is added. Flushes and
never commits (`chainmatch demo` commits). Needs the seeds with demo accounts loaded first.
"""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import force_locale
from sqlalchemy import func, select, update

from accounts.models import OrganiserOffice, User
from core.clock import shanghai_date, utc_of_shanghai, utcnow
from events.enums import EventStatus, MeetingStatus, RequestStatus, Verdict
from events.models import Event, EventSession, Meeting, MeetingRequest, Registration, YearPlanEntry
from events.services import agenda, outcomes, planning, publication, registration, requests, scheduling
from events.services.consent import registration_consent_text, request_consent_text
from events.workdays import add_working_days, is_working_day
from market.enums import FinancingType, NeedStatus, ProductStatus
from market.models import Chain, Enterprise, FinancingNeed, Institution, Product

OFFICE = "杭州市经济和信息化局"
ORGANISER_EMAIL = "organiser@demo.local"
DEMO_SME = "杭州智算云科技有限公司"
DEMO_BANK = "杭城银行股份有限公司"
DEMO_INVESTOR = "杭州智链产业引导基金管理有限公司"
CREDIT_INSTITUTIONS = [(DEMO_BANK, 2), ("瀚海银行杭州分行", 1), ("国丰开发银行浙江省分行", 1),
                       ("杭州钱塘农村商业银行股份有限公司", 1), ("泰和银行浙江省分行", 1), ("杭州惠链融资担保有限公司", 1)]
EQUITY_INSTITUTIONS = [(DEMO_INVESTOR, 2), ("湖畔天使创业投资合伙企业（有限合伙）", 1)]
PLAN_CHAINS = ["integrated_circuits", "new_energy_vehicles", "machine_tools", "pharma", "medical_devices",
               "industrial_software", "servers", "industrial_robots", "new_materials", "ai"]
CREDIT_SMES = 34
EQUITY_SMES = 12
STAFF = [("王晓东", "公司金融部总经理"), ("李静", "普惠金融部客户经理"), ("陈思远", "科技金融中心产品经理")]
WAN = 10_000


@dataclass(frozen=True)
class Party:
    """Acts for a seeded enterprise or institution without a user account (as a clerk entering its form)."""

    role: str
    enterprise_id: int | None = None
    institution_id: int | None = None
    id: int | None = None
    locale: str = "zh"


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """Asia/Shanghai wall clock on `day`, as naive UTC."""
    return utc_of_shanghai(day, time(hour, minute))


def _month_days(today: date) -> tuple[date, date, date, date]:
    """First and last day of the month, a day earlier this month (past) and one later (upcoming)."""
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    past = max(first, today - timedelta(days=4))
    upcoming = min(last, today + timedelta(days=6))
    return first, last, past, upcoming


def load_demo(session) -> dict:
    """Add the demo event (see the module's docstring); returns counts per kind of row."""
    with force_locale("zh"):  # services word their texts in Chinese; there is no request here
        return _load(session)


def _load(session) -> dict:
    session.flush()
    session.expunge_all()  # the seeds' thousands of objects would slow every bulk UPDATE's session sync
    organiser = session.scalar(select(User).where(User.email == ORGANISER_EMAIL))
    office = session.scalar(select(OrganiserOffice).where(OrganiserOffice.name == OFFICE))
    ai = session.scalar(select(Chain).where(Chain.code == "ai"))
    if organiser is None or office is None or ai is None:
        return {}  # seeds or demo accounts missing: nothing to hang the event on
    now = utcnow()
    today = shanghai_date(now)
    entry = _year_plan(session, organiser, office, today)
    event = entry.event or session.scalar(select(Event).where(Event.title == planning.suggested_title(entry)))
    if event is not None:
        return {"demo events": {"created": 0, "present": 1}}

    first, last, past, upcoming = _month_days(today)
    opens = _at(first - timedelta(days=20), 9)
    closes = _at(past - timedelta(days=3), 17)
    event = planning.create_event(organiser, planning.EventFacts(
        title=planning.suggested_title(entry), chain_code="ai", host_region_code="330100", starts_on=first,
        ends_on=last, registration_opens_at=opens, registration_closes_at=closes,
        matching_at=closes + timedelta(hours=16), publication_at=closes + timedelta(hours=40),
        description="本月聚焦人工智能产业链（算力、模型、数据、智能体与应用），围绕《杭州市人工智能产业发展若干措施》"
                    "组织股、贷、保、担综合融资对接：信贷与股权线下对接会、政策解读、机构公益直播和金融知识宣讲。"),
        plan_entry=entry)
    sessions = _sessions(organiser, event, past, upcoming, session)
    planning.advance_event(organiser, event, EventStatus.OPEN)

    registering_at = opens + timedelta(days=1)
    smes = _demo_smes(session)
    sme_registrations = _register_smes(session, sessions, smes, registering_at)
    institution_registrations = _register_institutions(session, sessions, registering_at)
    _decide(session, organiser, sme_registrations + institution_registrations)

    planning.advance_event(organiser, event, EventStatus.CLOSED)
    for matching_session in scheduling.matchmaking_sessions(event):
        scheduling.run_matching(organiser, matching_session)
    for matching_session in scheduling.matchmaking_sessions(event):
        publication.publish_schedule(organiser, matching_session)
    if min(s.starts_at for s in event.sessions) <= now:
        planning.advance_event(organiser, event, EventStatus.RUNNING)

    held = _check_in_and_record(session, organiser, sessions["credit"], now)
    request_count = _requests(session, event, smes, now)
    session_ids = [s.id for s in event.sessions]
    meetings = session.scalar(select(func.count(Meeting.id)).where(Meeting.session_id.in_(session_ids)))
    session.flush()
    return {"demo events": {"created": 1, "present": 0},
            "demo sessions": {"created": len(event.sessions)},
            "demo registrations": {"created": len(sme_registrations) + len(institution_registrations)},
            "demo meetings": {"created": meetings},
            "demo outcomes": {"created": held},
            "demo requests": {"created": request_count}}


# ---- the plan and the sessions ----------------------------------------------------------------------

def _year_plan(session, organiser, office, today: date) -> YearPlanEntry:
    """Twelve months for the Hangzhou office (人工智能 this month); months already planned are left alone."""
    planned = {entry.month: entry for entry in session.scalars(select(YearPlanEntry).where(
        YearPlanEntry.organiser_office_id == office.id, YearPlanEntry.year == today.year))}
    others = [code for code in PLAN_CHAINS if code != "ai"]
    for month in range(1, 13):
        if month in planned:
            continue
        chain = "ai" if month == today.month else others[(month - 1) % len(others)]
        planned[month] = planning.create_plan_entry(organiser, planning.PlanEntryFacts(
            year=today.year, month=month, chain_code=chain, host_region_code="330100",
            note="本月主题产业链（演示数据）"))
    return planned[today.month]


def _sessions(organiser, event: Event, past: date, upcoming: date, session) -> dict[str, EventSession]:
    venue = "杭州国际博览中心 2B 馆"
    bank = session.scalar(select(Institution).where(Institution.name == DEMO_BANK))
    talk_day = max(event.starts_on, past - timedelta(days=1))
    specs = {
        "credit": planning.SessionFacts(
            kind="credit_matching", mode="offline", title="人工智能产业链信贷融资对接会", starts_at=_at(past, 9),
            ends_at=_at(past, 11, 30), slot_minutes=30, tables=10, financing_types=["loan", "guarantee"], venue=venue,
            room="主会场", table_area="洽谈区 A", description="银行、担保机构与链上企业一对一洽谈，每场 30 分钟。"),
        "livestream": planning.SessionFacts(
            kind="livestream", mode="online", title="杭城银行“科创贷”公益直播", starts_at=_at(talk_day, 15),
            ends_at=_at(talk_day, 16), online_url="https://live.example.com/chainmatch/kechuangdai",
            stream_url="https://live.example.com/chainmatch/kechuangdai",
            replay_url="https://live.example.com/chainmatch/kechuangdai/replay", speakers="杭城银行 科技金融部",
            host_institution_id=bank.id if bank else None, description="讲解科创贷、人才贷和算力设备按揭的申请条件与流程。"),
        "policy": planning.SessionFacts(
            kind="policy_matching", mode="online", title="人工智能产业政策线上对接", starts_at=_at(upcoming, 10),
            ends_at=_at(upcoming, 11), slot_minutes=30, tables=2, online_url="https://meeting.example.com/ai-policy",
            description="解读算力券、模型券、数据券和首台套政策，在线答疑。"),
        "equity": planning.SessionFacts(
            kind="equity_matching", mode="offline", title="人工智能产业链股权融资对接会", starts_at=_at(upcoming, 14),
            ends_at=_at(upcoming, 16), slot_minutes=20, tables=6, financing_types=["equity"], venue=venue,
            room="路演厅", table_area="洽谈区 B", description="产业基金、天使投资与成长期企业闭门洽谈，每场 20 分钟。"),
        "talk": planning.SessionFacts(
            kind="knowledge_talk", mode="online", title="金融知识宣讲：中小企业如何用好知识产权质押融资",
            starts_at=_at(upcoming, 19), ends_at=_at(upcoming, 20),
            online_url="https://live.example.com/chainmatch/ip-loan",
            stream_url="https://live.example.com/chainmatch/ip-loan", speakers="浙江省知识产权质押融资服务中心"),
    }
    return {key: planning.create_session(organiser, event, facts) for key, facts in specs.items()}


# ---- registrations -----------------------------------------------------------------------------------

def _party_for(session, enterprise_id: int | None = None, institution_id: int | None = None):
    """The party's own user when it has one (the demo accounts), else a Party speaking for it."""
    column, value = (User.enterprise_id, enterprise_id) if enterprise_id else (User.institution_id, institution_id)
    user = session.scalar(select(User).where(column == value).order_by(User.id).limit(1))
    if user is not None:
        return user
    return Party("sme", enterprise_id=enterprise_id) if enterprise_id else Party("institution",
                                                                                 institution_id=institution_id)


def _demo_smes(session) -> list[Enterprise]:
    """The demo SME first, then Hangzhou's AI enterprises in credit-code order."""
    enterprises = list(session.scalars(select(Enterprise).join(Chain).where(
        Chain.code == "ai", Enterprise.region_code.startswith("3301")).order_by(Enterprise.credit_code)))
    enterprises.sort(key=lambda enterprise: enterprise.name != DEMO_SME)
    return enterprises


def _needs_of(session, enterprise: Enterprise, types: set[str]) -> list[FinancingNeed]:
    return [need for need in enterprise.needs if need.type in types and need.status != NeedStatus.WITHDRAWN]


def _register_smes(session, sessions, smes, at: datetime) -> list[Registration]:
    done, credit_count, equity_count = [], 0, 0
    consent = registration_consent_text()
    for index, enterprise in enumerate(smes):
        actor = _party_for(session, enterprise_id=enterprise.id)
        loan_needs = _needs_of(session, enterprise, {"loan", "guarantee"})
        equity_needs = _needs_of(session, enterprise, {"equity"})
        if loan_needs and credit_count < CREDIT_SMES:
            done.append(registration.register_enterprise(actor, sessions["credit"], [n.id for n in loan_needs],
                                                         consent, now=at, consented=True))
            credit_count += 1
        if equity_needs and equity_count < EQUITY_SMES and (index % 2 == 0 or not loan_needs):
            done.append(registration.register_enterprise(actor, sessions["equity"], [n.id for n in equity_needs],
                                                         consent, now=at, consented=True))
            equity_count += 1
        if credit_count >= CREDIT_SMES and equity_count >= EQUITY_SMES:
            break
    for offset, item in enumerate(done):  # spread the sign-ups over the registration window
        item.created_at = at + timedelta(hours=3 * offset)
    return done


def _register_institutions(session, sessions, at: datetime) -> list[Registration]:
    done = []
    for key, names, types in (("credit", CREDIT_INSTITUTIONS, {"loan", "guarantee"}),
                              ("equity", EQUITY_INSTITUTIONS, {"equity"})):
        for number, (name, tables) in enumerate(names):
            institution = session.scalar(select(Institution).where(Institution.name == name))
            if institution is None:
                continue
            products = session.scalars(select(Product.id).where(Product.institution_id == institution.id,
                                                                Product.type.in_(types),
                                                                Product.status == ProductStatus.ACTIVE)).all()
            if not products:
                continue
            staff = [registration.StaffMember(name=person, title=title, phone=f"0571-8{number}{table:02d}6688",
                                              table_number=table)
                     for table, (person, title) in enumerate(STAFF[:tables], start=1)]
            item = registration.register_institution(_party_for(session, institution_id=institution.id),
                                                     sessions[key], products, tables, staff, [], now=at)
            item.created_at = at + timedelta(hours=2 + number)
            done.append(item)
    return done


def _decide(session, organiser, items: list[Registration]) -> None:
    """Approve nearly all; leave two SMEs pending and turn one down with a reason."""
    smes = [item for item in items if item.enterprise_id is not None]
    pending = {smes[-1].id, smes[-2].id} if len(smes) > 3 else set()
    rejected = smes[-3].id if len(smes) > 3 else None
    for item in items:
        if item.id in pending:
            continue
        if item.id == rejected:
            registration.reject_registration(organiser, item, "所报需求为研发补助，不属于信贷对接范围；建议关注政策对接场次。")
        else:
            registration.approve_registration(organiser, item)
        item.decided_at = item.created_at + timedelta(days=1)


# ---- the day of the credit session: check-ins and outcomes ----------------------------------------------

def _check_in_and_record(session, organiser, credit: EventSession, now: datetime) -> int:
    """For meetings that have started: most checked in, nine in ten held, outcomes in each type's own steps.

    The institution records first; most SMEs that record confirm its figures, one disputes them, and one SME
    records alone (its 授信 stays "未经机构确认" until the bank records).
    """
    meetings = list(session.scalars(select(Meeting).where(Meeting.session_id == credit.id,
                                                          Meeting.status == MeetingStatus.SCHEDULED)
                                    .order_by(Meeting.slot, Meeting.institution_id, Meeting.id)))
    recorded = 0
    for index, meeting in enumerate(meetings):
        if meeting.starts_at is None or meeting.starts_at > now:
            continue
        institution = _party_for(session, institution_id=meeting.institution_id)
        enterprise = _party_for(session, enterprise_id=meeting.enterprise_id)
        if index % 10 == 9:  # nobody came
            outcomes.record_outcome(institution, meeting, outcomes.OutcomeReport(
                held=False, note="企业未到场，已电话联系改约。"))
            recorded += 1
            continue
        if index % 10 != 8:
            agenda.check_in(organiser, meeting, now=meeting.starts_at)
        report = _institution_report(meeting, index)
        if index % 10 == 4:  # the bank has not recorded yet; the SME says what it was told
            outcomes.record_outcome(enterprise, meeting, outcomes.OutcomeReport(
                held=True, intent=report.intent, agreed=report.agreed, note="客户经理口头告知可授信，待正式批复。"))
            recorded += 1
            continue
        if index % 5 == 4:
            continue  # held, outcome not yet recorded: the reminders have work to do
        outcomes.record_outcome(institution, meeting, report)
        recorded += 1
        if index % 4 == 0:  # the SME answers: confirms, or (once in a while) disputes the figures
            disputed = index % 8 == 4 and bool(report.agreed)
            outcomes.record_outcome(enterprise, meeting, outcomes.OutcomeReport(
                held=True, intent=report.intent, note="沟通顺利。",
                verdict=Verdict.DISPUTED if disputed else Verdict.CONFIRMED,
                dispute_reason=(f"批复额度为 {report.agreed * 8 // 10 // WAN} 万元，与机构填报的 "
                                f"{report.agreed // WAN} 万元不一致。") if disputed else ""))
            recorded += 1
    return recorded


def _institution_report(meeting: Meeting, index: int) -> outcomes.OutcomeReport:
    """Plausible figures in the meeting's type: below the need, funded below agreed, a premium near 0.8 %."""
    need = meeting.need.amount_yuan if meeting.need else 3_000_000
    intent = (need * (6 + index % 4) // 10) // WAN * WAN if index % 3 != 2 else None
    reached = bool(intent) and index % 3 == 0
    financing_type = outcomes.meeting_financing_type(meeting)
    if financing_type == FinancingType.EQUITY:
        agreed = intent if reached else None
        funded = agreed * 4 // 10 // WAN * WAN if agreed and index % 2 == 0 else None
        return outcomes.OutcomeReport(True, intent, agreed, funded, note="已签署投资协议，首期资金到位。" if funded
                                      else "已完成初步尽调，待投委会审议。")
    if financing_type == FinancingType.INSURANCE:
        agreed = intent if reached else None
        premium = max(agreed * 8 // 1000 // 100 * 100, 100) if agreed else None
        return outcomes.OutcomeReport(True, intent, agreed, premium=premium,
                                      note="已出单，保单已寄送。" if agreed else "已提供投保方案，待企业确认。")
    if financing_type == FinancingType.GUARANTEE:
        agreed = intent * 9 // 10 // WAN * WAN if reached else None
        return outcomes.OutcomeReport(True, intent, agreed, note="已出具担保函，配合合作银行放款。" if agreed
                                      else "已受理担保申请，待评审。")
    agreed = intent * 8 // 10 // WAN * WAN if reached else None
    funded = agreed // 2 // WAN * WAN if agreed and index % 2 == 0 else None
    return outcomes.OutcomeReport(True, intent, agreed, funded, note="已收集材料，进入审批。" if agreed
                                  else "有合作意向，待补充财务报表。")


# ---- meeting requests in every state --------------------------------------------------------------------

def _requests(session, event: Event, smes: list[Enterprise], now: datetime) -> int:
    """Requested, accepted (quickly or slowly), declined, expired and withdrawn; times set in the past."""
    by_name = {name: session.scalar(select(Institution).where(Institution.name == name))
               for name, _ in CREDIT_INSTITUTIONS + EQUITY_INSTITUTIONS}
    plan = [  # (SME index, institution, financing type, outcome, working days ago, hours to answer)
        (0, DEMO_INVESTOR, "equity", "requested", 0, None),
        (3, DEMO_BANK, "loan", "requested", 0, None),
        (5, DEMO_BANK, "loan", "accepted", 9, 5),
        (6, DEMO_BANK, "loan", "declined", 8, 30),
        (7, "瀚海银行杭州分行", "loan", "accepted", 10, 20),
        (8, "瀚海银行杭州分行", "loan", "declined", 7, 50),
        (9, "国丰开发银行浙江省分行", "loan", "accepted", 12, 70),
        (10, "国丰开发银行浙江省分行", "loan", "expired", 20, None),
        (11, "杭州钱塘农村商业银行股份有限公司", "loan", "accepted", 6, 2),
        (12, "杭州钱塘农村商业银行股份有限公司", "loan", "withdrawn", 5, None),
        (13, "湖畔天使创业投资合伙企业（有限合伙）", "equity", "accepted", 4, 26),
        (14, "杭州惠链融资担保有限公司", "guarantee", "declined", 6, 8),
    ]
    created = 0
    for index, name, wanted, result, days_ago, hours in plan:
        institution = by_name.get(name)
        candidates = [e for e in smes[index:] if _needs_of(session, e, {wanted})]
        if institution is None or not candidates:
            continue
        enterprise = candidates[0]
        need = _needs_of(session, enterprise, {wanted})[0]
        product = session.scalar(select(Product).where(Product.institution_id == institution.id,
                                                       Product.type == wanted).order_by(Product.id).limit(1))
        actor = _party_for(session, enterprise_id=enterprise.id)
        item = requests.request_meeting(actor, event, institution, need_id=need.id,
                                        product_id=product.id if product else None,
                                        message="希望就本次对接会上的产品进一步沟通。",
                                        consent_text=request_consent_text(institution.name), consented=True)
        if item.status != RequestStatus.REQUESTED:
            continue
        asked_at = _working_morning_before(now, days_ago) if days_ago else now - timedelta(hours=2)
        item.created_at = asked_at
        item.respond_by = add_working_days(asked_at, product.response_working_days if product else 5)
        session.flush()
        recipient = _party_for(session, institution_id=institution.id)
        if result == "accepted" and item.respond_by >= asked_at + timedelta(hours=hours):
            requests.accept_request(recipient, item, "欢迎来访，我行客户经理将与您联系。", now=asked_at + timedelta(hours=hours))
        elif result == "declined" and item.respond_by >= asked_at + timedelta(hours=hours):
            requests.decline_request(recipient, item, "暂不符合该产品的准入条件，建议关注担保增信产品。",
                                     now=asked_at + timedelta(hours=hours))
        elif result == "withdrawn":
            requests.withdraw_request(actor, item)
        elif result == "expired":
            session.execute(update(MeetingRequest).where(MeetingRequest.id == item.id)
                            .values(respond_by=asked_at + timedelta(days=5)))
        created += 1
    requests.expire_overdue_requests(now)
    created += _institution_request(session, event, smes)
    return created


def _working_morning_before(now: datetime, working_days: int) -> datetime:
    """09:30 Asia/Shanghai on the `working_days`-th working day before today (as naive UTC)."""
    day = shanghai_date(now)
    while working_days > 0:
        day -= timedelta(days=1)
        working_days -= is_working_day(day)
    return _at(day, 9, 30)


def _institution_request(session, event: Event, smes: list[Enterprise]) -> int:
    """The demo bank invites the demo SME: something for sme@demo.local to answer."""
    bank = session.scalar(select(Institution).where(Institution.name == DEMO_BANK))
    if bank is None or not smes:
        return 0
    actor = _party_for(session, institution_id=bank.id)
    requests.request_meeting(actor, event, smes[0], message="我行“科创贷”可匹配贵司算力设备采购需求，诚邀面谈。")
    return 1
