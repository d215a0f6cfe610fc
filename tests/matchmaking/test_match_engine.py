"""The engine on hand-made cases: objective order, requests, reasons, timetable, Python API."""
import itertools
import random

import numpy as np
import pytest

from matchmaking import (
    PARTS,
    Enterprise,
    InputError,
    Instance,
    Institution,
    Need,
    Product,
    Request,
    plan_meetings,
    recommend,
)
from matchmaking.jsonio import instance_from_dict
from matchmaking.synthetic import generate
from matchmaking.timetable import schedule


def ent(k, **kw):
    fields = dict(id=f"e{k}", region="330106", chain="C1", stage="growth")
    fields.update(kw)
    return Enterprise(**fields)


def need(k, amount=1_000_000, **kw):
    return Need(id=f"n{k}", enterprise=f"e{k}", type="loan", amount=amount, **kw)


def inst(k, **kw):
    return Institution(id=f"i{k}", kind="bank", **kw)


def prod(k, **kw):
    fields = dict(id=f"p{k}", institution=f"i{k}", type="loan", amount_min=0,
                  amount_max=10_000_000)
    fields.update(kw)
    return Product(**fields)


def pairs_of(plan):
    return {(m.enterprise, m.institution) for m in plan.meetings}


def test_coverage_before_score():
    # e0 scores better everywhere (a credit product accepting its collateral), yet e1 —
    # eligible for i0 only — must be covered.
    ents = (ent(0), ent(1, region="320106"))
    needs = (need(0, collateral=("real_estate",)), need(1))
    insts = (inst(0, max_meetings=1), inst(1, max_meetings=1))
    prods = (prod(0, collateral=("real_estate",)), prod(1, regions=("330000",)))
    plan = plan_meetings(Instance(2, ents, needs, insts, prods))
    assert pairs_of(plan) == {("e0", "i1"), ("e1", "i0")}


def test_everyones_second_before_anyones_third():
    # i0 holds two meetings, i1 and i2 one each; i2 serves e0's district only. e0 could meet
    # all three institutions (and scores better: mid-range amount, a pending request), but
    # then e1 gets one meeting: two each is the fair plan.
    ents = (ent(0), ent(1, region="330108"))
    needs = (need(0, amount=5_000_000), need(1, amount=9_900_000))
    insts = (inst(0, max_meetings=2), inst(1, max_meetings=1), inst(2, max_meetings=1))
    prods = (prod(0), prod(1), prod(2, regions=("330106",)))
    requests = (Request("e0", "i1", "requested"),)
    plan = plan_meetings(Instance(3, ents, needs, insts, prods, requests))
    assert pairs_of(plan) == {("e0", "i0"), ("e0", "i2"), ("e1", "i0"), ("e1", "i1")}
    assert plan.stats["meetings_per_enterprise"] == {"2": 2}


def test_accepted_request_kept_even_against_coverage():
    ents = (ent(0), ent(1, region="320106"))
    needs = (need(0), need(1))
    insts = (inst(0, max_meetings=1), inst(1, max_meetings=1))
    prods = (prod(0), prod(1, regions=("330000",)))
    plan = plan_meetings(Instance(1, ents, needs, insts, prods, (Request("e0", "i0", "accepted"),)))
    assert pairs_of(plan) == {("e0", "i0")}
    assert [m.request for m in plan.meetings] == ["accepted"]
    assert [(u.enterprise, u.reason) for u in plan.unmatched] == [("e1", "capacity_exhausted")]
    assert plan.stats["accepted_kept"] == 1


def test_declined_pair_never_meets():
    requests = (Request("e0", "i0", "accepted"), Request("e0", "i0", "declined"))
    plan = plan_meetings(Instance(2, (ent(0),), (need(0),), (inst(0),), (prod(0),), requests))
    assert plan.meetings == ()
    assert plan.unmatched[0].reason == "only_declined"
    assert plan.stats["accepted_requests"] == 0


def test_unmatched_reasons_name_the_nearest_rule():
    ents = tuple(ent(k) for k in range(8)) + (ent(8, max_meetings=0),)
    needs = (
        Need(id="n1", enterprise="e1", type="equity", amount=1),            # no equity product
        need(2, amount=50_000_000),                                          # above every range
        need(3, amount=200),                                                 # region
        need(4, amount=300),                                                 # chain
        need(5, amount=400),                                                 # stage
        need(6, amount=500),                                                 # tier
        need(7, amount=600),                                                 # fine
        need(8, amount=600),
    )
    prods = (
        Product(id="pa", institution="i0", type="loan", amount_min=200, amount_max=200,
                regions=("320000",)),
        Product(id="pb", institution="i0", type="loan", amount_min=300, amount_max=300,
                chains=("C9",)),
        Product(id="pc", institution="i0", type="loan", amount_min=400, amount_max=400,
                stages=("seed",)),
        Product(id="pd", institution="i0", type="loan", amount_min=500, amount_max=500,
                tiers=("little_giant",)),
        Product(id="pe", institution="i0", type="loan", amount_min=600, amount_max=600),
    )
    plan = plan_meetings(Instance(2, ents, needs, (inst(0),), prods))
    reasons = {u.enterprise: u.reason for u in plan.unmatched}
    assert reasons == {
        "e0": "no_need", "e1": "no_product_of_type", "e2": "amount_out_of_range",
        "e3": "region_not_covered", "e4": "chain_not_covered", "e5": "stage_not_covered",
        "e6": "tier_not_held", "e8": "no_capacity",
    }
    assert {u.enterprise: u.detail for u in plan.unmatched}["e3"] == "n3"
    assert all(u.zh and u.en for u in plan.unmatched)


def test_unavailable_slots_and_tables():
    ents = tuple(ent(k, unavailable=frozenset({0}) if k == 0 else frozenset()) for k in range(4))
    needs = tuple(need(k) for k in range(4))
    plan = plan_meetings(Instance(2, ents, needs, (inst(0, tables=2),), (prod(0),)))
    assert len(plan.meetings) == 4
    assert {(m.slot, m.table) for m in plan.meetings} == {(0, 1), (0, 2), (1, 1), (1, 2)}
    assert next(m.slot for m in plan.meetings if m.enterprise == "e0") == 1


def test_no_common_slot():
    plan = plan_meetings(Instance(2, (ent(0, unavailable=frozenset({0})),), (need(0),),
                                  (inst(0, unavailable=frozenset({1})),), (prod(0),)))
    assert plan.meetings == ()
    assert plan.unmatched[0].reason == "no_common_slot"


def test_caps_are_bounded_by_available_slots():
    ents = (ent(0, max_meetings=10, unavailable=frozenset({1, 2})),)
    insts = tuple(inst(k) for k in range(4))
    prods = tuple(prod(k) for k in range(4))
    plan = plan_meetings(Instance(3, ents, (need(0),), insts, prods))
    assert [m.slot for m in plan.meetings] == [0]


@pytest.mark.parametrize("seed", range(6))
def test_konig_colouring_places_everything(seed):
    rng = random.Random(seed)
    slots, n_ent, n_inst = rng.randint(2, 8), rng.randint(5, 40), rng.randint(2, 10)
    tables = np.array([rng.randint(1, 3) for _ in range(n_inst)])
    room = [int(t) * slots for t in tables]
    load = [0] * n_ent
    pairs = []
    for e, i in itertools.product(range(n_ent), range(n_inst)):
        if rng.random() < 0.5 and load[e] < slots and room[i] > 0:
            pairs.append((e, i))
            load[e] += 1
            room[i] -= 1
    m_ent = np.array([p[0] for p in pairs], dtype=np.int64)
    m_inst = np.array([p[1] for p in pairs], dtype=np.int64)
    table = schedule(m_ent, m_inst, np.arange(len(pairs)), n_ent, tables, slots,
                     [0] * n_ent, [0] * n_inst)
    assert not table.unplaced
    assert len(set(zip(m_ent.tolist(), table.slot.tolist()))) == len(pairs)
    assert len(set(zip(m_inst.tolist(), table.table.tolist(), table.slot.tolist()))) == len(pairs)
    assert table.slot.min(initial=0) >= 0 and table.slot.max(initial=0) < slots


def test_scores_and_reasons_on_a_generated_event():
    instance = instance_from_dict(generate("tiny", seed=3))
    plan = plan_meetings(instance)
    assert plan.meetings
    for m in plan.meetings[:50]:
        assert 0 <= m.score <= 1
        assert sorted(r.part for r in m.reasons) == sorted(PARTS)
        assert abs(sum(r.weight * r.value for r in m.reasons) - m.score) < 0.01
        assert all(r.zh and r.en for r in m.reasons)
    assert plan.stats["covered_enterprises"] == len({m.enterprise for m in plan.meetings})


def test_recommend_ranks_products_with_reasons():
    instance = instance_from_dict(generate("tiny", seed=4))
    target = instance.enterprises[0].id
    recs = recommend(instance, target, limit=5)
    plan_scores = [r.score for r in recs]
    assert plan_scores == sorted(plan_scores, reverse=True)
    needs = {n.id for n in instance.needs if n.enterprise == target}
    assert all(r.need in needs and r.reasons for r in recs)


def test_plan_meetings_validates():
    with pytest.raises(InputError) as info:
        plan_meetings(Instance(0, (), (), (), ()))
    assert info.value.field == "slots"


def test_json_text_equals_the_plan_dict():
    import json

    from matchmaking import dumps_plan, plan_to_dict
    odd = 'e"\\\n企业'
    ents = (ent(0, id=odd), ent(1))
    needs = (Need(id="n0", enterprise=odd, type="loan", amount=1_000_000), need(1))
    plan = plan_meetings(Instance(2, ents + (ent(2),), needs, (inst(0),), (prod(0),),
                                  (Request(odd, "i0", "accepted"),)))
    assert json.loads(dumps_plan(plan)) == json.loads(json.dumps(plan_to_dict(plan)))
    assert any(m.enterprise == odd for m in plan.meetings)
