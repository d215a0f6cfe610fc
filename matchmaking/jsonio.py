"""The JSON front door: parse an input document into an `Instance`, a `Plan` back into JSON.

Reading refuses, before parsing, a document larger than `MAX_INPUT_BYTES` or nested deeper than
`MAX_JSON_DEPTH` (json.loads would recurse into it), and refuses NaN and Infinity; parsing checks
the document's shape (objects, required fields, lists, the number of records); `validate` checks
the values. All raise `InputError` naming the record and field. Unknown fields are ignored.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from json.encoder import encode_basestring
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .gcpause import paused_gc
from .limits import MAX_INPUT_BYTES, MAX_JSON_DEPTH, MAX_RECORDS
from .model import Enterprise, InputError, Instance, Institution, Need, Product, Request
from .result import Plan
from .validation import record_label, show_value

_REQUIRED = {
    "enterprises": ("id", "region", "chain", "stage"),
    "needs": ("id", "enterprise", "type", "amount"),
    "institutions": ("id", "kind"),
    "products": ("id", "institution", "type", "amount_min", "amount_max"),
    "requests": ("enterprise", "institution", "status"),
}


class _Shape(Exception):
    """A list field that is not a list, or unhashable slots: raised inside the fast path."""

    def __init__(self, field: str, problem: str):
        self.field, self.problem = field, problem


def _list(record: dict, name: str) -> tuple:
    value = record.get(name)
    if value is None:
        return ()
    if type(value) is not list:
        raise _Shape(name, f"{name} must be a list, got {show_value(value)}")
    return tuple(value)


def _set(record: dict, name: str) -> frozenset:
    try:
        return frozenset(_list(record, name))
    except TypeError:
        raise _Shape(name, f"{name} must be a list of slot numbers") from None


def _yuan(value):
    return int(value) if type(value) is float and value.is_integer() else value


def _enterprise(r: dict) -> Enterprise:
    return Enterprise(r["id"], r["region"], r["chain"], r["stage"], _list(r, "tiers"),
                      r.get("max_meetings"), _set(r, "unavailable"), _list(r, "nodes"),
                      r.get("name") or "")


def _need(r: dict) -> Need:
    return Need(r["id"], r["enterprise"], r["type"], _yuan(r["amount"]), r.get("term_months"),
                _list(r, "collateral"), r.get("purpose") or "")


def _institution(r: dict) -> Institution:
    tables = r.get("tables")
    return Institution(r["id"], r["kind"], 1 if tables is None else tables,
                       r.get("max_meetings"), _set(r, "unavailable"), r.get("name") or "")


def _product(r: dict) -> Product:
    exclusive = r.get("is_exclusive")
    return Product(r["id"], r["institution"], r["type"], _yuan(r["amount_min"]),
                   _yuan(r["amount_max"]), _list(r, "regions"), _list(r, "chains"),
                   _list(r, "stages"), _list(r, "tiers"), _list(r, "nodes"),
                   _list(r, "collateral"), r.get("rate_min_bp"), r.get("rate_max_bp"),
                   r.get("term_min_months"), r.get("term_max_months"),
                   False if exclusive is None else exclusive, r.get("name") or "")


def _request(r: dict) -> Request:
    return Request(r["enterprise"], r["institution"], r["status"], r.get("by"))


_BUILDERS = {"enterprises": _enterprise, "needs": _need, "institutions": _institution,
             "products": _product, "requests": _request}


def _collection(doc: dict, name: str, required: bool = True) -> tuple:
    """Build one collection's records; shape problems become `InputError`s naming the record."""
    if name not in doc:
        if required:
            raise InputError("instance", name, f"{name} is missing")
        return ()
    records = doc[name]
    if not isinstance(records, list):
        raise InputError("instance", name, f"{name} must be a list")
    if len(records) > MAX_RECORDS[name]:
        raise InputError("instance", name, f"{name} holds {len(records)} records, more than the "
                                           f"{MAX_RECORDS[name]:,} the matcher takes")
    build = _BUILDERS[name]
    out = []
    for index, record in enumerate(records):
        try:
            out.append(build(record))
            continue
        except (KeyError, TypeError, AttributeError, _Shape) as exc:
            problem = exc
        if not isinstance(record, dict):
            raise InputError(record_label(name, index), "", "must be a JSON object")
        label = record_label(name, index, record.get("id"))
        for field in _REQUIRED[name]:
            if field not in record:
                raise InputError(label, field, f"{field} is missing")
        if isinstance(problem, _Shape):
            raise InputError(label, problem.field, problem.problem)
        raise InputError(label, "", f"malformed record: {problem}")
    return tuple(out)


def instance_from_dict(doc: object) -> Instance:
    """Build an `Instance` from a decoded JSON document (shape checks only; see `validate`)."""
    if not isinstance(doc, dict):
        raise InputError("instance", "", "the document must be a JSON object")
    if "slots" not in doc:
        raise InputError("instance", "slots", "slots is missing")
    with paused_gc():
        return Instance(doc["slots"], _collection(doc, "enterprises"),
                        _collection(doc, "needs"), _collection(doc, "institutions"),
                        _collection(doc, "products"),
                        _collection(doc, "requests", required=False))


_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_DEPTH_STEP = np.zeros(256, dtype=np.int8)
_DEPTH_STEP[list(b"[{")] = 1
_DEPTH_STEP[list(b"]}")] = -1
_ESCAPE = re.compile(rb"\\.", re.DOTALL)


def json_depth(data: bytes) -> int:
    """How deeply the JSON text nests arrays and objects, counted without parsing (no recursion).

    Escapes are dropped, then only quotes and brackets are kept; brackets between an odd and an
    even quote are inside strings. Exact for valid JSON; for invalid JSON the parser says what
    is wrong.
    """
    if b"\\" in data:
        data = _ESCAPE.sub(b"", data)
    marks = np.frombuffer(data.translate(None, _NOT_STRUCTURE), dtype=np.uint8)
    if not len(marks):
        return 0
    inside = np.bitwise_xor.accumulate((marks == ord('"')).view(np.uint8)).view(bool)
    steps = _DEPTH_STEP[marks]
    steps[inside] = 0
    return int(np.cumsum(steps, dtype=np.int64).max(initial=0))


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number the matcher takes")


def loads_document(data: bytes | str, source: str) -> object:
    """Decode a JSON input document within the limits (see the module); `InputError` otherwise."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(source, "", f"the input has more than {MAX_INPUT_BYTES:,} bytes "
                                     f"({MAX_INPUT_BYTES // 2**20} MiB), the most the matcher reads")
    if json_depth(data) > MAX_JSON_DEPTH:
        raise InputError(source, "", f"the input nests arrays and objects more than "
                                     f"{MAX_JSON_DEPTH} levels deep")
    try:
        with paused_gc():
            return json.loads(data, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InputError(source, "", f"not valid JSON: {exc.msg} "
                                     f"(line {exc.lineno}, column {exc.colno})") from None
    except UnicodeDecodeError as exc:
        raise InputError(source, "", f"not valid UTF-8 JSON: {exc}") from None
    except RecursionError:  # invalid JSON that the depth count could not see into
        raise InputError(source, "", f"the input nests arrays and objects more than "
                                     f"{MAX_JSON_DEPTH} levels deep") from None
    except ValueError as exc:  # NaN / Infinity, or an integer of more than 4,300 digits
        problem = str(exc) if "not a number" in str(exc) else "a number has too many digits"
        raise InputError(source, "", f"not valid JSON: {problem}") from None


def read_bounded(handle: BinaryIO) -> bytes:
    """At most MAX_INPUT_BYTES + 1 bytes of `handle`: enough to know the input is too large."""
    return handle.read(MAX_INPUT_BYTES + 1)


def load_instance(path: str | os.PathLike) -> Instance:
    """Read and shape-check an input file (values are checked by `plan_meetings`)."""
    try:
        with open(path, "rb") as handle:
            data = read_bounded(handle)
    except OSError as exc:
        raise InputError(str(path), "", f"cannot read: {exc.strerror}") from None
    return instance_from_dict(loads_document(data, str(path)))


def plan_to_dict(plan: Plan) -> dict:
    """The output document: meetings, unmatched, unplaced, unkept_requests, stats."""
    def reason(r) -> dict:
        return {"part": r.part, "weight": r.weight, "value": r.value, "zh": r.zh, "en": r.en}

    return {
        "meetings": [
            {"enterprise": m.enterprise, "institution": m.institution, "need": m.need,
             "product": m.product, "slot": m.slot, "table": m.table, "score": m.score,
             "reasons": [reason(r) for r in m.reasons], "request": m.request}
            for m in plan.meetings],
        "unmatched": [
            {"enterprise": u.enterprise, "reason": u.reason, "zh": u.zh, "en": u.en,
             "detail": u.detail} for u in plan.unmatched],
        "unplaced": [
            {"enterprise": u.enterprise, "institution": u.institution, "need": u.need,
             "product": u.product, "score": u.score, "reason": u.reason, "zh": u.zh, "en": u.en}
            for u in plan.unplaced],
        "unkept_requests": [
            {"enterprise": u.enterprise, "institution": u.institution, "reason": u.reason,
             "zh": u.zh, "en": u.en} for u in plan.unkept_requests],
        "stats": plan.stats,
    }


def dumps_plan(plan: Plan) -> str:
    """The output document as compact JSON text (equal to `json.dumps(plan_to_dict(plan))`).

    Meetings are written from cached fragments: each distinct `Reason` is encoded once.
    """
    string = encode_basestring  # JSON string literal, non-ASCII kept as is
    fragments: dict = {}

    def reason(r) -> str:
        key = id(r)
        text = fragments.get(key)
        if text is None:
            text = fragments[key] = (
                f'{{"part":{string(r.part)},"weight":{float(r.weight)!r},'
                f'"value":{float(r.value)!r},"zh":{string(r.zh)},"en":{string(r.en)}}}')
        return text

    meetings = ",".join(
        f'{{"enterprise":{string(m.enterprise)},"institution":{string(m.institution)},'
        f'"need":{string(m.need)},"product":{string(m.product)},"slot":{int(m.slot)},'
        f'"table":{int(m.table)},"score":{float(m.score)!r},'
        f'"reasons":[{",".join([reason(r) for r in m.reasons])}],'
        f'"request":{"null" if m.request is None else string(m.request)}}}'
        for m in plan.meetings)
    rest = plan_to_dict(Plan((), plan.unplaced, plan.unmatched, plan.unkept_requests,
                             plan.stats))
    del rest["meetings"]
    tail = json.dumps(rest, ensure_ascii=False, separators=(",", ":"))
    return f'{{"meetings":[{meetings}],{tail[1:]}'


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write text to path via a temporary file in the same folder and a rename."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                               dir=target.parent if str(target.parent) else ".")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
