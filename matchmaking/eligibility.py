"""Hard rules: which need × product pairs may meet.

`failing_rule` is the readable, one-pair definition; `candidate_pairs` is the same rules
vectorised over numpy blocks (per financing type, needs sorted by amount so each product's
amount range is one slice). Tests hold the two to each other.

Rules, in the order used to name "the nearest failing rule":
type → amount → region → chain → stage → tier, then for the enterprise–institution pair:
declined → no common available slot.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.regions import region_covers

from .columns import REQ_DECLINED, Columns
from .model import Enterprise, Need, Product

NEED_RULES = ("type", "amount", "region", "chain", "stage", "tier")
PAIR_RULES = ("declined", "no_common_slot")


def failing_rule(enterprise: Enterprise, need: Need, product: Product) -> str | None:
    """The first need-level rule this pair breaks, or None when the pair is eligible."""
    if need.type != product.type:
        return "type"
    if not product.amount_min <= need.amount <= product.amount_max:
        return "amount"
    if product.regions and not any(region_covers(c, enterprise.region) for c in product.regions):
        return "region"
    if product.chains and enterprise.chain not in product.chains:
        return "chain"
    if product.stages and enterprise.stage not in product.stages:
        return "stage"
    if product.tiers and not set(product.tiers) & set(enterprise.tiers):
        return "tier"
    return None


@dataclass
class NeedView:
    """Per-need enterprise attributes, aligned with `needs` (need positions)."""

    needs: np.ndarray
    amount: np.ndarray
    province: np.ndarray
    city: np.ndarray
    district: np.ndarray
    chain: np.ndarray
    stage_bit: np.ndarray
    tiers: np.ndarray      # (n, words) uint64 tier bitsets
    ent: np.ndarray

    @classmethod
    def of(cls, cols: Columns, needs: np.ndarray) -> "NeedView":
        ent = cols.need_ent[needs]
        return cls(needs, cols.need_amount[needs], cols.ent_province[ent], cols.ent_city[ent],
                   cols.ent_district[ent], cols.ent_chain[ent],
                   np.left_shift(1, cols.ent_stage[ent]), cols.ent_tiers.bits[ent], ent)

    def slice(self, lo: int, hi: int) -> "NeedView":
        return NeedView(self.needs[lo:hi], self.amount[lo:hi], self.province[lo:hi],
                        self.city[lo:hi], self.district[lo:hi], self.chain[lo:hi],
                        self.stage_bit[lo:hi], self.tiers[lo:hi], self.ent[lo:hi])


def _in(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    if len(codes) > 6:
        return np.isin(values, codes)
    mask = values == codes[0]
    for code in codes[1:]:
        mask |= values == code
    return mask


def rule_masks(cols: Columns, p: int, view: NeedView) -> list:
    """Masks for region, chain, stage, tier (None where the product does not restrict)."""
    masks: list = [None, None, None, None]
    regions = cols.prod_regions[p]
    if regions is not None:
        mask = np.zeros(len(view.needs), dtype=bool)
        if len(regions.provinces):
            mask |= _in(view.province, regions.provinces)
        if len(regions.cities):
            mask |= _in(view.city, regions.cities)
        if len(regions.districts):
            mask |= _in(view.district, regions.districts)
        masks[0] = mask
    chains = cols.prod_chains[p]
    if chains is not None:
        masks[1] = _in(view.chain, chains)
    stage_mask = int(cols.prod_stage_mask[p])
    if stage_mask:
        masks[2] = (view.stage_bit & stage_mask) != 0
    if cols.prod_tiers.nonempty[p]:
        wanted = cols.prod_tiers.bits[p]
        if len(wanted) == 1:
            masks[3] = (view.tiers[:, 0] & wanted[0]) != 0
        else:
            masks[3] = ((view.tiers & wanted) != 0).any(axis=1)
    return masks


@dataclass
class TypeBlock:
    """Needs of one financing type sorted by amount, and each product's slice of them."""

    view: NeedView
    products: np.ndarray
    lows: np.ndarray
    highs: np.ndarray


def type_blocks(cols: Columns) -> dict[int, TypeBlock]:
    """Per financing-type code: its needs sorted by amount and its products' amount slices."""
    blocks = {}
    for code in range(4):
        products = np.flatnonzero(cols.prod_type == code)
        needs = np.flatnonzero(cols.need_type == code)
        if len(products) == 0 or len(needs) == 0:
            continue
        needs = needs[np.argsort(cols.need_amount[needs], kind="stable")]
        view = NeedView.of(cols, needs)
        lows = np.searchsorted(view.amount, cols.prod_min[products], side="left")
        highs = np.searchsorted(view.amount, cols.prod_max[products], side="right")
        blocks[code] = TypeBlock(view, products, lows, highs)
    return blocks


def product_slices(cols: Columns, blocks: dict[int, TypeBlock]) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of every product's amount slice in its type block (empty when no block)."""
    lows = np.zeros(cols.n_prod, dtype=np.int64)
    highs = np.zeros(cols.n_prod, dtype=np.int64)
    for block in blocks.values():
        lows[block.products] = block.lows
        highs[block.products] = block.highs
    return lows, highs


def need_product_pairs(cols: Columns, products=None, blocks=None,
                       slices=None) -> tuple[np.ndarray, np.ndarray]:
    """(need, product) position pairs passing the need-level rules, for the given products."""
    blocks = type_blocks(cols) if blocks is None else blocks
    lows, highs = product_slices(cols, blocks) if slices is None else slices
    if products is None:
        products = np.arange(cols.n_prod)
    out_needs, out_products = [], []
    types = cols.prod_type
    for p in products.tolist():
        lo, hi = int(lows[p]), int(highs[p])
        if lo >= hi:
            continue
        part = blocks[int(types[p])].view.slice(lo, hi)
        mask = None
        for rule in rule_masks(cols, p, part):
            if rule is not None:
                mask = rule if mask is None else mask & rule
        hits = part.needs if mask is None else part.needs[mask]
        if len(hits):
            out_needs.append(hits)
            out_products.append(np.full(len(hits), p, dtype=np.int64))
    if not out_needs:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    return np.concatenate(out_needs), np.concatenate(out_products)


def pair_rule_masks(cols: Columns, ent: np.ndarray, inst: np.ndarray):
    """(not declined, shares an available slot) for enterprise–institution position arrays."""
    allowed = cols.request_state(cols.pair_key(ent, inst)) != REQ_DECLINED
    return allowed, common_slot(cols, ent, inst)


def common_slot(cols: Columns, ent: np.ndarray, inst: np.ndarray) -> np.ndarray:
    """Whether each enterprise–institution pair shares at least one available slot."""
    common = np.ones(len(ent), dtype=bool)
    constrained = cols.ent_has_unavailable[ent] | cols.inst_has_unavailable[inst]
    if constrained.any():
        rows = np.flatnonzero(constrained)
        common[rows] = cols.ent_avail.intersects(ent[rows], cols.inst_avail, inst[rows])
    return common


def need_progress(cols: Columns, needs: np.ndarray) -> np.ndarray:
    """How far each need gets through NEED_RULES with its best product (6 = eligible)."""
    progress = np.zeros(len(needs), dtype=np.int64)
    for code in range(4):
        products = np.flatnonzero(cols.prod_type == code)
        rows = np.flatnonzero(cols.need_type[needs] == code)
        if len(products) == 0 or len(rows) == 0:
            continue
        view = NeedView.of(cols, needs[rows])
        best = np.ones(len(rows), dtype=np.int64)
        for p in products.tolist():
            passed = (view.amount >= cols.prod_min[p]) & (view.amount <= cols.prod_max[p])
            reach = 1 + passed
            for rule in rule_masks(cols, p, view):
                if rule is not None:
                    passed = passed & rule
                reach += passed
            np.maximum(best, reach, out=best)
        progress[rows] = best
    return progress
