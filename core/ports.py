"""Ports: how one domain uses another it may not import (the sibling domains `events` and `policies`).

The domain that needs something declares a `Port` in its own `ports.py`; the shell (chainmatch/web.py) plugs
the other domain's function into it when it builds the app. Calling a port nobody plugged is an error, never
a silent empty answer.
"""
from collections.abc import Callable
from typing import Generic, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class PortNotPlugged(RuntimeError):
    """A port was called before the shell plugged a function into it."""


class Port(Generic[P, R]):
    """A named slot for one function another domain provides."""

    def __init__(self, name: str):
        self.name = name
        self._function: Callable[P, R] | None = None

    def plug(self, function: Callable[P, R]) -> None:
        self._function = function

    @property
    def plugged(self) -> bool:
        return self._function is not None

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if self._function is None:
            raise PortNotPlugged(f"port {self.name!r} is not plugged (chainmatch.web plugs the ports)")
        return self._function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Port {self.name} {'plugged' if self.plugged else 'empty'}>"
