"""Hard rules: the region prefix rules, each rule alone, and vectorised == one-pair definition."""
import numpy as np
import pytest
from hypothesis import given, settings

from matchmaking import Enterprise, Need, Product, failing_rule, region_covers
from matchmaking.columns import Columns
from matchmaking.eligibility import need_product_pairs

from .oracle import covers, instances


@pytest.mark.parametrize("code, region, expected", [
    ("330000", "330106", True),    # province covers its districts
    ("330000", "330100", True),    # … and its cities
    ("330000", "330000", True),
    ("330000", "320106", False),   # another province
    ("330100", "330106", True),    # city covers its districts
    ("330100", "330100", True),
    ("330100", "330206", False),   # another city of the same province
    ("330100", "330000", False),   # a city does not cover the whole province
    ("330106", "330106", True),    # a district covers itself
    ("330106", "330108", False),
    ("330106", "330100", False),   # … not its city
    ("110000", "110101", True),    # municipalities work the same way
    ("110100", "110105", True),
])
def test_region_prefix_rules(code, region, expected):
    assert region_covers(code, region) is expected
    assert covers(code, region) is expected


ENT = Enterprise(id="e", region="330106", chain="C1", stage="growth", tiers=("high_tech",))
NEED = Need(id="n", enterprise="e", type="loan", amount=1_000_000)
OPEN = Product(id="p", institution="i", type="loan", amount_min=500_000, amount_max=2_000_000)


@pytest.mark.parametrize("changes, rule", [
    ({}, None),
    ({"type": "equity"}, "type"),
    ({"amount_min": 1_000_001, "amount_max": 3_000_000}, "amount"),
    ({"amount_min": 100_000, "amount_max": 999_999}, "amount"),
    ({"amount_min": 1_000_000, "amount_max": 1_000_000}, None),   # bounds are inclusive
    ({"regions": ("320000",)}, "region"),
    ({"regions": ("320000", "330100")}, None),
    ({"regions": ("330108",)}, "region"),
    ({"chains": ("C2",)}, "chain"),
    ({"chains": ("C2", "C1")}, None),
    ({"stages": ("seed", "mature")}, "stage"),
    ({"stages": ("growth",)}, None),
    ({"tiers": ("little_giant",)}, "tier"),
    ({"tiers": ("little_giant", "high_tech")}, None),
])
def test_each_rule(changes, rule):
    fields = {f: getattr(OPEN, f) for f in OPEN.__slots__}
    fields.update(changes)
    assert failing_rule(ENT, NEED, Product(**fields)) == rule


def test_rules_are_reported_in_order():
    product = Product(id="p", institution="i", type="loan", amount_min=1, amount_max=2,
                      regions=("320000",), chains=("C9",))
    assert failing_rule(ENT, NEED, product) == "amount"


@settings(max_examples=150, deadline=None)
@given(instances())
def test_vectorised_rules_equal_the_one_pair_definition(inst):
    cols = Columns(inst)
    needs, prods = need_product_pairs(cols)
    found = set(zip(needs.tolist(), prods.tolist()))
    ents = {e.id: e for e in inst.enterprises}
    expected = {(a, b) for a, n in enumerate(inst.needs) for b, p in enumerate(inst.products)
                if failing_rule(ents[n.enterprise], n, p) is None}
    assert found == expected
    assert len(found) == len(needs), "a pair listed twice"


def test_vectorised_rules_on_many_tier_and_node_codes():
    """More than 64 distinct tiers: the bitsets span several words."""
    from matchmaking import Instance, Institution
    tiers = [f"t{k}" for k in range(150)]
    ents = tuple(Enterprise(id=f"e{k}", region="330106", chain="C1", stage="growth",
                            tiers=(tiers[k],)) for k in range(150))
    needs = tuple(Need(id=f"n{k}", enterprise=f"e{k}", type="loan", amount=10)
                  for k in range(150))
    prods = (Product(id="p", institution="i", type="loan", amount_min=0, amount_max=10,
                     tiers=("t3", "t70", "t149")),)
    inst = Instance(1, ents, needs, (Institution(id="i", kind="bank"),), prods)
    pairs, _ = need_product_pairs(Columns(inst))
    assert sorted(pairs.tolist()) == [3, 70, 149]
    assert np.all(_ == 0)
