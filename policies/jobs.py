"""Scheduler entry point of 政策对接: remind SMEs of policy application deadlines.

`remind_policy_deadlines(now)` looks at what is due at `now` and queues one outbox row per user ×
policy (kind "policy_deadline", object ("policy", policy row id)); the outbox's unique key makes a
repeated or overlapping run a no-op. Safe to run every sweep; commits nothing (the runner commits).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select

from accounts.recipients import PartyUsers
from core.clock import shanghai_date
from core.extensions import db
from core.regions import region_prefix
from market.models import Enterprise
from notifications.services import Bilingual, notify, path_for
from policies.enterprise_facts import facts_of, stored_facts
from policies.evaluate import Status, evaluate_policy
from policies.models import Policy as PolicyRow
from policies.store import current_library

REMIND_DAYS_BEFORE = 7
KIND = "policy_deadline"


def _enterprises_in(regions: list[str]) -> list[Enterprise]:
    query = select(Enterprise).order_by(Enterprise.id)
    if regions:
        query = query.where(or_(*(Enterprise.region_code.startswith(region_prefix(code)) for code in regions)))
    return list(db.session.scalars(query))


def _context(policy, deadline: dt.date, today: dt.date, status: Status) -> dict:
    return {"title": Bilingual(f"{policy.title.zh}（{policy.clause.zh}）", f"{policy.title.en} ({policy.clause.en})"),
            "deadline": deadline.isoformat(), "days": (deadline - today).days, "eligible": status is Status.ELIGIBLE,
            "unit": Bilingual(policy.responsible_unit.zh, policy.responsible_unit.en)}


def remind_policy_deadlines(now: dt.datetime) -> int:
    """For each policy whose enterprise deadline falls within the next 7 days (Shanghai dates,
    today included), tell the users of every SME for which it evaluates eligible or needs
    information. Returns how many messages were queued (0 on a repeated run)."""
    today = shanghai_date(now)
    due_rows = list(db.session.scalars(select(PolicyRow).where(
        PolicyRow.enterprise_deadline >= today,
        PolicyRow.enterprise_deadline <= today + dt.timedelta(days=REMIND_DAYS_BEFORE))
        .order_by(PolicyRow.sort_order, PolicyRow.id)))
    if not due_rows:
        return 0
    stored_library = current_library()
    library = stored_library.library
    queued = 0
    for row in due_rows:
        try:
            policy = library.policy(row.key)
        except KeyError:
            continue  # does not parse: reported on the library page
        enterprises = _enterprises_in(list(policy.regions))
        users = PartyUsers(e.id for e in enterprises)
        enterprises = [e for e in enterprises if users.of(enterprise_id=e.id)]
        stored = stored_facts([e.id for e in enterprises], library.facts)
        for enterprise in enterprises:
            facts, _ = facts_of(enterprise, library.facts, stored[enterprise.id])
            result = evaluate_policy(library, policy, facts, today)
            if result.status is Status.NOT_ELIGIBLE:
                continue
            queued += notify(KIND, users.of(enterprise_id=enterprise.id), object_key=("policy", row.id),
                             context=_context(policy, row.enterprise_deadline, today, result.status),
                             link=path_for("policies.mine"))
    db.session.flush()
    return queued
