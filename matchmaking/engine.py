"""`plan_meetings(instance) -> Plan`: eligibility → scoring → allocation → timetable.

Also `recommend`, the ranked "为什么推荐" list of products for one enterprise.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .allocation import allocate
from .candidates import Arcs, candidate_arcs
from .columns import REQ_ACCEPTED, REQ_MUTUAL, REQ_REQUESTED, Columns
from .diagnosis import unkept_requests, unmatched
from .eligibility import need_product_pairs, pair_rule_masks
from .explain import reasons
from .gcpause import paused_gc
from .model import Instance
from .result import Meeting, Plan, Unplaced, reason_text
from .scoring import Reason, part_values
from .timetable import schedule
from .validation import validate

_REQUEST_NAME = {REQ_ACCEPTED: "accepted", REQ_MUTUAL: "mutual", REQ_REQUESTED: "requested"}


def _blocked_masks(records) -> list[int]:
    return [sum(1 << s for s in set(r.unavailable)) for r in records]


def _timetable_order(cols: Columns, arcs: Arcs, chosen: np.ndarray) -> np.ndarray:
    """Accepted first, then each enterprise's best meeting, its second, …; tight ones early."""
    ent, milli = arcs.ent[chosen], arcs.milli[chosen]
    by_ent = np.lexsort((-milli, ent))
    run_start = np.searchsorted(ent[by_ent], ent[by_ent], side="left")
    rank = np.empty(len(ent), dtype=np.int64)
    rank[by_ent] = np.arange(len(ent)) - run_start
    common = np.full(len(ent), cols.slots, dtype=np.int64)
    inst = arcs.inst[chosen]
    constrained = cols.ent_has_unavailable[ent] | cols.inst_has_unavailable[inst]
    if constrained.any():
        rows = np.flatnonzero(constrained)
        both = cols.ent_avail.bits[ent[rows]] & cols.inst_avail.bits[inst[rows]]
        common[rows] = np.unpackbits(both.view(np.uint8), axis=1).sum(axis=1)
    return np.lexsort((-milli, common, rank, ~arcs.accepted[chosen]))


def plan_meetings(instance: Instance) -> Plan:
    """Validate the instance and return the meeting plan (see docs/match-format.md)."""
    with paused_gc():
        return _plan(instance)


def _plan(instance: Instance) -> Plan:
    clock = {"start": time.perf_counter()}

    def lap(name: str) -> None:
        clock[name] = time.perf_counter()

    validate(instance)
    lap("validate")
    cols = Columns(instance)
    lap("compile")
    all_arcs = candidate_arcs(cols)
    lap("eligibility_and_scoring")
    arcs = all_arcs.take(np.flatnonzero(all_arcs.usable))
    alloc = allocate(arcs.ent, arcs.inst, arcs.milli, arcs.accepted, cols.ent_cap, cols.inst_cap)
    chosen = np.flatnonzero(alloc.chosen)
    lap("allocation")
    order = _timetable_order(cols, arcs, chosen)
    table = schedule(arcs.ent[chosen], arcs.inst[chosen], order, cols.n_ent, cols.inst_tables,
                     cols.slots, _blocked_masks(instance.enterprises),
                     _blocked_masks(instance.institutions))
    lap("timetable")

    placed = np.flatnonzero(table.slot >= 0)
    placed = placed[np.lexsort((table.table[placed], arcs.inst[chosen[placed]],
                                table.slot[placed]))]
    placed_arcs = chosen[placed]
    why = reasons(cols, arcs.need[placed_arcs], arcs.prod[placed_arcs])
    ents, insts = instance.enterprises, instance.institutions
    need_rec, prod_rec = instance.needs, instance.products
    meetings = [
        Meeting(ents[e].id, insts[i].id, need_rec[n].id, prod_rec[p].id, s, t, milli / 1000,
                r, _REQUEST_NAME.get(state))
        for e, i, n, p, s, t, milli, r, state in zip(
            arcs.ent[placed_arcs].tolist(), arcs.inst[placed_arcs].tolist(),
            arcs.need[placed_arcs].tolist(), arcs.prod[placed_arcs].tolist(),
            table.slot[placed].tolist(), table.table[placed].tolist(),
            arcs.milli[placed_arcs].tolist(), why, arcs.state[placed_arcs].tolist())]
    unplaced = []
    for m, code in sorted(table.unplaced.items()):
        a = chosen[m]
        zh, en = reason_text(code)
        unplaced.append(Unplaced(ents[arcs.ent[a]].id, insts[arcs.inst[a]].id,
                                 need_rec[arcs.need[a]].id, prod_rec[arcs.prod[a]].id,
                                 int(arcs.milli[a]) / 1000, code, zh, en))
    lap("explain")

    covered = np.zeros(cols.n_ent, dtype=bool)
    covered[arcs.ent[placed_arcs]] = True
    lost = unmatched(cols, covered, all_arcs, arcs.ent[chosen])
    arc_key = cols.pair_key(arcs.ent, arcs.inst)
    unkept = unkept_requests(cols, all_arcs, arc_key[placed_arcs], arc_key[chosen])
    lap("diagnosis")

    per_ent = np.bincount(arcs.ent[placed_arcs], minlength=cols.n_ent)
    histogram = np.bincount(per_ent)
    total_milli = int(arcs.milli[placed_arcs].sum())
    names = list(clock)
    stats = {
        "slots": cols.slots,
        "enterprises": cols.n_ent,
        "institutions": cols.n_inst,
        "needs": cols.n_need,
        "products": cols.n_prod,
        "eligible_need_product_pairs": all_arcs.pairs,
        "eligible_enterprise_institution_pairs": int(len(arcs.ent)),
        "enterprises_with_eligible_pair": int(len(np.unique(arcs.ent))),
        "covered_enterprises": int(covered.sum()),
        "meetings": len(meetings),
        "allocated": int(len(chosen)),
        "unplaced": len(unplaced),
        "total_score": total_milli / 1000,
        "mean_score": round(total_milli / 1000 / len(meetings), 3) if meetings else 0.0,
        "meetings_per_enterprise": {str(k): int(v) for k, v in enumerate(histogram) if k and v},
        "accepted_requests": int(len(cols.accepted_keys)),
        "accepted_kept": int(len(cols.accepted_keys)) - len(unkept),
        "fairness_levels": alloc.levels,
        "flow_solves": alloc.solves,
        "flow_certified": alloc.certified,
        "seconds": {b: round(clock[b] - clock[a], 4) for a, b in zip(names, names[1:])},
    }
    return Plan(tuple(meetings), tuple(unplaced), tuple(lost), tuple(unkept), stats)


@dataclass(frozen=True, slots=True)
class Recommendation:
    need: str
    product: str
    institution: str
    score: float
    reasons: tuple[Reason, ...]


def recommend(instance: Instance, enterprise: str, limit: int = 10) -> list[Recommendation]:
    """The enterprise's eligible need × product pairs, best first, with their reasons."""
    validate(instance)
    own_needs = tuple(n for n in instance.needs if n.enterprise == enterprise)
    sub = Instance(instance.slots, tuple(e for e in instance.enterprises if e.id == enterprise),
                   own_needs, instance.institutions, instance.products,
                   tuple(r for r in instance.requests if r.enterprise == enterprise))
    cols = Columns(sub)
    needs, prods = need_product_pairs(cols)
    allowed, _common = pair_rule_masks(cols, cols.need_ent[needs], cols.prod_inst[prods])
    needs, prods = needs[allowed], prods[allowed]
    milli = part_values(cols, needs, prods).milli
    order = np.lexsort((prods, needs, -milli))[:limit]
    why = reasons(cols, needs[order], prods[order])
    return [Recommendation(sub.needs[n].id, sub.products[p].id,
                           sub.products[p].institution, int(milli[o]) / 1000, why[k])
            for k, (o, n, p) in enumerate(zip(order.tolist(), needs[order].tolist(),
                                               prods[order].tolist()))]
