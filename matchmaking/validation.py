"""`validate(instance)`: every value and cross-reference check, raising `InputError`.

Messages name the record and the field, e.g.
`products[3] (id "p7"): amount_min 500000 > amount_max 100000`.
"""
from __future__ import annotations

import json

from .limits import MAX_AMOUNT_YUAN, MAX_COUNT, MAX_RECORDS, MAX_SLOTS, MAX_TABLES
from .model import (
    COLLATERAL_KINDS,
    FINANCING_TYPES,
    REQUEST_SIDES,
    REQUEST_STATUSES,
    STAGES,
    InputError,
    Instance,
)

_TYPES = frozenset(FINANCING_TYPES)
_STAGES = frozenset(STAGES)
_COLLATERAL = frozenset(COLLATERAL_KINDS)
_DIGITS = frozenset("0123456789")


def record_label(collection: str, index: int, record_id: object = None) -> str:
    """`products[3] (id "p7")`, or `requests[2]` for records without an id."""
    if isinstance(record_id, str):
        return f'{collection}[{index}] (id "{record_id}")'
    return f"{collection}[{index}]"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_SHOWN_MAX = 80


def show_value(value: object) -> str:
    """A value as it would appear in the JSON input, cut short after 80 characters."""
    if _is_int(value) and abs(value) >= 10**_SHOWN_MAX:
        return f"an integer of {len(str(abs(value)))} digits"
    try:
        text = json.dumps(value, ensure_ascii=False, default=sorted)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= _SHOWN_MAX else text[:_SHOWN_MAX - 1] + "…"


def _known(value: object, ids: dict) -> bool:
    return isinstance(value, str) and value in ids


def _fail(label: str, field: str, problem: str) -> None:
    raise InputError(label, field, f"{field} {problem}")


def _check_id(label: str, value: object, seen: dict, collection: str) -> None:
    if not isinstance(value, str) or not value:
        _fail(label, "id", f"must be a non-empty string, got {show_value(value)}")
    if value in seen:
        _fail(label, "id", f'"{value}" duplicates {record_label(collection, seen[value], value)}')


def _check_count(label: str, field: str, value: object, minimum: int, optional: bool,
                 maximum: int = MAX_COUNT) -> None:
    if value is None and optional:
        return
    if not _is_int(value) or value < minimum:
        _fail(label, field, f"must be an integer ≥ {minimum}, got {show_value(value)}")
    if value > maximum:
        _fail(label, field, f"must be at most {maximum:,}, got {show_value(value)}")


def _check_amount(label: str, field: str, value: object) -> None:
    if not _is_int(value):
        _fail(label, field, f"must be an integer number of yuan, got {show_value(value)}")
    if value < 0:
        _fail(label, field, f"must not be negative, got {value}")
    if value > MAX_AMOUNT_YUAN:
        _fail(label, field, f"must be at most {MAX_AMOUNT_YUAN:,} yuan, got {show_value(value)}")


def _check_type(label: str, value: object) -> None:
    if not isinstance(value, str) or value not in _TYPES:
        _fail(label, "type", f"{show_value(value)} is not one of {', '.join(FINANCING_TYPES)}")


def _check_region(label: str, field: str, value: object) -> None:
    if not (isinstance(value, str) and len(value) == 6 and _DIGITS.issuperset(value)
            and value[:2] != "00"):
        _fail(label, field, f"must be a six-digit GB/T 2260 region code, got {show_value(value)}")


def _check_strings(label: str, field: str, values: object, allowed: frozenset | None = None,
                   allowed_text: str = "") -> None:
    if not isinstance(values, (tuple, list, frozenset, set)):
        _fail(label, field, f"must be a list of strings, got {show_value(values)}")
    for value in values:
        if not isinstance(value, str) or not value:
            _fail(label, field, f"must hold non-empty strings, got {show_value(value)}")
        if allowed is not None and value not in allowed:
            _fail(label, field, f"{show_value(value)} is not one of {allowed_text}")


def _check_slots(label: str, values: object, slots: int) -> None:
    if not isinstance(values, (frozenset, set, tuple, list)):
        _fail(label, "unavailable", f"must be a list of slots, got {show_value(values)}")
    for slot in values:
        if not _is_int(slot) or not 0 <= slot < slots:
            _fail(label, "unavailable", f"slot {show_value(slot)} is outside 0 … {slots - 1}")


def _check_range(label: str, low_field: str, low: object, high_field: str, high: object) -> None:
    _check_count(label, low_field, low, 0, optional=True)
    _check_count(label, high_field, high, 0, optional=True)
    if low is not None and high is not None and low > high:
        _fail(label, low_field, f"{low} > {high_field} {high}")


def _strings(values, allowed=None) -> bool:
    """Fast path: a tuple of non-empty strings (from `allowed`, if given)."""
    for value in values:
        if type(value) is not str or not value or (allowed is not None and value not in allowed):
            return False
    return type(values) is tuple


def _count_or_none(value, minimum: int = 0) -> bool:
    return value is None or (type(value) is int and minimum <= value <= MAX_COUNT)


def _region_ok(value) -> bool:
    return (type(value) is str and len(value) == 6 and value.isdigit() and value.isascii()
            and value[:2] != "00")


def _slots_ok(values, slots: int) -> bool:
    return all(type(s) is int and 0 <= s < slots for s in values)


def validate(instance: Instance) -> None:
    """Raise `InputError` for the first bad record; return None when the instance is sound.

    Each record first meets a quick all-is-well test; only a record failing it is walked
    through the field-by-field checks that build the message.
    """
    slots = instance.slots
    if not _is_int(slots) or not 1 <= slots <= MAX_SLOTS:
        raise InputError("instance", "slots", f"slots must be an integer between 1 and "
                                              f"{MAX_SLOTS:,}, got {show_value(slots)}")
    for collection, maximum in MAX_RECORDS.items():
        records = getattr(instance, collection)
        if len(records) > maximum:
            raise InputError("instance", collection, f"{collection} holds {len(records)} records, "
                                                     f"more than the {maximum:,} the matcher takes")
    enterprises: dict[str, int] = {}
    for index, ent in enumerate(instance.enterprises):
        ok = False
        try:
            ok = (type(ent.id) is str and ent.id and ent.id not in enterprises
                  and _region_ok(ent.region) and type(ent.chain) is str and ent.chain
                  and ent.stage in _STAGES and _strings(ent.tiers) and _strings(ent.nodes)
                  and _count_or_none(ent.max_meetings)
                  and (not ent.unavailable or _slots_ok(ent.unavailable, slots)))
        except TypeError:
            pass
        if not ok:
            _check_enterprise(record_label("enterprises", index, ent.id), ent, enterprises,
                              slots)
        enterprises[ent.id] = index
    institutions: dict[str, int] = {}
    for index, inst in enumerate(instance.institutions):
        label = record_label("institutions", index, inst.id)
        _check_id(label, inst.id, institutions, "institutions")
        institutions[inst.id] = index
        if not isinstance(inst.kind, str) or not inst.kind:
            _fail(label, "kind", f"must be a non-empty string, got {show_value(inst.kind)}")
        _check_count(label, "tables", inst.tables, 1, optional=False, maximum=MAX_TABLES)
        _check_count(label, "max_meetings", inst.max_meetings, 0, optional=True)
        if inst.unavailable:
            _check_slots(label, inst.unavailable, slots)
    _validate_needs(instance, enterprises)
    _validate_products(instance, institutions)
    _validate_requests(instance, enterprises, institutions)


def _check_enterprise(label: str, ent, enterprises: dict, slots: int) -> None:
    _check_id(label, ent.id, enterprises, "enterprises")
    _check_region(label, "region", ent.region)
    if not isinstance(ent.chain, str) or not ent.chain:
        _fail(label, "chain", f"must be a non-empty string, got {show_value(ent.chain)}")
    if not isinstance(ent.stage, str) or ent.stage not in _STAGES:
        _fail(label, "stage", f"{show_value(ent.stage)} is not one of {', '.join(STAGES)}")
    _check_strings(label, "tiers", ent.tiers)
    _check_strings(label, "nodes", ent.nodes)
    _check_count(label, "max_meetings", ent.max_meetings, 0, optional=True)
    if ent.unavailable:
        _check_slots(label, ent.unavailable, slots)


def _validate_needs(instance: Instance, enterprises: dict[str, int]) -> None:
    seen: dict[str, int] = {}
    for index, need in enumerate(instance.needs):
        ok = False
        try:
            ok = (type(need.id) is str and need.id and need.id not in seen
                  and type(need.enterprise) is str and need.enterprise in enterprises
                  and need.type in _TYPES and type(need.amount) is int
                  and 0 <= need.amount <= MAX_AMOUNT_YUAN
                  and _count_or_none(need.term_months)
                  and (not need.collateral or _strings(need.collateral, _COLLATERAL)))
        except TypeError:
            pass
        if not ok:
            _check_need(record_label("needs", index, need.id), need, seen, enterprises)
        seen[need.id] = index


def _check_need(label: str, need, seen: dict, enterprises: dict) -> None:
    _check_id(label, need.id, seen, "needs")
    if not _known(need.enterprise, enterprises):
        _fail(label, "enterprise",
              f"{show_value(need.enterprise)} is not a known enterprise id")
    _check_type(label, need.type)
    _check_amount(label, "amount", need.amount)
    _check_count(label, "term_months", need.term_months, 0, optional=True)
    if need.collateral:
        _check_strings(label, "collateral", need.collateral, _COLLATERAL,
                       ", ".join(COLLATERAL_KINDS))


def _validate_products(instance: Instance, institutions: dict[str, int]) -> None:
    seen: dict[str, int] = {}
    for index, prod in enumerate(instance.products):
        label = record_label("products", index, prod.id)
        _check_id(label, prod.id, seen, "products")
        seen[prod.id] = index
        if not _known(prod.institution, institutions):
            _fail(label, "institution",
                  f"{show_value(prod.institution)} is not a known institution id")
        _check_type(label, prod.type)
        _check_amount(label, "amount_min", prod.amount_min)
        _check_amount(label, "amount_max", prod.amount_max)
        if prod.amount_min > prod.amount_max:
            _fail(label, "amount_min", f"{prod.amount_min} > amount_max {prod.amount_max}")
        for region in prod.regions:
            _check_region(label, "regions", region)
        _check_strings(label, "chains", prod.chains)
        _check_strings(label, "stages", prod.stages, _STAGES, ", ".join(STAGES))
        _check_strings(label, "tiers", prod.tiers)
        _check_strings(label, "nodes", prod.nodes)
        _check_strings(label, "collateral", prod.collateral, _COLLATERAL,
                       ", ".join(COLLATERAL_KINDS))
        _check_range(label, "rate_min_bp", prod.rate_min_bp, "rate_max_bp", prod.rate_max_bp)
        _check_range(label, "term_min_months", prod.term_min_months,
                     "term_max_months", prod.term_max_months)
        if not isinstance(prod.is_exclusive, bool):
            _fail(label, "is_exclusive",
                  f"must be true or false, got {show_value(prod.is_exclusive)}")


def _validate_requests(instance: Instance, enterprises: dict, institutions: dict) -> None:
    for index, req in enumerate(instance.requests):
        label = record_label("requests", index)
        if not _known(req.enterprise, enterprises):
            _fail(label, "enterprise",
                  f"{show_value(req.enterprise)} is not a known enterprise id")
        if not _known(req.institution, institutions):
            _fail(label, "institution",
                  f"{show_value(req.institution)} is not a known institution id")
        if not isinstance(req.status, str) or req.status not in REQUEST_STATUSES:
            _fail(label, "status",
                  f"{show_value(req.status)} is not one of {', '.join(REQUEST_STATUSES)}")
        if req.by is not None and (not isinstance(req.by, str) or req.by not in REQUEST_SIDES):
            _fail(label, "by", f"{show_value(req.by)} is not one of {', '.join(REQUEST_SIDES)}")
