"""Which enterprise–institution pairs meet: an exact min-cost circulation (OR-Tools).

Objective, lexicographic: (0) accepted requests kept, (1) n₁ = enterprises with ≥ 1 meeting,
(2) n₂ = enterprises with ≥ 2, … (K) n_K, then (K+1) the total score in thousandths.
"Everyone's second before anyone's third" is exactly: maximise n₂ before n₃.

Network: s → e by parallel "level" arcs k = 1 … L_e (capacity 1, cost −G_k), e → i (capacity
1, cost −score), i → t (capacity = the institution's cap), and t → s (cost 0) closing a
circulation with all supplies 0. Since G_1 > G_2 > … the solver fills an enterprise's level k
before k+1 (convex per-enterprise cost), and n_k is the flow on the level-k arcs.

Accepted requests. When every accepted pair fits the caps together (the usual case), every
lex-optimal plan keeps them all, so they are fixed up front: removed from the network, the
caps reduced, and the enterprise's level arcs start after its accepted meetings. Otherwise
accepted arcs get a bonus A in the cost (below).

Why weights give the lexicographic optimum, not an approximation. Give each arc a cost
*vector* (accepted, n₁ … n_K, score); a flow is lex-optimal iff its residual graph has no
lex-negative cycle (the usual cycle-decomposition argument only needs an ordered group), and
iff it has no lex-negative *simple* cycle. A simple cycle passes s at most once, so it moves at
most one level arc up and one down; its score change is below B = 1000·(min(|E|, |I|) + 2)
because it crosses each institution at most once. With G_k = (K + 1 − k)·B two different levels
differ by ≥ B, and A = (K + 1)·B + 1 exceeds any level-plus-score change. So every simple
cycle has the same sign under the scalar weights as under the lex order: the scalar optimum is
the lex optimum. The largest cost is A ≈ 5·10⁷ even at 2,000 institutions × 24 levels, far
from int64 limits after OR-Tools scales costs by the node count.

Faster in practice, still exact. A large B makes the cost-scaling solver spend its first
phases on a degenerate problem (on the national benchmark 7 s instead of 3.7 s), so when the
accepted pairs are fixed the engine first solves with B = 1001 (levels still outweigh any
single arc's score) and levels up to a depth D guessed from capacity, then *certifies* the
level profile: it is lex-optimal iff no residual path leads from an enterprise with f meetings
and room for more either to an institution with spare capacity or to an enterprise with
f + 2 or more — one breadth-first search per value of f. If certified, the flow is the exact
optimum: every plan with the same (optimal) profile uses no level beyond D, and among those
the solver minimised B·profile + score, i.e. the score. If not, it solves again with the
guaranteed weights and every level.

Why a circulation and not `solve_max_flow_with_min_cost`: every level gain is positive, so
flow is added whenever it helps; but forcing maximum flow would rank "more meetings" above
"accepted requests kept" (rerouting an accepted pair can free room for two others). Without
accepted requests the two coincide: the feasible meeting-count vectors form a polymatroid, and
a lex-optimal vector that is not maximal could be raised in some coordinate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow


@dataclass
class Allocation:
    chosen: np.ndarray          # bool per candidate arc
    levels: int                 # deepest fairness level any enterprise could use
    solves: int = 0             # min-cost-flow solves
    certified: bool = False     # the fast solve was certified (else the guaranteed weights)


class SolverError(RuntimeError):
    """OR-Tools did not return an optimal flow (should not happen on valid input)."""


def _solve(arc_ent, arc_inst, arc_cost, inst_room, first, levels, big_b):
    """One circulation; enterprise e gets level arcs first[e]+1 … first[e]+levels[e].

    Returns the flow (bool) on each pair arc.
    """
    n_e, n_i = len(levels), len(inst_room)
    source, sink = 0, 1
    lvl_ent = np.repeat(np.arange(n_e, dtype=np.int64), levels)
    starts = np.cumsum(levels) - levels
    lvl_k = (np.arange(len(lvl_ent), dtype=np.int64) - np.repeat(starts, levels)
             + 1 + np.repeat(first, levels))
    k_top = int(lvl_k.max(initial=0))
    total = int(levels.sum())
    n_lvl, n_arc = len(lvl_ent), len(arc_ent)
    tails = np.empty(n_lvl + n_arc + n_i + 1, dtype=np.int64)
    heads = np.empty_like(tails)
    caps = np.ones_like(tails)
    costs = np.zeros_like(tails)
    tails[:n_lvl], heads[:n_lvl] = source, 2 + lvl_ent
    costs[:n_lvl] = -(k_top + 1 - lvl_k) * big_b
    pair = slice(n_lvl, n_lvl + n_arc)
    tails[pair], heads[pair], costs[pair] = 2 + arc_ent, 2 + n_e + arc_inst, arc_cost
    inst = slice(n_lvl + n_arc, n_lvl + n_arc + n_i)
    tails[inst], heads[inst] = 2 + n_e + np.arange(n_i), sink
    caps[inst] = np.minimum(inst_room, total)
    tails[-1], heads[-1], caps[-1] = sink, source, total

    solver = min_cost_flow.SimpleMinCostFlow()
    ids = solver.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    status = solver.solve()
    if status != solver.OPTIMAL:
        raise SolverError(f"min-cost flow ended with status {status}")
    return solver.flows(ids[pair]) > 0


def _csr(keys: np.ndarray, values: np.ndarray, n: int):
    order = np.argsort(keys, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=indptr[1:])
    return indptr, values[order]


def _expand(csr, frontier: np.ndarray) -> np.ndarray:
    """All neighbours of the frontier nodes (with repeats)."""
    indptr, targets = csr
    starts = indptr[frontier]
    counts = indptr[frontier + 1] - starts
    total = int(counts.sum())
    if total == 0:
        return targets[:0]
    shift = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return targets[shift + np.arange(total)]


def _certified(a_ent, a_inst, used, meetings, full, spare, n_i) -> bool:
    """True when no residual path improves the level profile (see the module docstring)."""
    n_e = len(meetings)
    free_out = _csr(a_ent[~used], a_inst[~used], n_e)   # e → i along unused arcs
    used_back = _csr(a_inst[used], a_ent[used], n_i)    # i → e along used arcs
    has_room = meetings < full
    for level in np.unique(meetings[has_room]).tolist():
        seen_e = np.zeros(n_e, dtype=bool)
        seen_i = np.zeros(n_i, dtype=bool)
        frontier = np.flatnonzero(has_room & (meetings == level))
        seen_e[frontier] = True
        while len(frontier):
            insts = _expand(free_out, frontier)
            insts = insts[~seen_i[insts]]
            if len(insts) == 0:
                break
            if np.any(spare[insts] > 0):
                return False
            seen_i[insts] = True
            ents = _expand(used_back, np.flatnonzero(np.bincount(insts, minlength=n_i)))
            ents = ents[~seen_e[ents]]
            if np.any(meetings[ents] >= level + 2):
                return False
            seen_e[ents] = True
            frontier = np.unique(ents)
    return True


def _exact(a_ent, a_inst, cost, inst_room, first, full, depth, big_b):
    """Solve with the guaranteed weights, levels up to `depth` first.

    If an enterprise that could go deeper uses every offered level, solve again with all
    levels; otherwise the restricted optimum is the full one (a lex-improving cycle through a
    deeper level arc would stay lex-improving through that enterprise's next level arc).
    Returns (pair flows, solves).
    """
    k_max = int(full.max())
    for solves in (1, 2):
        top = np.maximum(np.minimum(full, depth), first)
        flows = _solve(a_ent, a_inst, cost, inst_room, first, top - first, big_b)
        meetings = first + np.bincount(a_ent[flows], minlength=len(full))
        if depth >= k_max or not np.any((meetings >= top) & (full > top)):
            return flows, solves
        depth = k_max
    raise AssertionError("unreachable")


def allocate(arc_ent: np.ndarray, arc_inst: np.ndarray, arc_milli: np.ndarray,
             arc_accepted: np.ndarray, ent_cap: np.ndarray, inst_cap: np.ndarray) -> Allocation:
    """Choose arcs (one per enterprise–institution pair) maximising the lexicographic goal."""
    chosen = np.zeros(len(arc_ent), dtype=bool)
    arcs = np.flatnonzero((ent_cap[arc_ent] > 0) & (inst_cap[arc_inst] > 0))
    if len(arcs) == 0:
        return Allocation(chosen, 0)
    n_e, n_i = len(ent_cap), len(inst_cap)
    a_ent, a_inst = arc_ent[arcs], arc_inst[arcs]
    milli = arc_milli[arcs].astype(np.int64)
    accepted = arc_accepted[arcs]
    degree = np.bincount(a_ent, minlength=n_e)
    full = np.minimum(ent_cap, degree)            # L_e: most meetings e can have
    k_max = int(full.max())
    acc_e = np.bincount(a_ent[accepted], minlength=n_e)
    acc_i = np.bincount(a_inst[accepted], minlength=n_i)
    active_e = int((degree > 0).sum())
    big_b = 1000 * (min(active_e, int((np.bincount(a_inst, minlength=n_i) > 0).sum())) + 2) + 1
    room = int(np.minimum(inst_cap, ent_cap.sum()).sum())
    depth = min(k_max, 2 * -(-room // max(active_e, 1)) + 3)
    none = np.zeros(n_e, dtype=np.int64)

    if not (np.all(acc_e <= ent_cap) and np.all(acc_i <= inst_cap)):
        # Accepted pairs compete for caps: they ride on the bonus A, weights guaranteed.
        big_a = (k_max + 1) * big_b + 1
        flows, solves = _exact(a_ent, a_inst, -milli - big_a * accepted, inst_cap, none, full,
                               depth, big_b)
        chosen[arcs[flows]] = True
        return Allocation(chosen, k_max, solves)

    chosen[arcs[accepted]] = True
    free = np.flatnonzero(~accepted)
    f_ent, f_inst, f_cost = a_ent[free], a_inst[free], -milli[free]
    room_i = inst_cap - acc_i
    depth = max(depth, int(acc_e.max()) + 1)
    top = np.maximum(np.minimum(full, depth), acc_e)
    flows = _solve(f_ent, f_inst, f_cost, room_i, acc_e, top - acc_e, 1001)
    meetings = acc_e + np.bincount(f_ent[flows], minlength=n_e)
    spare = room_i - np.bincount(f_inst[flows], minlength=n_i)
    if _certified(f_ent, f_inst, flows, meetings, full, spare, n_i):
        chosen[arcs[free[flows]]] = True
        return Allocation(chosen, k_max, 1, certified=True)
    flows, solves = _exact(f_ent, f_inst, f_cost, room_i, acc_e, full, depth, big_b)
    chosen[arcs[free[flows]]] = True
    return Allocation(chosen, k_max, 1 + solves)
