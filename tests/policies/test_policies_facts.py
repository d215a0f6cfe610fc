"""The typed fact parser names the fact on error; unknown names are ignored."""
import datetime as dt
from decimal import Decimal

import pytest

from policies import FactError, parse_facts


def parse(library, **raw):
    return parse_facts(raw, library.facts)


def test_good_values(library):
    facts = parse(
        library,
        compute_contract_fee=1_000_000, compute_use="domestic_compute", is_foundation_model_enterprise=False,
        loan_rate=0.035, interest_paid=Decimal("1234.56"), project_started_on="2024-02-29",
        tiers=["little_giant", "little_giant"], innovation_centre_years_funded=2, region=330106,
        not_a_fact="ignored", actual_investment=None,
    )
    assert facts["compute_contract_fee"] == Decimal(1_000_000)
    assert facts["loan_rate"] == Decimal("0.035")  # a float's shortest repr, not its binary expansion
    assert facts["interest_paid"] == Decimal("1234.56")
    assert facts["project_started_on"] == dt.date(2024, 2, 29)
    assert facts["tiers"] == frozenset({"little_giant"})
    assert facts["region"] == "330106"
    assert "not_a_fact" not in facts and "actual_investment" not in facts  # null = not given


def test_form_strings(library):
    facts = parse(library, in_government_layout="true", loan_principal="100000000", loan_rate="0.035",
                  years_in_operation="3", is_manufacturing="否")
    assert facts == {"in_government_layout": True, "loan_principal": Decimal(100_000_000),
                     "loan_rate": Decimal("0.035"), "years_in_operation": 3, "is_manufacturing": False}


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("compute_contract_fee", -5, "compute_contract_fee: must be a non-negative amount in yuan, got -5"),
        ("compute_contract_fee", "lots", 'compute_contract_fee: must be a non-negative amount in yuan, got "lots"'),
        ("compute_contract_fee", True, "compute_contract_fee: must be a non-negative amount in yuan, got true"),
        ("compute_contract_fee", Decimal("0.001"), "compute_contract_fee: must be a non-negative amount in yuan"),
        ("compute_contract_fee", Decimal("NaN"), "compute_contract_fee: must be a non-negative amount in yuan"),
        ("actual_investment", -0.01, "actual_investment: must be a non-negative amount in yuan, got -0.01"),
        ("compute_use", "gpu", 'compute_use: must be one of registered_model_service, domestic_compute, '
                               'other_compute; got "gpu"'),
        ("project_started_on", "2024-13-01", 'project_started_on: must be a date as YYYY-MM-DD, got "2024-13-01"'),
        ("project_started_on", "20240101", "project_started_on: must be a date"),
        ("project_started_on", "yesterday", "project_started_on: must be a date"),
        ("project_started_on", 20240101, "project_started_on: must be a date"),
        ("tiers", ["little_giant", "unicorn"], 'tiers: values must be from'),
        ("tiers", "little_giant", "tiers: must be a list"),
        ("loan_rate", 3.5, "loan_rate: must be a number between 0 and 1 (a fraction, e.g. 0.035 for 3.5%), got 3.5"),
        ("loan_rate", -0.01, "loan_rate: must be a number between 0 and 1"),
        ("innovation_centre_years_funded", 1.5, "innovation_centre_years_funded: must be a whole number ≥ 0"),
        ("innovation_centre_years_funded", -1, "innovation_centre_years_funded: must be a whole number ≥ 0"),
        ("is_manufacturing", "maybe", 'is_manufacturing: must be true or false, got "maybe"'),
        ("is_manufacturing", 1, "is_manufacturing: must be true or false, got 1"),
        ("region", "33010", 'region: must be a six-digit GB/T 2260 region code, got "33010"'),
    ],
)
def test_bad_values_name_the_fact(library, name, value, message):
    with pytest.raises(FactError) as err:
        parse_facts({name: value}, library.facts)
    assert str(err.value).startswith(message)
    assert err.value.fact == name


def test_facts_must_be_an_object(library):
    with pytest.raises(FactError, match="one JSON object"):
        parse_facts([1, 2], library.facts)


def test_fact_specs_serve_a_form(library):
    spec = library.facts["compute_use"].to_json()
    assert spec["type"] == "enum"
    assert spec["label"]["zh"] and spec["label"]["en"]
    assert [c["value"] for c in spec["choices"]] == ["registered_model_service", "domestic_compute", "other_compute"]
    assert library.facts["loan_rate"].to_json()["max"] == "1"
