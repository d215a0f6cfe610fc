"""Enterprise facts: what a clause needs to know, typed, and a parser that names the fact on error.

A *fact* is one answer an SME gives (or the platform knows from its profile): a yes/no, an amount
in yuan, a date, one value from a list. The fact vocabulary lives in `seeds/policies.yaml` under
`facts:`; each policy refers to facts by name. `parse_facts` turns raw JSON or form values into
typed values, raising `FactError` naming the fact; unknown names are ignored; `null` means "not
given".

Types:
  bool     true / false (forms may send "true"/"false"/"yes"/"no"/"1"/"0"/"on"/"off")
  money    non-negative amount in yuan; whole yuan or fen (≤ 2 decimals); kept as Decimal
  int      whole number within [min, max] (counts, years)
  decimal  exact decimal within [min, max] (rates as fractions: 0.035 for 3.5 %)
  date     ISO calendar date YYYY-MM-DD
  enum     one value of `choices`
  list     a list of values of `choices` (no duplicates needed; order irrelevant)
  region   GB/T 2260 six-digit administrative division code

Numbers of every type are finite, below 10^15 in size, not smaller than 10^-20 unless zero, and have
at most 28 significant digits (the decimal context's precision): the evaluator computes with them
exactly, and NaN or 1e999999999 are refused by name instead of failing or filling memory.

A facts document read from a file (`loads_facts`, for `chainmatch policies evaluate`) is at most
FACTS_MAX_BYTES long and nests at most FACTS_MAX_DEPTH levels (the vocabulary needs two: the object and
a list); both are checked before the JSON is parsed, so deep nesting is a message, not a RecursionError.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, BinaryIO, Mapping

from core.money import exact_money_text
from policies import text as fmt
from policies.text import Text


class FactType(StrEnum):
    BOOL = "bool"
    MONEY = "money"
    INT = "int"
    DECIMAL = "decimal"
    DATE = "date"
    ENUM = "enum"
    LIST = "list"
    REGION = "region"


class FactError(ValueError):
    """A fact value that cannot be used. `str(err)` reads `fact_name: what is wrong, got X`."""

    def __init__(self, fact: str, message: str):
        super().__init__(f"{fact}: {message}")
        self.fact = fact
        self.message = message


@dataclass(frozen=True)
class Choice:
    value: str
    label: Text


@dataclass(frozen=True)
class FactSpec:
    """One fact: its name, type, bilingual label and help, and the values a form may offer."""

    name: str
    type: FactType
    label: Text
    help: Text | None = None
    choices: tuple[Choice, ...] = ()
    minimum: Decimal | None = None
    maximum: Decimal | None = None

    @property
    def allowed_values(self) -> tuple[str, ...] | None:
        return tuple(c.value for c in self.choices) if self.choices else None

    def choice_label(self, value: str) -> Text:
        for choice in self.choices:
            if choice.value == value:
                return choice.label
        return Text(value, value)

    # -- parsing --------------------------------------------------------------------------
    def parse(self, raw: Any) -> Any:
        """The typed value of `raw`, or FactError naming this fact."""
        parser = _PARSERS[self.type]
        return parser(self, raw)

    # -- display --------------------------------------------------------------------------
    def format(self, value: Any, lang: str = "zh") -> str:
        if self.type is FactType.BOOL:
            return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
        if self.type is FactType.MONEY:
            return exact_money_text(value, lang)
        if self.type is FactType.DECIMAL:
            return fmt.percent(value) if self.maximum is not None and self.maximum <= 1 else str(value)
        if self.type is FactType.DATE:
            return value.isoformat()
        if self.type is FactType.ENUM:
            return self.choice_label(value).get(lang)
        if self.type is FactType.LIST:
            if not value:
                return "无" if lang == "zh" else "none"
            sep = "、" if lang == "zh" else ", "
            ordered = [c.value for c in self.choices if c.value in value]
            return sep.join(self.choice_label(v).get(lang) for v in ordered)
        return str(value)

    def to_json(self) -> dict[str, Any]:
        """What a form generator needs: name, type, labels, help and allowed values."""
        out: dict[str, Any] = {
            "name": self.name,
            "type": str(self.type),
            "label": self.label.to_json(),
        }
        if self.help:
            out["help"] = self.help.to_json()
        if self.choices:
            out["choices"] = [{"value": c.value, "label": c.label.to_json()} for c in self.choices]
        if self.minimum is not None:
            out["min"] = str(self.minimum)
        if self.maximum is not None:
            out["max"] = str(self.maximum)
        return out


def _show(raw: Any) -> str:
    """How a bad value is quoted back: -5, "gpu", true, [..]."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (int, float, Decimal)):
        return str(raw)
    try:
        return json.dumps(raw, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # pragma: no cover - defensive
        return repr(raw)


NUMBER_MAX_DIGITS = 28  # the default decimal context's precision
NUMBER_MAX_ADJUSTED = 14  # below 10^15 (a thousand trillion yuan)
NUMBER_MIN_ADJUSTED = -20

FACTS_MAX_BYTES = 1024 * 1024  # one enterprise's answers: a few kilobytes
FACTS_MAX_DEPTH = 16

_TRUE = {"true", "yes", "1", "on", "是"}
_FALSE = {"false", "no", "0", "off", "否"}


def _parse_bool(spec: FactSpec, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    raise FactError(spec.name, f"must be true or false, got {_show(raw)}")


def _to_decimal(raw: Any) -> Decimal | None:
    """A finite Decimal from an int, Decimal, float or numeric string within the bounds of the module
    docstring; None if it is none."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(repr(raw))  # 0.035 → Decimal('0.035'), not the binary expansion
    elif isinstance(raw, str):
        try:
            value = Decimal(raw.strip().replace(",", ""))
        except InvalidOperation:
            return None
    else:
        return None
    if not value.is_finite():
        return None
    if not value:
        return Decimal(0)  # 0E+999999999 is zero, without the exponent
    if not (NUMBER_MIN_ADJUSTED <= value.adjusted() <= NUMBER_MAX_ADJUSTED
                      and len(value.as_tuple().digits) <= NUMBER_MAX_DIGITS):
        return None
    return value


def _parse_money(spec: FactSpec, raw: Any) -> Decimal:
    value = _to_decimal(raw)
    if value is None or value < 0 or value != value.quantize(Decimal("0.01")):
        raise FactError(spec.name, f"must be a non-negative amount in yuan, got {_show(raw)}")
    if spec.maximum is not None and value > spec.maximum:
        raise FactError(spec.name, f"must be at most {spec.maximum} yuan, got {_show(raw)}")
    return value


def _bounds(spec: FactSpec) -> str:
    if spec.minimum is not None and spec.maximum is not None:
        return f" between {spec.minimum} and {spec.maximum}"
    if spec.minimum is not None:
        return f" ≥ {spec.minimum}"
    if spec.maximum is not None:
        return f" ≤ {spec.maximum}"
    return ""


def _in_bounds(spec: FactSpec, value: Decimal) -> bool:
    return (spec.minimum is None or value >= spec.minimum) and (
        spec.maximum is None or value <= spec.maximum
    )


def _parse_int(spec: FactSpec, raw: Any) -> int:
    value = _to_decimal(raw)
    if value is None or value != value.to_integral_value() or not _in_bounds(spec, value):
        raise FactError(spec.name, f"must be a whole number{_bounds(spec)}, got {_show(raw)}")
    return int(value)


def _parse_decimal(spec: FactSpec, raw: Any) -> Decimal:
    value = _to_decimal(raw)
    if value is None or not _in_bounds(spec, value):
        hint = " (a fraction, e.g. 0.035 for 3.5%)" if spec.maximum == 1 else ""
        raise FactError(spec.name, f"must be a number{_bounds(spec)}{hint}, got {_show(raw)}")
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parse_date(spec: FactSpec, raw: Any) -> dt.date:
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    if isinstance(raw, str) and _ISO_DATE.fullmatch(raw.strip()):
        try:
            return dt.date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise FactError(spec.name, f"must be a date as YYYY-MM-DD, got {_show(raw)}")


def _parse_enum(spec: FactSpec, raw: Any) -> str:
    allowed = spec.allowed_values or ()
    if isinstance(raw, str) and raw in allowed:
        return raw
    raise FactError(spec.name, f"must be one of {', '.join(allowed)}; got {_show(raw)}")


def _parse_list(spec: FactSpec, raw: Any) -> frozenset[str]:
    allowed = spec.allowed_values or ()
    if isinstance(raw, (list, tuple, set, frozenset)):
        bad = [item for item in raw if not isinstance(item, str) or item not in allowed]
        if not bad:
            return frozenset(raw)
        raise FactError(
            spec.name, f"values must be from {', '.join(allowed)}; got {_show(bad[0])}"
        )
    raise FactError(spec.name, f"must be a list of values from {', '.join(allowed)}; got {_show(raw)}")


_REGION = re.compile(r"[1-9]\d{5}")


def _parse_region(spec: FactSpec, raw: Any) -> str:
    code = str(raw).strip() if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
    if _REGION.fullmatch(code):
        return code
    raise FactError(spec.name, f"must be a six-digit GB/T 2260 region code, got {_show(raw)}")


_PARSERS = {
    FactType.BOOL: _parse_bool,
    FactType.MONEY: _parse_money,
    FactType.INT: _parse_int,
    FactType.DECIMAL: _parse_decimal,
    FactType.DATE: _parse_date,
    FactType.ENUM: _parse_enum,
    FactType.LIST: _parse_list,
    FactType.REGION: _parse_region,
}


_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')


def _json_depth(data: bytes) -> int:
    """How deeply JSON text nests, counted without parsing: escapes dropped, brackets between quotes
    skipped (exact for valid JSON; the parser judges the rest)."""
    depth = deepest = 0
    inside = False
    for mark in _ESCAPE.sub(b"", data).translate(None, _NOT_STRUCTURE):
        if mark == 0x22:  # "
            inside = not inside
        elif inside:
            continue
        elif mark in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def read_facts_file(handle: BinaryIO, source: str) -> dict[str, Any]:
    """The raw facts object of a JSON file (numbers as Decimal, NaN/Infinity as their names, which the fact
    parsers refuse by fact), or FactError(source, …) for a file too large, too deep, not JSON, not an object."""
    data = handle.read(FACTS_MAX_BYTES + 1)
    if len(data) > FACTS_MAX_BYTES:
        raise FactError(source, f"more than {FACTS_MAX_BYTES:,} bytes; a facts file is one enterprise's answers")
    if _json_depth(data) > FACTS_MAX_DEPTH:
        raise FactError(source, f"nests arrays and objects more than {FACTS_MAX_DEPTH} levels deep")
    try:
        raw = json.loads(data.decode("utf-8"), parse_float=Decimal, parse_constant=lambda name: name)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FactError(source, f"not valid JSON ({exc})") from None
    except RecursionError:
        raise FactError(source, f"nests arrays and objects more than {FACTS_MAX_DEPTH} levels deep") from None
    except ValueError:  # an integer literal beyond Python's 4,300 digits
        raise FactError(source, "not valid JSON (a number has too many digits)") from None
    if not isinstance(raw, dict):
        raise FactError(source, "must hold one JSON object whose keys are fact names")
    return raw


def parse_facts(raw: Mapping[str, Any], specs: Mapping[str, FactSpec]) -> dict[str, Any]:
    """Typed facts from raw values. Unknown names are ignored; `None` means "not given"."""
    if not isinstance(raw, Mapping):
        raise FactError("facts", f"must be one JSON object whose keys are fact names, got {_show(raw)}")
    facts: dict[str, Any] = {}
    for name, value in raw.items():
        spec = specs.get(name)
        if spec is None or value is None:
            continue
        facts[name] = spec.parse(value)
    return facts


# -- the fact vocabulary as data ---------------------------------------------------------------

def parse_fact_spec(name: str, data: Mapping[str, Any]) -> FactSpec:
    """One entry of the YAML `facts:` mapping. Raises ValueError naming the entry."""
    where = f"facts.{name}"
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"{where}: fact names are snake_case")
    known = {"type", "label", "help", "choices", "min", "max"}
    extra = set(data) - known
    if extra:
        raise ValueError(f"{where}: unknown keys {sorted(extra)}")
    try:
        kind = FactType(data["type"])
    except (KeyError, ValueError):
        raise ValueError(f"{where}.type: one of {[t.value for t in FactType]}") from None
    choices = tuple(
        Choice(str(c["value"]), Text.parse({"zh": c["zh"], "en": c["en"]}, f"{where}.choices"))
        for c in data.get("choices", ())
    )
    if kind in (FactType.ENUM, FactType.LIST) and not choices:
        raise ValueError(f"{where}: {kind} facts need choices")
    if kind not in (FactType.ENUM, FactType.LIST) and choices:
        raise ValueError(f"{where}: only enum and list facts have choices")
    minimum = Decimal(str(data["min"])) if "min" in data else None
    maximum = Decimal(str(data["max"])) if "max" in data else None
    if kind is FactType.INT and minimum is None:
        minimum = Decimal(0)
    return FactSpec(
        name=name,
        type=kind,
        label=Text.parse(data.get("label"), f"{where}.label"),
        help=Text.parse(data["help"], f"{where}.help") if "help" in data else None,
        choices=choices,
        minimum=minimum,
        maximum=maximum,
    )
