"""Domain errors: services raise these; the web layer maps them to a page once (chainmatch/web.py)."""


class DomainError(Exception):
    """A refusal a service raises; `message` is shown to the user."""

    def __init__(self, message=None):
        super().__init__(str(message) if message is not None else self.__class__.__name__)
        self.message = message


class FieldError(DomainError, ValueError):
    """A refusal that belongs beside one form field."""

    def __init__(self, field: str, message):
        DomainError.__init__(self, message)
        self.args = (f"{field}: {message}",)
        self.field = field


class NotFound(DomainError):
    """The object does not exist, or the actor may not know that it does (answered as 404)."""


class Forbidden(DomainError):
    """The actor may see the object but not do this to it (answered as 403)."""
