"""Scheduler entry point of 政策对接: remind SMEs of policy application deadlines.

`remind_policy_deadlines(now)` looks at what is due at `now` and queues one outbox row per user ×
policy (kind "policy_deadline", object ("policy", policy row id)); the outbox's unique key makes a
repeated or overlapping run a no-op. Safe to run every sweep; commits nothing (the runner commits).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select

from core.extensions import db
from market.models import Enterprise
from core.regions import region_prefix
from notifications.services import Message, enqueue, path_for
from policies.enterprise_facts import facts_of, stored_facts
from policies.evaluate import Status, evaluate_policy
from policies.models import Policy as PolicyRow
from policies.store import current_library
from core.clock import shanghai_date
from core.roles import Role

REMIND_DAYS_BEFORE = 7
KIND = "policy_deadline"


def _enterprises_in(regions: list[str]) -> list[Enterprise]:
    query = select(Enterprise).order_by(Enterprise.id)
    if regions:
        query = query.where(or_(*(Enterprise.region_code.startswith(region_prefix(code)) for code in regions)))
    return list(db.session.scalars(query))


def _sme_users(enterprise_ids: list[int]) -> dict[int, list]:
    from accounts.models import User  # the shell's user table; read-only here
    users: dict[int, list] = {}
    if not enterprise_ids:
        return users
    rows = db.session.scalars(select(User).where(User.enterprise_id.in_(enterprise_ids), User.role == Role.SME,
                                                 User.is_enabled.is_(True)).order_by(User.id))
    for user in rows:
        users.setdefault(user.enterprise_id, []).append(user)
    return users


def _message(policy, deadline: dt.date, today: dt.date, status: Status) -> Message:
    days = (deadline - today).days
    when_zh = "今天截止" if days == 0 else f"还剩 {days} 天"
    when_en = "closes today" if days == 0 else f"{days} day{'s' if days != 1 else ''} left"
    if status is Status.ELIGIBLE:
        why_zh = "按贵企业的资料测算，贵企业符合该政策的申报条件。"
        why_en = "By your enterprise's information, you meet the policy's conditions."
    else:
        why_zh = "贵企业可能符合该政策，请补充测算所需的信息。"
        why_en = "Your enterprise may qualify; please add the information the estimate still needs."
    title_zh = f"{policy.title.zh}（{policy.clause.zh}）"
    title_en = f"{policy.title.en} ({policy.clause.en})"
    return Message(
        subject_zh=f"政策申报即将截止：{title_zh}",
        body_zh=(f"{title_zh}企业申报截止日期为 {deadline.isoformat()}（{when_zh}）。{why_zh}"
                 f"所需材料和测算依据请见“我的政策”。责任单位：{policy.responsible_unit.zh}。"),
        subject_en=f"Policy application deadline soon: {title_en}",
        body_en=(f"Enterprises apply for {title_en} by {deadline.isoformat()} ({when_en}). {why_en} "
                 f"See 'My policies' for the materials and the estimate. Responsible unit: "
                 f"{policy.responsible_unit.en}."),
        link=path_for("policies.mine"),
    )


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
        users = _sme_users([e.id for e in enterprises])
        enterprises = [e for e in enterprises if e.id in users]
        stored = stored_facts([e.id for e in enterprises], library.facts)
        for enterprise in enterprises:
            facts, _ = facts_of(enterprise, library.facts, stored[enterprise.id])
            result = evaluate_policy(library, policy, facts, today)
            if result.status is Status.NOT_ELIGIBLE:
                continue
            message = _message(policy, row.enterprise_deadline, today, result.status)
            queued += sum(enqueue(user, KIND, "policy", row.id, message) for user in users[enterprise.id])
    db.session.flush()
    return queued
