"""Why an enterprise got no meeting, and why an accepted request is not in the plan."""
from __future__ import annotations

import numpy as np

from .candidates import Arcs
from .columns import Columns
from .eligibility import need_progress
from .result import NEED_RULE_REASON, UnkeptRequest, Unmatched, reason_text


def unmatched(cols: Columns, covered: np.ndarray, arcs: Arcs,
              allocated_ent: np.ndarray) -> list[Unmatched]:
    """One `Unmatched` per enterprise without a placed meeting, with the nearest cause.

    `arcs` holds every need-level eligible enterprise–institution pair (declined or not);
    `allocated_ent` lists the enterprises of allocated meetings.
    """
    n = cols.n_ent
    cand_ent, allowed, common = arcs.ent, arcs.allowed, arcs.common
    has_need = np.bincount(cols.need_ent, minlength=n) > 0
    need_level = np.bincount(cand_ent, minlength=n) > 0
    not_declined = np.bincount(cand_ent[allowed], minlength=n) > 0
    with_slot = np.bincount(cand_ent[allowed & common], minlength=n) > 0
    allocated = np.bincount(allocated_ent, minlength=n) > 0

    missing = np.flatnonzero(~covered)
    progress = np.full(n, -1, dtype=np.int64)
    best_need = np.full(n, -1, dtype=np.int64)
    lost = missing[has_need[missing] & ~need_level[missing]]
    if len(lost):
        needs = np.flatnonzero(np.isin(cols.need_ent, lost))
        reach = need_progress(cols, needs)
        order = np.lexsort((-reach, cols.need_ent[needs]))
        ents = cols.need_ent[needs][order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = ents[1:] != ents[:-1]
        progress[ents[first]] = reach[order][first]
        best_need[ents[first]] = needs[order][first]

    ent_records, need_records = cols.instance.enterprises, cols.instance.needs
    out = []
    for e in missing.tolist():
        detail = ""
        if not has_need[e]:
            code = "no_need"
        elif cols.ent_cap[e] == 0:
            code = "no_capacity"
        elif not need_level[e]:
            code = NEED_RULE_REASON[min(int(progress[e]), len(NEED_RULE_REASON) - 1)]
            detail = need_records[int(best_need[e])].id
        elif not not_declined[e]:
            code = "only_declined"
        elif not with_slot[e]:
            code = "no_common_slot"
        elif allocated[e]:
            code = "not_placed"
        else:
            code = "capacity_exhausted"
        zh, en = reason_text(code)
        out.append(Unmatched(ent_records[e].id, code, zh, en, detail))
    return out


def unkept_requests(cols: Columns, arcs: Arcs, placed_key: np.ndarray,
                    allocated_key: np.ndarray) -> list[UnkeptRequest]:
    """Accepted requests that did not become a placed meeting, with the reason."""
    out = []
    kept = set(placed_key.tolist())
    allocated = set(allocated_key.tolist())
    arc_key = cols.pair_key(arcs.ent, arcs.inst)
    accepted = arcs.accepted
    eligible = set(arc_key[accepted & arcs.common].tolist())
    no_slot = set(arc_key[accepted & ~arcs.common].tolist())
    ents, insts = cols.instance.enterprises, cols.instance.institutions
    for key in cols.accepted_keys.tolist():
        if key in kept:
            continue
        if key in allocated:
            code = "not_placed"
        elif key in eligible:
            code = "cap_reached"
        elif key in no_slot:
            code = "no_common_slot"
        else:
            code = "not_eligible"
        zh, en = reason_text(code)
        e, i = divmod(key, cols.n_inst)
        out.append(UnkeptRequest(ents[e].id, insts[i].id, code, zh, en))
    return out
