"""Score in [0, 1] of an eligible need × product pair: named, weighted parts ("为什么推荐").

Each part yields a value in [0, 1] and a category; the score is the weighted sum, and the
allocation uses it as integer thousandths (`milli`). `part_values` is vectorised over pair
arrays; `explain.reasons` turns the same values and categories into zh/en sentences.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .columns import REQ_ACCEPTED, REQ_MUTUAL, REQ_REQUESTED, Columns

WEIGHTS = {
    "node": 0.25,        # chain-node fit
    "amount": 0.10,      # where the amount sits in the product's range
    "term": 0.15,        # term fit
    "collateral": 0.15,  # collateral the enterprise offers vs what the product accepts
    "targeting": 0.10,   # product aimed at the enterprise's stage / tier
    "price": 0.15,       # rate or fee for the enterprise, relative to same-type products
    "request": 0.10,     # a meeting request between the two
}
PARTS = tuple(WEIGHTS)
_CREDIT_BIT = np.uint64(1)  # "credit" is COLLATERAL_KINDS[0]


class Reason(NamedTuple):
    """One part of a score: its weight, value in [0, 1], and the reason in zh and en."""

    part: str
    weight: float
    value: float
    zh: str
    en: str


class PartValues(NamedTuple):
    values: dict      # part -> float array
    category: dict    # part -> int array (what the reason says)
    total: np.ndarray
    milli: np.ndarray


def _product_parts(cols: Columns) -> dict:
    """Per-product values and categories of the parts that depend on the product alone."""
    if cols.product_parts is not None:
        return cols.product_parts
    rmin, rmax = cols.prod_rate_min, cols.prod_rate_max
    mid = np.where((rmin >= 0) & (rmax >= 0), (rmin + rmax) / 2.0, np.maximum(rmin, rmax))
    known = mid >= 0
    position = np.full(cols.n_prod, 0.5)
    for code in range(4):
        rows = np.flatnonzero((cols.prod_type == code) & known)
        if len(rows) and mid[rows].max() > mid[rows].min():
            low, high = mid[rows].min(), mid[rows].max()
            position[rows] = 1.0 - (mid[rows] - low) / (high - low)
    exclusive = cols.prod_exclusive
    stage_t = cols.prod_stage_mask != 0
    tier_t = cols.prod_tiers.nonempty
    parts = {
        "price": np.minimum(position + 0.2 * exclusive, 1.0),
        "price_cat": (np.where(~known, 3, np.where(position >= 2 / 3, 0,
                                                   np.where(position >= 1 / 3, 1, 2)))
                      + 4 * exclusive),
        "targeting": 0.4 + 0.3 * stage_t + 0.3 * tier_t,
        "targeting_cat": stage_t.astype(np.int64) + 2 * tier_t,
        "accepts_credit": (cols.prod_collateral.bits[:, 0] & _CREDIT_BIT) != 0,
    }
    cols.product_parts = parts
    return parts


def part_values(cols: Columns, needs: np.ndarray, prods: np.ndarray,
                categories: bool = True) -> PartValues:
    """Every part's value (and, if asked, category) for eligible (need, product) positions."""
    ents = cols.need_ent[needs]
    insts = cols.prod_inst[prods]
    per_product = _product_parts(cols)
    v, c = {}, {}

    node_known = cols.ent_nodes.nonempty[ents] & cols.prod_nodes.nonempty[prods]
    overlap = node_known
    if node_known.any():
        rows = np.flatnonzero(node_known)
        overlap = np.zeros(len(needs), dtype=bool)
        overlap[rows] = cols.ent_nodes.intersects(ents[rows], cols.prod_nodes, prods[rows])
    node_cat = np.where(cols.prod_has_chains[prods], 1, 3) + (node_known & ~overlap)
    node_cat[overlap] = 0
    c["node"] = node_cat
    v["node"] = _NODE_VALUES[node_cat]

    amount = cols.need_amount[needs]
    low, high = cols.prod_min[prods], cols.prod_max[prods]
    pos = (amount - low) / np.maximum(high - low, 1)
    pos[high == low] = 0.5
    v["amount"] = 1.0 - np.abs(2 * pos - 1) * 0.5
    if categories:
        c["amount"] = np.where(pos < 1 / 3, 1, np.where(pos > 2 / 3, 2, 0))

    term = cols.need_term[needs]
    tmin, tmax = cols.prod_term_min[prods], cols.prod_term_max[prods]
    known = (term >= 0) & ((tmin >= 0) | (tmax >= 0))
    short_by = np.maximum(tmin - term, 0)                       # shortest term too long
    long_by = np.where(tmax >= 0, np.maximum(term - tmax, 0), 0)  # longest term too short
    miss = (short_by + long_by) / np.maximum(term, 12)
    term_value = np.clip(1.0 - miss, 0.0, 1.0)
    term_value[~known] = 0.5
    v["term"] = term_value
    if categories:
        c["term"] = np.where(~known, 3, np.where(long_by > 0, 2, np.where(short_by > 0, 1, 0)))

    offered = cols.need_collateral.bits[needs, 0]
    accepted = cols.prod_collateral.bits[prods, 0]
    coll_cat = np.where((offered == 0) | (accepted == 0), 3,
                        np.where((offered & accepted) != 0, 1, 2))
    coll_cat[per_product["accepts_credit"][prods]] = 0
    c["collateral"] = coll_cat
    v["collateral"] = _COLLATERAL_VALUES[coll_cat]

    v["targeting"] = per_product["targeting"][prods]
    v["price"] = per_product["price"][prods]
    if categories:
        c["targeting"] = per_product["targeting_cat"][prods]
        c["price"] = per_product["price_cat"][prods]

    state = cols.request_state(cols.pair_key(ents, insts))
    c["request"] = state
    v["request"] = _REQUEST_VALUES[state]

    total = np.zeros(len(needs))
    for part, weight in WEIGHTS.items():
        total += weight * v[part]
    np.clip(total, 0.0, 1.0, out=total)
    return PartValues(v, c, total, np.rint(total * 1000).astype(np.int64))


_NODE_VALUES = np.array([1.0, 0.7, 0.5, 0.4, 0.3])
_COLLATERAL_VALUES = np.array([1.0, 1.0, 0.0, 0.5])
_REQUEST_VALUES = np.zeros(5)
_REQUEST_VALUES[[REQ_REQUESTED, REQ_MUTUAL, REQ_ACCEPTED]] = [0.6, 1.0, 1.0]
