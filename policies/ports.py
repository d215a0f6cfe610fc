"""What `policies` uses of its sibling `events`, which it may not import; chainmatch/web.py plugs these."""
from core.ports import Port

# (actor, event_id) -> the event, within the actor's reach (NotFound/Forbidden otherwise).
event_for: Port = Port("an event within the actor's reach")
# (actor) -> the events the actor may see, newest first.
visible_events: Port = Port("the events an organiser may see")
# (event) -> the enterprises with an approved registration for any of the event's sessions, by name.
approved_enterprises: Port = Port("the enterprises registered for an event")
# () -> {status value: label} of events.
event_status_labels: Port = Port("the labels of event statuses")
