"""Checks shared by the property tests: every rule of a plan, and the brute-force optimum."""
from collections import Counter

import numpy as np
from hypothesis import assume

from matchmaking import REASON_TEXT, plan_meetings
from matchmaking.columns import Columns
from matchmaking.scoring import PARTS, part_values

from .oracle import (
    brute_force_best,
    ent_cap,
    inst_cap,
    lex_key,
    need_product_ok,
    request_status,
    usable_pairs,
)


def pair_milli(inst) -> dict:
    """(enterprise, institution) -> best score in thousandths over its eligible pairs."""
    cols = Columns(inst)
    need_pos = {n.id: k for k, n in enumerate(inst.needs)}
    prod_pos = {p.id: k for k, p in enumerate(inst.products)}
    out = {}
    for pair, options in usable_pairs(inst).items():
        needs = np.array([need_pos[n.id] for n, _p in options])
        prods = np.array([prod_pos[p.id] for _n, p in options])
        out[pair] = int(part_values(cols, needs, prods).milli.max())
    return out


def check_plan(inst, plan):
    ents = {e.id: e for e in inst.enterprises}
    insts = {i.id: i for i in inst.institutions}
    needs = {n.id: n for n in inst.needs}
    prods = {p.id: p for p in inst.products}
    status = request_status(inst)
    usable = usable_pairs(inst)
    best = pair_milli(inst)

    pairs = [(m.enterprise, m.institution) for m in plan.meetings]
    assert len(pairs) == len(set(pairs)), "two meetings for one pair"
    for m in plan.meetings:
        e, i, n, p = ents[m.enterprise], insts[m.institution], needs[m.need], prods[m.product]
        assert n.enterprise == e.id and p.institution == i.id
        assert need_product_ok(e, n, p), m
        assert status.get((e.id, i.id)) != "declined"
        assert 0 <= m.slot < inst.slots and 1 <= m.table <= i.tables
        assert m.slot not in e.unavailable and m.slot not in i.unavailable
        assert 0.0 <= m.score <= 1.0
        assert round(m.score * 1000) == best[(e.id, i.id)], "not the best need × product"
        assert [r.part for r in sorted(m.reasons, key=lambda r: r.part)] == sorted(PARTS)
        assert all(r.zh and r.en for r in m.reasons)
    for e, count in Counter(m.enterprise for m in plan.meetings).items():
        assert count <= ent_cap(inst, ents[e])
    for i, count in Counter(m.institution for m in plan.meetings).items():
        assert count <= inst_cap(inst, insts[i])
    by_ent_slot = Counter((m.enterprise, m.slot) for m in plan.meetings)
    by_table_slot = Counter((m.institution, m.table, m.slot) for m in plan.meetings)
    assert max(by_ent_slot.values(), default=1) == 1, "enterprise double-booked"
    assert max(by_table_slot.values(), default=1) == 1, "table double-booked"

    covered = {m.enterprise for m in plan.meetings}
    assert {u.enterprise for u in plan.unmatched} == set(ents) - covered
    for u in plan.unmatched:
        assert u.reason in REASON_TEXT and u.zh and u.en
        if u.reason in ("capacity_exhausted", "not_placed", "no_common_slot", "only_declined"):
            assert any(n.enterprise == u.enterprise for n in inst.needs)
        if u.reason == "capacity_exhausted":
            assert any(e == u.enterprise for e, _i in usable)
    for u in plan.unplaced:
        assert u.reason in ("slot_conflict", "no_common_slot")
    return pairs, best


def matches_brute_force(inst):
    """The plan's (accepted kept, n₁ … n_slots, total score) equals the best over every
    allocation within the caps, enumerated."""
    milli = pair_milli(inst)
    assume(len(milli) <= 12)
    plan = plan_meetings(inst)
    pairs, _best = check_plan(inst, plan)
    assert lex_key(inst, pairs, milli) == brute_force_best(inst, milli)
