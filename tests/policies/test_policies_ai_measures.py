"""Hangzhou AI measures (一)–(八), (十): worked numbers below, at and above every threshold and cap."""
import datetime as dt
from decimal import Decimal

import pytest

AI_DAY = dt.date(2025, 6, 1)


# -- (三) 算力券: 30% / 30% / 20% of the contract fee, 800万 a year, relaxable ---------------------

VOUCHER = {"is_foundation_model_enterprise": False}


@pytest.mark.parametrize(
    "use, fee, amount, bound_by",
    [
        ("registered_model_service", 1_000_000, 300_000, ("voucher_rate",)),
        ("domestic_compute", 1_000_000, 300_000, ("voucher_rate",)),
        ("other_compute", 1_000_000, 200_000, ("voucher_rate",)),
        # 30%: the cap is reached at 26,666,666.67 yuan
        ("domestic_compute", 26_666_666, 7_999_999, ("voucher_rate",)),  # 7,999,999.8 floored
        ("domestic_compute", Decimal("26666666.67"), 8_000_000, ("annual_cap",)),  # 8,000,000.001
        ("domestic_compute", 26_666_667, 8_000_000, ("annual_cap",)),
        ("registered_model_service", 50_000_000, 8_000_000, ("annual_cap",)),
        # 20%: exactly at the cap with 40,000,000 yuan
        ("other_compute", 39_999_999, 7_999_999, ("voucher_rate",)),
        ("other_compute", 40_000_000, 8_000_000, ("voucher_rate", "annual_cap")),
        ("other_compute", 40_000_001, 8_000_000, ("annual_cap",)),
        ("other_compute", 100_000_000, 8_000_000, ("annual_cap",)),
        # fen are kept exactly and floored once, at the end: 30% × 333.33 = 99.999
        ("domestic_compute", Decimal("333.33"), 99, ("voucher_rate",)),
    ],
)
def test_compute_voucher_rates_and_cap(judge, use, fee, amount, bound_by):
    r = judge("compute_voucher", {**VOUCHER, "compute_use": use, "compute_contract_fee": fee})
    assert r.eligible is True
    assert r.amount == amount
    assert r.bound_by == bound_by
    assert r.amount_is_upper_bound


def test_compute_voucher_foundation_model_relaxes_the_cap(judge):
    facts = {"compute_use": "domestic_compute", "compute_contract_fee": 100_000_000}
    capped = judge("compute_voucher", {**facts, "is_foundation_model_enterprise": False})
    relaxed = judge("compute_voucher", {**facts, "is_foundation_model_enterprise": True})
    assert capped.amount == 8_000_000
    assert relaxed.amount == 30_000_000  # 30% uncapped: the relaxed cap is not stated
    assert relaxed.bound_by == ()
    assert any("放宽" in r.zh and "未列明" in r.zh for r in relaxed.reasons)
    # below the cap the relaxation changes nothing
    small = {"compute_use": "other_compute", "compute_contract_fee": 1_000_000}
    assert judge("compute_voucher", {**small, "is_foundation_model_enterprise": True}).amount == 200_000


def test_compute_voucher_asks_foundation_status_only_when_the_cap_binds(judge):
    below = judge("compute_voucher", {"compute_use": "domestic_compute", "compute_contract_fee": 10_000_000})
    assert below.eligible is True and below.amount == 3_000_000
    assert below.missing_facts == ()
    above = judge("compute_voucher", {"compute_use": "domestic_compute", "compute_contract_fee": 30_000_000})
    assert above.eligible is None and above.amount is None
    assert [s.name for s in above.missing_facts] == ["is_foundation_model_enterprise"]


def test_compute_voucher_needs_a_contract(judge):
    r = judge("compute_voucher", {**VOUCHER, "compute_use": "other_compute", "compute_contract_fee": 0})
    assert r.eligible is False and r.amount is None
    empty = judge("compute_voucher", {})
    assert empty.eligible is None
    assert {s.name for s in empty.missing_facts} == {
        "compute_contract_fee", "compute_use", "is_foundation_model_enterprise"}


def test_compute_voucher_provider_prerequisite(judge):
    base = {**VOUCHER, "compute_use": "other_compute", "compute_contract_fee": 1_000_000}
    assert judge("compute_voucher", base).eligible is True  # not reported: listed to confirm
    assert any("申报时须满足" in r.zh for r in judge("compute_voucher", base).reasons)
    assert judge("compute_voucher", {**base, "compute_from_listed_provider": True}).eligible is True
    assert judge("compute_voucher", {**base, "compute_from_listed_provider": False}).eligible is False


# -- (二) 贴息: ≤ 1.5 points, ≤ 50% of interest, ≤ 1000万 a year; project ≥ 5000万 in the layout ----

LOAN = {"in_government_layout": True, "project_total_investment": 80_000_000}


@pytest.mark.parametrize(
    "principal, rate, interest, amount, bound_by",
    [
        # 1.5 points binds when the rate is above 3%: 1.5% × 1亿 = 150万 < 50% × 350万 = 175万
        (100_000_000, "0.035", None, 1_500_000, ("rate_points",)),
        # half the interest binds below 3%: 50% × 250万 = 125万 < 150万
        (100_000_000, "0.025", None, 1_250_000, ("half_interest",)),
        # at 3% both bind: 150万
        (100_000_000, "0.03", None, 1_500_000, ("rate_points", "half_interest")),
        # the interest actually paid replaces principal × rate: 50% × 200万 = 100万
        (100_000_000, "0.035", 2_000_000, 1_000_000, ("half_interest",)),
        (100_000_000, None, 2_000_000, 1_000_000, ("half_interest",)),
        # 1000万 a year: 1.5% × 666,666,666 = 9,999,999.99 → 9,999,999 (below)
        (666_666_666, "0.04", None, 9_999_999, ("rate_points",)),
        # 1.5% × 666,666,667 = 10,000,000.005 → capped at 10,000,000 (at)
        (666_666_667, "0.04", None, 10_000_000, ("annual_cap",)),
        # 1.5% × 10亿 = 1500万, 50% × 4000万 = 2000万 → 1000万 (above)
        (1_000_000_000, "0.04", None, 10_000_000, ("annual_cap",)),
    ],
)
def test_interest_subsidy_bounds(judge, principal, rate, interest, amount, bound_by):
    facts = {**LOAN, "loan_principal": principal}
    if rate is not None:
        facts["loan_rate"] = Decimal(rate)
    if interest is not None:
        facts["interest_paid"] = interest
    r = judge("compute_interest_subsidy", facts)
    assert r.eligible is True
    assert r.amount == amount
    assert r.bound_by == bound_by


@pytest.mark.parametrize(
    "investment, layout, eligible",
    [(49_999_999, True, False), (50_000_000, True, True), (50_000_001, True, True),
     (80_000_000, False, False)],
)
def test_interest_subsidy_project_conditions(judge, investment, layout, eligible):
    r = judge("compute_interest_subsidy", {
        "in_government_layout": layout, "project_total_investment": investment,
        "loan_principal": 100_000_000, "loan_rate": Decimal("0.035")})
    assert r.eligible is eligible
    assert r.amount == (1_500_000 if eligible else None)


def test_interest_subsidy_needs_rate_or_interest(judge):
    r = judge("compute_interest_subsidy", {**LOAN, "loan_principal": 100_000_000})
    assert r.eligible is None
    assert [s.name for s in r.missing_facts] == ["loan_rate"]
    assert r.conditions_met is True
    assert any("条件已满足" in x.zh for x in r.reasons)


def test_interest_subsidy_review_note(judge):
    r = judge("compute_interest_subsidy", {**LOAN, "loan_principal": 100_000_000, "loan_rate": "0.035"})
    assert any("择优评审" in x.zh for x in r.reasons)
    assert any("Bound by" in x.en for x in r.reasons)


def test_subsidised_loan_effective_rate(library):
    from policies import parse_facts, subsidised_loan

    facts = parse_facts(LOAN, library.facts)
    loan = subsidised_loan(library, facts, principal=100_000_000, annual_rate=Decimal("0.035"), on=AI_DAY)
    assert loan.subsidy == 1_500_000
    assert loan.effective_rate == Decimal("0.02")
    low = subsidised_loan(library, facts, principal=100_000_000, annual_rate=Decimal("0.025"), on=AI_DAY)
    assert low.effective_rate == Decimal("0.0125")  # half the interest: 2.5% → 1.25%
    small_project = parse_facts({**LOAN, "project_total_investment": 10_000_000}, library.facts)
    none = subsidised_loan(library, small_project, principal=100_000_000, annual_rate=Decimal("0.035"), on=AI_DAY)
    assert none.subsidy is None and none.effective_rate is None


# -- (一) 25% of national/provincial funding received, ≤ 500万 ------------------------------------

@pytest.mark.parametrize(
    "funding, amount, bound_by",
    [
        (10_000_000, 2_500_000, ("funding_share",)),
        (19_999_999, 4_999_999, ("funding_share",)),  # 4,999,999.75
        (20_000_000, 5_000_000, ("funding_share", "cap")),
        (24_000_000, 5_000_000, ("cap",)),
    ],
)
def test_compute_rd_funding(judge, funding, amount, bound_by):
    r = judge("compute_rd_funding", {"undertakes_national_provincial_key_rd": True,
                                     "national_provincial_funding_received": funding})
    assert (r.eligible, r.amount, r.bound_by) == (True, amount, bound_by)


def test_compute_rd_funding_conditions(judge):
    assert judge("compute_rd_funding", {"undertakes_national_provincial_key_rd": False,
                                        "national_provincial_funding_received": 10_000_000}).eligible is False
    assert judge("compute_rd_funding", {"undertakes_national_provincial_key_rd": True,
                                        "national_provincial_funding_received": 0}).eligible is False


# -- (四) one-off award ≤ 50万, based on evaluation fees --------------------------------------------

@pytest.mark.parametrize(
    "fees, amount, bound_by",
    [(300_000, 300_000, ("fees",)), (499_999, 499_999, ("fees",)),
     (500_000, 500_000, ("fees", "cap")), (800_000, 500_000, ("cap",))],
)
def test_model_filing_award(judge, fees, amount, bound_by):
    r = judge("model_filing_award", {"model_filed_with_cac": True, "model_filing_award_received": False,
                                     "model_evaluation_fees": fees})
    assert (r.eligible, r.amount, r.bound_by) == (True, amount, bound_by)
    assert r.policy.benefit.period == "one_off"


def test_model_filing_award_is_one_off_and_needs_filing(judge):
    base = {"model_evaluation_fees": 300_000}
    assert judge("model_filing_award", {**base, "model_filed_with_cac": True,
                                        "model_filing_award_received": True}).eligible is False
    assert judge("model_filing_award", {**base, "model_filed_with_cac": False,
                                        "model_filing_award_received": False}).eligible is False


# -- (五) 20万–100万 by tier, selected on merit -----------------------------------------------------

def test_open_source_award_range(judge):
    r = judge("ai_open_source_award", {"open_source_contribution_recognised": True})
    assert (r.eligible, r.amount, r.amount_min) == (True, 1_000_000, 200_000)
    assert r.amount_is_upper_bound
    assert any("择优评审" in x.zh for x in r.reasons)
    assert judge("ai_open_source_award", {"open_source_contribution_recognised": False}).eligible is False


# -- (六) non-monetary -----------------------------------------------------------------------------

def test_competition_support_has_no_amount(judge):
    r = judge("ai_competition_support", {"hosts_ai_competition_in_hangzhou": False,
                                         "has_ai_competition_winners": True})
    assert r.eligible is True and r.amount is None
    assert any("未列明" in x.zh for x in r.reasons)
    assert judge("ai_competition_support", {"hosts_ai_competition_in_hangzhou": False,
                                            "has_ai_competition_winners": False}).eligible is False
    # one true answer is enough; the other is not asked
    one = judge("ai_competition_support", {"hosts_ai_competition_in_hangzhou": True})
    assert one.eligible is True and one.missing_facts == ()


# -- (七) ≥ 1000万 invested; 50% of audited investment, ≤ 500万 a year, ≤ 3 years ------------------

CENTRE = {"recognised_future_industry_innovation_centre": True, "has_core_leader_rd_team": True,
          "innovation_centre_investment": 10_000_000, "innovation_centre_years_funded": 0}


@pytest.mark.parametrize(
    "project_investment, amount, bound_by",
    [(9_990_000, 4_995_000, ("half_investment",)), (9_999_999, 4_999_999, ("half_investment",)),
     (10_000_000, 5_000_000, ("half_investment", "cap")), (12_000_000, 5_000_000, ("cap",))],
)
def test_innovation_centre_amount(judge, project_investment, amount, bound_by):
    r = judge("future_industry_innovation_centre",
              {**CENTRE, "innovation_centre_project_investment": project_investment})
    assert (r.eligible, r.amount, r.bound_by) == (True, amount, bound_by)
    assert any("择优评审" in x.zh for x in r.reasons)


@pytest.mark.parametrize(
    "change, eligible",
    [({"innovation_centre_investment": 9_999_999}, False),
     ({"innovation_centre_investment": 10_000_000}, True),
     ({"innovation_centre_investment": 30_000_000}, True),
     ({"innovation_centre_years_funded": 2}, True),
     ({"innovation_centre_years_funded": 3}, False),
     ({"has_core_leader_rd_team": False}, False),
     ({"recognised_future_industry_innovation_centre": False}, False)],
)
def test_innovation_centre_conditions(judge, change, eligible):
    r = judge("future_industry_innovation_centre",
              {**CENTRE, "innovation_centre_project_investment": 8_000_000, **change})
    assert r.eligible is eligible


# -- (八) ≤ 500万, at most 5 solutions a year -------------------------------------------------------

def test_manufacturing_demo_award(judge):
    r = judge("ai_manufacturing_demo_award", {"ai_manufacturing_first_application": True})
    assert (r.eligible, r.amount, r.amount_min) == (True, 5_000_000, None)
    assert r.amount_is_upper_bound
    assert judge("ai_manufacturing_demo_award", {"ai_manufacturing_first_application": False}).eligible is False


# -- (十) first recognition: award "按有关政策", no amount in the measures -------------------------

@pytest.mark.parametrize(
    "tiers, first, eligible",
    [(["little_giant"], True, True), (["single_champion"], True, True),
     (["provincial_hidden_champion", "high_tech"], True, True),
     (["provincial_specialised"], True, False), (["little_giant"], False, False), ([], True, False)],
)
def test_quality_enterprise_award(judge, tiers, first, eligible):
    r = judge("quality_enterprise_award", {"tiers": tiers, "title_first_recognised": first})
    assert r.eligible is eligible
    assert r.amount is None
    if eligible:
        assert any("未列明金额" in x.zh for x in r.reasons)


# -- validity: 2024-08-19 to 2027-12-31 -----------------------------------------------------------

@pytest.mark.parametrize(
    "on, eligible",
    [(dt.date(2024, 8, 18), False), (dt.date(2024, 8, 19), True),
     (dt.date(2027, 12, 31), True), (dt.date(2028, 1, 1), False)],
)
def test_ai_measures_validity(judge, on, eligible):
    r = judge("compute_voucher", {**VOUCHER, "compute_use": "other_compute",
                                  "compute_contract_fee": 1_000_000}, on=on)
    assert r.eligible is eligible
    assert r.in_force is eligible
    assert r.conditions_met is True
    if not eligible:
        assert r.amount is None
        assert "有效期" in r.reasons[0].zh or "施行" in r.reasons[0].zh


def test_region_outside_hangzhou(judge):
    base = {**VOUCHER, "compute_use": "other_compute", "compute_contract_fee": 1_000_000}
    assert judge("compute_voucher", {**base, "region": "330106"}).eligible is True  # 西湖区
    ningbo = judge("compute_voucher", {**base, "region": "330200"})
    assert ningbo.eligible is False
    assert "地区不符" in ningbo.reasons[0].zh
