"""A columnar (numpy) view of an `Instance`: interned codes, bitsets and per-record arrays.

Everything vectorised in eligibility, scoring and allocation reads these arrays; records are
addressed by their position in the instance's tuples.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import COLLATERAL_KINDS, FINANCING_TYPES, STAGES, Instance

# Pair request state, in increasing precedence for the same enterprise–institution pair.
REQ_NONE, REQ_REQUESTED, REQ_MUTUAL, REQ_ACCEPTED, REQ_DECLINED = 0, 1, 2, 3, 4
_STATUS_CODE = {"requested": REQ_REQUESTED, "accepted": REQ_ACCEPTED, "declined": REQ_DECLINED}
TYPE_CODE = {name: code for code, name in enumerate(FINANCING_TYPES)}
STAGE_CODE = {name: code for code, name in enumerate(STAGES)}


class Bitsets:
    """One bitset per row over a shared vocabulary, stored as an (n, words) uint64 array."""

    def __init__(self, rows: list, vocabulary: dict[str, int]):
        self.vocabulary = vocabulary
        self.words = max(1, (len(vocabulary) + 63) // 64)
        self.bits = np.zeros((len(rows), self.words), dtype=np.uint64)
        row_ix, bit_ix = [], []
        for row, items in enumerate(rows):
            for item in items:
                code = vocabulary.get(item)
                if code is not None:
                    row_ix.append(row)
                    bit_ix.append(code)
        if row_ix:
            bit = np.asarray(bit_ix, dtype=np.int64)
            values = np.left_shift(np.uint64(1), (bit & 63).astype(np.uint64))
            np.bitwise_or.at(self.bits, (np.asarray(row_ix), bit >> 6), values)
        self.nonempty = self.bits.any(axis=1)

    @classmethod
    def slot_masks(cls, unavailable: list, slots: int) -> "Bitsets":
        """Available-slot bitsets: every slot, less each row's unavailable ones."""
        self = cls([], {s: s for s in range(slots)})
        self.bits = np.zeros((len(unavailable), self.words), dtype=np.uint64)
        for word in range(self.words):
            width = min(64, slots - 64 * word)
            self.bits[:, word] = np.uint64((1 << width) - 1)
        for row, blocked in enumerate(unavailable):
            for slot in blocked:
                self.bits[row, slot >> 6] &= ~np.uint64(1 << (slot & 63))
        self.nonempty = self.bits.any(axis=1)
        return self

    def intersects(self, rows, other: "Bitsets", other_rows) -> np.ndarray:
        """Row-wise: does self[rows] share a member with other[other_rows]?"""
        if self.words == 1:
            return (self.bits[rows, 0] & other.bits[other_rows, 0]) != 0
        return ((self.bits[rows] & other.bits[other_rows]) != 0).any(axis=1)


def _vocabulary(*groups) -> dict[str, int]:
    vocab: dict[str, int] = {}
    for group in groups:
        for items in group:
            for item in items:
                if item not in vocab:
                    vocab[item] = len(vocab)
    return vocab


def _opt(values, missing: int = -1) -> np.ndarray:
    return np.array([missing if v is None else v for v in values], dtype=np.int64)


@dataclass
class ProductRegions:
    """A product's covered regions split by level, as integer prefixes."""

    provinces: np.ndarray
    cities: np.ndarray
    districts: np.ndarray


class Columns:
    """Interned, array-shaped view of an instance (positions follow the instance's tuples)."""

    def __init__(self, inst: Instance):
        self.instance = inst
        self.slots = S = inst.slots
        ents, needs, insts, prods = inst.enterprises, inst.needs, inst.institutions, inst.products
        self.n_ent, self.n_need = len(ents), len(needs)
        self.n_inst, self.n_prod = len(insts), len(prods)
        self.ent_index = {e.id: k for k, e in enumerate(ents)}
        self.inst_index = {i.id: k for k, i in enumerate(insts)}

        # Enterprises.
        region = np.array([int(e.region) for e in ents], dtype=np.int64)
        self.ent_district = region
        self.ent_city = region // 100
        self.ent_province = region // 10000
        chains = _vocabulary([[e.chain for e in ents]], [p.chains for p in prods])
        self.chain_vocab = chains
        self.ent_chain = np.array([chains[e.chain] for e in ents], dtype=np.int64)
        self.ent_stage = np.array([STAGE_CODE[e.stage] for e in ents], dtype=np.int64)
        tiers = _vocabulary([p.tiers for p in prods])
        nodes = _vocabulary([p.nodes for p in prods])
        self.ent_tiers = Bitsets([e.tiers for e in ents], tiers)
        self.ent_nodes = Bitsets([e.nodes for e in ents], nodes)
        self.ent_avail = Bitsets.slot_masks([e.unavailable for e in ents], S)
        self.ent_cap = np.array([inst.enterprise_cap(e) for e in ents], dtype=np.int64)
        self.ent_has_unavailable = np.array([bool(e.unavailable) for e in ents], dtype=bool)

        # Institutions.
        self.inst_tables = np.array([i.tables for i in insts], dtype=np.int64)
        self.inst_avail = Bitsets.slot_masks([i.unavailable for i in insts], S)
        self.inst_cap = np.array([inst.institution_cap(i) for i in insts], dtype=np.int64)
        self.inst_has_unavailable = np.array([bool(i.unavailable) for i in insts], dtype=bool)

        # Needs.
        ent_index = self.ent_index
        self.need_ent = np.array([ent_index[n.enterprise] for n in needs], dtype=np.int64)
        self.need_type = np.array([TYPE_CODE[n.type] for n in needs], dtype=np.int64)
        self.need_amount = np.array([n.amount for n in needs], dtype=np.int64)
        self.need_term = _opt(n.term_months for n in needs)
        collateral = {kind: code for code, kind in enumerate(COLLATERAL_KINDS)}
        self.need_collateral = Bitsets([n.collateral for n in needs], collateral)

        # Products.
        inst_index = self.inst_index
        self.prod_inst = np.array([inst_index[p.institution] for p in prods], dtype=np.int64)
        self.prod_type = np.array([TYPE_CODE[p.type] for p in prods], dtype=np.int64)
        self.prod_min = np.array([p.amount_min for p in prods], dtype=np.int64)
        self.prod_max = np.array([p.amount_max for p in prods], dtype=np.int64)
        self.prod_regions = [self._regions(p.regions) if p.regions else None for p in prods]
        self.prod_chains = [np.array(sorted({chains[c] for c in p.chains}), dtype=np.int64)
                            if p.chains else None for p in prods]
        self.prod_stage_mask = np.array(
            [sum(1 << STAGE_CODE[s] for s in set(p.stages)) for p in prods], dtype=np.int64)
        self.prod_tiers = Bitsets([p.tiers for p in prods], tiers)
        self.prod_nodes = Bitsets([p.nodes for p in prods], nodes)
        self.prod_has_chains = np.array([bool(p.chains) for p in prods], dtype=bool)
        self.prod_collateral = Bitsets([p.collateral for p in prods], collateral)
        self.prod_rate_min = _opt(p.rate_min_bp for p in prods)
        self.prod_rate_max = _opt(p.rate_max_bp for p in prods)
        self.prod_term_min = _opt(p.term_min_months for p in prods)
        self.prod_term_max = _opt(p.term_max_months for p in prods)
        self.prod_exclusive = np.array([p.is_exclusive for p in prods], dtype=bool)

        self._requests(inst)
        self.product_parts: dict | None = None  # filled by scoring on first use

    @staticmethod
    def _regions(codes) -> ProductRegions:
        values = {int(c) for c in codes}
        provinces = sorted(v // 10000 for v in values if v % 10000 == 0)
        cities = sorted(v // 100 for v in values if v % 100 == 0 and v % 10000 != 0)
        districts = sorted(v for v in values if v % 100 != 0)
        return ProductRegions(np.array(provinces, dtype=np.int64),
                              np.array(cities, dtype=np.int64),
                              np.array(districts, dtype=np.int64))

    def pair_key(self, ent, inst):
        """Integer key of enterprise–institution pairs (scalars or arrays)."""
        return ent * self.n_inst + inst

    def _requests(self, inst: Instance) -> None:
        state: dict[int, int] = {}
        sides: dict[int, set] = {}
        for req in inst.requests:
            key = self.ent_index[req.enterprise] * self.n_inst + self.inst_index[req.institution]
            code = _STATUS_CODE[req.status]
            if code == REQ_REQUESTED:
                sides.setdefault(key, set()).add(req.by)
            state[key] = max(state.get(key, REQ_NONE), code)
        for key, who in sides.items():
            if state[key] == REQ_REQUESTED and {"enterprise", "institution"} <= who:
                state[key] = REQ_MUTUAL
        keys = np.array(sorted(state), dtype=np.int64)
        self.req_keys = keys
        self.req_state = np.array([state[k] for k in keys.tolist()], dtype=np.int64)
        self.accepted_keys = keys[self.req_state == REQ_ACCEPTED]
        self.ent_has_request = np.zeros(self.n_ent, dtype=bool)
        self.ent_has_request[keys // max(self.n_inst, 1)] = True

    def request_state(self, keys: np.ndarray) -> np.ndarray:
        """REQ_* state for each pair key."""
        out = np.zeros(len(keys), dtype=np.int64)
        if len(self.req_keys) and len(keys):
            rows = np.flatnonzero(self.ent_has_request[keys // self.n_inst])
            pos = np.searchsorted(self.req_keys, keys[rows])
            pos = np.minimum(pos, len(self.req_keys) - 1)
            hit = self.req_keys[pos] == keys[rows]
            out[rows[hit]] = self.req_state[pos[hit]]
        return out
