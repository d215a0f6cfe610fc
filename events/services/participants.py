"""Who takes part in an event: read-only answers the sibling `policies` asks for through its ports."""
from sqlalchemy import select

from core.extensions import db
from events.enums import EventStatus, RegistrationStatus
from events.models import EventSession, Registration
from events.services.scope import visible_events_query
from market.models import Enterprise


def approved_enterprises(event) -> list[Enterprise]:
    """The enterprises with an approved registration for any session of `event`, by name."""
    ids = select(Registration.enterprise_id).join(EventSession, EventSession.id == Registration.session_id).where(
        EventSession.event_id == event.id, Registration.status == RegistrationStatus.APPROVED.value,
        Registration.enterprise_id.is_not(None))
    return list(db.session.scalars(select(Enterprise).where(Enterprise.id.in_(ids))
                                   .order_by(Enterprise.name, Enterprise.id)))


def visible_events(actor) -> list:
    """The events the actor may see (an organiser: its region's; an admin: all)."""
    return list(db.session.scalars(visible_events_query(actor)))


def event_status_labels() -> dict[str, str]:
    return {status.value: status.label for status in EventStatus}
