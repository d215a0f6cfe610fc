"""Who may see and act on an event: an organiser within its office's region, an administrator everywhere.

An object outside the actor's reach raises NotFound (answered 404), so that other regions' ids are not
confirmed. The system actor (`core.actors.SYSTEM`, the scheduler) acts on everything; `None` is refused.
"""
from sqlalchemy import ColumnElement, select, true

from accounts.models import OrganiserOffice
from core.actors import is_system
from core.errors import Forbidden, NotFound
from core.extensions import db
from core.regions import region_prefix
from core.roles import Role
from events.models import Event, EventSession, Meeting, Registration, YearPlanEntry

ORGANISER_ROLES = (Role.ORGANISER, Role.ADMIN)


def _office_of(actor):
    if is_system(actor) or actor.role not in ORGANISER_ROLES:
        raise Forbidden()
    office = actor.organiser_office
    if actor.role == Role.ORGANISER and office is None:
        raise Forbidden()
    return office


def host_region_condition(actor, column) -> ColumnElement[bool]:
    """SQL condition: the region in `column` lies within the actor's reach."""
    if is_system(actor):
        return true()
    office = _office_of(actor)
    if actor.role == Role.ADMIN:
        return true()
    return column.startswith(region_prefix(office.region_code))


def covers_region(actor, region_code: str) -> bool:
    if is_system(actor) or actor.role == Role.ADMIN:
        return True
    office = _office_of(actor)
    return office.covers(region_code)


def ensure_manages_event(actor, event: Event) -> None:
    """NotFound unless the actor (organiser of the host region, admin, or the system) may act on `event`."""
    if not is_system(actor):
        _office_of(actor)
    if not covers_region(actor, event.host_region_code):
        raise NotFound()


def visible_events_query(actor):
    """Events within the actor's reach, newest first."""
    return (select(Event).where(host_region_condition(actor, Event.host_region_code))
            .order_by(Event.starts_on.desc(), Event.id.desc()))


def event_for(actor, event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        raise NotFound()
    ensure_manages_event(actor, event)
    return event


def session_for(actor, session_id: int) -> EventSession:
    session = db.session.get(EventSession, session_id)
    if session is None:
        raise NotFound()
    ensure_manages_event(actor, session.event)
    return session


def meeting_for(actor, meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound()
    ensure_manages_event(actor, meeting.session.event)
    return meeting


def registration_for(actor, registration_id: int) -> Registration:
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        raise NotFound()
    ensure_manages_event(actor, registration.session.event)
    return registration


def plan_entries_query(actor):
    """Year-plan entries whose host region the actor covers."""
    return select(YearPlanEntry).where(host_region_condition(actor, YearPlanEntry.host_region_code))


def plan_entry_for(actor, entry_id: int) -> YearPlanEntry:
    entry = db.session.get(YearPlanEntry, entry_id)
    if entry is None:
        raise NotFound()
    if not is_system(actor):
        _office_of(actor)
    if not covers_region(actor, entry.host_region_code):
        raise NotFound()
    return entry


def offices_for(actor) -> list:
    """Offices the actor may plan for: its own, or every office for an administrator."""
    office = _office_of(actor)
    if actor.role == Role.ADMIN:
        return list(db.session.scalars(select(OrganiserOffice).order_by(OrganiserOffice.region_code,
                                                                         OrganiserOffice.id)))
    return [office]


def office_names(office_ids) -> dict[int, str]:
    wanted = set(office_ids)
    if not wanted:
        return {}
    return dict(db.session.execute(select(OrganiserOffice.id, OrganiserOffice.name)
                                   .where(OrganiserOffice.id.in_(wanted))).all())


def visible_events(actor) -> list[Event]:
    """Events within the actor's reach, newest first."""
    return list(db.session.scalars(visible_events_query(actor)))
