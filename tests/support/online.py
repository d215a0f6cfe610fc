"""Builders of online-half test data (committed): livestreams and talks, visits, requests from a lead source."""
from datetime import datetime, timedelta

from core.clock import utcnow
from core.extensions import db
from events.models import EventSession, MeetingRequest, OnlineVisit

PLAYER = "https://player.example-video.com/live/123"


def stream(event, host=None, *, kind: str = "livestream", title: str = "科创贷公益直播", starts_at: datetime | None = None,
           minutes: int = 60, stream_url: str = "https://live.example.com/room/1", replay_url: str = "",
           attachments=None, speakers: str = "王经理", types=()) -> EventSession:
    """A livestream (or talk) of `event`, by default tomorrow, hosted by `host` (an institution user or None)."""
    starts_at = starts_at or utcnow() + timedelta(days=1)
    session = EventSession(event_id=event.id, kind=kind, mode="online", title=title, online_url=stream_url,
                           stream_url=stream_url, replay_url=replay_url, starts_at=starts_at,
                           ends_at=starts_at + timedelta(minutes=minutes), speakers=speakers,
                           attachments=list(attachments or []),
                           host_institution_id=host.institution_id if host is not None else None)
    session.financing_types = list(types)
    db.session.add(session)
    db.session.commit()
    db.session.refresh(session)
    return session


def visit(kind: str, *, institution_id=None, session_id=None, user=None, at: datetime | None = None) -> OnlineVisit:
    row = OnlineVisit(kind=kind, institution_id=institution_id, session_id=session_id,
                      user_id=user.id if user is not None else None,
                      enterprise_id=getattr(user, "enterprise_id", None) if user is not None else None,
                      at=at or utcnow())
    db.session.add(row)
    db.session.commit()
    return row


def lead_request(sme_user, bank_user, event, lead_source: str, lead_session=None, status: str = "requested",
                 created_at: datetime | None = None, need=None, product=None) -> MeetingRequest:
    """A request row as the participant side stores it (set-up only)."""
    now = created_at or utcnow()
    row = MeetingRequest(event_id=event.id if event is not None else None, enterprise_id=sme_user.enterprise_id,
                         institution_id=bank_user.institution_id, direction="from_enterprise", status=status,
                         respond_by=now + timedelta(days=7), lead_source=lead_source,
                         lead_session_id=lead_session.id if lead_session is not None else None,
                         need_id=need.id if need is not None else None,
                         product_id=product.id if product is not None else None, created_at=now)
    db.session.add(row)
    db.session.commit()
    db.session.refresh(row)
    return row
