"""Independent test oracles for the matchmaking engine, and hypothesis strategies for instances.

Nothing here reuses the engine's eligibility code: the rules are re-read from the issue.
"""
from __future__ import annotations

import itertools

import networkx as nx
from hypothesis import strategies as st

from matchmaking import Enterprise, Instance, Institution, Need, Product, Request

REGIONS = ("330102", "330106", "330201", "330100", "320101", "110101")
PRODUCT_REGIONS = ("330000", "330100", "330106", "320000", "110101", "330200")
CHAINS = ("C1", "C2")
STAGES = ("seed", "startup", "growth")
TIERS = ("high_tech", "little_giant")
AMOUNTS = (100, 500, 1_000, 5_000)
TYPES = ("loan", "equity")


def covers(code: str, region: str) -> bool:
    """Issue rule: XX0000 covers XX****, XXXX00 covers XXXX**, else the district itself."""
    if code[2:] == "0000":
        return region[:2] == code[:2]
    if code[4:] == "00":
        return region[:4] == code[:4]
    return region == code


def need_product_ok(ent: Enterprise, need: Need, prod: Product) -> bool:
    return (need.type == prod.type
            and prod.amount_min <= need.amount <= prod.amount_max
            and (not prod.regions or any(covers(c, ent.region) for c in prod.regions))
            and (not prod.chains or ent.chain in prod.chains)
            and (not prod.stages or ent.stage in prod.stages)
            and (not prod.tiers or any(t in ent.tiers for t in prod.tiers)))


def request_status(inst: Instance) -> dict:
    """(enterprise, institution) -> strongest status: declined > accepted > requested."""
    rank = {"requested": 1, "accepted": 2, "declined": 3}
    out: dict = {}
    for r in inst.requests:
        key = (r.enterprise, r.institution)
        if rank[r.status] > rank.get(out.get(key), 0):
            out[key] = r.status
    return out


def ent_cap(inst: Instance, e: Enterprise) -> int:
    free = inst.slots - len(e.unavailable)
    return max(0, free if e.max_meetings is None else min(e.max_meetings, free))


def inst_cap(inst: Instance, i: Institution) -> int:
    free = i.tables * (inst.slots - len(i.unavailable))
    return max(0, free if i.max_meetings is None else min(i.max_meetings, free))


def usable_pairs(inst: Instance) -> dict:
    """(enterprise id, institution id) -> list of eligible (need, product), pair rules applied."""
    ents = {e.id: e for e in inst.enterprises}
    insts = {i.id: i for i in inst.institutions}
    status = request_status(inst)
    out: dict = {}
    for need in inst.needs:
        ent = ents[need.enterprise]
        for prod in inst.products:
            if not need_product_ok(ent, need, prod):
                continue
            key = (ent.id, prod.institution)
            institution = insts[prod.institution]
            if status.get(key) == "declined":
                continue
            free = set(range(inst.slots)) - set(ent.unavailable) - set(institution.unavailable)
            if not free:
                continue
            out.setdefault(key, []).append((need, prod))
    return out


def accepted_pairs(inst: Instance) -> list:
    """Usable pairs whose request was accepted."""
    status = request_status(inst)
    return [pair for pair in usable_pairs(inst) if status.get(pair) == "accepted"]


def coverage_bound(inst: Instance, keep_accepted: bool = False) -> int:
    """Max-flow (networkx) with enterprise capacity 1: enterprises that could be covered.

    With keep_accepted, the accepted pairs (which must fit the caps) are meetings first.
    """
    graph = nx.DiGraph()
    caps_e = {e.id: ent_cap(inst, e) for e in inst.enterprises}
    caps_i = {i.id: inst_cap(inst, i) for i in inst.institutions}
    fixed = set()
    if keep_accepted:
        for e, i in accepted_pairs(inst):
            fixed.add(e)
            caps_i[i] -= 1
            assert caps_i[i] >= 0 and sum(1 for p in accepted_pairs(inst) if p[0] == e) <= caps_e[e]
    for (e, i) in usable_pairs(inst):
        if e in fixed:
            continue
        if caps_e[e] > 0 and caps_i[i] > 0:
            graph.add_edge("s", ("e", e), capacity=1)
            graph.add_edge(("e", e), ("i", i), capacity=1)
            graph.add_edge(("i", i), "t", capacity=caps_i[i])
    if "s" not in graph:
        return len(fixed)
    return len(fixed) + nx.maximum_flow_value(graph, "s", "t")


def lex_key(inst: Instance, chosen, milli: dict) -> tuple:
    """(accepted kept, n_1, …, n_slots, total score) of a set of (enterprise, institution)."""
    status = request_status(inst)
    per_ent: dict = {}
    for e, _i in chosen:
        per_ent[e] = per_ent.get(e, 0) + 1
    levels = tuple(sum(1 for n in per_ent.values() if n >= k) for k in range(1, inst.slots + 1))
    accepted = sum(1 for pair in chosen if status.get(pair) == "accepted")
    return (accepted,) + levels + (sum(milli[pair] for pair in chosen),)


def brute_force_best(inst: Instance, milli: dict) -> tuple:
    """The best lex_key over every allocation that respects both sides' caps."""
    pairs = sorted(milli)
    caps_e = {e.id: ent_cap(inst, e) for e in inst.enterprises}
    caps_i = {i.id: inst_cap(inst, i) for i in inst.institutions}
    best = lex_key(inst, (), milli)
    for size in range(1, len(pairs) + 1):
        for subset in itertools.combinations(pairs, size):
            used_e: dict = {}
            used_i: dict = {}
            ok = True
            for e, i in subset:
                used_e[e] = used_e.get(e, 0) + 1
                used_i[i] = used_i.get(i, 0) + 1
                if used_e[e] > caps_e[e] or used_i[i] > caps_i[i]:
                    ok = False
                    break
            if ok:
                best = max(best, lex_key(inst, subset, milli))
    return best


@st.composite
def instances(draw, max_ent=6, max_inst=4, unavailable=True, accepted=True, max_slots=4,
              dense=False):
    """Small random instances; `dense` ones have few product restrictions and tight caps, so
    enterprises compete for institutions and the objective's order matters."""
    slots = draw(st.integers(1, max_slots))
    if dense:
        return draw(_dense(slots, max_ent, max_inst, accepted))
    slot_sets = st.frozensets(st.integers(0, slots - 1), max_size=slots) if unavailable \
        else st.just(frozenset())
    maybe_cap = st.one_of(st.none(), st.integers(0, 3))
    enterprises = []
    for k in range(draw(st.integers(1, max_ent))):
        enterprises.append(Enterprise(
            id=f"e{k}", region=draw(st.sampled_from(REGIONS)), chain=draw(st.sampled_from(CHAINS)),
            stage=draw(st.sampled_from(STAGES)),
            tiers=tuple(draw(st.lists(st.sampled_from(TIERS), unique=True, max_size=2))),
            max_meetings=draw(maybe_cap), unavailable=draw(slot_sets)))
    needs = []
    for e in enterprises:
        for j in range(draw(st.integers(0, 2))):
            needs.append(Need(id=f"n{e.id}-{j}", enterprise=e.id, type=draw(st.sampled_from(TYPES)),
                              amount=draw(st.sampled_from(AMOUNTS)),
                              term_months=draw(st.one_of(st.none(), st.integers(1, 60)))))
    institutions, products = [], []
    for k in range(draw(st.integers(1, max_inst))):
        institutions.append(Institution(id=f"i{k}", kind="bank", tables=draw(st.integers(1, 2)),
                                        max_meetings=draw(maybe_cap), unavailable=draw(slot_sets)))
        for j in range(draw(st.integers(0, 3))):
            low, high = sorted(draw(st.lists(st.sampled_from(AMOUNTS), min_size=2, max_size=2)))
            products.append(Product(
                id=f"p{k}-{j}", institution=f"i{k}", type=draw(st.sampled_from(TYPES)),
                amount_min=low, amount_max=high,
                regions=tuple(draw(st.lists(st.sampled_from(PRODUCT_REGIONS), unique=True,
                                            max_size=2))),
                chains=tuple(draw(st.lists(st.sampled_from(CHAINS), unique=True, max_size=1))),
                stages=tuple(draw(st.lists(st.sampled_from(STAGES), unique=True, max_size=2))),
                tiers=tuple(draw(st.lists(st.sampled_from(TIERS), unique=True, max_size=1))),
                rate_min_bp=draw(st.one_of(st.none(), st.integers(300, 400))),
                rate_max_bp=draw(st.one_of(st.none(), st.integers(400, 500))),
                is_exclusive=draw(st.booleans())))
    statuses = ["requested", "declined"] + (["accepted"] if accepted else [])
    requests = []
    for _ in range(draw(st.integers(0, 3))):
        requests.append(Request(enterprise=draw(st.sampled_from([e.id for e in enterprises])),
                                institution=draw(st.sampled_from([i.id for i in institutions])),
                                status=draw(st.sampled_from(statuses))))
    return Instance(slots, tuple(enterprises), tuple(needs), tuple(institutions),
                    tuple(products), tuple(requests))


@st.composite
def _dense(draw, slots, max_ent, max_inst, accepted):
    enterprises = tuple(
        Enterprise(id=f"e{k}", region=draw(st.sampled_from(("330106", "330201", "320101"))),
                   chain="C1", stage="growth",
                   max_meetings=draw(st.one_of(st.none(), st.integers(1, 3))))
        for k in range(draw(st.integers(2, max_ent))))
    needs = tuple(Need(id=f"n{e.id}", enterprise=e.id, type="loan",
                       amount=draw(st.sampled_from(AMOUNTS)),
                       term_months=draw(st.sampled_from((None, 12, 36))))
                  for e in enterprises)
    institutions, products = [], []
    for k in range(draw(st.integers(1, max_inst))):
        institutions.append(Institution(id=f"i{k}", kind="bank", tables=1,
                                        max_meetings=draw(st.sampled_from((1, 1, 2, 2, 0)))))
        low = draw(st.sampled_from(AMOUNTS[:3]))
        products.append(Product(
            id=f"p{k}", institution=f"i{k}", type="loan", amount_min=low, amount_max=5_000,
            regions=draw(st.sampled_from(((), (), ("330000",), ("330100",),
                                          ("330106", "320000")))),
            rate_min_bp=draw(st.integers(300, 500)), rate_max_bp=500,
            term_min_months=draw(st.sampled_from((None, 12, 24))), term_max_months=36,
            is_exclusive=draw(st.booleans())))
    statuses = ["requested", "declined"] + (["accepted"] * 2 if accepted else [])
    requests = tuple(
        Request(enterprise=draw(st.sampled_from([e.id for e in enterprises])),
                institution=draw(st.sampled_from([i.id for i in institutions])),
                status=draw(st.sampled_from(statuses)))
        for _ in range(draw(st.integers(0, 3))))
    return Instance(slots, enterprises, needs, tuple(institutions), tuple(products), requests)
