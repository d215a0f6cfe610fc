"""Slots and tables for allocated meetings: bipartite edge colouring (colour = slot).

An institution with k tables becomes k table nodes, its meetings dealt round-robin so their
degrees differ by at most one (each ≤ ⌈cap/k⌉ ≤ slots). Enterprises × table nodes is then a
simple bipartite graph of maximum degree Δ ≤ slots, and König's theorem says Δ colours suffice.
The alternating-path (Kempe chain) algorithm below finds such a colouring: for a new edge u–v
with colour a free at u and b free at v, flip the a/b path that starts at v; in a bipartite
graph it never reaches u, after which a is free at both ends.

Unavailable slots are colours blocked at a vertex. A flip then only stays valid if the path's
far end may take the colour it swaps to (inner vertices keep both colours, merely swapped), so
the algorithm checks that and tries other colour pairs. Meetings still without a slot are
returned as unplaced with a reason: this list-colouring problem is NP-hard in general, so with
unavailable slots the placement is best-effort (most constrained meetings first).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NO_COMMON_SLOT = "no_common_slot"
SLOT_CONFLICT = "slot_conflict"
_MAX_TRIES = 96  # colour pairs tried per hard meeting before giving up on it


@dataclass
class Timetable:
    slot: np.ndarray      # per meeting, −1 when unplaced
    table: np.ndarray     # per meeting, 1-based table number of its institution
    unplaced: dict        # meeting index -> reason code


def _bits(mask: int):
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


class _Colouring:
    """Edge colouring state: at[x][c] is x's partner in colour c, or −1."""

    def __init__(self, n_vertices: int, slots: int, blocked: list[int]):
        self.slots = slots
        self.full = (1 << slots) - 1
        self.at = [[-1] * slots for _ in range(n_vertices)]
        self.edges = [0] * n_vertices       # colours with an edge, as a bitmask
        self.blocked = blocked              # unavailable colours, as a bitmask

    def free(self, x: int) -> int:
        return self.full & ~(self.edges[x] | self.blocked[x])

    def _set(self, x: int, y: int, c: int) -> None:
        self.at[x][c] = y
        self.at[y][c] = x
        self.edges[x] |= 1 << c
        self.edges[y] |= 1 << c

    def _walk(self, start: int, first: int, second: int) -> tuple[list[int], int]:
        """The first/second alternating path from start, and the colour missing at its end."""
        path, x, c = [start], start, first
        at = self.at
        while True:
            y = at[x][c]
            if y < 0:
                return path, c
            path.append(y)
            x, c = y, (second if c == first else first)

    def _flip(self, path: list[int], first: int, second: int) -> None:
        at = self.at
        colour = first
        for x, y in zip(path, path[1:]):
            at[x][colour] = -1
            at[y][colour] = -1
            colour = second if colour == first else first
        colour = first
        for x, y in zip(path, path[1:]):
            other = second if colour == first else first
            at[x][other] = y
            at[y][other] = x
            colour = other
        for end in (path[0], path[-1]):
            self.edges[end] = sum(1 << c for c in range(self.slots) if at[end][c] >= 0)

    def add(self, u: int, v: int) -> bool:
        """Colour edge u–v, flipping alternating paths if needed; False when it cannot."""
        common = self.free(u) & self.free(v)
        if common:
            self._set(u, v, (common & -common).bit_length() - 1)
            return True
        tries = 0
        for x, y in ((u, v), (v, u)):
            # a is free at x and used (not blocked) at y; b is free at y.
            for a in _bits(self.free(x) & self.edges[y]):
                for b in _bits(self.free(y)):
                    tries += 1
                    if tries > _MAX_TRIES:
                        return False
                    path, missing = self._walk(y, a, b)
                    if (self.blocked[path[-1]] >> missing) & 1:
                        continue
                    self._flip(path, a, b)
                    self._set(x, y, a)
                    return True
        return False


def schedule(m_ent: np.ndarray, m_inst: np.ndarray, order: np.ndarray, n_ent: int,
             inst_tables: np.ndarray, slots: int, ent_blocked: list[int],
             inst_blocked: list[int]) -> Timetable:
    """Give meetings (enterprise, institution positions) a slot and table, in `order`.

    `ent_blocked` / `inst_blocked` are per-position bitmasks of unavailable slots.
    """
    n = len(m_ent)
    slot = np.full(n, -1, dtype=np.int64)
    table = np.zeros(n, dtype=np.int64)
    unplaced: dict[int, str] = {}
    if n == 0:
        return Timetable(slot, table, unplaced)

    # Deal each institution's meetings round-robin over its tables, in priority order.
    ordered_inst = m_inst[order]
    by_inst = np.argsort(ordered_inst, kind="stable")
    inst_sorted = ordered_inst[by_inst]
    run_start = np.searchsorted(inst_sorted, inst_sorted, side="left")
    rank = np.arange(n) - run_start
    table_local = rank % inst_tables[inst_sorted]
    table[order[by_inst]] = table_local + 1

    # Table node numbering: enterprises first, then each used (institution, table).
    used_inst = np.unique(m_inst)
    offsets = np.zeros(len(used_inst) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(inst_tables[used_inst])
    base = dict(zip(used_inst.tolist(), (offsets[:-1] + n_ent).tolist()))
    n_vertices = n_ent + int(offsets[-1])
    blocked = list(ent_blocked) + [0] * int(offsets[-1])
    for i, start in base.items():
        for t in range(int(inst_tables[i])):
            blocked[start + t] = inst_blocked[i]
    colouring = _Colouring(n_vertices, slots, blocked)

    ents, insts, tables = m_ent.tolist(), m_inst.tolist(), table.tolist()
    vertex_of = [base[i] + t - 1 for i, t in zip(insts, tables)]
    pending = []
    for m in order.tolist():
        if not colouring.add(ents[m], vertex_of[m]):
            pending.append(m)
    for m in pending:  # a second pass: earlier flips may have opened room
        u, v = ents[m], vertex_of[m]
        if not colouring.add(u, v):
            full = colouring.full
            if not (full & ~blocked[u] & ~blocked[v]):
                unplaced[m] = NO_COMMON_SLOT
            else:
                unplaced[m] = SLOT_CONFLICT

    meeting_of = {(ents[m], vertex_of[m]): m for m in range(n) if m not in unplaced}
    at = colouring.at
    for (u, v), m in meeting_of.items():
        slot[m] = at[u].index(v)
    return Timetable(slot, table, unplaced)
