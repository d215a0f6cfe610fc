"""The online half of the tour: institutions' service zones (网络服务专区), livestreams and talks, the month's
online hall, and the visits they receive.

- A zone is public: the institution's showcase, its active products (event-exclusive first), and the livestreams
  and talks it hosts. Every look at a zone is one `OnlineVisit(kind="zone_view")` row (the institution's own
  users are not counted).
- A livestream or talk is an `EventSession` of kind 公益直播 / 金融知识宣讲 of a public (non-draft) event. The
  platform never hosts video: it embeds the provider's player only when the URL is https on a host of the
  allowlist `STREAM_EMBED_HOSTS` (app config, else `DEFAULT_EMBED_HOSTS`), and otherwise links to it. Its
  viewer count is the number of distinct SMEs that registered for the session or clicked through to the stream.
- Institutions "taking part" in an event are those with a live registration for one of its sessions or hosting
  one of its sessions.

The month's hall is in `events.services.online_hall`, the lead report (views, requests, meetings and outcomes per
zone and stream) in `events.services.online_leads`.
"""
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, or_, select, union

from core.access import require_owner
from core.clock import SHANGHAI, shanghai_today, utcnow
from core.errors import NotFound
from core.extensions import db
from core.roles import Role
from events.enums import EventStatus, SessionKind
from events.models import Event, EventSession, OnlineVisit, Registration
from events.services.registration import LIVE_STATUSES
from market.enums import InstitutionStatus, NeedStatus, ProductStatus
from market.models import FinancingNeed, Institution, Product
from market.web_links import is_web_url

BROADCAST_KINDS = (SessionKind.LIVESTREAM, SessionKind.KNOWLEDGE_TALK)
# The statuses in which `requests.request_meeting` takes requests tied to an event.
EVENT_TAKES_REQUESTS = (EventStatus.OPEN, EventStatus.CLOSED, EventStatus.MATCHED, EventStatus.PUBLISHED,
                        EventStatus.RUNNING)
# Hosts of providers' embeddable players (the iframe `src`); anything else is shown as a link button.
DEFAULT_EMBED_HOSTS = ("player.bilibili.com", "player.youku.com", "v.qq.com", "player.polyv.net", "live.polyv.cn")


class VisitKind:
    ZONE_VIEW = "zone_view"
    STREAM_VIEW = "stream_view"
    STREAM_CLICK = "stream_click"


# ---- times and events -----------------------------------------------------------------------------

def public_event(event_id: int) -> Event:
    """A non-draft event, else 404."""
    event = db.session.get(Event, event_id)
    if event is None or event.status == EventStatus.DRAFT:
        raise NotFound()
    return event


def current_events(now: datetime | None = None) -> list[Event]:
    """Public events running this month: those whose dates include today (Asia/Shanghai), earliest first."""
    today = shanghai_today(now)
    return list(db.session.scalars(select(Event).where(
        Event.status != EventStatus.DRAFT, Event.starts_on <= today, Event.ends_on >= today)
        .order_by(Event.starts_on, Event.id)))


def current_event(now: datetime | None = None) -> Event | None:
    """The month's event: one whose dates include today, else the next to come, else the latest past one."""
    running = current_events(now)
    if running:
        return running[0]
    today = shanghai_today(now)
    public = Event.status != EventStatus.DRAFT
    upcoming = db.session.scalar(select(Event).where(public, Event.starts_on > today)
                                 .order_by(Event.starts_on, Event.id).limit(1))
    return upcoming or db.session.scalar(select(Event).where(public).order_by(Event.ends_on.desc(), Event.id.desc())
                                         .limit(1))


def event_for_requests(event: Event | None) -> Event | None:
    """The event a meeting request may be tied to (None when the event no longer takes requests)."""
    return event if event is not None and event.status in EVENT_TAKES_REQUESTS else None


def participating_institution_ids(event: Event) -> list[int]:
    """Approved institutions registered (pending, approved or waitlisted) for a session of the event, or hosting one."""
    session_ids = select(EventSession.id).where(EventSession.event_id == event.id)
    registered = select(Registration.institution_id.label("institution_id")).where(
        Registration.session_id.in_(session_ids), Registration.institution_id.is_not(None),
        Registration.status.in_(list(LIVE_STATUSES)))
    hosting = select(EventSession.host_institution_id.label("institution_id")).where(
        EventSession.event_id == event.id, EventSession.host_institution_id.is_not(None))
    either = union(registered, hosting).subquery()
    return list(db.session.scalars(select(Institution.id).where(
        Institution.id.in_(select(either.c.institution_id)), Institution.status == InstitutionStatus.APPROVED)
        .order_by(Institution.id)))


def events_of_institution(institution_id: int) -> list[Event]:
    """Public events the institution takes part in, newest first."""
    session_ids = select(Registration.session_id).where(Registration.institution_id == institution_id,
                                                        Registration.status.in_(list(LIVE_STATUSES)))
    event_ids = select(EventSession.event_id).where(or_(EventSession.id.in_(session_ids),
                                                        EventSession.host_institution_id == institution_id))
    return list(db.session.scalars(select(Event).where(Event.id.in_(event_ids), Event.status != EventStatus.DRAFT)
                                   .order_by(Event.starts_on.desc(), Event.id.desc())))


def zone_event(institution: Institution, wanted_event_id: int | None = None,
               now: datetime | None = None) -> Event | None:
    """The event a zone is shown in: the one asked for if the institution takes part, else its current one."""
    taking_part = events_of_institution(institution.id)
    if wanted_event_id is not None:
        return next((event for event in taking_part if event.id == wanted_event_id), None)
    today = shanghai_today(now)
    running = [event for event in taking_part if event.starts_on <= today <= event.ends_on]
    upcoming = sorted((event for event in taking_part if event.starts_on > today), key=lambda e: e.starts_on)
    return (running or upcoming or taking_part or [None])[0]


# ---- streams --------------------------------------------------------------------------------------

def embed_hosts() -> tuple[str, ...]:
    configured = current_app.config.get("STREAM_EMBED_HOSTS")
    hosts = DEFAULT_EMBED_HOSTS if configured is None else configured
    if isinstance(hosts, str):
        hosts = hosts.replace(",", " ").split()
    return tuple(host.strip().lower() for host in hosts if host.strip())


def is_embeddable(url: str | None) -> bool:
    """https on a host of the allowlist, exactly (no subdomain wildcards, no credentials, no odd ports)."""
    parts = urlsplit(url or "")
    try:
        port = parts.port
    except ValueError:
        return False
    return (parts.scheme == "https" and parts.hostname is not None and parts.username is None
            and port in (None, 443) and parts.hostname.lower() in embed_hosts())


def public_stream(session_id: int) -> EventSession:
    """A livestream or talk of a public event, else 404."""
    session = db.session.get(EventSession, session_id)
    if session is None or session.kind not in BROADCAST_KINDS or session.event.status == EventStatus.DRAFT:
        raise NotFound()
    return session


@dataclass
class StreamState:
    """What the page shows of a livestream or talk right now."""

    session: EventSession
    phase: str  # upcoming | live | ended
    watch_url: str  # the stream before the end, the replay after; "" when there is none (yet)
    embed: bool
    attachments: list[dict]

    @property
    def is_replay(self) -> bool:
        return self.phase == "ended"


def stream_state(session: EventSession, now: datetime | None = None) -> StreamState:
    now = now or utcnow()
    phase = "upcoming" if now < session.starts_at else ("live" if now < session.ends_at else "ended")
    url = session.replay_url if phase == "ended" else (session.stream_url or session.online_url)
    url = url if is_web_url(url) else ""
    attachments = [{"title": (item.get("title") or item.get("url")), "url": item["url"]}
                   for item in (session.attachments or []) if isinstance(item, dict) and is_web_url(item.get("url"))]
    return StreamState(session=session, phase=phase, watch_url=url, embed=bool(url) and is_embeddable(url),
                       attachments=attachments)


def broadcasts_query():
    """Livestreams and talks of public events."""
    return (select(EventSession).join(Event, EventSession.event_id == Event.id)
            .where(EventSession.kind.in_(BROADCAST_KINDS), Event.status != EventStatus.DRAFT))


def hosted_streams(institution_id: int, now: datetime | None = None) -> tuple[list[EventSession], list[EventSession]]:
    """(upcoming or live, earliest first; ended, latest first) livestreams and talks the institution hosts."""
    now = now or utcnow()
    rows = db.session.scalars(broadcasts_query().where(EventSession.host_institution_id == institution_id)
                              .order_by(EventSession.starts_at, EventSession.id)).all()
    return [s for s in rows if s.ends_at > now], [s for s in reversed(rows) if s.ends_at <= now]


def viewer_counts(session_ids) -> dict[int, int]:
    """Per session: distinct SMEs that registered for it (pending/approved/waitlisted) or clicked through."""
    wanted = sorted(set(session_ids))
    if not wanted:
        return {}
    registered = select(Registration.session_id.label("session_id"), Registration.enterprise_id.label("enterprise_id")
                        ).where(Registration.session_id.in_(wanted), Registration.enterprise_id.is_not(None),
                                Registration.status.in_(list(LIVE_STATUSES)))
    clicked = select(OnlineVisit.session_id.label("session_id"), OnlineVisit.enterprise_id.label("enterprise_id")
                     ).where(OnlineVisit.session_id.in_(wanted), OnlineVisit.kind == VisitKind.STREAM_CLICK,
                             OnlineVisit.enterprise_id.is_not(None))
    viewers = union(registered, clicked).subquery()  # UNION (not ALL): each SME once per session
    counts = dict(db.session.execute(select(viewers.c.session_id, func.count()).group_by(viewers.c.session_id)).all())
    return {session_id: counts.get(session_id, 0) for session_id in wanted}


# ---- visits ---------------------------------------------------------------------------------------

def _visit(kind: str, viewer, institution_id: int | None = None, session_id: int | None = None) -> OnlineVisit:
    signed_in = viewer is not None and getattr(viewer, "is_authenticated", False)
    visit = OnlineVisit(kind=kind, institution_id=institution_id, session_id=session_id,
                        user_id=viewer.id if signed_in else None,
                        enterprise_id=viewer.enterprise_id if signed_in and viewer.role == Role.SME else None,
                        at=utcnow())
    db.session.add(visit)
    db.session.flush()
    return visit


def record_zone_view(viewer, institution: Institution) -> OnlineVisit | None:
    """One row per look at the zone; the institution's own users looking at it are not counted."""
    if viewer is not None and getattr(viewer, "is_authenticated", False) and viewer.institution_id == institution.id:
        return None
    return _visit(VisitKind.ZONE_VIEW, viewer, institution_id=institution.id)


def record_stream_view(viewer, session: EventSession) -> OnlineVisit | None:
    if viewer is not None and getattr(viewer, "is_authenticated", False) and \
            viewer.institution_id is not None and viewer.institution_id == session.host_institution_id:
        return None
    return _visit(VisitKind.STREAM_VIEW, viewer, session_id=session.id)


def record_stream_click(viewer, session: EventSession) -> OnlineVisit:
    """Someone pressed "watch": counted as a viewer when it is a signed-in SME."""
    return _visit(VisitKind.STREAM_CLICK, viewer, session_id=session.id)


# ---- the zone -------------------------------------------------------------------------------------

def public_institution(institution_id: int) -> Institution:
    institution = db.session.get(Institution, institution_id)
    if institution is None or institution.status != InstitutionStatus.APPROVED:
        raise NotFound()
    return institution


def zone_products(institution: Institution, financing_type: str | None = None) -> list[Product]:
    """Active products, event-exclusive ones first."""
    query = select(Product).where(Product.institution_id == institution.id, Product.status == ProductStatus.ACTIVE)
    if financing_type:
        query = query.where(Product.type == financing_type)
    return list(db.session.scalars(query.order_by(Product.is_exclusive.desc(), Product.type,
                                                  Product.amount_min_yuan, Product.id)))


def zone_product(institution: Institution, product_id: int | None) -> Product | None:
    """The institution's active product `product_id` (None when not given); 404 for anyone else's."""
    if not product_id:
        return None
    product = db.session.get(Product, product_id)
    require_owner(getattr(product, "institution_id", None), institution.id)
    if product.status != ProductStatus.ACTIVE:
        raise NotFound()
    return product


@dataclass
class Zone:
    institution: Institution
    products: list[Product]
    upcoming: list[EventSession]
    past: list[EventSession]
    event: Event | None
    viewers: dict[int, int] = field(default_factory=dict)


def zone(institution: Institution, event: Event | None, now: datetime | None = None) -> Zone:
    upcoming, past = hosted_streams(institution.id, now)
    return Zone(institution=institution, products=zone_products(institution), upcoming=upcoming, past=past,
                event=event, viewers=viewer_counts(s.id for s in upcoming + past))


# ---- which need goes with which product -------------------------------------------------------------

def _distance(need: FinancingNeed, product: Product) -> int:
    """0 when the amount fits the product's range, else how far outside it lies (yuan)."""
    if need.amount_yuan < product.amount_min_yuan:
        return product.amount_min_yuan - need.amount_yuan
    if need.amount_yuan > product.amount_max_yuan:
        return need.amount_yuan - product.amount_max_yuan
    return 0


PURSUED_NEED_STATUSES = (NeedStatus.OPEN, NeedStatus.MATCHED, NeedStatus.MET, NeedStatus.INTENT,
                         NeedStatus.CREDIT_GRANTED)


def open_needs(enterprise_id: int) -> list[FinancingNeed]:
    """Needs the SME still pursues (neither withdrawn nor disbursed), status "open" first, then newest first."""
    needs = db.session.scalars(select(FinancingNeed).where(
        FinancingNeed.enterprise_id == enterprise_id,
        FinancingNeed.status.in_(list(PURSUED_NEED_STATUSES)))
        .order_by(FinancingNeed.created_at.desc(), FinancingNeed.id.desc())).all()
    return sorted(needs, key=lambda need: need.status != NeedStatus.OPEN)  # stable: newest first within each


def matching_need(enterprise_id: int, product: Product) -> FinancingNeed | None:
    """The SME's need of the product's type whose amount fits the product's range, else the closest in amount.

    Among equals a need still "open" (待对接) comes before one already in progress, then the newest."""
    candidates = [need for need in open_needs(enterprise_id) if need.type == product.type]
    if not candidates:
        return None
    return min(candidates, key=lambda need: _distance(need, product))  # min() keeps the first of ties


def need_for_zone(enterprise_id: int, products: list[Product]) -> FinancingNeed | None:
    """For the zone's general action: the open need that best fits any of the products (in the zone's order)."""
    best = None
    for product in products:
        need = matching_need(enterprise_id, product)
        if need is not None and (best is None or _distance(need, product) < best[0]):
            best = (_distance(need, product), need)
            if best[0] == 0:
                break
    return best[1] if best else None


# ---- the event's online season ---------------------------------------------------------------------

def window_of(event: Event) -> tuple[datetime, datetime]:
    """The event's online season, naive UTC: from registration opening to the end of its last day (Shanghai)."""
    last = datetime.combine(event.ends_on + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
    return event.registration_opens_at, last.astimezone(UTC).replace(tzinfo=None)
