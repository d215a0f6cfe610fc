"""Who takes part in a session or an event, and telling a party: the reads registration, agenda and requests
share, and the answers the sibling `policies` asks for through its ports."""
from sqlalchemy import select

from accounts.recipients import party_users
from core.extensions import db
from events.enums import EventStatus, RegistrationStatus
from events.models import EventSession, Registration
from events.services.scope import visible_events_query
from market.models import Enterprise
from notifications.services import notify


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


def notify_party(kind: str, object_type: str, object_id: int, *, context: dict, link: str = "",
                 enterprise_id: int | None = None, institution_id: int | None = None) -> int:
    """Queue the `kind` message once for every user of the party; returns how many rows were added."""
    return notify(kind, party_users(enterprise_id, institution_id), object_key=(object_type, object_id),
                  context=context, link=link)


def registration_of(session_id: int, *, enterprise_id: int | None = None,
                    institution_id: int | None = None) -> Registration | None:
    query = select(Registration).where(Registration.session_id == session_id)
    if enterprise_id is not None:
        query = query.where(Registration.enterprise_id == enterprise_id)
    else:
        query = query.where(Registration.institution_id == institution_id)
    return db.session.scalar(query.execution_options(populate_existing=True))  # as it is now, under a lock
