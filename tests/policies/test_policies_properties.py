"""Property tests for the pure engine: caps hold, answers are exact, more facts never undo a 'no'."""
import datetime as dt
import math
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies import evaluate, evaluate_policy, load_library, parse_facts
from policies.facts import FactType

LIBRARY = load_library()
AI_DAY = dt.date(2025, 6, 1)
DAYS = st.sampled_from([dt.date(2024, 5, 20), dt.date(2024, 8, 19), AI_DAY, dt.date(2028, 1, 1)])
MONEY = st.integers(min_value=0, max_value=5 * 10**9)
RATES = {"registered_model_service": Decimal("0.30"), "domestic_compute": Decimal("0.30"),
         "other_compute": Decimal("0.20")}


@given(fee=MONEY, use=st.sampled_from(sorted(RATES)))
def test_voucher_is_the_floor_of_the_capped_share(fee, use):
    facts = parse_facts({"compute_contract_fee": fee, "compute_use": use,
                         "is_foundation_model_enterprise": False}, LIBRARY.facts)
    r = evaluate_policy(LIBRARY, LIBRARY.policy("compute_voucher"), facts, AI_DAY)
    if fee == 0:
        assert r.eligible is False
        return
    assert r.amount == math.floor(min(RATES[use] * fee, Decimal(8_000_000)))
    assert r.amount <= 8_000_000


@given(fee=MONEY, extra=st.integers(min_value=0, max_value=10**8), use=st.sampled_from(sorted(RATES)),
       foundation=st.booleans())
def test_voucher_is_monotone_in_the_fee(fee, extra, use, foundation):
    def amount(f):
        facts = parse_facts({"compute_contract_fee": f, "compute_use": use,
                             "is_foundation_model_enterprise": foundation}, LIBRARY.facts)
        return evaluate_policy(LIBRARY, LIBRARY.policy("compute_voucher"), facts, AI_DAY).amount or 0

    assert amount(fee) <= amount(fee + extra)


@given(principal=st.integers(min_value=1, max_value=2 * 10**9),
       rate=st.decimals(min_value=0, max_value=Decimal("0.2"), places=4),
       paid=st.one_of(st.none(), MONEY))
def test_interest_subsidy_respects_every_bound(principal, rate, paid):
    raw = {"in_government_layout": True, "project_total_investment": 50_000_000,
           "loan_principal": principal, "loan_rate": rate}
    if paid is not None:
        raw["interest_paid"] = paid
    r = evaluate_policy(LIBRARY, LIBRARY.policy("compute_interest_subsidy"),
                        parse_facts(raw, LIBRARY.facts), AI_DAY)
    interest = Decimal(paid) if paid is not None else principal * rate
    assert r.eligible is True
    assert r.amount == math.floor(min(Decimal("0.015") * principal, interest / 2, Decimal(10_000_000)))
    assert r.amount <= Decimal("0.015") * principal
    assert r.amount <= interest / 2
    assert r.amount <= 10_000_000


def _value(spec):
    if spec.type is FactType.BOOL:
        return st.booleans()
    if spec.type is FactType.MONEY:
        return st.sampled_from([0, 1, 4_999_999, 5_000_000, 10_000_000, 50_000_000, 200_000_000, 10**9])
    if spec.type is FactType.INT:
        return st.integers(min_value=0, max_value=6)
    if spec.type is FactType.DECIMAL:
        return st.decimals(min_value=0, max_value=1, places=3)
    if spec.type is FactType.DATE:
        return st.dates(min_value=dt.date(2016, 1, 1), max_value=dt.date(2025, 12, 31)).map(dt.date.isoformat)
    if spec.type is FactType.ENUM:
        return st.sampled_from(spec.allowed_values)
    if spec.type is FactType.LIST:
        return st.lists(st.sampled_from(spec.allowed_values), max_size=3)
    return st.sampled_from(["330106", "330100", "330200", "110000"])


FACTS = st.fixed_dictionaries({}, optional={name: _value(spec) for name, spec in LIBRARY.facts.items()})


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(raw=FACTS, more=FACTS, on=DAYS)
def test_engine_invariants(raw, more, on):
    ev = evaluate(LIBRARY, parse_facts(raw, LIBRARY.facts), on)
    for r in ev.results:
        assert (r.eligible is None) == bool(r.missing_facts)
        if r.eligible is not True:
            assert r.amount is None and r.set_aside_for is None
        if r.amount is not None:
            assert isinstance(r.amount, int) and r.amount >= 0
        assert all(m.name in r.policy.facts for m in r.missing_facts)
        assert all(m.name not in raw for m in r.missing_facts)
        assert r.reasons and all(t.zh and t.en for t in r.reasons)
    applied = {r.policy.id for r in ev.results if r.applies}
    for s in ev.set_aside:
        assert s.in_favour_of in applied and s.policy_id not in applied

    # More facts never turn a "no" into anything else, nor a decided answer into "needs information".
    wider = evaluate(LIBRARY, parse_facts({**more, **raw}, LIBRARY.facts), on)
    for before, after in zip(ev.results, wider.results):
        if before.eligible is False:
            assert after.eligible is False, before.policy.id
        if before.eligible is True:
            assert after.eligible is not None, before.policy.id
