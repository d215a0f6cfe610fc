"""The lead report of the online half: what each service zone and each livestream/talk brought in.

Per zone (an institution) and per stream (a session):

- views — rows of `online_visits` (zone_view for a zone, stream_view for a stream page); clicks — stream_click;
- viewers — distinct SMEs: for a zone, signed-in SMEs that viewed it; for a stream, SMEs that registered for it
  or clicked through (`online.viewer_counts`);
- requests — meeting requests with lead_source "zone" to the institution, or "stream" with that lead session;
  accepted — those whose status is accepted;
- meetings — non-cancelled meetings that came from those requests: placed for the request (`request_id`), or, for
  an accepted request tied to an event, the pair's meeting in a session of that event made after the request
  (the matcher places accepted pairs without naming the request);
- outcomes — intent (the institution's record when it has one, else the SME's), credit line (授信 or the type's
  own second step) and disbursement (放款 / 资金到位) of those meetings, by the institution's figures only
  (`reports.effective_outcome`, the organisers' report's rule; an SME-only 授信 or 放款 is not counted).

All figures are SQL aggregates. Scope: an institution sees its own zone and the streams it hosts (all time, or one
event it takes part in); an organiser (or admin) sees one event within its reach: the zones of every institution
taking part and the event's streams. For one event, zone figures count views and requests within the event's
online season (`online.window_of`); stream figures belong to the session whatever the date.
"""
from dataclasses import dataclass, field, fields
from datetime import datetime

from sqlalchemy import and_, case, distinct, func, or_, select

from core.errors import Forbidden, NotFound
from core.extensions import db
from core.roles import Role
from events.enums import EventStatus, LeadSource, MeetingStatus, RequestStatus
from events.models import Event, EventSession, Meeting, MeetingRequest, OnlineVisit
from events.services import online, scope
from events.services.reports import effective_outcome
from market.models import Institution

ORGANISER_ROLES = (Role.ORGANISER, Role.ADMIN)


@dataclass
class LeadFigures:
    views: int = 0
    viewers: int | None = 0
    clicks: int = 0
    requests: int = 0
    accepted: int = 0
    meetings: int = 0
    intent_yuan: int = 0
    credit_yuan: int = 0
    disbursed_yuan: int = 0

    def add(self, other: "LeadFigures") -> None:
        for item in fields(self):
            if item.name != "viewers":
                setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


@dataclass
class LeadRow:
    institution: Institution | None
    session: EventSession | None
    figures: LeadFigures

    @property
    def key(self) -> str:
        return f"stream-{self.session.id}" if self.session is not None else f"zone-{self.institution.id}"


@dataclass
class LeadReport:
    event: Event | None
    events: list[Event]
    zones: list[LeadRow]
    streams: list[LeadRow]
    zone_total: LeadFigures = field(default_factory=lambda: LeadFigures(viewers=None))
    stream_total: LeadFigures = field(default_factory=lambda: LeadFigures(viewers=None))


# ---- the aggregates --------------------------------------------------------------------------------

def _meeting_came_from_request():
    """ON clause: the meeting was placed for the request, or is the accepted pair's later meeting in its event."""
    event_sessions = select(EventSession.id).where(EventSession.event_id == MeetingRequest.event_id)
    return and_(Meeting.status != MeetingStatus.CANCELLED, or_(
        Meeting.request_id == MeetingRequest.id,
        and_(MeetingRequest.status == RequestStatus.ACCEPTED, MeetingRequest.event_id.is_not(None),
             Meeting.enterprise_id == MeetingRequest.enterprise_id,
             Meeting.institution_id == MeetingRequest.institution_id,
             Meeting.session_id.in_(event_sessions), Meeting.created_at >= MeetingRequest.created_at)))


def _request_figures(key_column, conditions: list) -> dict[int, dict]:
    """key → requests, accepted, meetings and outcome sums of the requests meeting `conditions`."""
    outcome = effective_outcome()
    query = (select(key_column.label("key"),
                    func.count(distinct(MeetingRequest.id)).label("requests"),
                    func.count(distinct(case((MeetingRequest.status == RequestStatus.ACCEPTED,
                                              MeetingRequest.id)))).label("accepted"),
                    func.count(distinct(Meeting.id)).label("meetings"),
                    func.coalesce(func.sum(outcome.c.intent), 0).label("intent_yuan"),
                    func.coalesce(func.sum(outcome.c.agreed), 0).label("credit_yuan"),
                    func.coalesce(func.sum(outcome.c.funded), 0).label("disbursed_yuan"))
             .select_from(MeetingRequest)
             .outerjoin(Meeting, _meeting_came_from_request())
             .outerjoin(outcome, outcome.c.meeting_id == Meeting.id)
             .where(*conditions).group_by(key_column))
    return {row.key: {name: int(value or 0) for name, value in row._mapping.items() if name != "key"}
            for row in db.session.execute(query)}


def _visit_figures(key_column, kind: str, conditions: list) -> dict[int, tuple[int, int]]:
    """key → (visits, distinct SMEs)."""
    query = (select(key_column, func.count(OnlineVisit.id), func.count(distinct(OnlineVisit.enterprise_id)))
             .where(OnlineVisit.kind == kind, *conditions).group_by(key_column))
    return {key: (int(count), int(smes)) for key, count, smes in db.session.execute(query)}


def zone_figures(institution_ids: list[int], window: tuple[datetime, datetime] | None = None) -> dict[int, LeadFigures]:
    if not institution_ids:
        return {}
    visit_conditions = [OnlineVisit.institution_id.in_(institution_ids)]
    request_conditions = [MeetingRequest.lead_source == LeadSource.ZONE,
                          MeetingRequest.institution_id.in_(institution_ids)]
    if window is not None:
        visit_conditions += [OnlineVisit.at >= window[0], OnlineVisit.at < window[1]]
        request_conditions += [MeetingRequest.created_at >= window[0], MeetingRequest.created_at < window[1]]
    views = _visit_figures(OnlineVisit.institution_id, online.VisitKind.ZONE_VIEW, visit_conditions)
    requests = _request_figures(MeetingRequest.institution_id, request_conditions)
    figures = {}
    for institution_id in institution_ids:
        seen, smes = views.get(institution_id, (0, 0))
        figures[institution_id] = LeadFigures(views=seen, viewers=smes, **requests.get(institution_id, {}))
    return figures


def stream_figures(session_ids: list[int]) -> dict[int, LeadFigures]:
    if not session_ids:
        return {}
    these = [OnlineVisit.session_id.in_(session_ids)]
    views = _visit_figures(OnlineVisit.session_id, online.VisitKind.STREAM_VIEW, these)
    clicks = _visit_figures(OnlineVisit.session_id, online.VisitKind.STREAM_CLICK, these)
    viewers = online.viewer_counts(session_ids)
    requests = _request_figures(MeetingRequest.lead_session_id, [
        MeetingRequest.lead_source == LeadSource.STREAM, MeetingRequest.lead_session_id.in_(session_ids)])
    return {session_id: LeadFigures(views=views.get(session_id, (0, 0))[0], clicks=clicks.get(session_id, (0, 0))[0],
                                    viewers=viewers.get(session_id, 0), **requests.get(session_id, {}))
            for session_id in session_ids}


# ---- who sees what -----------------------------------------------------------------------------------

def visible_public_events(actor) -> list[Event]:
    return [event for event in db.session.scalars(scope.visible_events_query(actor))
            if event.status != EventStatus.DRAFT]


def lead_report(actor, event_id: int | None = None) -> LeadReport:
    """The actor's lead report: an institution's own (all time or one event), or one event's for an organiser."""
    if actor.role == Role.INSTITUTION and actor.institution_id is not None:
        return _institution_report(actor.institution_id, event_id)
    if actor.role in ORGANISER_ROLES:
        return _organiser_report(actor, event_id)
    raise Forbidden()


def _institution_report(institution_id: int, event_id: int | None) -> LeadReport:
    events = online.events_of_institution(institution_id)
    event = None
    if event_id is not None:
        event = next((item for item in events if item.id == event_id), None)
        if event is None:
            raise NotFound()
    streams = online.broadcasts_query().where(EventSession.host_institution_id == institution_id)
    if event is not None:
        streams = streams.where(EventSession.event_id == event.id)
    sessions = list(db.session.scalars(streams.order_by(EventSession.starts_at, EventSession.id)))
    institution = db.session.get(Institution, institution_id)
    return _assemble(event, events, [institution], sessions, online.window_of(event) if event else None)


def _organiser_report(actor, event_id: int | None) -> LeadReport:
    events = visible_public_events(actor)
    if event_id is not None:
        event = scope.event_for(actor, event_id)
    else:
        current = online.current_event()
        event = current if current in events else (events[0] if events else None)
    if event is None:
        return LeadReport(event=None, events=events, zones=[], streams=[])
    ids = online.participating_institution_ids(event)
    institutions = list(db.session.scalars(select(Institution).where(Institution.id.in_(ids))
                                           .order_by(Institution.name))) if ids else []
    sessions = [s for s in event.sessions if s.kind in online.BROADCAST_KINDS]
    return _assemble(event, events, institutions, sessions, online.window_of(event))


def _assemble(event, events, institutions: list[Institution], sessions: list[EventSession], window) -> LeadReport:
    by_zone = zone_figures([i.id for i in institutions], window)
    by_stream = stream_figures([s.id for s in sessions])
    report = LeadReport(event=event, events=events,
                        zones=[LeadRow(i, None, by_zone[i.id]) for i in institutions],
                        streams=[LeadRow(s.host_institution, s, by_stream[s.id]) for s in sessions])
    for row in report.zones:
        report.zone_total.add(row.figures)
    for row in report.streams:
        report.stream_total.add(row.figures)
    return report
