"""Candidate arcs: the best eligible need × product for each enterprise–institution pair.

Eligibility and scoring run in chunks of whole institutions (about `chunk_pairs` need ×
product pairs each), so every pair's best arc is settled inside one chunk and no array of all
need × product pairs is ever built: memory stays flat and numpy reuses its buffers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .columns import REQ_ACCEPTED, REQ_DECLINED, Columns
from .eligibility import common_slot, need_product_pairs, product_slices, type_blocks
from .scoring import part_values

CHUNK_PAIRS = 400_000


@dataclass
class Arcs:
    """One row per enterprise–institution pair with at least one need-level eligible pair."""

    ent: np.ndarray
    inst: np.ndarray
    need: np.ndarray
    prod: np.ndarray
    milli: np.ndarray      # score of the best need × product, in thousandths
    state: np.ndarray      # REQ_* request state of the pair
    common: np.ndarray     # the two share an available slot
    pairs: int = 0         # need × product pairs passing the need-level rules

    @property
    def accepted(self) -> np.ndarray:
        return self.state == REQ_ACCEPTED

    @property
    def allowed(self) -> np.ndarray:
        return self.state != REQ_DECLINED

    @property
    def usable(self) -> np.ndarray:
        """Pairs the allocation may use: not declined and sharing a slot."""
        return self.allowed & self.common

    def take(self, rows: np.ndarray) -> "Arcs":
        return Arcs(self.ent[rows], self.inst[rows], self.need[rows], self.prod[rows],
                    self.milli[rows], self.state[rows], self.common[rows], self.pairs)


def _chunks(cols: Columns, estimate: np.ndarray, chunk_pairs: int):
    """Products grouped by institution into chunks of about chunk_pairs estimated pairs."""
    order = np.argsort(cols.prod_inst, kind="stable")
    inst_sorted = cols.prod_inst[order]
    cut = np.flatnonzero(np.diff(inst_sorted)) + 1
    groups = np.split(order, cut)
    chunk, size = [], 0
    for group in groups:
        chunk.append(group)
        size += int(estimate[group].sum())
        if size >= chunk_pairs:
            yield np.concatenate(chunk)
            chunk, size = [], 0
    if chunk:
        yield np.concatenate(chunk)


def _best_per_pair(cols: Columns, needs: np.ndarray, prods: np.ndarray):
    """Best-scoring row per pair; pairs come product by product (in input order), each
    product's needs by amount, and the stable sort keeps that order among equal scores."""
    ent, inst = cols.need_ent[needs], cols.prod_inst[prods]
    milli = part_values(cols, needs, prods, categories=False).milli
    key = cols.pair_key(ent, inst)
    order = np.argsort(key * 1024 + (1000 - milli), kind="stable")
    sorted_key = key[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_key[1:] != sorted_key[:-1]
    pick = order[first]
    return ent[pick], inst[pick], needs[pick], prods[pick], milli[pick]


def candidate_arcs(cols: Columns, chunk_pairs: int = CHUNK_PAIRS) -> Arcs:
    """All enterprise–institution pairs with a need-level eligible pair, with the best one."""
    blocks = type_blocks(cols)
    slices = product_slices(cols, blocks)
    estimate = slices[1] - slices[0]
    parts: list[tuple] = []
    pairs = 0
    for products in _chunks(cols, estimate, chunk_pairs):
        needs, prods = need_product_pairs(cols, products, blocks, slices)
        if len(needs):
            pairs += len(needs)
            parts.append(_best_per_pair(cols, needs, prods))
    if parts:
        ent, inst, need, prod, milli = (np.concatenate(col) for col in zip(*parts))
    else:
        ent = inst = need = prod = milli = np.zeros(0, dtype=np.int64)
    state = cols.request_state(cols.pair_key(ent, inst))
    return Arcs(ent, inst, need, prod, milli, state, common_slot(cols, ent, inst), pairs)
