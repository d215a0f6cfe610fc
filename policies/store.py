"""The policy library in the database: seeding it from `seeds/policies.yaml`, reading it back.

The YAML file supplies the fixed vocabulary — facts, source documents, exclusive groups — and the
seeded policies. At run time the policies come from the `policies` table: each row's `definition`
is parsed with `policies.parse_policy`, so a policy an organiser edited is evaluated exactly like a
seeded one. Seeding is idempotent (matched by key); a row an organiser edited (`is_seeded` false)
is never overwritten by the file; a seeded row follows the file.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping

import yaml
from sqlalchemy import func, select

from core.extensions import db
from policies.loader import library_path, parse_library, parse_policy
from policies.models import Policy as PolicyRow
from policies.rules import Library, Policy, RuleError

log = logging.getLogger(__name__)
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class SeedFile:
    """The parsed YAML file: the library as written, and each policy's definition to store."""

    library: Library
    definitions: tuple[dict, ...]  # JSON-ready, source defaults applied, in file order


_cache: dict[tuple[str, float], SeedFile] = {}


def json_ready(value: Any) -> Any:
    """Dates as ISO strings, Decimals as strings, tuples as lists: what a JSON column can hold."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _flatten(items: Any) -> list:
    out: list = []
    for item in items or []:
        out.extend(item if isinstance(item, list) else [item])
    return out


def with_source_defaults(data: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict:
    """The policy mapping with its source's defaults applied, as `parse_policy` would apply them."""
    merged = dict(defaults)
    notes = _flatten(merged.pop("notes", []))
    merged.update(data)
    if "notes" in data:
        notes = notes + _flatten(data["notes"])
    merged["notes"] = notes
    if not merged["notes"]:
        del merged["notes"]
    return merged


def seed_file() -> SeedFile:
    """The YAML library (cached until the file changes)."""
    path = str(library_path())
    key = (path, os.path.getmtime(path))
    if key not in _cache:
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=_YamlLoader)  # noqa: S506 - a safe loader
        library = parse_library(data)
        defaults = {sid: (s.get("defaults") or {}) for sid, s in data["sources"].items()}
        definitions = tuple(json_ready(with_source_defaults(p, defaults.get(p["source"], {})))
                            for p in data["policies"])
        _cache.clear()
        _parsed.clear()
        _cache[key] = SeedFile(library, definitions)
    return _cache[key]


def vocabulary() -> Library:
    """Facts, sources and exclusive groups of the YAML file (its policies are not the run-time ones)."""
    return seed_file().library


def parse_definition(definition: Mapping[str, Any]) -> Policy:
    """A stored (or edited) definition as a policy; RuleError says where it is wrong."""
    base = vocabulary()
    return parse_policy(definition, facts=base.facts, sources=base.sources, groups=base.groups)


_parsed: dict[tuple[int, str], Policy] = {}
_PARSED_MAX = 1000


def parsed_definition(definition: Mapping[str, Any]) -> Policy:
    """`parse_definition`, remembered per vocabulary and definition text (the pages parse every row)."""
    key = (id(vocabulary()), json.dumps(definition, sort_keys=True, ensure_ascii=False))
    policy = _parsed.get(key)
    if policy is None:
        policy = parse_definition(definition)
        if len(_parsed) >= _PARSED_MAX:
            _parsed.clear()
        _parsed[key] = policy
    return policy


def _columns(policy: Policy) -> dict[str, Any]:
    window = policy.window
    return {
        "source_key": policy.source.id,
        "title_zh": policy.title.zh, "title_en": policy.title.en,
        "issuer_zh": policy.issuer.zh, "issuer_en": policy.issuer.en,
        "source_title_zh": policy.source.title.zh, "source_title_en": policy.source.title.en,
        "clause_zh": policy.clause.zh, "clause_en": policy.clause.en,
        "clause_text": policy.clause_text,
        "responsible_unit_zh": policy.responsible_unit.zh, "responsible_unit_en": policy.responsible_unit.en,
        "valid_from": policy.valid_from, "valid_until": policy.valid_until,
        "enterprise_deadline": window.enterprise_deadline if window else None,
        "district_deadline": window.district_deadline if window else None,
        "chains": list(policy.chains), "regions": list(policy.regions),
        "materials": [m.text.to_json() for m in policy.materials],
    }


def write_definition(row: PolicyRow, definition: Mapping[str, Any], policy: Policy) -> bool:
    """Store `definition` and the columns copied from it; whether anything changed."""
    values = {"definition": json_ready(definition), "key": policy.id, **_columns(policy)}
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def load_policy_library(session) -> dict[str, dict[str, int]]:
    """Seed the `policies` table from the YAML file: create missing policies, bring seeded ones in
    line with the file, leave organiser-edited ones alone ("skipped" when the file differs). Flushes."""
    counts = {"created": 0, "present": 0, "updated": 0, "skipped": 0}
    seeds = seed_file()
    existing = {row.key: row for row in session.scalars(select(PolicyRow))}
    for order, definition in enumerate(seeds.definitions):
        policy = seeds.library.policy(definition["id"])
        row = existing.get(policy.id)
        if row is None:
            row = PolicyRow(sort_order=order, is_seeded=True)
            write_definition(row, definition, policy)
            session.add(row)
            counts["created"] += 1
        elif not row.is_seeded:
            counts["skipped" if row.definition != definition else "present"] += 1
        elif write_definition(row, definition, policy) | _set(row, "sort_order", order):
            counts["updated"] += 1
        else:
            counts["present"] += 1
    session.flush()
    return {"policies": counts}


def _set(row, name: str, value) -> bool:
    if getattr(row, name) == value:
        return False
    setattr(row, name, value)
    return True


def policy_rows() -> list[PolicyRow]:
    return list(db.session.scalars(select(PolicyRow).order_by(PolicyRow.sort_order, PolicyRow.id)))


def next_sort_order() -> int:
    return (db.session.scalar(select(func.max(PolicyRow.sort_order))) or 0) + 1


@dataclass(frozen=True)
class StoredLibrary:
    """The run-time library built from the table, and the rows that no longer parse (key → message)."""

    library: Library
    rows: Mapping[str, PolicyRow]
    problems: Mapping[str, str]


def current_library(rows: list[PolicyRow] | None = None) -> StoredLibrary:
    """The library as the database holds it now. A row that does not parse is left out and reported."""
    base = vocabulary()
    rows = policy_rows() if rows is None else rows
    parsed, problems = [], {}
    for row in rows:
        try:
            parsed.append(parsed_definition(row.definition))
        except RuleError as error:
            log.error("policy %s does not parse: %s", row.key, error)
            problems[row.key] = str(error)
    library = Library(facts=base.facts, sources=base.sources, groups=base.groups, policies=tuple(parsed))
    return StoredLibrary(library, {row.key: row for row in rows}, problems)
