"""Demo content of the online half: a month of livestreams and talks, and something in every service zone.

`load_demo(session)` runs after `events.demo` (which builds the month's event). For the month's event it adds
one livestream (公益直播) or knowledge talk (金融知识宣讲) hosted by EVERY approved institution that does not
host one yet, spread over the working days of the month (afternoon streams, evening talks; those already over
carry a replay link, all carry slides), so every seeded institution takes part and its zone has a programme.
Then it adds the traffic a month would bring: zone views (anonymous and by SMEs), stream page views and click-
throughs, and a dozen meeting requests made from zones and streams (some accepted), so the lead report has rows.

Goes through the services (`planning.create_session`, `requests.request_meeting`, `requests.accept_request`);
visits are written directly as the pages would. Idempotent: sessions are looked up by host institution,
traffic is added only together with new sessions. Flushes, never commits. Needs seeds and `events.demo` first.
"""
from datetime import date, datetime, time, timedelta

from flask_babel import force_locale
from sqlalchemy import func, select

from accounts.models import User
from core.clock import shanghai_date, utc_of_shanghai, utcnow
from core.roles import Role
from events.demo import _party_for
from events.enums import LeadSource, RequestStatus
from events.models import Event, EventSession, MeetingRequest, OnlineVisit
from events.services import online, planning, requests
from events.services.consent import request_consent_text
from events.workdays import is_working_day
from market.enums import InstitutionStatus, NeedStatus, ProductStatus
from market.models import Enterprise, FinancingNeed, Institution, Product

TALK_TOPICS = {  # by institution kind; the n-th institution of a kind gets the n-th topic
    "bank": ["科技型中小企业信用贷款怎么申请", "知识产权质押融资全流程", "算力设备按揭与融资租赁怎么选"],
    "insurer": ["用科技保险分散研发和首台套风险", "关键研发设备险与产品责任险", "出口信用保险助力出海"],
    "investor": ["股权融资前企业要准备什么", "产业引导基金怎么投早投小", "估值、对赌与投资协议要点"],
    "guarantor": ["政府性融资担保与反担保", "担保费补贴政策怎么享受", "“见贷即保”批量担保怎么申请"],
    "other": ["融资租赁与供应链金融入门", "应收账款融资怎么做", "小额贷款的正确用法"],
}


def _at(day: date, hour: int) -> datetime:
    return utc_of_shanghai(day, time(hour))


def load_demo(session) -> dict:
    """Add the online programme and traffic to the month's event (see the module's docstring); returns counts."""
    with force_locale("zh"):
        return _load(session)


def _load(session) -> dict:
    session.flush()
    now = utcnow()
    event = next(iter(online.current_events(now)), None)
    if event is None:
        return {}
    organiser = session.scalar(select(User).where(User.role == Role.ORGANISER,
                                                  User.organiser_office_id == event.organiser_office_id)
                               .order_by(User.id).limit(1))
    institutions = list(session.scalars(select(Institution).where(Institution.status == InstitutionStatus.APPROVED)
                                        .order_by(Institution.id)))
    hosting = set(session.scalars(select(EventSession.host_institution_id).where(
        EventSession.event_id == event.id, EventSession.kind.in_(online.BROADCAST_KINDS))))
    waiting = [institution for institution in institutions if institution.id not in hosting]
    created = _programme(session, organiser, event, waiting, now)
    counts = {"demo online sessions": {"created": len(created), "present": len(institutions) - len(waiting)}}
    if created:
        counts["demo online visits"] = {"created": _traffic(session, event, institutions, now)}
        counts["demo online leads"] = {"created": _leads(session, event, institutions, now)}
    session.flush()
    return counts


# ---- the programme ----------------------------------------------------------------------------------

def _working_days(first: date, last: date) -> list[date]:
    days, day = [], first
    while day <= last:
        if is_working_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days or [first]


def _showcase_product(session, institution: Institution) -> Product | None:
    return session.scalar(select(Product).where(Product.institution_id == institution.id,
                                                Product.status == ProductStatus.ACTIVE)
                          .order_by(Product.is_exclusive.desc(), Product.id).limit(1))


def _days_for(event: Event, count: int, now: datetime) -> list[date]:
    """`count` working days of the event: about two thirds already past (with replays), a third still to come."""
    if count == 0:
        return []
    today = shanghai_date(now)
    days = _working_days(event.starts_on, event.ends_on)
    past, future = [d for d in days if d < today], [d for d in days if d >= today]
    upcoming = count if not past else (0 if not future else max(count // 3, 1))
    gone = count - upcoming
    return ([past[i * len(past) // gone] for i in range(gone)] +
            [future[i * len(future) // upcoming] for i in range(upcoming)])


def _programme(session, organiser, event: Event, institutions: list[Institution], now: datetime) -> list[EventSession]:
    days = _days_for(event, len(institutions), now)
    created, talks_by_kind = [], {}
    for index, institution in enumerate(institutions):
        day = days[index]
        talk = index % 2 == 1
        product = _showcase_product(session, institution)
        short = institution.name.replace("股份有限公司", "").replace("有限公司", "")
        if talk:
            topics = TALK_TOPICS.get(institution.kind, TALK_TOPICS["other"])
            nth = talks_by_kind[institution.kind] = talks_by_kind.get(institution.kind, -1) + 1
            title = "金融知识宣讲：" + topics[nth % len(topics)]
            starts_at = _at(day, 19)
        else:
            title = f"{short}“{product.name}”公益直播" if product else f"{short}公益直播"
            starts_at = _at(day, 15 if index % 4 == 0 else 10)
        ends_at = starts_at + timedelta(hours=1)
        room = f"https://live.example.com/chainmatch/{event.id}/{institution.id}"
        speakers = f"{short} {institution.contact_name}".strip()
        types = sorted(set(session.scalars(select(Product.type).where(
            Product.institution_id == institution.id, Product.status == ProductStatus.ACTIVE))))
        description = (product.description if product is not None and not talk else institution.description) or ""
        facts = planning.SessionFacts(
            kind="knowledge_talk" if talk else "livestream", mode="online", title=title[:200], starts_at=starts_at,
            ends_at=ends_at, online_url=room, stream_url=room, speakers=speakers[:500], financing_types=types,
            description=description, host_institution_id=institution.id,
            # the replay is posted the day after; until then the page says it is being prepared
            replay_url=f"{room}/replay" if ends_at < now - timedelta(days=1) else "")
        item = planning.create_session(organiser, event, facts)
        slides = f"课件：{product.name}介绍（PDF）" if product is not None else "课件（PDF）"
        files = f"https://files.example.com/chainmatch/{institution.id}"
        item.attachments = [{"title": slides, "url": f"{files}/slides.pdf"},
                            {"title": "申请材料清单", "url": f"{files}/checklist.pdf"}]
        created.append(item)
    session.flush()
    return created


# ---- a month of traffic ------------------------------------------------------------------------------

def _chain_smes(session, event: Event, limit: int) -> list[Enterprise]:
    return list(session.scalars(select(Enterprise).where(Enterprise.chain_id == event.chain_id)
                                .order_by(Enterprise.credit_code).limit(limit)))


def _spread(start: datetime, end: datetime, count: int, index: int) -> datetime:
    """The index-th of `count` moments spread evenly between start and end."""
    span = max((end - start).total_seconds(), 60)
    return start + timedelta(seconds=span * (index + 1) / (count + 1))


def _traffic(session, event: Event, institutions: list[Institution], now: datetime) -> int:
    smes = _chain_smes(session, event, 60)
    if not smes:
        return 0
    month_start = _at(event.starts_on, 8)
    rows = []
    for number, institution in enumerate(institutions):
        views = 6 + (institution.id * 7) % 23
        for index in range(views):
            enterprise = smes[(number * 5 + index) % len(smes)] if index % 3 else None  # a third anonymous
            rows.append(OnlineVisit(kind=online.VisitKind.ZONE_VIEW, institution_id=institution.id,
                                    enterprise_id=enterprise.id if enterprise else None,
                                    at=_spread(month_start, now, views, index)))
    streams = session.scalars(select(EventSession).where(EventSession.event_id == event.id,
                                                         EventSession.kind.in_(online.BROADCAST_KINDS),
                                                         EventSession.starts_at <= now)).all()
    for number, stream in enumerate(streams):
        clicks = 4 + (stream.id * 5) % 17
        for index in range(clicks):
            enterprise = smes[(number * 3 + index) % len(smes)] if index % 4 else None
            moment = min(stream.starts_at + timedelta(minutes=index), now)
            rows.append(OnlineVisit(kind=online.VisitKind.STREAM_VIEW, session_id=stream.id,
                                    enterprise_id=enterprise.id if enterprise else None, at=moment))
            rows.append(OnlineVisit(kind=online.VisitKind.STREAM_CLICK, session_id=stream.id,
                                    enterprise_id=enterprise.id if enterprise else None, at=moment))
    session.add_all(rows)
    session.flush()
    return len(rows)


def _open_need(enterprise: Enterprise, product: Product) -> FinancingNeed | None:
    needs = [n for n in enterprise.needs if n.status == NeedStatus.OPEN and n.type == product.type]
    return needs[0] if needs else None


def _leads(session, event: Event, institutions: list[Institution], now: datetime) -> int:
    """Requests made from zones and from beside streams (alternately); two in three accepted by the institution."""
    target_event = online.event_for_requests(event)
    streams = {s.host_institution_id: s for s in session.scalars(select(EventSession).where(
        EventSession.event_id == event.id, EventSession.kind.in_(online.BROADCAST_KINDS)))}
    smes = [e for e in _chain_smes(session, event, 120) if e.needs][::-1]  # from the end: others use the first
    made = 0
    for institution in institutions:
        if made >= 12 or not smes:
            break
        products = list(session.scalars(select(Product).where(Product.institution_id == institution.id,
                                                              Product.status == ProductStatus.ACTIVE)))
        pair = next(((e, p, _open_need(e, p)) for e in smes for p in products if _open_need(e, p)), None)
        if pair is None:
            continue
        enterprise, product, need = pair
        smes.remove(enterprise)
        stream = streams.get(institution.id)
        from_stream = made % 2 == 1 and stream is not None and stream.starts_at <= now
        already = session.scalar(select(func.count(MeetingRequest.id)).where(
            MeetingRequest.enterprise_id == enterprise.id, MeetingRequest.institution_id == institution.id))
        if already:
            continue
        actor = _party_for(session, enterprise_id=enterprise.id)
        item = requests.request_meeting(
            actor, target_event, institution, need_id=need.id, product_id=product.id,
            message="在线上展厅看到贵机构的产品，希望进一步沟通。",
            lead_source=LeadSource.STREAM if from_stream else LeadSource.ZONE,
            lead_session_id=stream.id if from_stream else None, consent_text=request_consent_text(institution.name),
            consented=True)
        made += 1
        if made % 3 != 0 and item.status == RequestStatus.REQUESTED:  # two in three accepted
            requests.accept_request(_party_for(session, institution_id=institution.id), item,
                                    "欢迎来访，客户经理将与您联系。")
    return made
