"""What a request may carry, decided once at the boundary so that no page has to remember it.

- Text: every value and key of the query string and of the form loses its control characters
  (C0 except tab, line feed and carriage return; DEL) before any form, view or service sees it.
  Stripped, not refused: nobody types them, they arrive from a paste or from an attacker, and
  PostgreSQL refuses a NUL in text outright (a 500 before this). Dropping them keeps what the
  person meant and gives every field the same rule without a message per field.
- Integers in query strings: `request.args.get(name, type=int)` (and `getlist`, and the same on
  `request.form`) answers the default for a number an integer column cannot hold, as it already
  does for "abc", so ids and years out of range look up nothing instead of failing in the driver.
- Integers in paths: the `int` converter matches only what an integer column holds, so
  `/events/999999999999999999999` is a 404; path strings with control characters are 404 too.

Sizes (MAX_CONTENT_LENGTH, MAX_FORM_MEMORY_SIZE, MAX_FORM_PARTS) are configuration
(chainmatch/config.py); the 413 page is in `chainmatch.web`.
"""
from flask import Flask, Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.datastructures.structures import iter_multi_items
from werkzeug.routing import IntegerConverter, UnicodeConverter, ValidationError

from market.fields import INT_MAX, INT_MIN, column_int

_CONTROL_CHARACTERS = [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]
_DROP_CONTROL_CHARACTERS = dict.fromkeys(_CONTROL_CHARACTERS)


def strip_control_characters(text: str) -> str:
    """`text` without C0 control characters (tab, LF and CR stay) and DEL."""
    return text.translate(_DROP_CONTROL_CHARACTERS)


def has_control_characters(text: str) -> bool:
    return any(ord(char) in _DROP_CONTROL_CHARACTERS for char in text)


def _clean(value):
    return strip_control_characters(value) if isinstance(value, str) else value


class CleanParameters(ImmutableMultiDict):
    """The query string's and the form's values (and keys) without control characters; see the module."""

    def __init__(self, mapping=None):
        if mapping is None or isinstance(mapping, CleanParameters):
            super().__init__(mapping)
        else:
            super().__init__([(_clean(key), _clean(value)) for key, value in iter_multi_items(mapping)])

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's signature
        return super().get(key, default, column_int if type is int else type)

    def getlist(self, key, type=None):  # noqa: A002
        return super().getlist(key, column_int if type is int else type)


class BoundedRequest(Request):
    """Flask's request with clean text in `args` and `form` (see the module)."""

    parameter_storage_class = CleanParameters


class ColumnIntConverter(IntegerConverter):
    """`<int:...>` for ids: only numbers an integer column holds (anything larger is a 404)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's name
        super().__init__(map, *args, **kwargs)
        self.max = INT_MAX if self.max is None else min(self.max, INT_MAX)
        self.min = INT_MIN if self.min is None else max(self.min, INT_MIN)


class CleanStringConverter(UnicodeConverter):
    """`<name>` and `<string:name>` refuse (404) a path segment with control characters."""

    def to_python(self, value: str) -> str:
        if has_control_characters(value):
            raise ValidationError()
        return value


def init_app(app: Flask) -> None:
    """Call before blueprints are registered: their rules take the converters when they are added."""
    app.request_class = BoundedRequest
    app.url_map.converters.update(int=ColumnIntConverter, default=CleanStringConverter,
                                  string=CleanStringConverter)
