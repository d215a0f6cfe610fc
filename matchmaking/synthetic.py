"""Synthetic instances for the benchmark and demos, as JSON-ready dicts (seeded, reproducible).

Shapes loosely follow the tour: GB/T 2260-style region codes, a dozen industrial chains with
nodes, 股/贷/保/担 institutions whose kind fixes their products' type, regional scopes, a few
requests. Event-sized instances sit in one province (Zhejiang) and lean on the month's chain.
"""
from __future__ import annotations

import numpy as np

from .candidates import candidate_arcs
from .columns import Columns
from .jsonio import instance_from_dict

SIZES = {
    "tiny": (200, 20, 8),
    "small": (1_000, 100, 12),
    "event": (10_000, 500, 16),
    "national": (100_000, 2_000, 24),
}
PROVINCES = (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45,
             46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65)
CHAINS = tuple(f"C{k:02d}" for k in range(1, 13))
NODES_PER_CHAIN = 6
STAGES = ("seed", "startup", "growth", "expansion", "mature")
TIERS = ("high_tech", "provincial_specialised", "little_giant")
COLLATERAL = ("credit", "real_estate", "equipment", "ip", "receivables", "equity_pledge",
              "guarantee")
KINDS = (("bank", "loan", 0.45), ("investor", "equity", 0.25), ("insurer", "insurance", 0.15),
         ("guarantor", "guarantee", 0.15))
NEED_TYPES = (("loan", 0.5), ("equity", 0.2), ("insurance", 0.15), ("guarantee", 0.15))
RATES_BP = {"loan": (300, 650), "guarantee": (50, 300), "insurance": (20, 200)}


def _region(province: int, city: int, district: int) -> str:
    return f"{province:02d}{city:02d}{district:02d}"


def generate(size: str = "small", seed: int = 0, *, enterprises: int | None = None,
             institutions: int | None = None, slots: int | None = None) -> dict:
    """A JSON-ready instance document of the named size (counts may be overridden)."""
    n_ent, n_inst, n_slots = SIZES[size]
    n_ent = enterprises or n_ent
    n_inst = institutions or n_inst
    n_slots = slots or n_slots
    rng = np.random.default_rng(seed)
    national = n_ent >= 50_000
    provinces = PROVINCES if national else (33,)
    weights = 1.0 / np.arange(1, len(provinces) + 1) ** 0.6
    weights /= weights.sum()
    cities = 11

    def pick_region():
        p = provinces[rng.choice(len(provinces), p=weights)]
        return p, int(rng.integers(1, cities + 1)), int(rng.integers(1, 9))

    month_chain = CHAINS[seed % len(CHAINS)]
    doc_ents, doc_needs = [], []
    for k in range(n_ent):
        p, c, d = pick_region()
        chain = month_chain if (not national and rng.random() < 0.6) else \
            CHAINS[rng.integers(len(CHAINS))]
        ent = {"id": f"e{k}", "name": f"企业{k}", "region": _region(p, c, d), "chain": chain,
               "stage": STAGES[rng.choice(5, p=(0.1, 0.25, 0.35, 0.2, 0.1))],
               "tiers": [t for t, share in zip(TIERS, (0.3, 0.1, 0.03)) if rng.random() < share],
               "nodes": [f"{chain}-N{int(n)}" for n in
                         rng.choice(NODES_PER_CHAIN, size=int(rng.integers(1, 3)), replace=False)]}
        if rng.random() < 0.2:
            ent["max_meetings"] = int(rng.integers(1, 5))
        if rng.random() < 0.1:
            ent["unavailable"] = sorted({int(s) for s in rng.integers(0, n_slots, size=2)})
        doc_ents.append(ent)
        for j in range(1 + (rng.random() < 0.4) + (rng.random() < 0.1)):
            kind = NEED_TYPES[rng.choice(4, p=[w for _t, w in NEED_TYPES])][0]
            need = {"id": f"n{k}-{j}", "enterprise": ent["id"], "type": kind,
                    "amount": int(round(10 ** rng.uniform(5.5, 8.0), -4)),
                    "purpose": "working_capital" if kind == "loan" else "growth"}
            if kind in ("loan", "guarantee"):
                need["term_months"] = int(rng.choice((6, 12, 24, 36, 60)))
                need["collateral"] = [str(x) for x in
                                      rng.choice(COLLATERAL[1:], size=int(rng.integers(0, 3)),
                                                 replace=False)]
            doc_needs.append(need)

    doc_insts, doc_prods = [], []
    for k in range(n_inst):
        kind, ptype, _w = KINDS[rng.choice(4, p=[w for *_x, w in KINDS])]
        inst = {"id": f"i{k}", "name": f"机构{k}", "kind": kind,
                "tables": int(rng.choice((1, 2, 3), p=(0.5, 0.35, 0.15)))}
        if rng.random() < 0.1:
            inst["unavailable"] = [int(rng.integers(0, n_slots))]
        if rng.random() < 0.1:
            inst["max_meetings"] = int(inst["tables"] * n_slots * 0.75)
        doc_insts.append(inst)
        p, c, _d = pick_region()
        scope = rng.random()
        if national:
            regions = [] if scope < 0.03 else ([_region(p, 0, 0)] if scope < 0.6
                                              else [_region(p, c, 0)])
        else:
            regions = [] if scope < 0.3 else ([_region(p, c, 0), _region(p, c % cities + 1, 0)]
                                              if scope < 0.8 else [_region(p, c, 0)])
        for j in range(int(rng.integers(3, 7))):
            low = int(round(10 ** rng.uniform(5.0, 7.0), -4))
            prod = {"id": f"p{k}-{j}", "name": f"产品{k}-{j}", "institution": inst["id"],
                    "type": ptype, "amount_min": low,
                    "amount_max": int(round(low * 10 ** rng.uniform(0.7, 2.0), -4)),
                    "regions": regions, "chains": [], "stages": [], "tiers": [],
                    "is_exclusive": bool(rng.random() < 0.2)}
            if rng.random() < 0.5:
                chosen = rng.choice(len(CHAINS), size=int(rng.integers(1, 4)), replace=False)
                prod["chains"] = [CHAINS[int(x)] for x in chosen]
                if not national and rng.random() < 0.5:
                    prod["chains"] = sorted(set(prod["chains"]) | {month_chain})
                if rng.random() < 0.4:
                    prod["nodes"] = [f"{prod['chains'][0]}-N{int(n)}" for n in
                                     rng.choice(NODES_PER_CHAIN, size=2, replace=False)]
            if rng.random() < 0.4:
                prod["stages"] = sorted(STAGES[int(x)] for x in
                                        rng.choice(5, size=int(rng.integers(2, 4)), replace=False))
            if rng.random() < 0.15:
                prod["tiers"] = [TIERS[int(x)] for x in
                                 rng.choice(3, size=int(rng.integers(1, 3)), replace=False)]
            if ptype in RATES_BP:
                lo, hi = RATES_BP[ptype]
                rate = int(rng.integers(lo, hi))
                prod["rate_min_bp"], prod["rate_max_bp"] = rate, rate + int(rng.integers(0, 80))
            if ptype in ("loan", "guarantee"):
                prod["term_min_months"] = int(rng.choice((1, 6, 12)))
                prod["term_max_months"] = int(rng.choice((12, 36, 60)))
                prod["collateral"] = ["credit"] if rng.random() < 0.3 else \
                    [str(x) for x in rng.choice(COLLATERAL[1:], size=3, replace=False)]
            doc_prods.append(prod)

    doc = {"slots": n_slots, "enterprises": doc_ents, "needs": doc_needs,
           "institutions": doc_insts, "products": doc_prods, "requests": []}
    doc["requests"] = _requests(doc, rng)
    return doc


def _requests(doc: dict, rng) -> list:
    """Requests on about 3% of the eligible enterprise–institution pairs, a few elsewhere."""
    arcs = candidate_arcs(Columns(instance_from_dict(doc)))
    ents, insts = doc["enterprises"], doc["institutions"]
    count = max(1, len(ents) // 30)
    picks = rng.choice(len(arcs.ent), size=min(count, len(arcs.ent)), replace=False)
    pairs = [(ents[e]["id"], insts[i]["id"]) for e, i in
             zip(arcs.ent[picks].tolist(), arcs.inst[picks].tolist())]
    pairs += [(ents[int(rng.integers(len(ents)))]["id"], insts[int(rng.integers(len(insts)))]["id"])
              for _ in range(max(1, count // 10))]
    # Nobody can accept more meetings than their cap (the platform stops them).
    slots = doc["slots"]
    room = {e["id"]: min(e.get("max_meetings", slots), slots - len(e.get("unavailable", ())))
            for e in ents}
    room.update({i["id"]: min(i.get("max_meetings", i["tables"] * slots),
                              i["tables"] * (slots - len(i.get("unavailable", ()))))
                 for i in insts})
    out, seen = [], set()
    for e, i in pairs:
        status = str(rng.choice(("requested", "accepted", "declined"), p=(0.4, 0.3, 0.3)))
        if (e, i) in seen:
            continue
        seen.add((e, i))
        if status == "accepted":
            if room[e] <= 0 or room[i] <= 0:
                status = "requested"
            else:
                room[e] -= 1
                room[i] -= 1
        out.append({"enterprise": e, "institution": i, "status": status,
                    "by": str(rng.choice(("enterprise", "institution")))})
    return out
