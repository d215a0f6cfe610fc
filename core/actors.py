"""Who acts when no person does: the named system actors of the scheduler's jobs and the command line.

Services take the acting user explicitly. The scheduler passes `SYSTEM` (the command line `OPERATOR`),
an actor that is not a user (no id, no role) and that services recognise by `is_system(actor)`; `None`
is refused, so "nobody" can never again mean "allowed everything" by accident. Records it writes keep
no user (`getattr(actor, "id", None)` is None).
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class SystemActor:
    """An actor that is not a user: the platform itself, acting on everything within its job."""

    name: str
    is_system: bool = True
    id: None = None
    role: None = None
    is_authenticated: bool = False

    def __str__(self) -> str:
        return self.name


SYSTEM = SystemActor(name="scheduler")
OPERATOR = SystemActor(name="operator")  # the command line (`chainmatch outbox retry`)


def is_system(actor) -> bool:
    """Whether `actor` is the system actor; `None` is a programming error, not an actor."""
    if actor is None:
        raise TypeError("a service needs an actor: a user, or core.actors.SYSTEM for the scheduler")
    return getattr(actor, "is_system", False) is True
