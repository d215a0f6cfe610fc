"""What we know about an enterprise in the policy vocabulary: derived from its profile, or told by it.

Derived facts come from the enterprise's profile and are never asked (the profile is where they are
changed): `region` (its region code), `tiers` (its tiers that the vocabulary knows — the market's
Tier values `little_giant`, `provincial_specialised`… are the same strings), `is_manufacturing`
(industry 工业 → true; any other named industry → false; 其他未列明行业 → asked). Everything else is
what the SME answered on the facts form, stored one row per fact in `enterprise_facts`.
"""
from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any, Iterable, Mapping

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.clock import utcnow
from core.extensions import db
from market.enums import Industry
from market.models import Enterprise
from policies.facts import FactError, FactSpec, FactType
from policies.models import EnterpriseFact

log = logging.getLogger(__name__)

DERIVED_FACTS = ("region", "tiers", "is_manufacturing")
UNKNOWN_INDUSTRIES = {Industry.OTHER}


def derived_facts(enterprise: Enterprise, specs: Mapping[str, FactSpec]) -> dict[str, Any]:
    """Typed facts read off the enterprise's profile (only those the vocabulary declares)."""
    out: dict[str, Any] = {}
    if "region" in specs and enterprise.region_code:
        out["region"] = enterprise.region_code
    if "tiers" in specs:
        allowed = set(specs["tiers"].allowed_values or ())
        out["tiers"] = frozenset(tier for tier in enterprise.tiers if tier in allowed)
    if "is_manufacturing" in specs and enterprise.industry not in UNKNOWN_INDUSTRIES:
        out["is_manufacturing"] = enterprise.industry == Industry.MANUFACTURING
    return out


def to_json(spec: FactSpec, value: Any) -> Any:
    """A typed fact value as stored: money and decimals as exact strings, dates ISO, lists sorted."""
    if spec.type in (FactType.MONEY, FactType.DECIMAL):
        return format(Decimal(value).normalize(), "f")
    if spec.type is FactType.DATE:
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if spec.type is FactType.LIST:
        return sorted(value)
    return value


def stored_facts(enterprise_ids: Iterable[int], specs: Mapping[str, FactSpec]) -> dict[int, dict[str, Any]]:
    """Typed stored answers per enterprise, in one query. A value the vocabulary no longer accepts
    (a fact renamed or retyped) is left out, so it is asked again."""
    wanted = list(set(enterprise_ids))
    out: dict[int, dict[str, Any]] = {eid: {} for eid in wanted}
    if not wanted:
        return out
    rows = db.session.execute(select(EnterpriseFact.enterprise_id, EnterpriseFact.name, EnterpriseFact.value)
                              .where(EnterpriseFact.enterprise_id.in_(wanted)))
    for enterprise_id, name, value in rows:
        spec = specs.get(name)
        if spec is None:
            continue
        try:
            out[enterprise_id][name] = spec.parse(value)
        except FactError as error:
            log.warning("enterprise %s: stored fact no longer valid: %s", enterprise_id, error)
    return out


def facts_of(enterprise: Enterprise, specs: Mapping[str, FactSpec],
             stored: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], frozenset[str]]:
    """Every fact known about `enterprise` (stored answers, then the profile on top) and which are derived."""
    if stored is None:
        stored = stored_facts([enterprise.id], specs)[enterprise.id]
    derived = derived_facts(enterprise, specs)
    return {**stored, **derived}, frozenset(derived)


def write_facts(actor, enterprise_id: int, answers: Mapping[str, Any], specs: Mapping[str, FactSpec]) -> int:
    """Store typed answers (None clears an answer). Derived facts are ignored: the profile holds them.
    Upserts, so a double submission or two tabs leave one row per fact. Returns how many were written."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    written = 0
    for name, value in answers.items():
        if name in DERIVED_FACTS or name not in specs:
            continue
        if value is None:
            db.session.execute(delete(EnterpriseFact).where(EnterpriseFact.enterprise_id == enterprise_id,
                                                            EnterpriseFact.name == name))
            continue
        now = utcnow()
        values = {"value": to_json(specs[name], value), "updated_at": now, "updated_by_user_id": actor.id}
        statement = insert(EnterpriseFact).values(enterprise_id=enterprise_id, name=name, **values)
        db.session.execute(statement.on_conflict_do_update(index_elements=["enterprise_id", "name"], set_=values))
        written += 1
    db.session.flush()
    return written
